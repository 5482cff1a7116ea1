#include "esxi/vib.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "core/error.h"

namespace hoist::esxi {
namespace {

std::string SourceFile(const std::string& rel) {
  const std::string base = HOIST_TEST_SOURCE_DIR;  // set by tests/CMakeLists.txt
  std::ifstream in(base + "/" + rel, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << base << "/" << rel;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Splits an ar archive into (name, data) pairs, checking the fixed header layout.
std::vector<ArMember> ReadAr(const std::string& ar) {
  std::vector<ArMember> out;
  EXPECT_EQ(ar.substr(0, 8), "!<arch>\n");
  std::size_t pos = 8;
  while (pos < ar.size()) {
    std::string h = ar.substr(pos, 60);
    EXPECT_EQ(h.substr(58, 2), "`\n");
    std::string name = h.substr(0, 16);
    name = name.substr(0, name.find('/'));
    std::size_t size = std::stoul(h.substr(48, 10));
    out.push_back({name, ar.substr(pos + 60, size)});
    pos += 60 + size + (size % 2);
  }
  EXPECT_EQ(pos, ar.size());
  return out;
}

// Inflates a gzip stream made of stored blocks (what Gzip writes).
std::string GunzipStored(const std::string& gz) {
  EXPECT_EQ(gz.substr(0, 3), std::string("\x1f\x8b\x08", 3));
  std::string out;
  std::size_t pos = 10;
  for (;;) {
    unsigned char hdr = gz[pos];
    EXPECT_EQ(hdr & 0x6, 0);  // stored
    unsigned len = static_cast<unsigned char>(gz[pos + 1]) | (static_cast<unsigned char>(gz[pos + 2]) << 8);
    unsigned nlen = static_cast<unsigned char>(gz[pos + 3]) | (static_cast<unsigned char>(gz[pos + 4]) << 8);
    EXPECT_EQ(len ^ 0xFFFF, nlen);
    out += gz.substr(pos + 5, len);
    pos += 5 + len;
    if (hdr & 1) break;
  }
  auto le32 = [&](std::size_t p) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(gz[p + i]);
    return v;
  };
  EXPECT_EQ(le32(pos), Crc32(out));
  EXPECT_EQ(le32(pos + 4), out.size());
  EXPECT_EQ(pos + 8, gz.size());
  return out;
}

TEST(Checksums, KnownVectors) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Gzip, StoredBlocksRoundTripAcrossBlockBoundary) {
  std::string data(70000, 'x');
  data[65535] = 'y';
  EXPECT_EQ(GunzipStored(Gzip(data)), data);
  EXPECT_EQ(GunzipStored(Gzip("")), "");
}

TEST(TarArchive, UstarHeadersWithDirectoriesAndChecksums) {
  std::string tar = TarArchive({{"opt/hoist/run", "hello", 0755}}, 0);
  ASSERT_EQ(tar.size() % 512, 0u);
  // opt/, opt/hoist/, the file header, one data block, two zero blocks.
  ASSERT_EQ(tar.size(), 6u * 512);
  EXPECT_EQ(std::string(tar.c_str()), "opt/");
  EXPECT_EQ(tar[156], '5');
  EXPECT_EQ(std::string(tar.c_str() + 1024), "opt/hoist/run");
  EXPECT_EQ(tar[1024 + 156], '0');
  EXPECT_EQ(tar.substr(1024 + 257, 6), std::string("ustar\0", 6));
  EXPECT_EQ(std::string(tar.c_str() + 1024 + 100), "0000755");
  EXPECT_EQ(std::string(tar.c_str() + 1024 + 124), "00000000005");
  for (std::size_t block : {0u, 1024u}) {
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i)
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(tar[block + i]);
    EXPECT_EQ(std::stoul(tar.substr(block + 148, 6), nullptr, 8), sum);
  }
  EXPECT_EQ(tar.substr(1536, 5), "hello");
  EXPECT_THROW(TarArchive({{"/abs", "", 0644}}, 0), Error);
  EXPECT_THROW(TarArchive({{"a/../b", "", 0644}}, 0), Error);
}

TEST(ScriptVersion, ReadAndSet) {
  std::string script = "#!/bin/sh\nSCRIPT_VERSION=\"1.0.0\"\necho\n";
  EXPECT_EQ(ScriptVersion(script), "1.0.0");
  EXPECT_EQ(SetScriptVersion(script, "2.3.4-1"), "#!/bin/sh\nSCRIPT_VERSION=\"2.3.4-1\"\necho\n");
  EXPECT_THROW(SetScriptVersion("#!/bin/sh\n", "1"), Error);
}

TEST(BuildVib, MembersPayloadAndDescriptorAgree) {
  std::string vib =
      BuildVib(WrapperVibSpec("2.0.1", EmbeddedWrapperScript(), EmbeddedPluginXml(), "2026-11-22T01:02:03"));
  auto members = ReadAr(vib);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].name, "descriptor.xml");
  EXPECT_EQ(members[1].name, "sig.pkcs7");
  EXPECT_EQ(members[1].data, "");
  EXPECT_EQ(members[2].name, "payload1");

  const std::string& desc = members[0].data;
  const std::string& gz = members[2].data;
  std::string tar = GunzipStored(gz);
  EXPECT_NE(desc.find("<name>vmkfstools-wrapper</name>"), std::string::npos);
  EXPECT_NE(desc.find("<version>2.0.1</version>"), std::string::npos);
  EXPECT_NE(desc.find("<acceptance-level>community</acceptance-level>"), std::string::npos);
  EXPECT_NE(desc.find("<release-date>2026-11-22T01:02:03</release-date>"), std::string::npos);
  EXPECT_NE(desc.find("<file>opt/hoist/vmkfstools-wrapper</file>"), std::string::npos);
  EXPECT_NE(desc.find("<file>usr/lib/vmware/esxcli/ext/esxcli-vmkfstools.xml</file>"), std::string::npos);
  EXPECT_NE(desc.find("type=\"tgz\" size=\"" + std::to_string(gz.size()) + "\""), std::string::npos);
  EXPECT_NE(desc.find("<checksum checksum-type=\"sha-256\">" + Sha256Hex(gz) + "</checksum>"),
            std::string::npos);
  EXPECT_NE(desc.find("verify-process=\"gunzip\">" + Sha256Hex(tar) + "</checksum>"), std::string::npos);
  EXPECT_NE(desc.find("<checksum checksum-type=\"sha-1\" verify-process=\"gunzip\">" + Sha1Hex(tar) +
                      "</checksum>"),
            std::string::npos);
  // The wrapper inside carries the VIB's version.
  EXPECT_NE(tar.find("\nSCRIPT_VERSION=\"2.0.1\"\n"), std::string::npos);
}

TEST(BuildVib, IsReproducibleAndRejectsBadVersions) {
  auto spec = WrapperVibSpec("1.0.0", EmbeddedWrapperScript(), EmbeddedPluginXml(), "2026-01-01T00:00:00");
  EXPECT_EQ(BuildVib(spec), BuildVib(spec));
  EXPECT_THROW(BuildVib(WrapperVibSpec("1.0 beta", EmbeddedWrapperScript(), EmbeddedPluginXml(), "x")),
               Error);
  EXPECT_THROW(BuildVib(WrapperVibSpec("v1", EmbeddedWrapperScript(), EmbeddedPluginXml(), "x")), Error);
}

// The embedded copies are generated from the source files at build time; they must match byte for byte.
TEST(EmbeddedAssets, MatchSourceFiles) {
  EXPECT_EQ(EmbeddedWrapperScript(), SourceFile("esxi/vmkfstools-wrapper/vmkfstools_wrapper.sh"))
      << "the build did not regenerate the embedded copy";
  EXPECT_EQ(EmbeddedPluginXml(), SourceFile("esxi/vmkfstools-wrapper/esxcli-vmkfstools.xml"))
      << "the build did not regenerate the embedded copy";
}

TEST(EmbeddedAssets, PluginRunsTheInstalledWrapper) {
  std::string xml(EmbeddedPluginXml());
  EXPECT_NE(xml.find("<execute>/" + std::string(kWrapperInstallPath) +
                     " --clone -s '$val{source-vmdk}' -t "
                     "'$val{target-lun}'</execute>"),
            std::string::npos);
  for (const char* cmd :
       {"vmkfstools.clone", "vmkfstools.taskGet", "vmkfstools.taskClean", "vmkfstools.version"}) {
    EXPECT_NE(xml.find(std::string("<command path=\"") + cmd + "\">"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace hoist::esxi

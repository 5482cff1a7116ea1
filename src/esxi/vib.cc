#include "esxi/vib.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "core/text.h"

namespace hoist::esxi {
namespace {

std::string DigestHex(const EVP_MD* md, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> buf{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), buf.data(), &len, md, nullptr) != 1) {
    throw BugError("computing a digest with OpenSSL failed");
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kDigits[buf[i] >> 4];
    out += kDigits[buf[i] & 0xF];
  }
  return out;
}

// Writes `value` as a NUL-terminated octal number filling `width` bytes at `field`.
void Octal(char* field, std::size_t width, std::uint64_t value) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(width - 1),
                        static_cast<unsigned long long>(value));
  if (n < 0 || static_cast<std::size_t>(n) > width - 1)
    throw PreconditionError("value too large for a tar header field");
  std::copy_n(buf, n + 1, field);
}

void PutLe32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

bool SafeToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '_' || c == '+';
  });
}

}  // namespace

std::uint32_t Crc32(std::string_view data) {
  static const auto kTable = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) crc = kTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string Sha256Hex(std::string_view data) { return DigestHex(EVP_sha256(), data); }
std::string Sha1Hex(std::string_view data) { return DigestHex(EVP_sha1(), data); }

std::string Gzip(std::string_view data) {
  // RFC 1952 member around RFC 1951 stored blocks: the payload is a few kilobytes of text, so
  // compressing it would buy nothing worth a dependency.
  std::string out = {'\x1f', '\x8b', '\x08', '\x00', '\x00', '\x00', '\x00', '\x00', '\x00', '\x03'};
  constexpr std::size_t kMaxBlock = 65535;
  std::size_t pos = 0;
  do {
    std::size_t n = std::min(kMaxBlock, data.size() - pos);
    bool last = pos + n == data.size();
    out += static_cast<char>(last ? 1 : 0);  // BFINAL, BTYPE=00 (stored)
    out += static_cast<char>(n & 0xFF);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(~n & 0xFF);
    out += static_cast<char>((~n >> 8) & 0xFF);
    out.append(data.substr(pos, n));
    pos += n;
  } while (pos < data.size());
  PutLe32(out, Crc32(data));
  PutLe32(out, static_cast<std::uint32_t>(data.size()));
  return out;
}

std::string TarArchive(const std::vector<VibFile>& files, std::int64_t mtime) {
  std::string out;
  auto add = [&](const std::string& name, std::string_view content, unsigned mode, bool dir) {
    if (name.size() >= 100) throw PreconditionError("payload path too long for a tar header: " + name);
    std::array<char, 512> h{};
    std::copy(name.begin(), name.end(), h.begin());
    Octal(&h[100], 8, mode);
    Octal(&h[108], 8, 0);
    Octal(&h[116], 8, 0);
    Octal(&h[124], 12, dir ? 0 : content.size());
    Octal(&h[136], 12, static_cast<std::uint64_t>(mtime));
    std::fill(&h[148], &h[156], ' ');
    h[156] = dir ? '5' : '0';
    std::copy_n("ustar", 6, &h[257]);  // magic "ustar\0"
    h[263] = '0';
    h[264] = '0';
    std::copy_n("root", 4, &h[265]);
    std::copy_n("root", 4, &h[297]);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    std::snprintf(&h[148], 8, "%06o", sum);
    h[155] = ' ';
    out.append(h.data(), h.size());
    if (!dir) {
      out.append(content);
      out.append((512 - content.size() % 512) % 512, '\0');
    }
  };
  // Parent directories first, each once, like `tar czf payload1 -C root opt usr` would list them.
  std::set<std::string> dirs_done;
  for (const auto& f : files) {
    if (f.path.empty() || f.path.front() == '/' || f.path.find("..") != std::string::npos) {
      throw PreconditionError("bad payload path: " + f.path);
    }
    for (auto slash = f.path.find('/'); slash != std::string::npos; slash = f.path.find('/', slash + 1)) {
      std::string dir = f.path.substr(0, slash + 1);
      if (dirs_done.insert(dir).second) add(dir, {}, 0755, true);
    }
    add(f.path, f.content, f.mode, false);
  }
  out.append(1024, '\0');
  return out;
}

std::string ArArchive(const std::vector<ArMember>& members) {
  std::string out = "!<arch>\n";
  for (const auto& m : members) {
    if (m.name.size() > 15 || m.name.find('/') != std::string::npos) {
      throw BugError("ar member name must be at most 15 characters without '/': " + m.name);
    }
    // GNU ar's short-name form "<name>/", deterministic like Debian's ar (mtime/uid/gid 0, 644).
    char header[61];
    std::snprintf(header, sizeof header, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", (m.name + "/").c_str(), "0", "0",
                  "0", "100644", m.data.size());
    out.append(header, 60);
    out.append(m.data);
    if (m.data.size() % 2) out += '\n';
  }
  return out;
}

std::string VibDescriptorXml(const VibSpec& spec, std::string_view payload_gz, std::string_view payload_tar) {
  std::string x;
  x += "<vib version=\"5.0\">\n";
  x += "  <type>bootbank</type>\n";
  x += "  <name>" + XmlEscape(spec.name) + "</name>\n";
  x += "  <version>" + XmlEscape(spec.version) + "</version>\n";
  x += "  <vendor>" + XmlEscape(spec.vendor) + "</vendor>\n";
  x += "  <summary>" + XmlEscape(spec.summary) + "</summary>\n";
  x += "  <description>" + XmlEscape(spec.description) + "</description>\n";
  x += "  <release-date>" + XmlEscape(spec.release_date) + "</release-date>\n";
  if (spec.vendor_url.empty()) {
    x += "  <urls/>\n";
  } else {
    x += "  <urls>\n    <url key=\"website\">" + XmlEscape(spec.vendor_url) + "</url>\n  </urls>\n";
  }
  x += "  <relationships>\n    <depends/>\n    <conflicts/>\n    <replaces/>\n    <provides/>\n"
       "    <compatibleWith/>\n  </relationships>\n";
  x += "  <software-tags/>\n";
  x += "  <system-requires>\n    <maintenance-mode>false</maintenance-mode>\n  </system-requires>\n";
  x += "  <file-list>\n";
  for (const auto& f : spec.files) x += "    <file>" + XmlEscape(f.path) + "</file>\n";
  x += "  </file-list>\n";
  x += "  <acceptance-level>community</acceptance-level>\n";
  x += "  <live-install-allowed>true</live-install-allowed>\n";
  x += "  <live-remove-allowed>true</live-remove-allowed>\n";
  x += "  <cimom-restart>false</cimom-restart>\n";
  x += "  <stateless-ready>true</stateless-ready>\n";
  x += "  <overlay>false</overlay>\n";
  x += "  <payloads>\n";
  x += "    <payload name=\"payload1\" type=\"tgz\" size=\"" + std::to_string(payload_gz.size()) + "\">\n";
  x += "      <checksum checksum-type=\"sha-256\">" + Sha256Hex(payload_gz) + "</checksum>\n";
  x += "      <checksum checksum-type=\"sha-256\" verify-process=\"gunzip\">" + Sha256Hex(payload_tar) +
       "</checksum>\n";
  x += "      <checksum checksum-type=\"sha-1\" verify-process=\"gunzip\">" + Sha1Hex(payload_tar) +
       "</checksum>\n";
  x += "    </payload>\n";
  x += "  </payloads>\n";
  x += "</vib>\n";
  return x;
}

std::string BuildVib(const VibSpec& spec) {
  if (!SafeToken(spec.name))
    throw PreconditionError("VIB name \"" + spec.name + "\" must be letters, digits, . - _ +");
  if (!SafeToken(spec.version) || !(spec.version[0] >= '0' && spec.version[0] <= '9')) {
    throw PreconditionError("VIB version \"" + spec.version +
                            "\" must start with a digit and contain only letters, "
                            "digits, . - _ + (e.g. 1.0.0)");
  }
  if (spec.files.empty()) throw BugError("a VIB needs at least one file");
  std::string tar = TarArchive(spec.files, spec.mtime);
  std::string gz = Gzip(tar);
  return ArArchive(
      {{"descriptor.xml", VibDescriptorXml(spec, gz, tar)}, {"sig.pkcs7", ""}, {"payload1", gz}});
}

std::string ScriptVersion(std::string_view script) {
  constexpr std::string_view kKey = "\nSCRIPT_VERSION=\"";
  auto pos = script.find(kKey);
  if (pos == std::string_view::npos) return {};
  auto start = pos + kKey.size();
  auto end = script.find('"', start);
  if (end == std::string_view::npos) return {};
  return std::string(script.substr(start, end - start));
}

std::string SetScriptVersion(std::string_view script, std::string_view version) {
  constexpr std::string_view kKey = "\nSCRIPT_VERSION=\"";
  auto pos = script.find(kKey);
  auto end = pos == std::string_view::npos ? pos : script.find("\"\n", pos + kKey.size());
  if (end == std::string_view::npos) {
    throw PreconditionError(
        "the wrapper script has no SCRIPT_VERSION=\"...\" line to set the VIB version in");
  }
  std::string out(script.substr(0, pos + kKey.size()));
  out += version;
  out += script.substr(end);
  return out;
}

VibSpec WrapperVibSpec(std::string_view version, std::string_view wrapper_script, std::string_view plugin_xml,
                       std::string release_date) {
  VibSpec spec;
  spec.version = std::string(version);
  spec.summary = "vmkfstools clone tasks as an esxcli plugin, for hoist and Forklift copy offload";
  spec.description =
      "Adds the esxcli namespace vmkfstools (clone, taskGet, taskClean, version), which runs vmkfstools "
      "clones of VMDKs onto raw devices as background tasks and reports their progress and XCOPY use.";
  spec.release_date = std::move(release_date);
  spec.files.push_back({std::string(kWrapperInstallPath), SetScriptVersion(wrapper_script, version), 0755});
  spec.files.push_back({std::string(kPluginInstallPath), std::string(plugin_xml), 0644});
  return spec;
}

}  // namespace hoist::esxi

// Range arithmetic of the copy plan, chunking, the block checksum against an independent computation,
// and the stream digest following a sink being written out of order.
#include "populators/common/copy.h"

#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "populators/common/download.h"
#include "populators/common/options.h"
#include "populators/common/verify.h"
#include "sink/disk_sink.h"

namespace hoist::populators {
namespace {

using sink::Range;
using R = std::vector<Range>;

TEST(CopyRanges, IntersectSubtractCoalesceSplit) {
  EXPECT_EQ(Intersect({{0, 10}, {20, 30}}, {{5, 25}}), (R{{5, 10}, {20, 25}}));
  EXPECT_EQ(Subtract({{0, 100}}, {{10, 20}, {50, 60}}), (R{{0, 10}, {20, 50}, {60, 100}}));
  EXPECT_EQ(Subtract({{0, 10}, {20, 30}}, {{5, 25}}), (R{{0, 5}, {25, 30}}));
  EXPECT_EQ(Subtract({{0, 10}}, {}), (R{{0, 10}}));
  EXPECT_EQ(Coalesce({{0, 10}, {15, 20}, {100, 110}}, 5), (R{{0, 20}, {100, 110}}));
  EXPECT_EQ(SplitIntoChunks({{3, 20}}, 8), (R{{3, 8}, {8, 16}, {16, 20}})) << "cut on the grid";
  EXPECT_TRUE(IsBlockVolumePath("/dev/block"));
  EXPECT_FALSE(IsBlockVolumePath("/mnt/disk.img"));
}

std::string Sha256(const std::string& s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(d), n);
}

std::string Hex(const std::string& raw) {
  std::string out;
  char b[3];
  for (unsigned char c : raw) {
    std::snprintf(b, sizeof b, "%02x", c);
    out += b;
  }
  return out;
}

class SinkFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hoist-verify-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SinkFixture, BlockChecksumIsTheDigestOfPerBlockDigests) {
  const uint64_t block = 1 << 20, size = 5 * block + 12345;  // the last block is short
  std::string image(size, '\0');
  std::mt19937 rng(3);
  for (uint64_t i = 2 * block; i < 3 * block; ++i) image[i] = static_cast<char>(rng());
  for (uint64_t i = 5 * block; i < size; ++i) image[i] = 'x';
  sink::SinkOptions o;
  o.path = dir_ + "/disk.img";
  o.size = size;
  sink::DiskSink s(o);
  s.Write(0, image);
  // Independently: sha256 over the concatenated sha256 of each block.
  std::string concat;
  for (uint64_t off = 0; off < size; off += block)
    concat += Sha256(image.substr(off, std::min(block, size - off)));
  EXPECT_EQ(BlockChecksum(s, "sha256", block, 2, {}), Hex(Sha256(concat)));
}

TEST_F(SinkFixture, StreamDigestFollowsOutOfOrderWrites) {
  const uint64_t size = 9 << 20;
  std::string image(size, '\0');
  for (uint64_t i = 0; i < size; i += 4096) image[i] = static_cast<char>(i / 4096 + 1);
  sink::SinkOptions o;
  o.path = dir_ + "/disk.img";
  o.size = size;
  sink::DiskSink s(o);
  StreamDigest digest("sha512");
  digest.Start(s);
  std::thread writer([&] {
    for (uint64_t off : {6ull << 20, 3ull << 20, 0ull})
      s.Write(off, std::string_view(image).substr(off, 3 << 20));
  });
  writer.join();
  EXPECT_EQ(digest.Finish(), HexDigest("sha512", image));
}

}  // namespace
}  // namespace hoist::populators

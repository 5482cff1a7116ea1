#include "sink/checkpoint.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "sink_test_util.h"

namespace hoist::sink {
namespace {

using testing::TempDir;

TEST(Checkpoint, RoundTripsAndLeavesNoTemporaryFile) {
  TempDir dir;
  std::string path = dir.File("disk.img.hoist-checkpoint");
  WriteCheckpoint(path, {"image-1 sha256:abc", 1000, {{0, 100}, {200, 300}}});
  auto rec = ReadCheckpoint(path);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->source, "image-1 sha256:abc");
  EXPECT_EQ(rec->size, 1000u);
  EXPECT_EQ(rec->done, (std::vector<Range>{{0, 100}, {200, 300}}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  RemoveCheckpoint(path);
  EXPECT_FALSE(std::filesystem::exists(path));
  RemoveCheckpoint(path);  // missing is fine
}

TEST(Checkpoint, MissingOrMalformedRecordsReadAsNone) {
  TempDir dir;
  std::string path = dir.File("ckpt");
  EXPECT_FALSE(ReadCheckpoint(path));
  for (const char* text : {"{\"version\":1,\"source\":\"x\",\"size\":10,\"done\":[[0,5]",  // torn
                           "{\"version\":2,\"source\":\"x\",\"size\":10,\"done\":[]}",     // unknown version
                           "{\"version\":1,\"source\":\"x\",\"size\":10,\"done\":[[0,20]]}",  // beyond size
                           "{\"version\":1,\"source\":\"x\",\"size\":10,\"done\":[[5,6],[0,2]]}"}) {
    std::ofstream(path) << text;
    EXPECT_FALSE(ReadCheckpoint(path)) << text;
  }
}

}  // namespace
}  // namespace hoist::sink

namespace hoist::sink {
namespace {

TEST(Checkpoint, Crc32MatchesTheStandardCheckValue) { EXPECT_EQ(Crc32("123456789", 9), 0xCBF43926u); }

TEST(Checkpoint, EncodingDropsTrailingRangesToFitAndStaysTrue) {
  CheckpointRecord rec{"src", 1ull << 40, {}};
  for (uint64_t i = 0; i < 2000; ++i) rec.done.push_back({i * 1000000, i * 1000000 + 500000});
  std::string text = EncodeCheckpoint(rec, 4096);
  EXPECT_LE(text.size(), 4096u);
  CheckpointRecord back = DecodeCheckpoint(text);
  ASSERT_FALSE(back.done.empty());
  ASSERT_LT(back.done.size(), rec.done.size());
  for (size_t i = 0; i < back.done.size(); ++i)
    EXPECT_EQ(back.done[i], rec.done[i]) << "a prefix of the ranges";
  EXPECT_EQ(DecodeCheckpoint(EncodeCheckpoint(rec)).done.size(), rec.done.size()) << "no limit keeps all";
}

}  // namespace
}  // namespace hoist::sink

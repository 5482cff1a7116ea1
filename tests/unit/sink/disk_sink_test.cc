#include "sink/disk_sink.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.h"
#include "sink/checkpoint.h"
#include "sink_test_util.h"

namespace hoist::sink {
namespace {

using testing::AllocatedBytes;
using testing::ReadAll;
using testing::TempDir;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

// An image of `size` bytes: random bytes in the 64 KiB blocks whose index is in `data_blocks`, zeros
// elsewhere.
std::string MakeImage(uint64_t size, const std::vector<uint64_t>& data_blocks, unsigned seed = 1) {
  std::string image(size, '\0');
  std::mt19937 rng(seed);
  for (uint64_t b : data_blocks) {
    for (uint64_t i = b * 64 * kKiB; i < std::min(size, (b + 1) * 64 * kKiB); ++i) {
      image[i] = static_cast<char>(rng() | 1);  // never zero, so the block is data
    }
  }
  return image;
}

void WriteInChunks(DiskSink& sink, const std::string& image, uint64_t chunk, uint64_t from = 0,
                   uint64_t to = UINT64_MAX) {
  to = std::min<uint64_t>(to, image.size());
  for (uint64_t off = from; off < to; off += chunk) {
    uint64_t n = std::min(chunk, to - off);
    sink.Write(off, std::string_view(image).substr(off, n));
  }
}

SinkOptions FileOptions(const std::string& path, uint64_t size, std::string source = "image-1") {
  SinkOptions o;
  o.path = path;
  o.size = size;
  o.source_identity = std::move(source);
  o.checkpoint_every = std::chrono::milliseconds(0);  // by bytes only: deterministic
  return o;
}

TEST(DiskSink, MostlyZeroImageStaysSparseAndReadsBackEqual) {
  TempDir dir;
  const uint64_t size = 64 * kMiB;
  std::string image = MakeImage(size, {0, 100, 1023});
  std::string path = dir.File("disk.img");
  {
    DiskSink sink(FileOptions(path, size));
    EXPECT_FALSE(sink.resumed());
    WriteInChunks(sink, image, 1 * kMiB);
    sink.Finish();
    auto stats = sink.Stats();
    EXPECT_EQ(stats.bytes_written, 3 * 64 * kKiB);
    EXPECT_EQ(stats.bytes_skipped_zero, size - 3 * 64 * kKiB);
    EXPECT_LT(stats.allocated_bytes, 2 * kMiB) << "the file is not sparse";
  }
  EXPECT_EQ(std::filesystem::file_size(path), size);
  EXPECT_LT(AllocatedBytes(path), 2 * kMiB);
  EXPECT_TRUE(ReadAll(path) == image);
  EXPECT_FALSE(std::filesystem::exists(path + ".hoist-checkpoint")) << "Finish removes the record";
}

TEST(DiskSink, UnalignedWritesSplitAtZeroBlockBoundaries) {
  TempDir dir;
  const uint64_t size = 4 * kMiB + 12345;  // not a multiple of the block size
  std::vector<uint64_t> blocks;
  for (uint64_t b = 0; b < 66; b += 3) blocks.push_back(b);
  std::string image = MakeImage(size, blocks, 7);
  std::string path = dir.File("disk.img");
  DiskSink sink(FileOptions(path, size));
  WriteInChunks(sink, image, 100000);  // chunks straddle blocks
  sink.Finish();
  EXPECT_TRUE(ReadAll(path) == image);
  auto stats = sink.Stats();
  EXPECT_EQ(stats.bytes_written + stats.bytes_skipped_zero, size);
  EXPECT_GT(stats.bytes_skipped_zero, size / 2);
}

TEST(DiskSink, ParallelWritersProduceTheImage) {
  TempDir dir;
  const uint64_t size = 32 * kMiB;
  std::vector<uint64_t> blocks;
  for (uint64_t b = 0; b < 512; b += 5) blocks.push_back(b);
  std::string image = MakeImage(size, blocks, 3);
  std::string path = dir.File("disk.img");
  auto options = FileOptions(path, size);
  options.checkpoint_every_bytes = 1 * kMiB;  // records written while the writers run
  DiskSink sink(options);
  const int kThreads = 4;
  const uint64_t chunk = 1 * kMiB;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t off = t * chunk; off < size; off += kThreads * chunk) {
        sink.Write(off, std::string_view(image).substr(off, chunk));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto rec = ReadCheckpoint(sink.checkpoint_path());
  ASSERT_TRUE(rec) << "a checkpoint is written every MiB";
  uint64_t recorded = 0;
  for (const auto& r : rec->done) recorded += r.length();
  EXPECT_GE(recorded, chunk);
  EXPECT_LE(rec->done.back().end, size);
  EXPECT_EQ(sink.PendingRanges(), std::vector<Range>{});
  sink.Finish();
  EXPECT_TRUE(ReadAll(path) == image);
}

TEST(DiskSink, ZerosOverWrittenDataPunchAHole) {
  TempDir dir;
  const uint64_t size = 8 * kMiB;
  std::string data = MakeImage(2 * kMiB, {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                          16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31});
  std::string path = dir.File("disk.img");
  DiskSink sink(FileOptions(path, size));
  sink.Write(0, data);
  sink.Write(4 * kMiB, data);
  uint64_t before = sink.Stats().allocated_bytes;
  EXPECT_GE(before, 4 * kMiB);
  // A retried range whose source now says zeros, and a known-zero extent over written data.
  sink.Write(0, std::string(2 * kMiB, '\0'));
  sink.ZeroRange(4 * kMiB, 4 * kMiB);
  sink.Write(2 * kMiB, std::string(2 * kMiB, '\0'));
  sink.Finish();
  EXPECT_TRUE(ReadAll(path) == std::string(size, '\0'));
  EXPECT_LT(sink.Stats().allocated_bytes, 256 * kKiB);
  EXPECT_EQ(sink.Stats().bytes_written, 4 * kMiB) << "only the first data writes";
}

TEST(DiskSink, ResumeSkipsRangesRecordedInTheCheckpoint) {
  TempDir dir;
  const uint64_t size = 16 * kMiB;
  std::vector<uint64_t> blocks;
  for (uint64_t b = 0; b < 256; b += 2) blocks.push_back(b);
  std::string image = MakeImage(size, blocks, 11);
  std::string path = dir.File("disk.img");
  auto options = FileOptions(path, size, "image-1 sha256:aaa");
  options.checkpoint_every_bytes = UINT64_MAX;  // only explicit checkpoints
  {
    DiskSink sink(options);
    WriteInChunks(sink, image, kMiB, 0, 6 * kMiB);
    WriteInChunks(sink, image, kMiB, 10 * kMiB, 12 * kMiB);  // a parallel range ahead
    sink.Checkpoint();
  }  // the pod is killed
  DiskSink sink(options);
  EXPECT_TRUE(sink.resumed());
  EXPECT_EQ(sink.ResumeOffset(), 6 * kMiB);
  EXPECT_EQ(sink.CompletedRanges(), (std::vector<Range>{{0, 6 * kMiB}, {10 * kMiB, 12 * kMiB}}));
  EXPECT_EQ(sink.PendingRanges(), (std::vector<Range>{{6 * kMiB, 10 * kMiB}, {12 * kMiB, size}}));
  for (const auto& r : sink.PendingRanges()) WriteInChunks(sink, image, kMiB, r.begin, r.end);
  EXPECT_EQ(sink.Stats().bytes_written + sink.Stats().bytes_skipped_zero, size - 8 * kMiB)
      << "the resumed copy writes only what was pending";
  sink.Finish();
  EXPECT_TRUE(ReadAll(path) == image);
}

TEST(DiskSink, CheckpointForAnotherSourceOrSizeStartsOver) {
  TempDir dir;
  const uint64_t size = 4 * kMiB;
  std::string old_image = MakeImage(size, {0, 1, 2, 3, 40, 41});
  std::string path = dir.File("disk.img");
  {
    DiskSink sink(FileOptions(path, size, "image-old"));
    WriteInChunks(sink, old_image, kMiB);
    sink.Checkpoint();
  }
  {
    DiskSink sink(FileOptions(path, size + 4096, "image-old"));  // same source, other size
    EXPECT_FALSE(sink.resumed());
  }
  {
    DiskSink sink(FileOptions(path, size, "image-old"));
    WriteInChunks(sink, old_image, kMiB);
    sink.Checkpoint();
  }
  std::string new_image = MakeImage(size, {10, 11});  // zero where the old image had data
  DiskSink sink(FileOptions(path, size, "image-new"));
  EXPECT_FALSE(sink.resumed());
  EXPECT_EQ(sink.ResumeOffset(), 0u);
  EXPECT_EQ(sink.PendingRanges(), (std::vector<Range>{{0, size}}));
  EXPECT_FALSE(std::filesystem::exists(sink.checkpoint_path())) << "the stale record is removed at once";
  WriteInChunks(sink, new_image, kMiB);
  sink.Finish();
  EXPECT_TRUE(ReadAll(path) == new_image) << "no bytes of the old image survive";
}

TEST(DiskSink, CrashAfterCheckpointResumesSafelyWhenLaterDataWasLost) {
  TempDir dir;
  const uint64_t size = 8 * kMiB;
  std::vector<uint64_t> blocks(128);
  for (uint64_t b = 0; b < 128; ++b) blocks[b] = b;  // all data
  std::string image = MakeImage(size, blocks, 5);
  std::string path = dir.File("disk.img");
  auto options = FileOptions(path, size);
  options.checkpoint_every_bytes = 2 * kMiB;
  {
    DiskSink sink(options);
    WriteInChunks(sink, image, kMiB, 0, 5 * kMiB);  // automatic record at 2 and 4 MiB
  }
  auto rec = ReadCheckpoint(path + ".hoist-checkpoint");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->done, (std::vector<Range>{{0, 4 * kMiB}}));
  // The power went out: what was written after the record never reached the disk, and a record
  // update was torn before its rename.
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * kMiB, kMiB), 0);
  close(fd);
  std::ofstream(path + ".hoist-checkpoint.tmp") << "{\"version\":1,\"sou";

  DiskSink sink(options);
  ASSERT_TRUE(sink.resumed());
  EXPECT_EQ(sink.ResumeOffset(), 4 * kMiB);
  WriteInChunks(sink, image, kMiB, sink.ResumeOffset());
  sink.Finish();
  EXPECT_TRUE(ReadAll(path) == image);
  EXPECT_FALSE(std::filesystem::exists(path + ".hoist-checkpoint.tmp"));
}

TEST(DiskSink, CheckpointIsAlsoWrittenAfterAnInterval) {
  TempDir dir;
  std::string path = dir.File("disk.img");
  auto options = FileOptions(path, kMiB);
  options.checkpoint_every_bytes = UINT64_MAX;
  options.checkpoint_every = std::chrono::milliseconds(1);
  DiskSink sink(options);
  std::string data(4096, 'a');
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!std::filesystem::exists(sink.checkpoint_path()) && std::chrono::steady_clock::now() < deadline) {
    sink.Write(0, data);
  }
  auto rec = ReadCheckpoint(sink.checkpoint_path());
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->done, (std::vector<Range>{{0, 4096}}));
}

TEST(DiskSink, NoCheckpointBeforeTheIntervalOrByteCount) {
  TempDir dir;
  auto options = FileOptions(dir.File("disk.img"), 4 * kMiB);
  options.checkpoint_every_bytes = 2 * kMiB;
  DiskSink sink(options);
  sink.Write(0, std::string(kMiB, 'a'));
  EXPECT_FALSE(std::filesystem::exists(sink.checkpoint_path()));
  sink.Write(kMiB, std::string(kMiB, 'a'));
  EXPECT_TRUE(std::filesystem::exists(sink.checkpoint_path()));
}

TEST(DiskSink, MalformedCheckpointStartsOver) {
  TempDir dir;
  std::string path = dir.File("disk.img");
  std::ofstream(path) << std::string(1000, 'x');
  std::ofstream(path + ".hoist-checkpoint") << "not json";
  DiskSink sink(FileOptions(path, kMiB));
  EXPECT_FALSE(sink.resumed());
  EXPECT_TRUE(ReadAll(path) == std::string(kMiB, '\0')) << "old bytes are gone";
}

TEST(DiskSink, FinishWithBytesNeverWrittenIsABug) {
  TempDir dir;
  DiskSink sink(FileOptions(dir.File("disk.img"), 4 * kMiB));
  sink.ZeroRange(0, 3 * kMiB);
  try {
    sink.Finish();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kBug);
    EXPECT_NE(std::string(e.what()).find("first at offset 3145728"), std::string::npos) << e.what();
  }
}

TEST(DiskSink, WritesBeyondTheEndAreRejected) {
  TempDir dir;
  DiskSink sink(FileOptions(dir.File("disk.img"), kMiB));
  EXPECT_THROW(sink.Write(kMiB - 10, std::string(11, 'a')), Error);
  EXPECT_THROW(sink.ZeroRange(UINT64_MAX - 1, 4), Error);
  sink.Write(kMiB - 10, std::string(10, 'a'));
}

TEST(DiskSink, MissingVolumeIsAPrecondition) {
  TempDir dir;
  auto options = FileOptions(dir.File("no-such-dir/disk.img"), kMiB);
  try {
    DiskSink sink(options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("no-such-dir/disk.img"), std::string::npos) << e.what();
  }
}

// A regular file that claims to be a block device: zeroing calls are recorded, and when "supported"
// they really zero the file so that content checks hold.
class FakeBlockDevice : public DeviceOps {
 public:
  bool block = true;
  uint64_t size = 0;
  std::function<void()> on_data_sync;
  bool zeroout_supported = true;
  bool discard_zeroes = false;
  bool discard_supported = true;
  std::vector<Range> zeroouts, discards;

  bool IsBlockDevice(int) override { return block; }
  uint64_t BlockDeviceSize(int) override { return size; }
  bool ZeroOut(int fd, uint64_t offset, uint64_t length) override {
    if (!zeroout_supported) return false;
    zeroouts.push_back({offset, offset + length});
    Zero(fd, offset, length);
    return true;
  }
  bool DiscardZeroesData(int) override { return discard_zeroes; }
  bool Discard(int fd, uint64_t offset, uint64_t length) override {
    if (!discard_supported) return false;
    discards.push_back({offset, offset + length});
    Zero(fd, offset, length);
    return true;
  }
  void DataSync(int fd) override {
    if (on_data_sync) on_data_sync();
    ASSERT_EQ(fdatasync(fd), 0);
  }

 private:
  static void Zero(int fd, uint64_t offset, uint64_t length) {
    std::string zeros(length, '\0');
    ASSERT_EQ(pwrite(fd, zeros.data(), length, offset), static_cast<ssize_t>(length));
  }
};

class BlockDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("block");
    std::ofstream(path_) << std::string(kDevice, '\xff');  // old contents of a reused device
    fake_.size = kDevice;
    // 2 MiB: data, zeros, data, zeros ending unaligned at an odd size.
    image_ = MakeImage(kSize, {0, 1, 8, 9, 10});
  }
  SinkOptions Options() {
    SinkOptions o = FileOptions(path_, kSize);
    o.device_ops = &fake_;
    return o;
  }
  static constexpr uint64_t kDevice = 4 * kMiB;
  static constexpr uint64_t kSize = 2 * kMiB - 1000;
  TempDir dir_;
  std::string path_;
  std::string image_;
  FakeBlockDevice fake_;
};

TEST_F(BlockDeviceTest, ZeroBlocksUseBlkZeroOutAndTheDeviceIsNotTruncated) {
  DiskSink sink(Options());
  EXPECT_TRUE(sink.IsBlockDevice());
  EXPECT_EQ(sink.checkpoint_path(), "") << "no record file next to a device";
  EXPECT_NE(sink.CheckpointLocation().find("last 1048576 bytes"), std::string::npos)
      << "the 4 MiB device has room for the record in its tail";
  WriteInChunks(sink, image_, 512 * kKiB);
  sink.Finish();
  std::string content = ReadAll(path_);
  ASSERT_EQ(content.size(), kDevice);
  EXPECT_TRUE(content.substr(0, kSize) == image_);
  const uint64_t tail = kDevice - kTailCheckpointBytes;
  EXPECT_TRUE(content.substr(kSize, tail - kSize) == std::string(tail - kSize, '\xff'))
      << "bytes past the image untouched up to the record area";
  EXPECT_TRUE(content.substr(tail) == std::string(kTailCheckpointBytes, '\0'))
      << "the record area is zeroed when the copy is done";
  EXPECT_FALSE(fake_.zeroouts.empty());
  for (const auto& r : fake_.zeroouts) {
    EXPECT_EQ(r.begin % 4096, 0u);
    EXPECT_EQ(r.end % 4096, 0u);
  }
  EXPECT_TRUE(fake_.discards.empty());
  EXPECT_EQ(sink.Stats().bytes_written, 5 * 64 * kKiB + (kSize % 4096)) << "data plus the unaligned tail";
}

TEST_F(BlockDeviceTest, WithoutZeroOutADiscardThatZeroesIsUsed) {
  fake_.zeroout_supported = false;
  fake_.discard_zeroes = true;
  DiskSink sink(Options());
  WriteInChunks(sink, image_, 512 * kKiB);
  sink.Finish();
  EXPECT_TRUE(ReadAll(path_).substr(0, kSize) == image_);
  EXPECT_TRUE(fake_.zeroouts.empty());
  EXPECT_FALSE(fake_.discards.empty());
}

TEST_F(BlockDeviceTest, WithoutZeroOutOrZeroingDiscardZerosAreWritten) {
  fake_.zeroout_supported = false;
  fake_.discard_zeroes = false;  // discard works but may leave old data: must not be used
  DiskSink sink(Options());
  WriteInChunks(sink, image_, 512 * kKiB);
  sink.Finish();
  EXPECT_TRUE(ReadAll(path_).substr(0, kSize) == image_);
  EXPECT_TRUE(fake_.discards.empty());
  EXPECT_EQ(sink.Stats().bytes_written, kSize);
  EXPECT_EQ(sink.Stats().bytes_skipped_zero, 0u);
}

TEST_F(BlockDeviceTest, AssumedZeroedDeviceSkipsZeroBlocks) {
  std::ofstream(path_) << std::string(kDevice, '\0');
  auto options = Options();
  options.assume_device_zeroed = true;
  DiskSink sink(options);
  WriteInChunks(sink, image_, 512 * kKiB);
  sink.Finish();
  EXPECT_TRUE(fake_.zeroouts.empty());
  EXPECT_TRUE(ReadAll(path_).substr(0, kSize) == image_);
  EXPECT_EQ(sink.Stats().bytes_written, 5 * 64 * kKiB);
}

TEST_F(BlockDeviceTest, CheckpointGoesWhereTheCallerSaysAndResumes) {
  auto options = Options();
  options.checkpoint_path = dir_.File("state/block.hoist-checkpoint");
  std::filesystem::create_directories(dir_.File("state"));
  {
    DiskSink sink(options);
    WriteInChunks(sink, image_, 512 * kKiB, 0, kMiB);
    sink.Checkpoint();
  }
  EXPECT_TRUE(std::filesystem::exists(options.checkpoint_path));
  DiskSink sink(options);
  EXPECT_TRUE(sink.resumed());
  EXPECT_EQ(sink.ResumeOffset(), kMiB);
  WriteInChunks(sink, image_, 512 * kKiB, kMiB);
  sink.Finish();
  EXPECT_TRUE(ReadAll(path_).substr(0, kSize) == image_);
  EXPECT_FALSE(std::filesystem::exists(options.checkpoint_path));
}

TEST_F(BlockDeviceTest, RecordInTheDeviceTailResumesAfterACrash) {
  {
    DiskSink sink(Options());
    WriteInChunks(sink, image_, 512 * kKiB, 0, kMiB);
    sink.Checkpoint();
    WriteInChunks(sink, image_, 512 * kKiB, kMiB, kMiB + 512 * kKiB);
    sink.Checkpoint();  // the second record goes to the other slot
  }                     // crash: no Finish
  {
    DiskSink probe(Options());
    EXPECT_EQ(probe.ResumeOffset(), kMiB + 512 * kKiB) << "the newest record wins";
  }
  // A torn write of the newer record (sequence 2, in slot 0: its payload changed, so the CRC no
  // longer matches) leaves the older one.
  {
    int fd = open(path_.c_str(), O_RDWR);
    const char junk[8] = {'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'};
    ASSERT_EQ(pwrite(fd, junk, sizeof junk, static_cast<off_t>(kDevice - kTailCheckpointBytes + 40)), 8);
    close(fd);
  }
  DiskSink sink(Options());
  EXPECT_TRUE(sink.resumed());
  EXPECT_EQ(sink.ResumeOffset(), kMiB) << "the intact older slot";
  WriteInChunks(sink, image_, 512 * kKiB, sink.ResumeOffset());
  sink.Finish();
  EXPECT_TRUE(ReadAll(path_).substr(0, kSize) == image_);
  DiskSink again(Options());
  EXPECT_FALSE(again.resumed()) << "Finish removed the record";
}

TEST_F(BlockDeviceTest, DeviceWithoutRoomForTheRecordStartsOver) {
  fake_.size = kSize + 4096;
  {
    DiskSink sink(Options());
    EXPECT_EQ(sink.CheckpointLocation(), "");
    WriteInChunks(sink, image_, 512 * kKiB, 0, kMiB);
    sink.Checkpoint();  // nowhere to write: a no-op
  }
  DiskSink sink(Options());
  EXPECT_FALSE(sink.resumed());
}

// The lab bind-mounts a sparse file at /dev/block: a regular file handled as a block volume.
TEST(DiskSink, RegularFileAsBlockVolumeIsNotTruncatedAndZeroesByPunchingHoles) {
  TempDir dir;
  const std::string path = dir.File("pv-block");
  const uint64_t volume = 8 * kMiB, size = 3 * kMiB;
  std::ofstream(path) << std::string(volume, '\x5a');  // a reused volume's old contents
  std::string image = MakeImage(size, {0, 20, 21});
  SinkOptions o = FileOptions(path, size);
  o.block_volume = true;
  {
    DiskSink sink(o);
    EXPECT_FALSE(sink.IsBlockDevice());
    EXPECT_TRUE(sink.IsBlockVolume());
    EXPECT_NE(sink.CheckpointLocation(), "");
    WriteInChunks(sink, image, kMiB, 0, 2 * kMiB);
    sink.Checkpoint();
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".hoist-checkpoint")) << "no file beside a block volume";
  DiskSink sink(o);
  ASSERT_TRUE(sink.resumed());
  EXPECT_EQ(sink.ResumeOffset(), 2 * kMiB);
  WriteInChunks(sink, image, kMiB, 2 * kMiB);
  sink.Finish();
  std::string content = ReadAll(path);
  ASSERT_EQ(content.size(), volume) << "never truncated";
  EXPECT_TRUE(content.substr(0, size) == image) << "old bytes under zero blocks were zeroed";
  EXPECT_TRUE(content.substr(size, volume - kTailCheckpointBytes - size) ==
              std::string(volume - kTailCheckpointBytes - size, '\x5a'));
  EXPECT_LT(AllocatedBytes(path), volume) << "zeroing punched holes instead of writing zeros";
}

TEST(DiskSink, MissingBlockVolumeIsNotCreated) {
  TempDir dir;
  SinkOptions o = FileOptions(dir.File("block"), kMiB);
  o.block_volume = true;
  EXPECT_THROW(DiskSink sink(o), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.File("block")));
}

TEST(DiskSink, ReadBackAndHoleSkipping) {
  TempDir dir;
  const uint64_t size = 4 * kMiB;
  std::string image = MakeImage(size, {40});  // data only in block 40 (2.5 MiB)
  DiskSink sink(FileOptions(dir.File("disk.img"), size));
  WriteInChunks(sink, image, kMiB);
  EXPECT_EQ(sink.WaitContiguous(size, std::chrono::milliseconds(0)), size);
  EXPECT_EQ(sink.DoneBytes(), size);
  uint64_t next = sink.NextDataOffset(0);
  EXPECT_LE(next, 40 * 64 * kKiB);
  EXPECT_GT(next, 0u) << "the leading hole is skipped";
  EXPECT_EQ(sink.NextDataOffset(41 * 64 * kKiB), size) << "only a hole follows the data";
  std::string back(64 * kKiB, '\0');
  sink.ReadAt(40 * 64 * kKiB, std::as_writable_bytes(std::span<char>(back.data(), back.size())));
  EXPECT_TRUE(back == image.substr(40 * 64 * kKiB, 64 * kKiB));
}

TEST(DiskSink, WaitContiguousReturnsWhenTheFrontierArrives) {
  TempDir dir;
  DiskSink sink(FileOptions(dir.File("disk.img"), 2 * kMiB));
  std::string data(kMiB, '\x01');
  std::thread writer([&] {
    sink.Write(kMiB, data);  // out of order: the frontier stays at 0
    sink.Write(0, data);
  });
  EXPECT_EQ(sink.WaitContiguous(2 * kMiB, std::chrono::seconds(30)), 2 * kMiB);
  writer.join();
}

TEST_F(BlockDeviceTest, DeviceSmallerThanTheImageIsAPrecondition) {
  fake_.size = kSize - 1;
  try {
    DiskSink sink(Options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
  }
}

TEST(DiskSink, DataIsSyncedBeforeTheRecordClaimsIt) {
  TempDir dir;
  std::string path = dir.File("disk.img");
  FakeBlockDevice ops;
  ops.block = false;  // a regular file; only the sync is observed
  std::vector<uint64_t> recorded_at_sync;
  ops.on_data_sync = [&] {
    auto rec = ReadCheckpoint(path + ".hoist-checkpoint");
    recorded_at_sync.push_back(rec ? rec->done.back().end : 0);
  };
  auto options = FileOptions(path, 4 * kMiB);
  options.device_ops = &ops;
  options.checkpoint_every_bytes = UINT64_MAX;
  DiskSink sink(options);
  sink.Write(0, std::string(kMiB, 'a'));
  sink.Checkpoint();
  sink.Write(kMiB, std::string(kMiB, 'b'));
  sink.Checkpoint();
  // At each sync the record on disk still said what was synced before.
  EXPECT_EQ(recorded_at_sync, (std::vector<uint64_t>{0, kMiB}));
  EXPECT_EQ(ReadCheckpoint(path + ".hoist-checkpoint")->done, (std::vector<Range>{{0, 2 * kMiB}}));
}

TEST(IsAllZero, DetectsASingleNonZeroByteAnywhere) {
  std::vector<std::byte> buf(200 * kKiB);
  EXPECT_TRUE(IsAllZero(buf.data(), buf.size()));
  EXPECT_TRUE(IsAllZero(buf.data(), 0));
  for (size_t pos : {size_t{0}, size_t{65535}, size_t{65536}, buf.size() - 1}) {
    buf[pos] = std::byte{1};
    EXPECT_FALSE(IsAllZero(buf.data(), buf.size())) << pos;
    buf[pos] = std::byte{0};
  }
}

}  // namespace
}  // namespace hoist::sink

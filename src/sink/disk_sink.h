#pragma once
// DiskSink writes a raw disk image into the populator's volume: `/mnt/disk.img` (volumeMode
// Filesystem: a regular file) or `/dev/block` (volumeMode Block). Writes arrive at offsets, possibly
// from several threads (parallel range downloads). All-zero blocks are not written, so files stay
// sparse and thin block devices stay thin; a checkpoint record lets a restarted pod resume.
// See README.md in this folder.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "sink/checkpoint.h"
#include "sink/device_ops.h"
#include "sink/range_set.h"

namespace hoist::sink {

struct SinkOptions {
  std::string path;             // /mnt/disk.img, /dev/block, or a file standing in for either
  uint64_t size = 0;            // total bytes of the disk image (> 0)
  std::string source_identity;  // opaque: a checkpoint for another identity is discarded
  // The volume is a raw block volume (volumeMode Block): it must exist, is never truncated or resized,
  // may be larger than the image (the tail beyond it is left alone, but for the checkpoint below),
  // and zero blocks are zeroed on it. A block device (S_ISBLK) is always handled so; set this for
  // `/dev/block` even when it is a regular file (the lab bind-mounts a sparse file there), which is
  // then zeroed by punching holes.
  bool block_volume = false;
  // Where the resume record lives. Empty: `<path>.hoist-checkpoint` for a regular file; for a block
  // volume, its last kTailCheckpointBytes when it is at least that much larger than the image, else
  // no record is kept (an interrupted copy starts over).
  std::string checkpoint_path;
  bool checkpoint = true;                          // false: neither read nor write a record
  uint64_t checkpoint_every_bytes = 256ull << 20;  // record at most this often (bytes completed)…
  std::chrono::milliseconds checkpoint_every = std::chrono::seconds(10);  // …or this often (0: never by time)
  uint64_t zero_block_size = 64 * 1024;  // granularity of zero detection (power of two, >= 4096)
  bool create = true;                    // create the file when it does not exist
  // Block devices only: the device is known to read as zeros (e.g. freshly provisioned thin LUN),
  // so zero blocks never written in this copy need no zeroing.
  bool assume_device_zeroed = false;
  DeviceOps* device_ops = nullptr;  // nullptr: the real ioctls
};

struct SinkStats {
  uint64_t bytes_written = 0;       // bytes passed to pwrite (data, and zeros where nothing better works)
  uint64_t bytes_skipped_zero = 0;  // zero bytes not written (skipped, hole punched, or device-zeroed)
  uint64_t allocated_bytes = 0;     // st_blocks * 512 of the file (meaningless for block devices)
};

class DiskSink {
 public:
  // Opens (and for files, creates and sizes) the target, and loads a matching checkpoint. A record for
  // another source or size, a malformed one, or none at all means starting over: a regular file is
  // truncated to empty and resized, so it reads as zeros.
  explicit DiskSink(SinkOptions options);
  ~DiskSink();  // closes; writes no record (a crash must look the same)
  DiskSink(const DiskSink&) = delete;
  DiskSink& operator=(const DiskSink&) = delete;

  // Resume state loaded at open.
  bool resumed() const { return resumed_; }
  uint64_t ResumeOffset() const;  // bytes done contiguously from 0
  std::vector<Range> CompletedRanges() const;
  std::vector<Range> PendingRanges() const;  // what is still to be written
  bool IsBlockDevice() const { return is_block_; }
  bool IsBlockVolume() const { return device_like_; }
  const std::string& checkpoint_path() const { return checkpoint_path_; }
  // Where the record is kept ("" when none is kept), for messages.
  std::string CheckpointLocation() const { return store_ ? store_->Describe() : ""; }
  uint64_t size() const { return options_.size; }
  const std::string& path() const { return options_.path; }

  // Writes `data` at `offset`. Thread-safe for disjoint ranges. All-zero blocks are skipped (or their
  // old contents punched/zeroed when this copy wrote there before).
  void Write(uint64_t offset, std::span<const std::byte> data);
  void Write(uint64_t offset, std::string_view data) {
    Write(offset, std::as_bytes(std::span<const char>(data.data(), data.size())));
  }
  // Declares [offset, offset+length) as zeros (a known-zero extent of the source).
  void ZeroRange(uint64_t offset, uint64_t length);

  // Reads back `data.size()` bytes at `offset` (verification). Throws hoist::Error on I/O failure.
  void ReadAt(uint64_t offset, std::span<std::byte> data) const;
  // For a regular file: the first offset >= `offset` that may hold data (SEEK_DATA; the image size when
  // only a hole follows). For a block volume: `offset`. Lets a reader skip holes without reading them.
  uint64_t NextDataOffset(uint64_t offset) const;
  // Bytes done contiguously from 0, waiting up to `timeout` for it to reach `at_least`.
  uint64_t WaitContiguous(uint64_t at_least, std::chrono::milliseconds timeout) const;
  uint64_t DoneBytes() const;  // every byte done so far (resumed, written, zeroed)

  // Syncs the data and writes the record now (e.g. on SIGTERM). No-op without a checkpoint.
  void Checkpoint();
  // Writes the record if its interval has passed with new data done. Writes do this themselves; a
  // caller's timer calls it too, so that data done just before a stall is recorded all the same.
  void CheckpointIfDue() { MaybeCheckpoint(); }
  // Drops the record, so that the next attempt starts over (e.g. after the data failed verification).
  void DiscardCheckpoint();
  // Checks that every byte was written, fsyncs, and removes the record. Call after all writers end.
  void Finish();

  SinkStats Stats() const;

 private:
  void CheckBounds(uint64_t offset, uint64_t length, const char* what) const;
  void WriteData(uint64_t offset, const std::byte* data, uint64_t length);
  void WriteZeros(uint64_t offset, uint64_t length);
  void HandleZeroRun(uint64_t offset, uint64_t length);
  void ZeroFileRange(uint64_t offset, uint64_t length);
  void ZeroDeviceRange(uint64_t offset, uint64_t length);
  void MarkDone(uint64_t offset, uint64_t length);
  void MaybeCheckpoint();
  void CheckpointLocked();
  std::string Describe() const;

  SinkOptions options_;
  DeviceOps* ops_;
  int fd_ = -1;
  bool is_block_ = false;     // S_ISBLK
  bool device_like_ = false;  // block device, or a regular file standing in for one
  bool resumed_ = false;
  std::string checkpoint_path_;
  std::unique_ptr<CheckpointStore> store_;

  mutable std::mutex mu_;  // guards done_ and the checkpoint schedule below
  mutable std::condition_variable done_cv_;
  RangeSet done_;
  uint64_t bytes_since_checkpoint_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_;

  std::mutex checkpoint_mu_;         // one record write at a time
  bool checkpoints_closed_ = false;  // under checkpoint_mu_: after Finish or DiscardCheckpoint
  bool discard_zeroes_ = false;
  std::atomic<bool> punch_supported_{true};
  std::atomic<bool> zeroout_supported_{true};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> bytes_skipped_zero_{0};
};

// True when the `length` bytes at `data` are all zero.
bool IsAllZero(const std::byte* data, size_t length);

}  // namespace hoist::sink

#include "sink/disk_sink.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "sink/checkpoint.h"

namespace hoist::sink {
namespace {

constexpr uint64_t kZeroBufferSize = 64 * 1024;
// Offsets and lengths given to BLKZEROOUT/BLKDISCARD must be multiples of the logical block size;
// 4096 is a multiple of every logical block size Linux supports (512 and 4096).
constexpr uint64_t kDeviceAlign = 4096;

alignas(4096) const std::byte kZeros[kZeroBufferSize] = {};

std::string Errno() { return std::strerror(errno); }

}  // namespace

bool IsAllZero(const std::byte* data, size_t length) {
  while (length > 0) {
    size_t n = std::min<size_t>(length, kZeroBufferSize);
    if (std::memcmp(data, kZeros, n) != 0) return false;
    data += n;
    length -= n;
  }
  return true;
}

DiskSink::DiskSink(SinkOptions options)
    : options_(std::move(options)), ops_(options_.device_ops ? options_.device_ops : &SystemDeviceOps()) {
  const uint64_t block = options_.zero_block_size;
  if (options_.size == 0) throw BugError("disk sink for " + options_.path + ": the disk size must be > 0");
  if (block < kDeviceAlign || (block & (block - 1)) != 0) {
    throw BugError("disk sink for " + options_.path + ": zero_block_size " + std::to_string(block) +
                   " is not a power of two >= 4096");
  }
  // A block volume must be there already: creating a file at /dev/block would write the disk into
  // the container's own filesystem.
  int flags = O_RDWR | O_CLOEXEC | (options_.create && !options_.block_volume ? O_CREAT : 0);
  fd_ = open(options_.path.c_str(), flags, 0644);
  if (fd_ < 0) {
    throw PreconditionError(
        "opening the volume " + options_.path + " for writing: " + Errno() +
        " — check that the PVC is mounted there (/mnt/disk.img for volumeMode Filesystem, "
        "/dev/block for volumeMode Block)");
  }
  try {
    is_block_ = ops_->IsBlockDevice(fd_);
    device_like_ = is_block_ || options_.block_volume;
    uint64_t volume_size = 0;
    if (device_like_) {
      if (is_block_) {
        volume_size = ops_->BlockDeviceSize(fd_);
      } else {
        struct stat st {};
        if (fstat(fd_, &st) != 0) throw TransientError("fstat of " + options_.path + ": " + Errno());
        volume_size = static_cast<uint64_t>(st.st_size);
      }
      if (volume_size < options_.size) {
        throw PreconditionError("block volume " + options_.path + " has " + std::to_string(volume_size) +
                                " bytes but the disk image needs " + std::to_string(options_.size) +
                                " — the PVC must be at least as large as the source disk");
      }
    }

    if (!options_.checkpoint) {
      // no record
    } else if (!options_.checkpoint_path.empty()) {
      checkpoint_path_ = options_.checkpoint_path;
      store_ = MakeFileCheckpointStore(checkpoint_path_);
    } else if (!device_like_) {
      checkpoint_path_ = options_.path + ".hoist-checkpoint";
      store_ = MakeFileCheckpointStore(checkpoint_path_);
    } else {
      uint64_t tail = volume_size >= kTailCheckpointBytes
                          ? (volume_size - kTailCheckpointBytes) / kDeviceAlign * kDeviceAlign
                          : 0;
      if (volume_size >= kTailCheckpointBytes && tail >= options_.size) {
        store_ = MakeDeviceTailCheckpointStore(fd_, tail, *ops_, options_.path);
      } else {
        log::Info("sink",
                  "the block volume has no room beyond the disk image for a checkpoint; an interrupted "
                  "copy starts over (a volume 1 MiB larger than the disk can resume)",
                  {{"path", options_.path}, {"volume_size", volume_size}, {"size", options_.size}});
      }
    }

    if (store_) {
      auto rec = store_->Read();
      if (rec && rec->source == options_.source_identity && rec->size == options_.size) {
        resumed_ = true;
        for (const auto& r : rec->done) done_.Add(r.begin, r.end);
        log::Info("sink", "resuming from checkpoint",
                  {{"path", options_.path},
                   {"checkpoint", store_->Describe()},
                   {"done_bytes", done_.Total()},
                   {"resume_offset", done_.ContiguousFromZero()}});
      } else {
        if (rec) {
          log::Info("sink", "checkpoint is for another source or size; starting over",
                    {{"path", options_.path}, {"checkpoint_size", rec->size}, {"size", options_.size}});
        }
        // Removed before the data is touched: a crash from here on must not resume into new data.
        if (rec)
          store_->Remove();
        else if (!device_like_)
          store_->Remove();  // a leftover temporary file
      }
    }

    if (!device_like_) {
      // Starting over empties the file, so skipped zero blocks read as zeros; then it gets its size
      // as one hole.
      if (!resumed_ && ftruncate(fd_, 0) != 0) {
        throw TransientError("truncating " + options_.path + ": " + Errno());
      }
      if (ftruncate(fd_, static_cast<off_t>(options_.size)) != 0) {
        throw PreconditionError("sizing " + options_.path + " to " + std::to_string(options_.size) +
                                " bytes: " + Errno() + " — check the filesystem's maximum file size");
      }
    } else if (is_block_) {
      discard_zeroes_ = ops_->DiscardZeroesData(fd_);
    }
  } catch (...) {
    store_.reset();
    close(fd_);
    throw;
  }
  last_checkpoint_ = std::chrono::steady_clock::now();
}

DiskSink::~DiskSink() {
  if (fd_ >= 0) close(fd_);
}

std::string DiskSink::Describe() const {
  return (is_block_ ? "block device " : device_like_ ? "block volume " : "file ") + options_.path;
}

uint64_t DiskSink::ResumeOffset() const {
  std::lock_guard lock(mu_);
  return done_.ContiguousFromZero();
}

std::vector<Range> DiskSink::CompletedRanges() const {
  std::lock_guard lock(mu_);
  return done_.Ranges();
}

std::vector<Range> DiskSink::PendingRanges() const {
  std::lock_guard lock(mu_);
  return done_.Gaps(options_.size);
}

void DiskSink::CheckBounds(uint64_t offset, uint64_t length, const char* what) const {
  if (offset > options_.size || length > options_.size - offset) {
    throw BugError(std::string(what) + " of " + std::to_string(length) + " bytes at offset " +
                   std::to_string(offset) + " is beyond the end of the " + std::to_string(options_.size) +
                   "-byte disk " + options_.path);
  }
}

void DiskSink::Write(uint64_t offset, std::span<const std::byte> data) {
  const uint64_t length = data.size();
  CheckBounds(offset, length, "write");
  if (length == 0) return;
  const uint64_t block = options_.zero_block_size;
  const uint64_t end = offset + length;
  // Walk the data in pieces aligned to zero blocks of the disk, and hand each run of same-kind pieces
  // (data or zeros) over in one call.
  uint64_t run_start = offset;
  bool run_zero = false;
  uint64_t pos = offset;
  while (pos < end) {
    uint64_t next = std::min(end, (pos / block + 1) * block);
    bool zero = IsAllZero(data.data() + (pos - offset), next - pos);
    if (pos == offset) {
      run_zero = zero;
    } else if (zero != run_zero) {
      if (run_zero) {
        HandleZeroRun(run_start, pos - run_start);
      } else {
        WriteData(run_start, data.data() + (run_start - offset), pos - run_start);
      }
      run_start = pos;
      run_zero = zero;
    }
    pos = next;
  }
  if (run_zero) {
    HandleZeroRun(run_start, end - run_start);
  } else {
    WriteData(run_start, data.data() + (run_start - offset), end - run_start);
  }
  MarkDone(offset, length);
  MaybeCheckpoint();
}

void DiskSink::ZeroRange(uint64_t offset, uint64_t length) {
  CheckBounds(offset, length, "zero range");
  if (length == 0) return;
  HandleZeroRun(offset, length);
  MarkDone(offset, length);
  MaybeCheckpoint();
}

void DiskSink::WriteData(uint64_t offset, const std::byte* data, uint64_t length) {
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = pwrite(fd_, data + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string what = "writing " + std::to_string(length - done) + " bytes at offset " +
                         std::to_string(offset + done) + " of " + Describe() + ": " + Errno();
      if (errno == ENOSPC || errno == EDQUOT) {
        throw PreconditionError(what + " — the volume is full; the PVC must hold the whole disk (" +
                                std::to_string(options_.size) + " bytes) plus filesystem overhead");
      }
      throw TransientError(what);
    }
    done += static_cast<uint64_t>(n);
  }
  bytes_written_ += length;
}

void DiskSink::WriteZeros(uint64_t offset, uint64_t length) {
  while (length > 0) {
    uint64_t n = std::min(length, kZeroBufferSize);
    WriteData(offset, kZeros, n);
    offset += n;
    length -= n;
  }
}

void DiskSink::HandleZeroRun(uint64_t offset, uint64_t length) {
  bool written_before;
  {
    std::lock_guard lock(mu_);
    written_before = done_.Overlaps(offset, offset + length);
  }
  if (device_like_) {
    if (options_.assume_device_zeroed && !written_before) {
      bytes_skipped_zero_ += length;
    } else if (is_block_) {
      ZeroDeviceRange(offset, length);
    } else {
      ZeroFileRange(offset, length);  // a file standing in for a block volume
    }
    return;
  }
  // A regular file that was started over (or resumed for the same source) holds either a hole or this
  // same source's bytes where this copy has not written yet; only overwrites need the old data gone.
  if (written_before) {
    ZeroFileRange(offset, length);
  } else {
    bytes_skipped_zero_ += length;
  }
}

void DiskSink::ZeroFileRange(uint64_t offset, uint64_t length) {
  if (punch_supported_) {
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(length)) == 0) {
      bytes_skipped_zero_ += length;
      return;
    }
    if (errno != EOPNOTSUPP) {
      throw TransientError("punching a hole of " + std::to_string(length) + " bytes at offset " +
                           std::to_string(offset) + " in " + Describe() + ": " + Errno());
    }
    if (punch_supported_.exchange(false)) {
      log::Warn("sink", "the filesystem cannot punch holes; overwritten zero blocks are written as zeros",
                {{"path", options_.path}});
    }
  }
  WriteZeros(offset, length);
}

void DiskSink::ZeroDeviceRange(uint64_t offset, uint64_t length) {
  const uint64_t end = offset + length;
  const uint64_t a = (offset + kDeviceAlign - 1) / kDeviceAlign * kDeviceAlign;
  const uint64_t b = end / kDeviceAlign * kDeviceAlign;
  if (a >= b) {
    WriteZeros(offset, length);
    return;
  }
  if (a > offset) WriteZeros(offset, a - offset);
  if (b < end) WriteZeros(b, end - b);
  if (zeroout_supported_) {
    if (ops_->ZeroOut(fd_, a, b - a)) {
      bytes_skipped_zero_ += b - a;
      return;
    }
    if (zeroout_supported_.exchange(false)) {
      log::Info("sink", "the block device does not support BLKZEROOUT; using discard or zero writes",
                {{"path", options_.path}, {"discard_zeroes_data", discard_zeroes_ ? "true" : "false"}});
    }
  }
  if (discard_zeroes_ && ops_->Discard(fd_, a, b - a)) {
    bytes_skipped_zero_ += b - a;
    return;
  }
  WriteZeros(a, b - a);
}

void DiskSink::MarkDone(uint64_t offset, uint64_t length) {
  {
    std::lock_guard lock(mu_);
    done_.Add(offset, offset + length);
    bytes_since_checkpoint_ += length;
  }
  done_cv_.notify_all();
}

void DiskSink::ReadAt(uint64_t offset, std::span<std::byte> data) const {
  CheckBounds(offset, data.size(), "read");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw TransientError("reading back " + std::to_string(data.size() - done) + " bytes at offset " +
                           std::to_string(offset + done) + " of " + Describe() + ": " + Errno());
    }
    if (n == 0) {
      throw TransientError("reading back " + Describe() + ": unexpected end of data at offset " +
                           std::to_string(offset + done));
    }
    done += static_cast<size_t>(n);
  }
}

uint64_t DiskSink::NextDataOffset(uint64_t offset) const {
  if (device_like_ || offset >= options_.size) return offset;
  off_t next = lseek(fd_, static_cast<off_t>(offset), SEEK_DATA);
  if (next < 0) return errno == ENXIO ? options_.size : offset;  // ENXIO: only a hole follows
  return std::min<uint64_t>(static_cast<uint64_t>(next), options_.size);
}

uint64_t DiskSink::WaitContiguous(uint64_t at_least, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  done_cv_.wait_for(lock, timeout, [&] { return done_.ContiguousFromZero() >= at_least; });
  return done_.ContiguousFromZero();
}

uint64_t DiskSink::DoneBytes() const {
  std::lock_guard lock(mu_);
  return done_.Total();
}

void DiskSink::MaybeCheckpoint() {
  if (!store_) return;
  {
    std::lock_guard lock(mu_);
    bool due = bytes_since_checkpoint_ >= options_.checkpoint_every_bytes ||
               (options_.checkpoint_every.count() > 0 &&
                std::chrono::steady_clock::now() - last_checkpoint_ >= options_.checkpoint_every);
    if (!due || bytes_since_checkpoint_ == 0) return;
  }
  std::unique_lock lock(checkpoint_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another writer is recording; the next write will look again
  CheckpointLocked();
}

void DiskSink::Checkpoint() {
  if (!store_) return;
  std::lock_guard lock(checkpoint_mu_);
  CheckpointLocked();
}

void DiskSink::DiscardCheckpoint() {
  if (!store_) return;
  std::lock_guard lock(checkpoint_mu_);
  checkpoints_closed_ = true;  // a later timed checkpoint must not bring it back
  store_->Remove();
}

void DiskSink::CheckpointLocked() {
  if (checkpoints_closed_) return;
  CheckpointRecord rec{options_.source_identity, options_.size, {}};
  {
    std::lock_guard lock(mu_);
    rec.done = done_.Ranges();
    bytes_since_checkpoint_ = 0;
    last_checkpoint_ = std::chrono::steady_clock::now();
  }
  // Every range in the snapshot was written before it was marked done; syncing now puts all of it on
  // stable storage before the record claims it.
  ops_->DataSync(fd_);
  store_->Write(rec);
  uint64_t total = 0;
  for (const auto& r : rec.done) total += r.length();
  log::Debug("sink", "checkpoint written",
             {{"checkpoint", store_->Describe()}, {"ranges", rec.done.size()}, {"done_bytes", total}});
}

void DiskSink::Finish() {
  auto gaps = PendingRanges();
  if (!gaps.empty()) {
    uint64_t missing = 0;
    for (const auto& g : gaps) missing += g.length();
    throw BugError("finishing " + Describe() + ": " + std::to_string(missing) +
                   " bytes were never written, the first at offset " + std::to_string(gaps.front().begin));
  }
  if (fsync(fd_) != 0) throw TransientError("syncing " + Describe() + ": " + Errno());
  if (store_) {
    std::lock_guard lock(checkpoint_mu_);
    checkpoints_closed_ = true;
    store_->Remove();
  }
  auto stats = Stats();
  log::Info("sink", "disk image written",
            {{"path", options_.path},
             {"size", options_.size},
             {"bytes_written", stats.bytes_written},
             {"bytes_skipped_zero", stats.bytes_skipped_zero},
             {"allocated_bytes", stats.allocated_bytes}});
}

SinkStats DiskSink::Stats() const {
  SinkStats s;
  s.bytes_written = bytes_written_;
  s.bytes_skipped_zero = bytes_skipped_zero_;
  struct stat st {};
  if (fstat(fd_, &st) == 0) s.allocated_bytes = static_cast<uint64_t>(st.st_blocks) * 512;
  return s;
}

}  // namespace hoist::sink

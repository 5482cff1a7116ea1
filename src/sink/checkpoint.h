#pragma once
// The resume record kept next to the data: which source is being written, how big the disk is, and
// which byte ranges are known to be on stable storage. Two places hold it:
//   * a file beside a regular-file volume (`/mnt/disk.img.hoist-checkpoint`), written atomically
//     (temporary file, fsync, rename, fsync of the directory);
//   * the tail of a block volume that is larger than the disk image (the last 1 MiB), in two
//     alternating slots with a sequence number and a CRC, so a crash leaves the older slot intact.
// Either way a crash leaves the old record or the new one, never a mix.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sink/device_ops.h"
#include "sink/range_set.h"

namespace hoist::sink {

struct CheckpointRecord {
  std::string source;       // opaque identity of the source (image id + checksum, disk id + etag, …)
  uint64_t size = 0;        // total disk size in bytes
  std::vector<Range> done;  // sorted, disjoint ranges on stable storage
};

// The JSON form `{"version":1,"source":…,"size":…,"done":[[b,e],…]}`. When the text would exceed
// `max_bytes` (0: no limit), ranges are dropped from the end until it fits: a record that claims less
// than is done is still true, the dropped ranges are fetched again.
std::string EncodeCheckpoint(const CheckpointRecord& record, size_t max_bytes = 0);
// Parses the JSON form; throws std::exception on malformed input (ranges out of order, beyond size).
CheckpointRecord DecodeCheckpoint(const std::string& text);

// Writes `record` to `path` atomically. Throws hoist::Error (kTransient) on I/O failure.
void WriteCheckpoint(const std::string& path, const CheckpointRecord& record);

// Reads the record at `path`: nullopt when there is none, or when it is unreadable or malformed (a
// warning is logged; the caller starts over).
std::optional<CheckpointRecord> ReadCheckpoint(const std::string& path);

// Removes the record (and a leftover temporary file); missing files are fine.
void RemoveCheckpoint(const std::string& path);

// Where a sink keeps its record.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  virtual std::optional<CheckpointRecord> Read() = 0;  // nullopt: none, or unusable (logged)
  virtual void Write(const CheckpointRecord& record) = 0;
  virtual void Remove() = 0;
  virtual std::string Describe() const = 0;  // for logs and messages
};

// The record in a file (the functions above).
std::unique_ptr<CheckpointStore> MakeFileCheckpointStore(std::string path);

// Bytes a block volume needs beyond the disk image to hold the record in its tail.
inline constexpr uint64_t kTailCheckpointBytes = 1 << 20;

// The record in [offset, offset + kTailCheckpointBytes) of the open volume `fd` (offset a multiple
// of 4096): two slots of half that size, each `HOISTCKP` magic, version, payload length, sequence
// number and CRC-32 of the payload (little-endian), then the JSON. Write() fills the slot not holding
// the newest record and syncs; Remove() zeroes both slots, so nothing of hoist stays on the volume.
std::unique_ptr<CheckpointStore> MakeDeviceTailCheckpointStore(int fd, uint64_t offset, DeviceOps& ops,
                                                               std::string volume_path);

// CRC-32 (IEEE 802.3, as zlib computes it).
uint32_t Crc32(const void* data, size_t length);

}  // namespace hoist::sink

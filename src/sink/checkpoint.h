#pragma once
// The resume record kept next to the data: which source is being written, how big the disk is, and
// which byte ranges are known to be on stable storage. Written atomically (temporary file, fsync,
// rename, fsync of the directory), so a crash leaves either the old record or the new one.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sink/range_set.h"

namespace hoist::sink {

struct CheckpointRecord {
  std::string source;       // opaque identity of the source (image id + checksum, disk id + etag, …)
  uint64_t size = 0;        // total disk size in bytes
  std::vector<Range> done;  // sorted, disjoint ranges on stable storage
};

// Writes `record` to `path` atomically. Throws hoist::Error (kTransient) on I/O failure.
void WriteCheckpoint(const std::string& path, const CheckpointRecord& record);

// Reads the record at `path`: nullopt when there is none, or when it is unreadable or malformed (a
// warning is logged; the caller starts over).
std::optional<CheckpointRecord> ReadCheckpoint(const std::string& path);

// Removes the record (and a leftover temporary file); missing files are fine.
void RemoveCheckpoint(const std::string& path);

}  // namespace hoist::sink

#pragma once
// Durable state of the lab store in a directory: `snapshot.json` (all objects, the resourceVersion
// and the recent event window) and `journal.jsonl` (one JSON record per write since the snapshot,
// appended and fsync'd before the write is acknowledged). Loading reads the snapshot and replays the
// journal; a torn last journal line (crash mid-write) is ignored. A new snapshot is written to a
// temporary file, fsync'd and renamed over the old one, then the journal is truncated.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hoist::lab {

class Journal {
 public:
  Journal(std::string dir, bool fsync);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  struct Loaded {
    nlohmann::json snapshot;  // null when there is none
    std::vector<nlohmann::json> records;
  };
  // Reads what is on disk. Throws hoist::Error (kPrecondition) when the snapshot is unreadable.
  Loaded Load();
  // Buffers one record; Sync() writes and fsyncs everything buffered.
  void Append(const nlohmann::json& record);
  void Sync();
  // Replaces the snapshot and empties the journal.
  void WriteSnapshot(const nlohmann::json& snapshot);
  size_t records_since_snapshot() const { return records_; }
  const std::string& dir() const { return dir_; }

 private:
  void OpenJournal();
  std::string dir_;
  bool fsync_;
  int fd_ = -1;
  std::string pending_;
  size_t records_ = 0;
};

}  // namespace hoist::lab

#include "sink/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"

namespace hoist::sink {
namespace {

constexpr int kVersion = 1;

std::string TempPath(const std::string& path) { return path + ".tmp"; }

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw TransientError(what + " checkpoint " + path + ": " + std::strerror(errno) +
                       " — check that the volume holding it is writable and not full");
}

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

}  // namespace

uint32_t Crc32(const void* data, size_t length) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < length; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string EncodeCheckpoint(const CheckpointRecord& record, size_t max_bytes) {
  size_t keep = record.done.size();
  for (;;) {
    nlohmann::json ranges = nlohmann::json::array();
    for (size_t i = 0; i < keep; ++i) ranges.push_back({record.done[i].begin, record.done[i].end});
    nlohmann::json j = {
        {"version", kVersion}, {"source", record.source}, {"size", record.size}, {"done", ranges}};
    std::string text = j.dump() + "\n";
    if (max_bytes == 0 || text.size() <= max_bytes || keep == 0) return text;
    // Drop about as many of the last ranges as the excess holds, at their average size.
    size_t per_range = std::max<size_t>(1, text.size() / keep);
    size_t excess = (text.size() - max_bytes) / per_range + 1;
    keep = excess >= keep ? 0 : keep - excess;
  }
}

CheckpointRecord DecodeCheckpoint(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  if (j.at("version").get<int>() != kVersion) throw std::runtime_error("unknown version");
  CheckpointRecord rec;
  rec.source = j.at("source").get<std::string>();
  rec.size = j.at("size").get<uint64_t>();
  uint64_t prev_end = 0;
  for (const auto& r : j.at("done")) {
    Range range{r.at(0).get<uint64_t>(), r.at(1).get<uint64_t>()};
    if (range.begin >= range.end || range.end > rec.size || range.begin < prev_end) {
      throw std::runtime_error("ranges out of order or beyond the disk size");
    }
    prev_end = range.end;
    rec.done.push_back(range);
  }
  return rec;
}

void WriteCheckpoint(const std::string& path, const CheckpointRecord& record) {
  std::string text = EncodeCheckpoint(record);
  std::string tmp = TempPath(path);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("creating", tmp);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      close(fd);
      errno = saved;
      Fail("writing", tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    Fail("syncing", tmp);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) Fail("renaming into place", path);
  int dfd = open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);  // makes the rename durable; best effort on filesystems that refuse it
    close(dfd);
  }
}

std::optional<CheckpointRecord> ReadCheckpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  try {
    return DecodeCheckpoint(buf.str());
  } catch (const std::exception& e) {
    log::Warn("sink", "ignoring malformed checkpoint; the copy starts over",
              {{"path", path}, {"error", e.what()}});
    return std::nullopt;
  }
}

void RemoveCheckpoint(const std::string& path) {
  for (const auto& p : {path, TempPath(path)}) {
    if (unlink(p.c_str()) != 0 && errno != ENOENT) Fail("removing", p);
  }
}

namespace {

class FileStore : public CheckpointStore {
 public:
  explicit FileStore(std::string path) : path_(std::move(path)) {}
  std::optional<CheckpointRecord> Read() override { return ReadCheckpoint(path_); }
  void Write(const CheckpointRecord& record) override { WriteCheckpoint(path_, record); }
  void Remove() override { RemoveCheckpoint(path_); }
  std::string Describe() const override { return path_; }

 private:
  std::string path_;
};

// Slot header, little-endian.
struct SlotHeader {
  char magic[8];
  uint32_t version;
  uint32_t length;  // payload bytes
  uint64_t sequence;
  uint32_t crc;  // of the payload
  uint32_t reserved;
};
static_assert(sizeof(SlotHeader) == 32);
constexpr char kMagic[8] = {'H', 'O', 'I', 'S', 'T', 'C', 'K', 'P'};
constexpr uint64_t kSlotBytes = kTailCheckpointBytes / 2;

class DeviceTailStore : public CheckpointStore {
 public:
  DeviceTailStore(int fd, uint64_t offset, DeviceOps& ops, std::string volume_path)
      : fd_(fd), offset_(offset), ops_(ops), volume_path_(std::move(volume_path)) {}

  std::optional<CheckpointRecord> Read() override {
    std::optional<CheckpointRecord> best;
    uint64_t best_seq = 0;
    std::string buf(kSlotBytes, '\0');
    for (int slot = 0; slot < 2; ++slot) {
      if (!ReadFull(buf.data(), kSlotBytes, SlotOffset(slot))) continue;
      SlotHeader h{};
      std::memcpy(&h, buf.data(), sizeof h);
      if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) continue;
      if (h.version != 1 || h.length > kSlotBytes - sizeof h) continue;
      if (Crc32(buf.data() + sizeof h, h.length) != h.crc) {
        log::Warn("sink", "ignoring a torn checkpoint slot in the block volume's tail",
                  {{"path", volume_path_}, {"slot", slot}});
        continue;
      }
      try {
        CheckpointRecord rec = DecodeCheckpoint(buf.substr(sizeof h, h.length));
        if (!best || h.sequence > best_seq) {
          best = std::move(rec);
          best_seq = h.sequence;
        }
      } catch (const std::exception& e) {
        log::Warn("sink", "ignoring a malformed checkpoint in the block volume's tail",
                  {{"path", volume_path_}, {"error", e.what()}});
      }
    }
    if (best) sequence_ = best_seq;
    return best;
  }

  void Write(const CheckpointRecord& record) override {
    std::string payload = EncodeCheckpoint(record, kSlotBytes - sizeof(SlotHeader));
    SlotHeader h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = 1;
    h.length = static_cast<uint32_t>(payload.size());
    h.sequence = sequence_ + 1;
    h.crc = Crc32(payload.data(), payload.size());
    size_t total = (sizeof h + payload.size() + 4095) / 4096 * 4096;
    std::string buf(total, '\0');
    std::memcpy(buf.data(), &h, sizeof h);
    std::memcpy(buf.data() + sizeof h, payload.data(), payload.size());
    int slot = static_cast<int>(h.sequence % 2);
    WriteFull(buf.data(), buf.size(), SlotOffset(slot));
    ops_.DataSync(fd_);
    sequence_ = h.sequence;
  }

  void Remove() override {
    std::string zeros(kSlotBytes, '\0');
    for (int slot = 0; slot < 2; ++slot) WriteFull(zeros.data(), zeros.size(), SlotOffset(slot));
    ops_.DataSync(fd_);
    sequence_ = 0;
  }

  std::string Describe() const override {
    return "the last " + std::to_string(kTailCheckpointBytes) + " bytes of " + volume_path_ + " (offset " +
           std::to_string(offset_) + ")";
  }

 private:
  uint64_t SlotOffset(int slot) const { return offset_ + static_cast<uint64_t>(slot) * kSlotBytes; }

  bool ReadFull(char* p, size_t n, uint64_t off) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd_, p + done, n - done, static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      done += static_cast<size_t>(r);
    }
    return true;
  }

  void WriteFull(const char* p, size_t n, uint64_t off) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = pwrite(fd_, p + done, n - done, static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) Fail("writing", Describe());
      done += static_cast<size_t>(r);
    }
  }

  int fd_;
  uint64_t offset_;
  DeviceOps& ops_;
  std::string volume_path_;
  uint64_t sequence_ = 0;  // of the newest record; the next one goes to the other slot
};

}  // namespace

std::unique_ptr<CheckpointStore> MakeFileCheckpointStore(std::string path) {
  return std::make_unique<FileStore>(std::move(path));
}

std::unique_ptr<CheckpointStore> MakeDeviceTailCheckpointStore(int fd, uint64_t offset, DeviceOps& ops,
                                                               std::string volume_path) {
  return std::make_unique<DeviceTailStore>(fd, offset, ops, std::move(volume_path));
}

}  // namespace hoist::sink

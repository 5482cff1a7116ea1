#include "sink/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

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

}  // namespace

void WriteCheckpoint(const std::string& path, const CheckpointRecord& record) {
  nlohmann::json ranges = nlohmann::json::array();
  for (const auto& r : record.done) ranges.push_back({r.begin, r.end});
  nlohmann::json j = {
      {"version", kVersion}, {"source", record.source}, {"size", record.size}, {"done", ranges}};
  std::string text = j.dump() + "\n";

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
    auto j = nlohmann::json::parse(buf.str());
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

}  // namespace hoist::sink

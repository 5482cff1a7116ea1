#include "lab/persist.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"

namespace hoist::lab {
namespace {

std::string Errno() { return std::strerror(errno); }

void WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw PreconditionError("writing lab store file " + path + ": " + Errno() + " — check free space");
    }
    off += static_cast<size_t>(n);
  }
}

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

Journal::Journal(std::string dir, bool fsync) : dir_(std::move(dir)), fsync_(fsync) {
  ::mkdir(dir_.c_str(), 0700);
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw PreconditionError("lab store directory " + dir_ + " cannot be created: " + Errno());
  }
}

Journal::~Journal() {
  try {
    Sync();
  } catch (...) {
  }
  if (fd_ >= 0) ::close(fd_);
}

void Journal::OpenJournal() {
  if (fd_ >= 0) return;
  std::string path = dir_ + "/journal.jsonl";
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) throw PreconditionError("opening lab store journal " + path + ": " + Errno());
}

Journal::Loaded Journal::Load() {
  Loaded out;
  std::string snap_path = dir_ + "/snapshot.json";
  std::ifstream snap(snap_path);
  if (snap) {
    std::stringstream ss;
    ss << snap.rdbuf();
    try {
      out.snapshot = nlohmann::json::parse(ss.str());
    } catch (const std::exception& e) {
      throw PreconditionError("lab store snapshot " + snap_path + " is unreadable (" + e.what() +
                              "); move it away to start empty");
    }
  }
  std::ifstream journal(dir_ + "/journal.jsonl");
  std::string line;
  size_t lineno = 0;
  while (std::getline(journal, line)) {
    ++lineno;
    if (line.empty()) continue;
    try {
      out.records.push_back(nlohmann::json::parse(line));
    } catch (const std::exception&) {
      // A torn write at the end (crash while appending): everything before it is intact.
      log::Warn("lab.store", "ignoring unreadable journal line", {{"dir", dir_}, {"line", lineno}});
      break;
    }
  }
  records_ = out.records.size();
  return out;
}

void Journal::Append(const nlohmann::json& record) {
  pending_ += record.dump();
  pending_ += '\n';
  ++records_;
}

void Journal::Sync() {
  if (pending_.empty()) return;
  OpenJournal();
  WriteAll(fd_, pending_, dir_ + "/journal.jsonl");
  pending_.clear();
  if (fsync_) ::fdatasync(fd_);
}

void Journal::WriteSnapshot(const nlohmann::json& snapshot) {
  pending_.clear();
  std::string tmp = dir_ + "/snapshot.json.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw PreconditionError("writing lab store snapshot " + tmp + ": " + Errno());
  try {
    WriteAll(fd, snapshot.dump(), tmp);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (fsync_) ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), (dir_ + "/snapshot.json").c_str()) != 0) {
    throw PreconditionError("replacing lab store snapshot in " + dir_ + ": " + Errno());
  }
  if (fsync_) FsyncDir(dir_);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  std::string path = dir_ + "/journal.jsonl";
  int jfd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (jfd >= 0) {
    if (fsync_) ::fsync(jfd);
    ::close(jfd);
  }
  records_ = 0;
}

}  // namespace hoist::lab

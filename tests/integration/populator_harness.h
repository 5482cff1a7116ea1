#pragma once
// Shared by the ovirt and openstack populator tests: run `hoist-populator` as the populator pod would
// (flags + environment), in the background or to the end; make disk images with a known share of
// data; scrape the populator's metrics endpoint.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "net/http_client.h"
#include "prom/parse.h"

namespace hoist::testing {

inline std::string BinDir() {
  const char* d = std::getenv("HOIST_BIN_DIR");
  return d ? d : "";
}

// A directory on tmpfs when there is one (fast fsyncs for SQLite and the sink), removed at the end.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix) {
    std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/" + prefix + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp";
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline uint64_t Allocated(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// A raw image of `size` bytes: `data_blocks` random 1 MiB blocks spread over it (a sparse file),
// zeros elsewhere. Returns the path.
inline std::string MakeImage(const std::string& path, uint64_t size, const std::vector<uint64_t>& data_mib,
                             unsigned seed = 7) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  std::mt19937_64 rng(seed);
  std::string block(1 << 20, '\0');
  for (uint64_t mib : data_mib) {
    for (size_t i = 0; i < block.size(); i += 8) {
      uint64_t v = rng() | 1;
      std::memcpy(block.data() + i, &v, 8);
    }
    uint64_t off = mib << 20;
    size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), size - off));
    EXPECT_EQ(pwrite(fd, block.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
  }
  close(fd);
  return path;
}

inline uint16_t FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A populator process: stdout+stderr go to a log file.
class Populator {
 public:
  Populator(std::vector<std::string> args, std::vector<std::string> env, std::string log)
      : log_(std::move(log)) {
    std::string bin = BinDir() + "/hoist-populator";
    std::vector<std::string> argv = {bin};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    std::vector<std::string> envs = {"PATH=/usr/bin:/bin"};
    envs.insert(envs.end(), env.begin(), env.end());
    std::vector<char*> e;
    for (auto& s : envs) e.push_back(s.data());
    e.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execve(a[0], a.data(), e.data());
      _exit(127);
    }
  }
  ~Populator() {
    if (pid_ > 0 && !done_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Exit code (128+signal when killed); -1 on timeout (the process is then killed).
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(120)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done_) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        done_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        done_ = true;
        code_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return code_;
  }
  void Signal(int sig) { kill(pid_, sig); }
  bool Running() {
    if (done_) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      done_ = true;
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  std::string Log() const { return ReadFile(log_); }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool done_ = false;
  int code_ = 0;
};

// The value of `metric{ownerUID=uid}` on an HTTPS metrics endpoint (self-signed: not verified here,
// as the populator controller does), or -1 when it cannot be read.
inline double ScrapeProgress(const std::string& url, const std::string& metric, const std::string& uid) {
  try {
    net::HttpClientOptions o;
    o.tls.insecure_skip_verify = true;
    net::HttpClient client(o);
    net::HttpRequest r;
    r.url = url;
    r.timeout = std::chrono::milliseconds(2000);
    auto resp = client.Do(r);
    if (resp.status != 200) return -1;
    auto scrape = prom::ParseText(resp.body);
    auto* s = scrape.FindSample(metric, {{"ownerUID", uid}});
    return s ? s->value : -1;
  } catch (...) {
    return -1;
  }
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout,
             std::chrono::milliseconds step = std::chrono::milliseconds(50)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

}  // namespace hoist::testing

#pragma once
// Runs the real lab API server (`hoist lab apiserver --dir D --port P`) as a child process for the
// kube client's integration tests (and its benchmark): start, stop with SIGTERM, restart on the same
// directory and port, read its peak memory.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/config.h"

namespace hoist::kube::testing {

inline std::string BinDir() {
  const char* dir = std::getenv("HOIST_BIN_DIR");
  return dir != nullptr ? dir : ".";
}

inline std::string MakeTempDir(const std::string& prefix) {
  std::string base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
  std::string tmpl = base + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// A child process whose stdout is read line by line.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() {
    Kill();
    CloseOutput();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Start(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
  }

  // Next stdout line (without newline); false at EOF. Blocks.
  bool ReadLine(std::string* line) {
    if (out_ == nullptr) return false;
    char buf[4096];
    if (std::fgets(buf, sizeof(buf), out_) == nullptr) return false;
    *line = buf;
    while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
    return true;
  }

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  void Signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Waits for exit; returns the exit status (or 128+signal).
  int Wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // After Wait(), once nobody reads any more.
  void CloseOutput() {
    if (out_ != nullptr) {
      std::fclose(out_);
      out_ = nullptr;
    }
  }
  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

class LabApiServer {
 public:
  explicit LabApiServer(std::string dir = "") : dir_(dir.empty() ? MakeTempDir("hoist-kube-it") : dir) {
    owns_dir_ = dir.empty();
  }
  ~LabApiServer() {
    Stop();
    if (owns_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Starts on `port` (0: any) and waits until it listens.
  void Start(int port = 0) {
    std::string hoist = BinDir() + "/hoist";
    process_ = std::make_unique<ChildProcess>();
    process_->Start({hoist, "lab", "apiserver", "--dir", dir_, "--port", std::to_string(port)});
    std::string line;
    while (process_->ReadLine(&line)) {
      if (line.rfind("port=", 0) == 0) {
        port_ = std::atoi(line.c_str() + 5);
        break;
      }
    }
    if (port_ <= 0) throw std::runtime_error("hoist lab apiserver did not start (see its stderr above)");
    // Drain the rest of its stdout in the background so it never blocks on a full pipe.
    ChildProcess* p = process_.get();
    drain_ = std::thread([p] {
      std::string ignored;
      while (p->ReadLine(&ignored)) {
      }
    });
  }

  // SIGTERM and wait (graceful).
  int Stop() {
    if (!process_ || !process_->running()) return -1;
    process_->Signal(SIGTERM);
    return Finish();
  }
  // SIGKILL (a crash).
  void Crash() {
    if (!process_ || !process_->running()) return;
    process_->Signal(SIGKILL);
    Finish();
  }

  pid_t pid() const { return process_ ? process_->pid() : -1; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }

  RestConfig Config() const {
    RestConfig config = LoadKubeconfig({kubeconfig(), ""});
    config.qps = 0;  // tests measure the server, not the client's throttle
    return config;
  }

  // Peak resident set (VmHWM) of the server process in KiB; 0 when unknown.
  long PeakRssKib() const {
    std::ifstream status("/proc/" + std::to_string(pid()) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    }
    return 0;
  }

 private:
  int Finish() {
    int rc = process_->Wait();
    if (drain_.joinable()) drain_.join();  // EOF once the server has exited
    process_->CloseOutput();
    return rc;
  }
  std::string dir_;
  bool owns_dir_ = false;
  std::unique_ptr<ChildProcess> process_;
  std::thread drain_;
  int port_ = 0;
};

}  // namespace hoist::kube::testing

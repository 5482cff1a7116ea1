#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/error.h"

namespace hoist {
namespace {

std::string FindProgram(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  if (path.empty()) {
    const char* p = std::getenv("PATH");
    path = p ? p : "/usr/local/bin:/usr/bin:/bin";
  }
  std::string_view rest = path;
  while (true) {
    auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  throw PreconditionError("cannot run " + name + ": not found in PATH (" + path + ")");
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) throw BugError("RunProcess: empty argv");
  std::string program = FindProgram(argv[0], options.env);

  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw PreconditionError("pipe: " + std::string(std::strerror(errno)));
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw PreconditionError("pipe: " + std::string(std::strerror(errno)));
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  if (pipe2(in_pipe, O_CLOEXEC) != 0) throw PreconditionError("pipe: " + std::string(std::strerror(errno)));
  Fd in_r(in_pipe[0]), in_w(in_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw PreconditionError("cannot run " + program + ": " + std::strerror(rc));
  in_r.Close();
  out_w.Close();
  err_w.Close();

  ProcessResult result;
  std::string input = options.input.value_or("");
  std::size_t written = 0;
  if (input.empty()) in_w.Close();
  fcntl(in_w.get(), F_SETFL, O_NONBLOCK);

  auto start = std::chrono::steady_clock::now();
  bool killed = false;
  auto kill_time = std::chrono::steady_clock::time_point::max();
  auto end_process = [&](bool timed_out) {
    if (killed) return;
    killed = true;
    result.timed_out = timed_out;
    result.cancelled = !timed_out;
    ::kill(-pid, SIGTERM);
    kill_time = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  };

  char buf[16384];
  while (out_r.get() >= 0 || err_r.get() >= 0) {
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_r.get() >= 0) fds[out_i = n++] = {out_r.get(), POLLIN, 0};
    if (err_r.get() >= 0) fds[err_i = n++] = {err_r.get(), POLLIN, 0};
    if (in_w.get() >= 0) fds[in_i = n++] = {in_w.get(), POLLOUT, 0};
    ::poll(fds, static_cast<nfds_t>(n), 100);
    auto now = std::chrono::steady_clock::now();
    if (!killed && options.stop.stop_requested()) end_process(false);
    if (!killed && options.timeout.count() > 0 && now - start > options.timeout) end_process(true);
    if (killed && now > kill_time) {
      ::kill(-pid, SIGKILL);
      kill_time = std::chrono::steady_clock::time_point::max();
    }
    auto drain = [&](int i, Fd& fd, std::string& into) {
      if (i < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got > 0) {
        std::size_t room = options.max_output > into.size() ? options.max_output - into.size() : 0;
        into.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.Close();
      }
    };
    drain(out_i, out_r, result.out);
    drain(err_i, err_r, result.err);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = ::write(in_w.get(), input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if ((put < 0 && errno != EAGAIN && errno != EINTR) || written >= input.size()) in_w.Close();
    }
  }
  in_w.Close();

  int status = 0;
  // A stopped program gets SIGKILL for its whole group before it is reaped (while its id still names
  // the group), so nothing it started outlives it.
  if (killed) {
    while (std::chrono::steady_clock::now() < kill_time) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
          info.si_pid != 0)
        break;
      ::usleep(10000);
    }
    ::kill(-pid, SIGKILL);
  }
  while (true) {
    pid_t w = ::waitpid(pid, &status, 0);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace hoist

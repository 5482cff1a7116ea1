// `hoist lab up` and `hoist lab down`: run the lab cluster (API server + nodes, binder, provisioner,
// scheduler, kubelet-lite) in one process, in the foreground or as a daemon.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cmd/common/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "lab/arrays/lab_arrays.h"
#include "lab/cluster.h"

namespace hoist::cli {
namespace {

namespace fs = std::filesystem;

struct UpFlags {
  std::string dir = "hoist-lab";
  uint16_t port = 0;
  bool detach = false;
  int nodes = 3;
  std::vector<std::string> images;
  std::vector<lab::arrays::ArraySpec> arrays;
  std::string log_level = "info";
};

const char kUpUsage[] =
    "usage: hoist lab up [--dir DIR] [--port N] [--detach] [--image NAME=PATH]... [--nodes N]\n"
    "                    [--array NAME=VENDOR[,key=value...]]... [--log-level L]\n"
    "\n"
    "Runs a local Kubernetes-compatible cluster in this process: an API server (kubectl works against it),\n"
    "virtual nodes, a PV binder, a file-backed CSI-like provisioner, a scheduler and a kubelet that runs "
    "pods\n"
    "as local processes (image names map to local programs: DIR/images.yaml or --image). State lives in DIR\n"
    "(default ./hoist-lab) and survives restarts. Stop with Ctrl-C, SIGTERM or `hoist lab down --dir DIR`.\n"
    "\n"
    "--array NAME=VENDOR runs a simulated storage array (VENDOR: ontap, primera3par, vantara, powerflex) on\n"
    "its own HTTPS port, with StorageClass NAME provisioning Block volumes as LUNs on it (PVs shaped as the\n"
    "vendor's CSI driver makes them). Endpoints, credentials and CAs are in DIR/arrays.json; the SAN\n"
    "directory for the lab vCenter is DIR/san. Options: port=N, svm=NAME (ontap), sdc=GUID (powerflex,\n"
    "repeatable: SDCs known to the system, e.g. the ESXi hosts').\n";

bool ParseValue(const std::vector<std::string>& args, size_t& i, const std::string& name, std::string& out) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) throw PreconditionError(name + " needs a value");
    out = args[++i];
    return true;
  }
  if (a.rfind(name + "=", 0) == 0) {
    out = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Alive and not a zombie waiting for a parent that does not reap.
bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  std::string stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return !(close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z');
}

void PrintInfo(const lab::Cluster& c, const lab::arrays::LabArrays* arrays, FILE* out) {
  std::fprintf(out,
               "hoist lab is up (pid %d)\n"
               "  API server:  %s\n"
               "  kubeconfig:  %s\n"
               "  volumes:     %s/volumes\n"
               "  images:      %s/images.yaml (image name: /path/to/program)\n"
               "use it:\n"
               "  export KUBECONFIG=%s\n"
               "  kubectl get nodes\n"
               "stop it:\n"
               "  hoist lab down --dir %s   (or Ctrl-C when it runs in the foreground)\n",
               static_cast<int>(::getpid()), c.url().c_str(), c.kubeconfig_path().c_str(), c.dir().c_str(),
               c.dir().c_str(), c.kubeconfig_path().c_str(), c.dir().c_str());
  std::fflush(out);
}

// Runs the lab until SIGTERM/SIGINT. `ready_fd` (>= 0) gets "ready\n" or "error: ...\n" once known.
int RunLab(const UpFlags& flags, int ready_fd) {
  auto report = [&](const std::string& line) {
    if (ready_fd >= 0) {
      (void)!::write(ready_fd, line.data(), line.size());
      ::close(ready_fd);
      ready_fd = -1;
    }
  };
  std::string lock_path = flags.dir + "/lab.lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::string msg = "a lab is already running in " + flags.dir + " (pid " +
                      ReadSmallFile(flags.dir + "/lab.pid") + "); stop it with `hoist lab down --dir " +
                      flags.dir + "`";
    std::fprintf(stderr, "hoist lab up: %s\n", msg.c_str());
    report("error: " + msg + "\n");
    return 1;
  }
  lab::ClusterOptions opts;
  opts.dir = flags.dir;
  opts.port = flags.port;
  opts.nodes = flags.nodes;
  opts.image_flags = flags.images;
  lab::Cluster cluster(opts);
  try {
    cluster.Start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist lab up: %s\n", e.what());
    report(std::string("error: ") + e.what() + "\n");
    return 1;
  }
  std::unique_ptr<lab::arrays::LabArrays> arrays;
  if (!flags.arrays.empty()) {
    try {
      arrays = std::make_unique<lab::arrays::LabArrays>(cluster, flags.arrays);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "hoist lab up: starting the storage arrays: %s\n", e.what());
      report(std::string("error: starting the storage arrays: ") + e.what() + "\n");
      cluster.Stop();
      return 1;
    }
  }
  {
    std::ofstream pid_file(cluster.dir() + "/lab.pid", std::ios::trunc);
    pid_file << ::getpid() << "\n";
  }
  PrintInfo(cluster, arrays.get(), stdout);
  report("ready\n");

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  log::Info("lab", "stopping on signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  if (arrays) arrays->Stop();
  cluster.Stop();
  ::unlink((cluster.dir() + "/lab.pid").c_str());
  std::fprintf(stdout, "hoist lab stopped\n");
  return 0;
}

int LabUp(const std::vector<std::string>& args) {
  UpFlags flags;
  try {
    for (size_t i = 0; i < args.size(); ++i) {
      std::string v;
      if (args[i] == "-h" || args[i] == "--help") {
        std::fputs(kUpUsage, stdout);
        return 0;
      } else if (args[i] == "--detach" || args[i] == "-d") {
        flags.detach = true;
      } else if (ParseValue(args, i, "--dir", v)) {
        flags.dir = v;
      } else if (ParseValue(args, i, "--port", v)) {
        flags.port = static_cast<uint16_t>(std::stoi(v));
      } else if (ParseValue(args, i, "--nodes", v)) {
        flags.nodes = std::stoi(v);
      } else if (ParseValue(args, i, "--image", v)) {
        flags.images.push_back(v);
      } else if (ParseValue(args, i, "--array", v)) {
        flags.arrays.push_back(lab::arrays::ParseArraySpec(v));
      } else if (ParseValue(args, i, "--log-level", v)) {
        flags.log_level = v;
      } else {
        std::fprintf(stderr, "hoist lab up: unknown flag %s\n\n%s", args[i].c_str(), kUpUsage);
        return 2;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist lab up: %s\n", e.what());
    return 2;
  }
  log::SetLevel(log::ParseLevel(flags.log_level));
  std::error_code ec;
  fs::create_directories(flags.dir, ec);
  if (ec) {
    std::fprintf(stderr, "hoist lab up: cannot create %s: %s\n", flags.dir.c_str(), ec.message().c_str());
    return 1;
  }
  flags.dir = fs::canonical(flags.dir).string();

  // Signals are taken with sigwait: block them before any thread exists so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  if (!flags.detach) return RunLab(flags, -1);

  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("hoist lab up: pipe");
    return 1;
  }
  std::string log_path = flags.dir + "/lab.log";
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("hoist lab up: fork");
    return 1;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::setsid();
    int null_fd = ::open("/dev/null", O_RDONLY);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::_exit(RunLab(flags, fds[1]));
  }
  ::close(fds[1]);
  std::string answer;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) answer.append(buf, n);
  ::close(fds[0]);
  if (answer.rfind("ready", 0) != 0) {
    if (answer.empty()) answer = "the lab process exited before it was ready";
    std::fprintf(stderr, "hoist lab up: %s (log: %s)\n", answer.c_str(), log_path.c_str());
    ::waitpid(pid, nullptr, WNOHANG);
    return 1;
  }
  std::string url = ReadSmallFile(flags.dir + "/lab.json");
  std::fprintf(stdout,
               "hoist lab is up in the background (pid %d)\n"
               "  kubeconfig:  %s/kubeconfig\n"
               "  state:       %s/lab.json\n"
               "  log:         %s\n"
               "use it:\n"
               "  export KUBECONFIG=%s/kubeconfig\n"
               "  kubectl get nodes\n"
               "stop it:\n"
               "  hoist lab down --dir %s\n",
               static_cast<int>(pid), flags.dir.c_str(), flags.dir.c_str(), log_path.c_str(),
               flags.dir.c_str(), flags.dir.c_str());
  return 0;
}

int LabDown(const std::vector<std::string>& args) {
  std::string dir = "hoist-lab";
  int timeout_s = 60;
  try {
    for (size_t i = 0; i < args.size(); ++i) {
      std::string v;
      if (args[i] == "-h" || args[i] == "--help") {
        std::fputs(
            "usage: hoist lab down [--dir DIR] [--timeout SECONDS]\n\nStops the lab running in DIR "
            "(SIGTERM: pods are stopped, state is flushed) and waits for it to exit.\n",
            stdout);
        return 0;
      } else if (ParseValue(args, i, "--dir", v)) {
        dir = v;
      } else if (ParseValue(args, i, "--timeout", v)) {
        timeout_s = std::stoi(v);
      } else {
        std::fprintf(stderr, "hoist lab down: unknown flag %s\n", args[i].c_str());
        return 2;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist lab down: %s\n", e.what());
    return 2;
  }
  std::string pid_text = ReadSmallFile(dir + "/lab.pid");
  pid_t pid = pid_text.empty() ? 0 : static_cast<pid_t>(std::atoi(pid_text.c_str()));
  if (!ProcessAlive(pid)) {
    std::fprintf(stdout, "no lab is running in %s\n", dir.c_str());
    if (!pid_text.empty()) ::unlink((dir + "/lab.pid").c_str());
    return 0;
  }
  std::string cmdline = ReadSmallFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (cmdline.find("hoist") == std::string::npos) {
    std::fprintf(stderr,
                 "hoist lab down: %s/lab.pid names pid %d, which is not a hoist lab; not signalling it\n",
                 dir.c_str(), static_cast<int>(pid));
    ::unlink((dir + "/lab.pid").c_str());
    return 1;
  }
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (ProcessAlive(pid)) {
    ::waitpid(pid, nullptr, WNOHANG);  // reaps it when it is our child (tests)
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "hoist lab down: the lab (pid %d) did not stop within %ds; killing it\n",
                   static_cast<int>(pid), timeout_s);
      ::kill(pid, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stdout, "hoist lab in %s stopped\n", dir.c_str());
  return 0;
}

}  // namespace

HOIST_REGISTER_COMMAND({{"lab", "up"},
                        "run the local lab cluster (API server, nodes, storage, pods)",
                        LabUp});
HOIST_REGISTER_COMMAND({{"lab", "down"}, "stop the lab started with `hoist lab up --detach`", LabDown});

}  // namespace hoist::cli

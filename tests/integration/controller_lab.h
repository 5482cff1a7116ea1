#pragma once
// The controller's integration harness: `hoist lab up` (as a daemon, in a temp dir) with the test
// populator images in its images.yaml and hoist's CRDs applied with real kubectl, and hoist-controller
// as a child process that the tests start, kill and restart. Used by tests/integration/controller_*
// and bench/controller_populate.cc. Needs the programs in HOIST_BIN_DIR and kubectl.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "net/http_client.h"

namespace hoist::controller::testing {

inline std::string BinDir() {
  const char* dir = std::getenv("HOIST_BIN_DIR");
  return dir != nullptr ? dir : ".";
}

inline std::string SourceDir() {
#ifdef HOIST_TEST_SOURCE_DIR
  return HOIST_TEST_SOURCE_DIR;
#else
  const char* dir = std::getenv("HOIST_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
#endif
}

// Runs a shell command; returns its stdout (stderr is folded in when `merge_stderr`).
inline std::string Sh(const std::string& cmd, int* rc = nullptr, bool merge_stderr = false) {
  std::string out;
  FILE* p = ::popen((cmd + (merge_stderr ? " 2>&1" : "")).c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (rc != nullptr) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Polls `cond` every 50 ms until true or `timeout`.
inline bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

// hoist-controller as a child process: stdout's first line gives the metrics address, stderr goes to
// a log file.
class ControllerProcess {
 public:
  ControllerProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                    const std::string& log_path) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      std::string key = kv.substr(0, kv.find('='));
      if (env.count(key) == 0) envs.push_back(kv);
    }
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) ::dup2(log, 2);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> args, envp;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
      ::execve(args[0], args.data(), envp.data());
      std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    char line[512];
    if (std::fgets(line, sizeof line, out_) != nullptr && std::strncmp(line, "metrics-address=", 16) == 0) {
      address_ = std::string(line + 16);
      while (!address_.empty() && (address_.back() == '\n' || address_.back() == '\r')) address_.pop_back();
    }
    if (address_.empty()) {
      Kill();
      throw std::runtime_error("hoist-controller did not start; see " + log_path + ":\n" + ReadFile(log_path));
    }
  }
  ~ControllerProcess() { Kill(); }
  ControllerProcess(const ControllerProcess&) = delete;
  ControllerProcess& operator=(const ControllerProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& metrics_address() const { return address_; }
  bool running() const { return pid_ > 0; }
  // SIGTERM (graceful) or SIGKILL (a crash); returns the exit status (128+signal when killed).
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_ != nullptr) {
      std::fclose(out_);
      out_ = nullptr;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void Kill() { Stop(SIGKILL); }
  // Peak resident set (VmHWM, KiB) and CPU seconds (user + system) of the running process.
  long PeakRssKib() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    }
    return 0;
  }
  double CpuSeconds() const {
    std::string stat = ReadFile("/proc/" + std::to_string(pid_) + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::atof(field.c_str());
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string address_;
};

class ControllerLab {
 public:
  static constexpr const char* kOvirtImage = "hoist-test/ovirt-populator:1";
  static constexpr const char* kOpenstackImage = "hoist-test/openstack-populator:1";
  static constexpr const char* kXcopyImage = "hoist-test/xcopy-populator:1";

  ControllerLab() {
    std::string base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
    std::string tmpl = base + "/hoist-ctl-it-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::string tool = BinDir() + "/it_tool_test_populator";
    std::ofstream(dir_ + "/images.yaml") << "images:\n"
                                         << "  hoist-test/ovirt-populator:\n    entrypoint: [" << tool << ", ovirt]\n"
                                         << "  hoist-test/openstack-populator:\n    entrypoint: [" << tool
                                         << ", openstack]\n"
                                         << "  hoist-test/xcopy-populator:\n    entrypoint: [" << tool << ", xcopy]\n";
    int rc = 0;
    std::string out = Sh(BinDir() + "/hoist lab up --detach --log-level warn --dir " + dir_, &rc, true);
    if (rc != 0) throw std::runtime_error("hoist lab up failed: " + out + ReadFile(dir_ + "/lab.log"));
    up_ = true;
    out = Kubectl("apply -f " + SourceDir() + "/deploy/crds/", &rc);
    if (rc != 0) throw std::runtime_error("applying the CRDs failed: " + out);
    kube::RestConfig config = kube::LoadKubeconfig({kubeconfig(), ""});
    config.qps = 0;
    client_ = std::make_unique<kube::Client>(config);
  }
  ~ControllerLab() {
    controller_.reset();
    if (up_) Sh(BinDir() + "/hoist lab down --dir " + dir_ + " >/dev/null 2>&1");
    if (std::getenv("HOIST_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  ControllerLab(const ControllerLab&) = delete;
  ControllerLab& operator=(const ControllerLab&) = delete;

  const std::string& dir() const { return dir_; }
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }
  kube::Client& client() { return *client_; }

  std::string Kubectl(const std::string& args, int* rc = nullptr) {
    return Sh("kubectl --request-timeout=20s --kubeconfig " + kubeconfig() + " " + args, rc, true);
  }
  // kubectl apply -f of a manifest; returns kubectl's output, throws when it fails.
  std::string Apply(const std::string& yaml) {
    std::string path = dir_ + "/manifest-" + std::to_string(++manifests_) + ".yaml";
    std::ofstream(path) << yaml;
    int rc = 0;
    std::string out = Kubectl("apply -f " + path, &rc);
    if (rc != 0) throw std::runtime_error("kubectl apply failed: " + out + "\n" + yaml);
    return out;
  }

  // Starts hoist-controller against the lab with all three test images, a fast scrape interval and
  // no leader election unless `args` say otherwise. `env` adds to (or overrides) its environment.
  void StartController(std::vector<std::string> args = {}, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {BinDir() + "/hoist-controller",
                                     "--kubeconfig=" + kubeconfig(),
                                     "--metrics-address=127.0.0.1:0",
                                     "--scrape-interval=200ms",
                                     "--kube-api-qps=0",
                                     "--log-level=info"};
    bool has_le = false;
    for (const auto& a : args) has_le = has_le || a.rfind("--leader-elect", 0) == 0;
    if (!has_le) argv.push_back("--leader-elect=false");
    argv.insert(argv.end(), args.begin(), args.end());
    std::map<std::string, std::string> e = {{"OVIRT_POPULATOR_IMAGE", kOvirtImage},
                                            {"OPENSTACK_POPULATOR_IMAGE", kOpenstackImage},
                                            {"VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE", kXcopyImage}};
    for (const auto& [k, v] : env) e[k] = v;
    controller_.reset();
    controller_ = std::make_unique<ControllerProcess>(argv, e, dir_ + "/controller.log");
    ++controller_starts_;
  }
  ControllerProcess* controller() { return controller_.get(); }
  int StopController(int sig = SIGTERM) {
    if (!controller_) return -1;
    int rc = controller_->Stop(sig);
    controller_.reset();
    return rc;
  }
  std::string ControllerLog() const { return ReadFile(dir_ + "/controller.log"); }
  std::string Metrics() {
    if (!controller_) return "";
    net::HttpClient http;
    net::HttpRequest req;
    req.url = "http://" + controller_->metrics_address() + "/metrics";
    return http.Do(req).body;
  }

  // A namespace for one test, with the test populator's knobs in Secret `knobs`.
  void Namespace(const std::string& ns, const std::map<std::string, std::string>& knobs) {
    std::string yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns +
                       "}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: knobs, namespace: " + ns +
                       "}\nstringData:\n  TEST_POPULATOR_RUN_LOG: \"" + RunLog() + "\"\n";
    for (const auto& [k, v] : knobs) yaml += "  " + k + ": \"" + v + "\"\n";
    Apply(yaml);
  }
  std::string RunLog() const { return dir_ + "/runs.log"; }
  // Lines "<owner uid> <event>" of the test populator's runs for one target PVC UID.
  int Runs(const std::string& owner_uid, const std::string& event = "start") const {
    std::istringstream in(ReadFile(RunLog()));
    std::string uid, ev;
    int n = 0;
    while (in >> uid >> ev) n += (uid == owner_uid && ev == event) ? 1 : 0;
    return n;
  }

  nlohmann::json Get(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    try {
      return client_->Get(type, ns, name);
    } catch (const std::exception& e) {
      if (kube::IsNotFound(e)) return nullptr;
      throw;
    }
  }
  // Reasons of the Events about object `name` in `ns`, each repeated by its count.
  std::vector<std::string> EventReasons(const std::string& ns, const std::string& name) {
    std::vector<std::string> out;
    kube::ListOptions o;
    o.field_selector = "involvedObject.name=" + name;
    for (const auto& e : client_->List(kube::resources::kCoreEvent, ns, o).items) {
      int count = e.value("count", 1);
      for (int i = 0; i < std::max(1, count); ++i) out.push_back(e.value("reason", ""));
    }
    return out;
  }

  // The PV's data on the lab's disk: the directory's disk.img (Filesystem) or the file (Block).
  std::string VolumeData(const nlohmann::json& pv) {
    std::string path = pv["metadata"]["annotations"].value("lab.hoist.io/data-path", "");
    if (pv["spec"].value("volumeMode", "Filesystem") == "Block") return path;
    return path + "/disk.img";
  }
  // True when `path` holds the test populator's pattern for `owner_uid` over `bytes` bytes.
  bool HoldsPattern(const std::string& path, const std::string& owner_uid, int64_t bytes, std::string* why) {
    int rc = 0;
    *why = Sh(BinDir() + "/it_tool_test_populator verify --path '" + path + "' --owner-uid " + owner_uid +
                  " --bytes " + std::to_string(bytes),
              &rc, true);
    return rc == 0;
  }

  // What the cluster looks like, for failure messages.
  std::string Describe(const std::string& ns) {
    return Kubectl("get pvc,pv,pods -o wide -n " + ns) + Kubectl("get events -n " + ns) +
           "--- controller log (tail) ---\n" + Tail(ControllerLog(), 40);
  }
  static std::string Tail(const std::string& text, int lines) {
    size_t pos = text.size();
    for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
    return pos == std::string::npos ? text : text.substr(pos + 1);
  }

 private:
  std::string dir_;
  bool up_ = false;
  int manifests_ = 0;
  int controller_starts_ = 0;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<ControllerProcess> controller_;
};

// The API resource of a populator kind, for tests.
inline kube::ResourceType PopulatorType(const std::string& kind) {
  std::string plural = kind == "OvirtVolumePopulator"       ? "ovirtvolumepopulators"
                       : kind == "OpenstackVolumePopulator" ? "openstackvolumepopulators"
                                                            : "vspherexcopyvolumepopulators";
  return kube::ResourceType{"forklift.konveyor.io", "v1beta1", plural, kind, true};
}

// The True condition of a CR as "Type/Reason" ("" when none).
inline std::string TrueCondition(const nlohmann::json& cr) {
  if (!cr.is_object() || !cr.contains("status") || !cr["status"].contains("conditions")) return "";
  for (const auto& c : cr["status"]["conditions"]) {
    if (c.value("status", "") == "True") return c.value("type", "") + "/" + c.value("reason", "");
  }
  return "";
}

}  // namespace hoist::controller::testing

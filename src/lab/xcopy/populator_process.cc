#include "lab/xcopy/populator_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "net/http_client.h"

namespace hoist::lab::xcopy {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

PopulatorProcess::~PopulatorProcess() {
  if (pid_ > 0 && exit_code_ < 0) {
    ::kill(pid_, SIGKILL);
    Wait(30);
  }
  done_ = true;
  if (scraper_.joinable()) scraper_.join();
}

void PopulatorProcess::Start(World& world, const TargetVolume& target,
                             const PopulatorSpec& spec, const std::string& log_path) {
  log_path_ = log_path;
  world.EnsureNamespace(spec.lease_namespace);
  std::string bin = (fs::path(world.options().bin_dir) / "hoist-populator").string();
  std::vector<std::string> args = {bin,
                                   "xcopy",
                                   "--source-vm-id=" + world.VmMoref(spec.vm),
                                   "--source-vmdk=" + world.VmdkPath(spec.vm),
                                   "--target-namespace=" + target.ns,
                                   "--cr-name=" + target.pvc,
                                   "--cr-namespace=" + target.ns,
                                   "--owner-name=" + target.pvc,
                                   "--secret-name=" + target.pvc + "-secret",
                                   "--storage-vendor-product=" + spec.vendor,
                                   "--pvc-size=" + std::to_string(target.size_bytes),
                                   "--owner-uid=uid-" + target.pvc,
                                   "--kubeconfig=" + world.kubeconfig(),
                                   "--metrics-listen=127.0.0.1:0"};
  if (!spec.production_timing) {
    for (const char* a : {"--task-poll-interval=100ms", "--rescan-interval=200ms", "--cleanup-settle=0", "--scrape-wait=5s"}) {
      args.push_back(a);
    }
  }
  for (const auto& a : spec.extra_args) args.push_back(a);
  std::map<std::string, std::string> env = world.SecretData(spec.array);
  env["ESXI_CLONE_METHOD"] = spec.method;
  env["HOST_LEASE_NAMESPACE"] = spec.lease_namespace;
  env["PATH"] = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  for (const auto& [k, v] : spec.env) env[k] = v;
  std::vector<std::string> envs;
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + bin);
  scraper_ = std::thread([this] { Scrape(); });
}

void PopulatorProcess::Scrape() {
  net::HttpClientOptions o;
  o.tls.insecure_skip_verify = true;  // as the populator controller scrapes the self-signed endpoint
  net::HttpClient http(o);
  std::regex url_re(R"(metrics endpoint url=(https://\S+))");
  std::string url;
  while (!done_) {
    if (url.empty()) {
      std::smatch m;
      std::string text = ReadFile(log_path_);
      if (std::regex_search(text, m, url_re)) url = m[1];
    }
    if (!url.empty()) {
      try {
        net::HttpRequest req;
        req.url = url;
        req.timeout = std::chrono::seconds(2);
        net::HttpResponse r = http.Do(req);
        if (r.status == 200) {
          std::lock_guard<std::mutex> l(mu_);
          metrics_ = r.body;
        }
      } catch (const std::exception&) {
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int PopulatorProcess::Wait(int timeout_seconds) {
  if (exit_code_ >= 0) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      done_ = true;
      if (scraper_.joinable()) scraper_.join();
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

void PopulatorProcess::Signal(int sig) {
  if (pid_ > 0 && exit_code_ < 0) ::kill(pid_, sig);
}

std::string PopulatorProcess::log() const { return ReadFile(log_path_); }
bool PopulatorProcess::LogContains(const std::string& text) const { return log().find(text) != std::string::npos; }

bool PopulatorProcess::WaitForLog(const std::string& text, int timeout_seconds) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (LogContains(text)) return true;
    if (exit_code_ >= 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string PopulatorProcess::metrics() const {
  std::lock_guard<std::mutex> l(mu_);
  return metrics_;
}

int PopulatorProcess::last_progress() const {
  std::smatch m;
  std::string text = metrics();
  if (std::regex_search(text, m, std::regex(R"(vsphere_xcopy_volume_populator_progress\{[^}]*\} (\d+))"))) {
    return std::stoi(m[1]);
  }
  return -1;
}

}  // namespace hoist::lab::xcopy

#pragma once
// Runs `hoist-populator xcopy` as a process against an xcopy lab world (world.h), out of cluster
// (--kubeconfig), the way the populator controller would start it: Forklift's arguments, the per-disk
// Secret's keys in the environment, and (unless `production_timing`) fast polling knobs. A scraper
// thread reads the metrics endpoint the whole time, as the controller does, so the last exposition is
// available afterwards. Used by the xcopy integration tests and the orchestration benchmark.
#include <sys/types.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lab/xcopy/world.h"

namespace hoist::lab::xcopy {

struct PopulatorSpec {
  std::string vm = "vm1";
  std::string array = "ontap1";
  std::string vendor = "ontap";
  std::string method = "vib";
  std::string lease_namespace = "hoist-leases";
  std::vector<std::string> extra_args;
  std::map<std::string, std::string> env;  // added to / overriding the Secret's keys
  bool production_timing = false;          // keep the populator's default intervals
};

class PopulatorProcess {
 public:
  PopulatorProcess() = default;
  ~PopulatorProcess();
  PopulatorProcess(const PopulatorProcess&) = delete;
  PopulatorProcess& operator=(const PopulatorProcess&) = delete;

  void Start(World& world, const TargetVolume& target, const PopulatorSpec& spec,
             const std::string& log_path);
  // Waits for the exit; returns the exit code (128+signal when killed), or -1 on timeout.
  int Wait(int timeout_seconds = 120);
  void Signal(int sig);
  // True once the log contains `text`.
  bool LogContains(const std::string& text) const;
  // Waits until the log contains `text` (or the process exited); true when it does.
  bool WaitForLog(const std::string& text, int timeout_seconds = 60) const;
  std::string log() const;
  // The last metrics text scraped (empty if none was).
  std::string metrics() const;
  // The last value of the progress metric seen, -1 if none.
  int last_progress() const;

 private:
  void Scrape();

  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
  std::atomic<bool> done_{false};
  std::thread scraper_;
  mutable std::mutex mu_;
  std::string metrics_;
};

}  // namespace hoist::lab::xcopy

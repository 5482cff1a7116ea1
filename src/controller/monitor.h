#pragma once
// Progress monitoring: scrapes each running populator's https://<podIP>:<metrics port>/metrics on a
// steady interval, parses it with prom::ParseText and keeps the latest reading per target PVC. It
// never writes to the API: when a reading changes it calls `on_change(key)`, and the reconciler
// (the only writer of CR status) folds the reading into the CR.
//
// Differences from Forklift's per-PVC goroutine: a few scrape threads serve every populator from one
// schedule (no goroutine per pod); once a pod has answered, a failed scrape backs off (interval
// doubling up to 12 intervals) instead of being retried at once in a busy loop (before its first
// answer the pod is starting its endpoint, and the steady interval is kept); the schedule is a mutex-protected map (Forklift's
// monitoredPVCs map was shared without a lock); and when the pod has finished one final scrape is
// taken (the populators wait about 10 s for it) before the PVC is dropped from the schedule.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "controller/kinds.h"
#include "controller/progress.h"

namespace hoist::controller {

struct MonitorTarget {
  PopulatorKind kind = PopulatorKind::kOvirt;
  std::string owner_uid;  // target PVC UID: the owner label on the populator's samples
  std::string pod_uid;    // the populator pod incarnation (a recreated pod starts a new series)
  std::string url;        // MetricsUrl(pod)
};

// What the reconciler needs from the monitor (tests substitute it).
class ProgressSource {
 public:
  virtual ~ProgressSource() = default;
  // Scrapes `target` for the target PVC `key` from now on; true when this call started it (first
  // time, or a new pod incarnation, which also drops the previous pod's reading).
  virtual bool Watch(const std::string& key, const MonitorTarget& target) = 0;
  // The pod has finished: one final scrape, then no more. The reading is kept until Forget.
  virtual void Finish(const std::string& key) = 0;
  virtual void Forget(const std::string& key) = 0;
  virtual std::optional<ScrapeReading> Latest(const std::string& key) const = 0;
};

// Returns the body of a 200 answer; throws hoist::Error otherwise.
using MetricsFetcher = std::function<std::string(const std::string& url)>;
// HTTPS GET without certificate verification: populators serve /metrics with a certificate they
// generate at start-up, which nothing could verify (Forklift does the same). The answer is only
// progress numbers and nothing secret is sent.
MetricsFetcher HttpsMetricsFetcher(std::chrono::milliseconds timeout);

struct MonitorOptions {
  std::chrono::milliseconds interval{5000};
  int threads = 4;
};

class ProgressMonitor : public ProgressSource {
 public:
  ProgressMonitor(MetricsFetcher fetch, MonitorOptions options, std::function<void(const std::string&)> on_change);
  ~ProgressMonitor() override;
  ProgressMonitor(const ProgressMonitor&) = delete;
  ProgressMonitor& operator=(const ProgressMonitor&) = delete;

  void Start();
  void Stop();

  bool Watch(const std::string& key, const MonitorTarget& target) override;
  void Finish(const std::string& key) override;
  void Forget(const std::string& key) override;
  std::optional<ScrapeReading> Latest(const std::string& key) const override;

  size_t Watched() const;                     // PVCs with scrapes scheduled
  uint64_t scrapes_ok() const { return ok_; }  // for the controller's metrics
  uint64_t scrapes_failed() const { return failed_; }

 private:
  struct Entry {
    MonitorTarget target;
    std::optional<ScrapeReading> reading;
    int failures = 0;       // consecutive failed scrapes since the pod last answered
    bool answered = false;  // this pod incarnation has answered a scrape
    bool periodic = true;  // false after Finish: only the final scrape is left
    bool scheduled = false;
    uint64_t generation = 0;
  };
  struct Due {
    std::chrono::steady_clock::time_point when;
    std::string key;
    uint64_t generation;
    bool operator>(const Due& o) const { return when > o.when; }
  };
  void Schedule(const std::string& key, Entry& e, std::chrono::steady_clock::time_point when);
  void Loop();

  MetricsFetcher fetch_;
  MonitorOptions options_;
  std::function<void(const std::string&)> on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
  uint64_t next_generation_ = 1;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> failed_{0};
};

// Folds a new scrape into the previous reading: progress only rises, completion fields stick once
// seen. Returns true when the result differs from `previous`.
bool MergeReading(std::optional<ScrapeReading>& previous, const ScrapeReading& next);

}  // namespace hoist::controller

#include "controller/monitor.h"

#include <memory>

#include "core/error.h"
#include "core/log.h"
#include "net/http_client.h"
#include "prom/parse.h"

namespace hoist::controller {

namespace {
constexpr std::string_view kLog = "controller.progress";

bool SameOptional(const std::optional<std::string>& a, const std::optional<std::string>& b) { return a == b; }

bool SameReading(const ScrapeReading& a, const ScrapeReading& b) {
  return a.progress == b.progress && SameOptional(a.xcopy_used, b.xcopy_used) &&
         SameOptional(a.vib_version, b.vib_version) && a.completed == b.completed &&
         a.copy_duration_seconds == b.copy_duration_seconds && a.result == b.result &&
         a.storage_vendor == b.storage_vendor && a.clone_method == b.clone_method &&
         a.storage_protocol == b.storage_protocol && a.provisioned_bytes == b.provisioned_bytes &&
         a.allocated_bytes == b.allocated_bytes;
}
}  // namespace

bool MergeReading(std::optional<ScrapeReading>& previous, const ScrapeReading& next) {
  if (!previous) {
    previous = next;
    return true;
  }
  ScrapeReading merged = *previous;
  if (next.progress && (!merged.progress || *next.progress > *merged.progress)) merged.progress = next.progress;
  if (next.xcopy_used) merged.xcopy_used = next.xcopy_used;
  if (next.vib_version && !next.vib_version->empty()) merged.vib_version = next.vib_version;
  if (next.completed) {
    merged.completed = true;
    for (auto [to, from] : {std::pair{&merged.copy_duration_seconds, &next.copy_duration_seconds},
                            std::pair{&merged.result, &next.result},
                            std::pair{&merged.storage_vendor, &next.storage_vendor},
                            std::pair{&merged.clone_method, &next.clone_method},
                            std::pair{&merged.storage_protocol, &next.storage_protocol},
                            std::pair{&merged.provisioned_bytes, &next.provisioned_bytes},
                            std::pair{&merged.allocated_bytes, &next.allocated_bytes}}) {
      if (!from->empty()) *to = *from;
    }
  }
  bool changed = !SameReading(merged, *previous);
  previous = std::move(merged);
  return changed;
}

MetricsFetcher HttpsMetricsFetcher(std::chrono::milliseconds timeout) {
  net::HttpClientOptions options;
  options.tls.insecure_skip_verify = true;
  options.connect_timeout = std::min(timeout, std::chrono::milliseconds(3000));
  options.user_agent = "hoist-controller/0.1";
  auto client = std::make_shared<net::HttpClient>(options);
  return [client, timeout](const std::string& url) {
    net::HttpRequest req;
    req.url = url;
    req.timeout = timeout;
    net::HttpResponse resp = client->Do(req);
    if (resp.status != 200) {
      throw TransientError("GET " + url + ": HTTP " + std::to_string(resp.status));
    }
    return std::move(resp.body);
  };
}

ProgressMonitor::ProgressMonitor(MetricsFetcher fetch, MonitorOptions options,
                                 std::function<void(const std::string&)> on_change)
    : fetch_(std::move(fetch)), options_(options), on_change_(std::move(on_change)) {}

ProgressMonitor::~ProgressMonitor() { Stop(); }

void ProgressMonitor::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Loop(); });
}

void ProgressMonitor::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void ProgressMonitor::Schedule(const std::string& key, Entry& e, std::chrono::steady_clock::time_point when) {
  e.scheduled = true;
  due_.push(Due{when, key, e.generation});
  cv_.notify_one();
}

bool ProgressMonitor::Watch(const std::string& key, const MonitorTarget& target) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.target.pod_uid == target.pod_uid) {
    Entry& e = it->second;
    if (e.target.url != target.url) e.target.url = target.url;
    if (!e.periodic) return false;  // finished already; a Running pod seen late from the cache
    if (!e.scheduled) Schedule(key, e, std::chrono::steady_clock::now());
    return false;
  }
  Entry e;
  e.target = target;
  e.generation = next_generation_++;
  Entry& stored = entries_[key] = std::move(e);
  Schedule(key, stored, std::chrono::steady_clock::now());
  return true;
}

void ProgressMonitor::Finish(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.periodic) return;
  Entry& e = it->second;
  e.periodic = false;
  // A new generation cancels the pending periodic scrape; the final one goes now.
  e.generation = next_generation_++;
  Schedule(key, e, std::chrono::steady_clock::now());
}

void ProgressMonitor::Forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  entries_.erase(key);
}

std::optional<ScrapeReading> ProgressMonitor::Latest(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second.reading;
}

size_t ProgressMonitor::Watched() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [k, e] : entries_) n += e.periodic ? 1 : 0;
  return n;
}

void ProgressMonitor::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    if (due_.empty()) {
      cv_.wait(l);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (due_.top().when > now) {
      const auto when = due_.top().when;  // a copy: other threads may push (and reallocate) while we wait
      cv_.wait_until(l, when);
      continue;
    }
    Due d = due_.top();
    due_.pop();
    auto it = entries_.find(d.key);
    if (it == entries_.end() || it->second.generation != d.generation) continue;
    Entry& e = it->second;
    e.scheduled = false;
    MonitorTarget target = e.target;
    uint64_t generation = e.generation;
    l.unlock();

    std::optional<ScrapeReading> reading;
    std::string error;
    try {
      std::string body = fetch_(target.url);
      reading = ReadScrape(target.kind, prom::ParseText(body), target.owner_uid);
    } catch (const std::exception& ex) {
      error = ex.what();
    }

    bool changed = false;
    l.lock();
    it = entries_.find(d.key);
    if (it == entries_.end() || it->second.target.pod_uid != target.pod_uid) continue;
    Entry& cur = it->second;
    if (reading) {
      ++ok_;
      cur.failures = 0;
      cur.answered = true;
      changed = MergeReading(cur.reading, *reading);
    } else {
      ++failed_;
      // A pod that has not answered yet is still starting its endpoint: keep the steady interval.
      // Once it has answered, failures mean trouble and back off.
      if (cur.answered) ++cur.failures;
      log::Debug(kLog, "scrape failed",
                 {{"pvc", d.key}, {"url", target.url}, {"failures", cur.failures}, {"error", error}});
    }
    if (cur.periodic && cur.generation == generation && !stopping_) {
      Schedule(d.key, cur,
               std::chrono::steady_clock::now() +
                   (reading ? options_.interval : NextScrapeDelay(options_.interval, cur.failures)));
    }
    if (changed && on_change_) {
      l.unlock();
      on_change_(d.key);
      l.lock();
    }
  }
}

}  // namespace hoist::controller

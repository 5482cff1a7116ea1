#include "populators/common/progress.h"

#include <algorithm>
#include <cstdio>

#include "core/log.h"
#include "prom/metrics.h"

namespace hoist::populators {

ProgressReporter::ProgressReporter(prom::Counter& percent, prom::Gauge* bytes_gauge,
                                   std::function<uint64_t()> done_bytes, uint64_t total_bytes,
                                   std::string what, std::chrono::milliseconds period,
                                   std::chrono::milliseconds log_every, std::function<void()> on_tick)
    : percent_(percent),
      bytes_gauge_(bytes_gauge),
      done_bytes_(std::move(done_bytes)),
      total_(std::max<uint64_t>(total_bytes, 1)),
      what_(std::move(what)),
      period_(period),
      log_every_(log_every),
      on_tick_(std::move(on_tick)),
      start_(std::chrono::steady_clock::now()),
      last_log_(start_) {
  Update();
  thread_ = std::thread([this] { Loop(); });
}

ProgressReporter::~ProgressReporter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ProgressReporter::Update() {
  std::lock_guard lock(update_mu_);
  uint64_t done = std::min(done_bytes_(), total_);
  if (bytes_gauge_) bytes_gauge_->Set(static_cast<double>(done));
  // 100 only from Complete(): the bytes are there but not yet verified and synced.
  double pct = std::min(99.0, static_cast<double>(done) * 100.0 / static_cast<double>(total_));
  percent_.RaiseTo(static_cast<double>(static_cast<int>(pct)));
  auto now = std::chrono::steady_clock::now();
  if (log_every_.count() > 0 && now - last_log_ >= log_every_) {
    last_log_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", secs > 0 ? static_cast<double>(done) / secs / (1 << 20) : 0.0);
    log::Info("progress", "copying",
              {{"source", what_}, {"percent", static_cast<int>(pct)}, {"bytes", done}, {"MiB_per_s", rate}});
  }
}

void ProgressReporter::Complete() {
  if (bytes_gauge_) bytes_gauge_->Set(static_cast<double>(total_));
  percent_.RaiseTo(100);
}

void ProgressReporter::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, period_, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Update();
    if (on_tick_) {
      try {
        on_tick_();
      } catch (const std::exception& e) {
        log::Warn("progress", "periodic work failed", {{"error", e.what()}});
      }
    }
    lock.lock();
  }
}

}  // namespace hoist::populators

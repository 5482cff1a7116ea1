#pragma once
// Retrying what is safe to retry on an ESXi host (status polls, cleanups, rescans): transient
// hoist::Errors are tried again after a pause that doubles up to a limit; a stop request ends the
// wait. Internal to the esxi layer.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/log.h"

namespace hoist::esxi {

// Sleeps `d` unless `stop` is requested first; returns false when stopped.
inline bool SleepUnlessStopped(std::chrono::milliseconds d, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(mu);
  // wait_for returns the predicate's value (always false here), not whether it was stopped.
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

// Calls `fn` up to `attempts` times while it throws a transient hoist::Error. The last error is
// rethrown with "(tried N times)" appended; kCancelled is thrown when `stop` is requested.
template <typename Fn>
auto RetryTransient(int attempts, std::chrono::milliseconds first_delay, std::chrono::milliseconds max_delay,
                    std::stop_token stop, std::string_view what, Fn&& fn) -> decltype(fn()) {
  std::chrono::milliseconds delay = first_delay;
  for (int attempt = 1;; ++attempt) {
    if (stop.stop_requested()) throw CancelledError(std::string(what) + ": stopped");
    try {
      return fn();
    } catch (const Error& e) {
      if (!e.retryable() || attempt >= std::max(1, attempts)) {
        if (e.retryable() && attempt > 1)
          throw Error(e.error_class(),
                      std::string(e.what()) + " (tried " + std::to_string(attempt) + " times)");
        throw;
      }
      log::Warn("esxi", "retrying after a transient failure",
                {{"what", what}, {"attempt", attempt}, {"error", e.what()}});
    }
    if (!SleepUnlessStopped(delay, stop)) throw CancelledError(std::string(what) + ": stopped");
    delay = std::min(max_delay, delay * 2);
  }
}

}  // namespace hoist::esxi

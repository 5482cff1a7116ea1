#pragma once
// Token bucket: `qps` tokens per second, at most `burst` saved up. Reserve() always succeeds and says
// how long the caller must wait before acting (the bucket may go into debt, as golang.org/x/time/rate
// does), so waiting callers are served in order.
//
// Client defaults: QPS 20, burst 30 — a little above client-go's 5/10, which throttles a controller that
// lists and patches thousands of PVCs at start-up, and still far below what API Priority and Fairness
// gives one client. Set qps <= 0 to disable client-side throttling.
#include <chrono>
#include <mutex>
#include <stop_token>

#include "kube/clock.h"

namespace hoist::kube {

inline constexpr double kDefaultQps = 20;
inline constexpr int kDefaultBurst = 30;

class TokenBucket {
 public:
  TokenBucket(double qps, int burst, Clock& clock = RealClock());
  // Takes one token; returns how long to wait before using it (zero when one was available).
  Clock::Duration Reserve();
  // Takes a token only if one is available now.
  bool TryAccept();
  // Reserve() and sleep. Returns false when `stop` was requested while waiting.
  bool Wait(std::stop_token stop = {});
  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  void Refill(Clock::TimePoint now);
  const double qps_;
  const int burst_;
  Clock& clock_;
  std::mutex mu_;
  double tokens_;
  Clock::TimePoint last_;
};

}  // namespace hoist::kube

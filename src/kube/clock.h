#pragma once
// Time source for rate limiters, work queues and leader election, so that tests can drive time.
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace hoist::kube {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Blocks on `cv` (with `lock` held by the caller) until notified or until Now() reaches
  // `deadline`; may return early (callers re-check their condition in a loop).
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
};

// The steady clock; one shared instance.
Clock& RealClock();

// A clock that only moves when told to. Waiters poll it every few real milliseconds.
class FakeClock : public Clock {
 public:
  FakeClock() : now_(TimePoint() + std::chrono::hours(1)) {}
  TimePoint Now() const override;
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override;
  void Advance(Duration d);

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

}  // namespace hoist::kube

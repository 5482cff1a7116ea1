#pragma once
// A rate-limited work queue of string keys ("ns/name"), with client-go's semantics:
//   - an item is queued at most once however often it is added;
//   - an item being processed (between Get and Done) that is added again is processed again after
//     Done, never by two workers at once;
//   - AddAfter delays an add; AddRateLimited delays it by the rate limiter's verdict for that item;
//   - Forget clears an item's failure history; NumRequeues tells how many failures it has;
//   - after ShutDown, Get hands out what is still queued, then returns nullopt; adds are ignored.
//
// The default rate limiter is client-go's DefaultControllerRateLimiter: the larger of a per-item
// exponential backoff (5 ms doubling to 1000 s) and an overall token bucket (10 qps, burst 100).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kube/clock.h"
#include "kube/rate_limiter.h"

namespace hoist::kube {

class ItemRateLimiter {
 public:
  virtual ~ItemRateLimiter() = default;
  // How long to wait before processing `item` again (counts a failure).
  virtual Clock::Duration When(const std::string& item) = 0;
  virtual void Forget(const std::string& item) = 0;
  virtual int NumRequeues(const std::string& item) = 0;
};

// base * 2^failures, capped at max_delay.
class ItemExponentialFailureRateLimiter : public ItemRateLimiter {
 public:
  ItemExponentialFailureRateLimiter(Clock::Duration base_delay = std::chrono::milliseconds(5),
                                    Clock::Duration max_delay = std::chrono::seconds(1000));
  Clock::Duration When(const std::string& item) override;
  void Forget(const std::string& item) override;
  int NumRequeues(const std::string& item) override;

 private:
  const Clock::Duration base_, max_;
  std::mutex mu_;
  std::map<std::string, int> failures_;
};

// One token bucket for all items (limits the overall retry rate).
class BucketRateLimiter : public ItemRateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, Clock& clock = RealClock()) : bucket_(qps, burst, clock) {}
  Clock::Duration When(const std::string&) override { return bucket_.Reserve(); }
  void Forget(const std::string&) override {}
  int NumRequeues(const std::string&) override { return 0; }

 private:
  TokenBucket bucket_;
};

// The longest delay of several limiters.
class MaxOfRateLimiter : public ItemRateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<ItemRateLimiter>> limiters);
  Clock::Duration When(const std::string& item) override;
  void Forget(const std::string& item) override;
  int NumRequeues(const std::string& item) override;

 private:
  std::vector<std::unique_ptr<ItemRateLimiter>> limiters_;
};

std::unique_ptr<ItemRateLimiter> DefaultControllerRateLimiter(Clock& clock = RealClock());

class WorkQueue {
 public:
  explicit WorkQueue(std::unique_ptr<ItemRateLimiter> limiter = nullptr, Clock& clock = RealClock());
  ~WorkQueue();  // shuts down
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& item);
  void AddAfter(const std::string& item, Clock::Duration delay);
  void AddRateLimited(const std::string& item);
  void Forget(const std::string& item);
  int NumRequeues(const std::string& item);

  // Blocks until an item is available; nullopt once shut down.
  std::optional<std::string> Get();
  // Like Get, but gives up after `timeout` (nullopt; check ShuttingDown()).
  std::optional<std::string> GetFor(std::chrono::milliseconds timeout);
  void Done(const std::string& item);

  void ShutDown();
  bool ShuttingDown() const;
  size_t Len() const;         // queued (ready) items
  size_t WaitingLen() const;  // delayed items not yet due

 private:
  struct Delayed {
    Clock::TimePoint due;
    uint64_t seq;
    std::string item;
    bool operator>(const Delayed& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  void AddLocked(const std::string& item);
  void DelayLoop();

  std::unique_ptr<ItemRateLimiter> limiter_;
  Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable ready_cv_;    // Get waiters
  std::condition_variable delayed_cv_;  // the delay thread
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;  // queued or to be re-queued after Done
  std::set<std::string> processing_;
  std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
  std::map<std::string, Clock::TimePoint> delayed_due_;  // earliest due time per delayed item
  uint64_t seq_ = 0;
  bool shutting_down_ = false;
  std::thread delay_thread_;
};

}  // namespace hoist::kube

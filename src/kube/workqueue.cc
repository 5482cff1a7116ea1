#include "kube/workqueue.h"

#include <algorithm>

namespace hoist::kube {

// ---- rate limiters ----

ItemExponentialFailureRateLimiter::ItemExponentialFailureRateLimiter(Clock::Duration base_delay,
                                                                     Clock::Duration max_delay)
    : base_(base_delay), max_(max_delay) {}

Clock::Duration ItemExponentialFailureRateLimiter::When(const std::string& item) {
  std::lock_guard<std::mutex> l(mu_);
  int exp = failures_[item]++;
  // Doubling past 2^40 overflows nothing useful: cap the exponent before computing.
  if (exp > 40) return max_;
  double delay = static_cast<double>(base_.count()) * static_cast<double>(1ULL << exp);
  if (delay >= static_cast<double>(max_.count())) return max_;
  return Clock::Duration(static_cast<Clock::Duration::rep>(delay));
}

void ItemExponentialFailureRateLimiter::Forget(const std::string& item) {
  std::lock_guard<std::mutex> l(mu_);
  failures_.erase(item);
}

int ItemExponentialFailureRateLimiter::NumRequeues(const std::string& item) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = failures_.find(item);
  return it == failures_.end() ? 0 : it->second;
}

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<std::unique_ptr<ItemRateLimiter>> limiters)
    : limiters_(std::move(limiters)) {}

Clock::Duration MaxOfRateLimiter::When(const std::string& item) {
  Clock::Duration longest = Clock::Duration::zero();
  for (auto& l : limiters_) longest = std::max(longest, l->When(item));
  return longest;
}

void MaxOfRateLimiter::Forget(const std::string& item) {
  for (auto& l : limiters_) l->Forget(item);
}

int MaxOfRateLimiter::NumRequeues(const std::string& item) {
  int most = 0;
  for (auto& l : limiters_) most = std::max(most, l->NumRequeues(item));
  return most;
}

std::unique_ptr<ItemRateLimiter> DefaultControllerRateLimiter(Clock& clock) {
  std::vector<std::unique_ptr<ItemRateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemExponentialFailureRateLimiter>());
  limiters.push_back(std::make_unique<BucketRateLimiter>(10, 100, clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

// ---- queue ----

WorkQueue::WorkQueue(std::unique_ptr<ItemRateLimiter> limiter, Clock& clock)
    : limiter_(limiter ? std::move(limiter) : DefaultControllerRateLimiter(clock)), clock_(clock) {
  delay_thread_ = std::thread([this] { DelayLoop(); });
}

WorkQueue::~WorkQueue() {
  ShutDown();
  if (delay_thread_.joinable()) delay_thread_.join();
}

void WorkQueue::AddLocked(const std::string& item) {
  if (shutting_down_) return;
  if (!dirty_.insert(item).second) return;  // already queued (or re-queue pending)
  if (processing_.count(item) > 0) return;  // Done() will queue it
  queue_.push_back(item);
  ready_cv_.notify_one();
}

void WorkQueue::Add(const std::string& item) {
  std::lock_guard<std::mutex> l(mu_);
  AddLocked(item);
}

void WorkQueue::AddAfter(const std::string& item, Clock::Duration delay) {
  std::lock_guard<std::mutex> l(mu_);
  if (shutting_down_) return;
  if (delay <= Clock::Duration::zero()) {
    AddLocked(item);
    return;
  }
  Clock::TimePoint due = clock_.Now() + delay;
  auto it = delayed_due_.find(item);
  if (it != delayed_due_.end() && it->second <= due) return;  // already due sooner
  delayed_due_[item] = due;
  delayed_.push(Delayed{due, seq_++, item});
  delayed_cv_.notify_one();
}

void WorkQueue::AddRateLimited(const std::string& item) { AddAfter(item, limiter_->When(item)); }

void WorkQueue::Forget(const std::string& item) { limiter_->Forget(item); }

int WorkQueue::NumRequeues(const std::string& item) { return limiter_->NumRequeues(item); }

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> l(mu_);
  ready_cv_.wait(l, [this] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return std::nullopt;
  std::string item = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(item);
  dirty_.erase(item);
  return item;
}

std::optional<std::string> WorkQueue::GetFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  if (!ready_cv_.wait_for(l, timeout, [this] { return !queue_.empty() || shutting_down_; }))
    return std::nullopt;
  if (queue_.empty()) return std::nullopt;
  std::string item = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(item);
  dirty_.erase(item);
  return item;
}

void WorkQueue::Done(const std::string& item) {
  std::lock_guard<std::mutex> l(mu_);
  processing_.erase(item);
  if (dirty_.count(item) > 0) {
    queue_.push_back(item);
    ready_cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> l(mu_);
  shutting_down_ = true;
  ready_cv_.notify_all();
  delayed_cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> l(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

size_t WorkQueue::WaitingLen() const {
  std::lock_guard<std::mutex> l(mu_);
  return delayed_due_.size();
}

void WorkQueue::DelayLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!shutting_down_) {
    Clock::TimePoint now = clock_.Now();
    while (!delayed_.empty() && delayed_.top().due <= now) {
      Delayed d = delayed_.top();
      delayed_.pop();
      auto it = delayed_due_.find(d.item);
      if (it == delayed_due_.end() || it->second != d.due) continue;  // superseded by a sooner add
      delayed_due_.erase(it);
      AddLocked(d.item);
    }
    if (delayed_.empty()) {
      delayed_cv_.wait(l);
    } else {
      clock_.WaitUntil(delayed_cv_, l, delayed_.top().due);
    }
  }
}

}  // namespace hoist::kube

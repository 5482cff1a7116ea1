#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

#include "kube/workqueue.h"

namespace hoist::kube {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, BurstThenPacedAtQps) {
  FakeClock clock;
  TokenBucket bucket(10, 3, clock);  // 10 qps: one token per 100 ms
  EXPECT_EQ(bucket.Reserve(), Clock::Duration::zero());
  EXPECT_EQ(bucket.Reserve(), Clock::Duration::zero());
  EXPECT_EQ(bucket.Reserve(), Clock::Duration::zero());
  // The bucket is empty: each further reservation waits one more interval.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve()), milliseconds(100));
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(bucket.Reserve()), milliseconds(200));
  EXPECT_FALSE(bucket.TryAccept());
  clock.Advance(std::chrono::seconds(1));  // pays the debt of 2 and refills 3 of a possible 3... capped
  EXPECT_TRUE(bucket.TryAccept());
  clock.Advance(std::chrono::seconds(10));  // never more than the burst
  EXPECT_TRUE(bucket.TryAccept());
  EXPECT_TRUE(bucket.TryAccept());
  EXPECT_TRUE(bucket.TryAccept());
  EXPECT_FALSE(bucket.TryAccept());
}

TEST(TokenBucketTest, DisabledWhenQpsIsZeroAndWaitHonoursStop) {
  TokenBucket off(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(off.Reserve(), Clock::Duration::zero());
  TokenBucket slow(0.01, 1);  // one token per 100 s
  EXPECT_TRUE(slow.Wait());
  std::stop_source stop;
  stop.request_stop();
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(slow.Wait(stop.get_token()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ItemExponentialFailureRateLimiterTest, DoublesPerItemUpToTheCap) {
  ItemExponentialFailureRateLimiter limiter(milliseconds(5), std::chrono::seconds(1000));
  EXPECT_EQ(limiter.When("a"), milliseconds(5));
  EXPECT_EQ(limiter.When("a"), milliseconds(10));
  EXPECT_EQ(limiter.When("a"), milliseconds(20));
  EXPECT_EQ(limiter.When("b"), milliseconds(5));  // per item
  EXPECT_EQ(limiter.NumRequeues("a"), 3);
  for (int i = 0; i < 60; ++i) limiter.When("a");
  EXPECT_EQ(limiter.When("a"), std::chrono::seconds(1000));
  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a"), milliseconds(5));
}

TEST(MaxOfRateLimiterTest, DefaultControllerLimiterCombinesBackoffAndBucket) {
  FakeClock clock;
  auto limiter = DefaultControllerRateLimiter(clock);
  // The first 100 failures of distinct items are only limited by the per-item backoff...
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter->When("item-" + std::to_string(i)), milliseconds(5));
  // ...then the overall 10 qps bucket dominates.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(limiter->When("item-x")), milliseconds(100));
  EXPECT_EQ(limiter->NumRequeues("item-1"), 1);
  limiter->Forget("item-1");
  EXPECT_EQ(limiter->NumRequeues("item-1"), 0);
}

}  // namespace
}  // namespace hoist::kube

#include "kube/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "unit/kube/test_util.h"

namespace hoist::kube {
namespace {

using std::chrono::milliseconds;
using testing::Eventually;

TEST(WorkQueueTest, DeduplicatesQueuedItems) {
  WorkQueue q;
  q.Add("ns/a");
  q.Add("ns/b");
  q.Add("ns/a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(q.Get(), "ns/a");
  EXPECT_EQ(q.Get(), "ns/b");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, ItemAddedWhileProcessingIsProcessedAgainAfterDone) {
  WorkQueue q;
  q.Add("x");
  auto item = q.Get();
  ASSERT_EQ(item, "x");
  q.Add("x");  // changed while a worker handles it
  q.Add("x");
  EXPECT_EQ(q.Len(), 0u);  // not handed to a second worker
  EXPECT_FALSE(q.GetFor(milliseconds(20)).has_value());
  q.Done("x");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), "x");
  q.Done("x");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, ConcurrentWorkersNeverShareAnItem) {
  WorkQueue q;
  std::atomic<int> in_flight_x{0};
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto item = q.Get()) {
        if (*item == "x" && in_flight_x.fetch_add(1) > 0) overlap = true;
        std::this_thread::sleep_for(milliseconds(1));
        if (*item == "x") in_flight_x.fetch_sub(1);
        processed.fetch_add(1);
        q.Done(*item);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    q.Add("x");
    q.Add("y" + std::to_string(i % 7));
  }
  EXPECT_TRUE(Eventually([&] { return q.Len() == 0; }));
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GE(processed.load(), 8);
}

TEST(WorkQueueTest, AddAfterWaitsForTheClock) {
  FakeClock clock;
  WorkQueue q(nullptr, clock);
  q.AddAfter("later", std::chrono::seconds(10));
  q.AddAfter("sooner", std::chrono::seconds(5));
  q.AddAfter("later", std::chrono::seconds(30));  // keeps the earlier due time
  q.AddAfter("now", milliseconds(0));
  EXPECT_EQ(q.Get(), "now");
  EXPECT_EQ(q.WaitingLen(), 2u);
  clock.Advance(std::chrono::seconds(5));
  EXPECT_TRUE(Eventually([&] { return q.Len() == 1; }));
  EXPECT_EQ(q.Get(), "sooner");
  clock.Advance(std::chrono::seconds(4));
  EXPECT_FALSE(q.GetFor(milliseconds(30)).has_value());
  clock.Advance(std::chrono::seconds(1));
  EXPECT_TRUE(Eventually([&] { return q.Len() == 1; }));
  EXPECT_EQ(q.Get(), "later");
  EXPECT_EQ(q.WaitingLen(), 0u);
}

TEST(WorkQueueTest, AddRateLimitedBacksOffAndForgetResets) {
  FakeClock clock;
  WorkQueue q(
      std::make_unique<ItemExponentialFailureRateLimiter>(std::chrono::seconds(1), std::chrono::seconds(8)),
      clock);
  q.AddRateLimited("item");  // 1 s
  EXPECT_EQ(q.NumRequeues("item"), 1);
  EXPECT_EQ(q.Len(), 0u);
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Eventually([&] { return q.Len() == 1; }));
  EXPECT_EQ(q.Get(), "item");
  q.Done("item");
  q.AddRateLimited("item");  // 2 s now
  clock.Advance(std::chrono::seconds(1));
  EXPECT_FALSE(q.GetFor(milliseconds(30)).has_value());
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Eventually([&] { return q.Len() == 1; }));
  EXPECT_EQ(q.Get(), "item");
  q.Forget("item");
  q.Done("item");
  EXPECT_EQ(q.NumRequeues("item"), 0);
}

TEST(WorkQueueTest, ShutDownDrainsThenReleasesWorkers) {
  WorkQueue q;
  std::optional<std::string> got = "unset";
  std::thread waiter([&] { got = q.Get(); });
  std::this_thread::sleep_for(milliseconds(20));
  q.ShutDown();
  waiter.join();
  EXPECT_FALSE(got.has_value());
  EXPECT_TRUE(q.ShuttingDown());

  WorkQueue q2;
  q2.Add("a");
  q2.ShutDown();
  q2.Add("b");  // ignored
  EXPECT_EQ(q2.Get(), "a");
  EXPECT_FALSE(q2.Get().has_value());
}

}  // namespace
}  // namespace hoist::kube

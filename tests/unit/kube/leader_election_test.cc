#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kube/client.h"
#include "kube/objects.h"
#include "unit/kube/fake_apiserver.h"
#include "unit/kube/test_util.h"

namespace hoist::kube {
namespace {

using testing::Eventually;
using testing::FakeApiServer;

LeaderElectionConfig Config(const std::string& identity) {
  LeaderElectionConfig c;
  c.lease_namespace = "hoist-system";
  c.lease_name = "hoist-controller";
  c.identity = identity;
  c.lease_duration = std::chrono::seconds(15);
  c.renew_deadline = std::chrono::seconds(10);
  c.retry_period = std::chrono::milliseconds(50);
  return c;
}

TEST(LeaderElectionTest, OnlyOneHolderUntilTheLeaseExpiresOnTheObserversClock) {
  FakeApiServer server;
  Client client(server.Config());
  FakeClock clock_a, clock_b;
  LeaderElector a(client, Config("a"), clock_a);
  LeaderElector b(client, Config("b"), clock_b);
  EXPECT_TRUE(a.TryAcquireOrRenew());
  EXPECT_FALSE(b.TryAcquireOrRenew());
  EXPECT_EQ(b.ObservedLeader(), "a");
  Json lease = client.Get(resources::kLease, "hoist-system", "hoist-controller");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "a");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(lease["spec"]["acquireTime"].get<std::string>().size(),
            std::string("2026-01-01T00:00:00.000000Z").size());

  clock_b.Advance(std::chrono::seconds(14));
  EXPECT_FALSE(b.TryAcquireOrRenew());  // not expired yet
  EXPECT_TRUE(a.TryAcquireOrRenew());   // a renews: b's timer restarts when b sees the new record
  clock_b.Advance(std::chrono::seconds(14));
  EXPECT_FALSE(b.TryAcquireOrRenew());  // b sees the renewal now (28 s after its first look)
  clock_b.Advance(std::chrono::seconds(14));
  EXPECT_FALSE(b.TryAcquireOrRenew());
  clock_b.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(b.TryAcquireOrRenew());  // unchanged for 16 s as b measures: expired
  lease = client.Get(resources::kLease, "hoist-system", "hoist-controller");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
  EXPECT_FALSE(a.TryAcquireOrRenew());
  EXPECT_EQ(a.ObservedLeader(), "b");
}

TEST(LeaderElectionTest, GracefulStopReleasesSoTheOtherTakesOverAtOnce) {
  FakeApiServer server;
  Client client(server.Config());
  std::atomic<int> a_started{0}, a_stopped{0}, b_started{0};
  std::atomic<bool> a_work_stopped{false};
  LeaderElectionConfig ca = Config("a");
  ca.on_started_leading = [&](std::stop_token leading) {
    a_started++;
    while (!leading.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    a_work_stopped = true;
  };
  ca.on_stopped_leading = [&] { a_stopped++; };
  LeaderElectionConfig cb = Config("b");
  cb.on_started_leading = [&](std::stop_token) { b_started++; };
  LeaderElector a(client, ca);
  LeaderElector b(client, cb);
  std::stop_source stop_a, stop_b;
  std::thread ta([&] { a.Run(stop_a.get_token()); });
  ASSERT_TRUE(Eventually([&] { return a.IsLeader(); }));
  std::thread tb([&] { b.Run(stop_b.get_token()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(b.IsLeader());
  auto handover_start = std::chrono::steady_clock::now();
  stop_a.request_stop();
  ta.join();
  EXPECT_TRUE(a_work_stopped.load());
  EXPECT_EQ(a_stopped.load(), 1);
  ASSERT_TRUE(Eventually([&] { return b.IsLeader(); }, std::chrono::seconds(5)));
  // Far sooner than the 15 s lease duration: a released the lease.
  EXPECT_LT(std::chrono::steady_clock::now() - handover_start, std::chrono::seconds(3));
  // on_started_leading runs on its own thread, started just after IsLeader() turns true.
  EXPECT_TRUE(Eventually([&] { return b_started.load() == 1; }));
  stop_b.request_stop();
  tb.join();
  Json lease = client.Get(resources::kLease, "hoist-system", "hoist-controller");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "");
}

TEST(LeaderElectionTest, LeaderStepsDownWhenAnotherTakesTheLease) {
  FakeApiServer server;
  Client client(server.Config());
  std::atomic<bool> stopped{false};
  LeaderElectionConfig ca = Config("a");
  ca.on_stopped_leading = [&] { stopped = true; };
  LeaderElector a(client, ca);
  std::stop_source stop;
  std::thread ta([&] { a.Run(stop.get_token()); });
  ASSERT_TRUE(Eventually([&] { return a.IsLeader(); }));
  // Someone force-takes the lease (e.g. an administrator edits it).
  Json lease = client.Get(resources::kLease, "hoist-system", "hoist-controller");
  lease["spec"]["holderIdentity"] = "intruder";
  client.Update(resources::kLease, lease);
  ASSERT_TRUE(Eventually([&] { return stopped.load(); }));
  ta.join();  // Run returns when leadership is lost
  EXPECT_FALSE(a.IsLeader());
  EXPECT_EQ(client.Get(resources::kLease, "hoist-system", "hoist-controller")["spec"]["holderIdentity"],
            "intruder");
}

TEST(MicroTimeTest, Format) {
  auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1700000000123456LL));
  EXPECT_EQ(FormatMicroTime(t), "2023-11-14T22:13:20.123456Z");
}

}  // namespace
}  // namespace hoist::kube

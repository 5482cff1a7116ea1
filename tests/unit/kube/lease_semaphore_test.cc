#include "kube/lease_semaphore.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kube/client.h"
#include "kube/errors.h"
#include "kube/leader_election.h"
#include "kube/objects.h"
#include "unit/kube/fake_apiserver.h"
#include "unit/kube/test_util.h"

namespace hoist::kube {
namespace {

using testing::Eventually;
using testing::FakeApiServer;

constexpr const char* kNs = "openshift-mtv";
constexpr const char* kPrefix = "esxi-lock-hostsystem-host-12-slot-";

LeaseSemaphoreConfig Config(const std::string& identity, int slots = 2) {
  LeaseSemaphoreConfig c;
  c.lease_namespace = kNs;
  c.name_prefix = kPrefix;
  c.slots = slots;
  c.identity = identity;
  c.lease_duration = std::chrono::seconds(10);
  c.renew_deadline = std::chrono::seconds(8);
  c.renew_interval = std::chrono::milliseconds(50);
  c.retry_interval = std::chrono::milliseconds(20);
  return c;
}

std::string Holder(Client& client, int slot) {
  try {
    return client.Get(resources::kLease, kNs, kPrefix + std::to_string(slot))["spec"].value("holderIdentity",
                                                                                            "");
  } catch (const ApiError& e) {
    if (IsNotFound(e)) return "<none>";
    throw;
  }
}

TEST(LeaseSemaphoreTest, TakesFreeSlotsInOrderAndRefusesWhenAllAreHeld) {
  FakeApiServer server;
  Client client(server.Config());
  FakeClock clock;
  LeaseSemaphore a(client, Config("a"), clock), b(client, Config("b"), clock), c(client, Config("c"), clock);
  auto ha = a.TryAcquire();
  ASSERT_NE(ha, nullptr);
  EXPECT_EQ(ha->name(), std::string(kPrefix) + "0");
  auto hb = b.TryAcquire();
  ASSERT_NE(hb, nullptr);
  EXPECT_EQ(hb->name(), std::string(kPrefix) + "1");
  EXPECT_EQ(c.TryAcquire(), nullptr) << "two slots, both held";

  Json lease = client.Get(resources::kLease, kNs, std::string(kPrefix) + "0");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "a");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 10);
  EXPECT_EQ(lease["spec"]["renewTime"].get<std::string>().size(),
            std::string("2026-01-01T00:00:00.000000Z").size());

  // Releasing deletes the Lease, so a waiter takes the slot at once instead of after it expires.
  ha->Release();
  EXPECT_EQ(Holder(client, 0), "<none>");
  auto hc = c.TryAcquire();
  ASSERT_NE(hc, nullptr);
  EXPECT_EQ(hc->name(), std::string(kPrefix) + "0");
  EXPECT_EQ(Holder(client, 0), "c");
}

TEST(LeaseSemaphoreTest, RenewsWhileHeld) {
  FakeApiServer server;
  Client client(server.Config());
  LeaseSemaphore a(client, Config("a", 1));
  auto held = a.TryAcquire();
  ASSERT_NE(held, nullptr);
  std::string first = client.Get(resources::kLease, kNs, held->name())["spec"]["renewTime"];
  EXPECT_TRUE(Eventually([&] {
    return client.Get(resources::kLease, kNs, held->name())["spec"]["renewTime"].get<std::string>() != first;
  }));
  EXPECT_FALSE(held->lost().stop_requested());
}

TEST(LeaseSemaphoreTest, TakesOverALeaseUnchangedForItsDurationOnTheWaitersClock) {
  FakeApiServer server;
  Client client(server.Config());
  // A holder that died: its Lease stays, renewTime "now" by the wall clock (so only the observed
  // age can tell it is dead).
  Json dead = NewObject(resources::kLease, kNs, std::string(kPrefix) + "0");
  std::string now = FormatMicroTime(std::chrono::system_clock::now());
  dead["spec"] = {
      {"holderIdentity", "dead-pod"}, {"leaseDurationSeconds", 10}, {"acquireTime", now}, {"renewTime", now}};
  client.Create(resources::kLease, kNs, dead);

  FakeClock clock;
  LeaseSemaphore b(client, Config("b", 1), clock);
  EXPECT_EQ(b.TryAcquire(), nullptr);
  clock.Advance(std::chrono::seconds(9));
  EXPECT_EQ(b.TryAcquire(), nullptr) << "not yet unchanged for 10 s";
  clock.Advance(std::chrono::seconds(1));
  auto held = b.TryAcquire();
  ASSERT_NE(held, nullptr);
  Json lease = client.Get(resources::kLease, kNs, held->name());
  EXPECT_EQ(lease["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
}

TEST(LeaseSemaphoreTest, TakesOverALeaseWhoseRenewTimeIsLongPast) {
  FakeApiServer server;
  Client client(server.Config());
  Json dead = NewObject(resources::kLease, kNs, std::string(kPrefix) + "0");
  std::string old = FormatMicroTime(std::chrono::system_clock::now() - std::chrono::hours(2));
  dead["spec"] = {{"holderIdentity", "forklift-pod"},
                  {"leaseDurationSeconds", 10},
                  {"acquireTime", old},
                  {"renewTime", old}};
  client.Create(resources::kLease, kNs, dead);
  LeaseSemaphore b(client, Config("b", 1));
  auto held = b.TryAcquire();
  ASSERT_NE(held, nullptr) << "a Lease last renewed two hours ago is taken at first sight";
  EXPECT_EQ(Holder(client, 0), "b");
}

TEST(LeaseSemaphoreTest, LosingTheLeaseStopsTheGuardedWork) {
  FakeApiServer server;
  Client client(server.Config());
  LeaseSemaphore a(client, Config("a", 1));
  std::atomic<bool> stopped{false};
  std::thread thief([&] {
    // Another process takes the slot over (as it would after a long pause of ours).
    ASSERT_TRUE(Eventually([&] { return Holder(client, 0) == "a"; }));
    RetryOnConflict([&] {
      Json lease = client.Get(resources::kLease, kNs, std::string(kPrefix) + "0");
      lease["spec"]["holderIdentity"] = "thief";
      client.Update(resources::kLease, lease);
    });
  });
  try {
    a.Run({}, [&](std::stop_token guarded) {
      EXPECT_TRUE(Eventually([&] { return guarded.stop_requested(); }));
      stopped = guarded.stop_requested();
    });
    ADD_FAILURE() << "Run returned normally after the lease was lost";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lost lease"), std::string::npos) << e.what();
  }
  thief.join();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(Holder(client, 0), "thief") << "a lost lease is not deleted";
}

TEST(LeaseSemaphoreTest, AcquireWaitsForAFreeSlotAndStopsOnRequest) {
  FakeApiServer server;
  Client client(server.Config());
  LeaseSemaphore a(client, Config("a", 1)), b(client, Config("b", 1));
  auto held = a.TryAcquire();
  ASSERT_NE(held, nullptr);
  std::atomic<int> waits{0};
  LeaseSemaphoreConfig cb = Config("b", 1);
  cb.on_wait = [&](const std::vector<std::string>& holders) {
    EXPECT_EQ(holders, std::vector<std::string>{"a"});
    ++waits;
  };
  LeaseSemaphore waiter(client, cb);
  std::unique_ptr<LeaseHandle> got;
  std::thread t([&] { got = waiter.Acquire({}); });
  ASSERT_TRUE(Eventually([&] { return waits.load() >= 2; }));
  held.reset();  // releases
  t.join();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(Holder(client, 0), "b");

  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.request_stop();
  });
  try {
    a.Acquire(stop.get_token());
    ADD_FAILURE() << "acquired a held slot";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kCancelled);
  }
  canceller.join();
}

TEST(LeaseSemaphoreTest, ForbiddenFailsAtOnceNamingTheRbacToGrant) {
  FakeApiServer server;
  Client client(server.Config());
  server.FailNext(1, 403,
                  R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,)"
                  R"("message":"leases.coordination.k8s.io is forbidden"})");
  LeaseSemaphore a(client, Config("a"));
  try {
    a.Acquire({});
    FAIL() << "acquired without permission";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("coordination.k8s.io leases in namespace openshift-mtv"),
              std::string::npos)
        << e.what();
  }
}

TEST(LeaseSemaphoreTest, RefusesNamesKubernetesWouldRefuse) {
  FakeApiServer server;
  Client client(server.Config());
  LeaseSemaphoreConfig c = Config("a");
  c.name_prefix = "esxi-lock-HostSystem:host-12-slot-";
  EXPECT_THROW(LeaseSemaphore(client, c), Error);
  c = Config("a");
  c.renew_deadline = c.lease_duration;
  EXPECT_THROW(LeaseSemaphore(client, c), Error);
}

TEST(LeaseSemaphoreTest, UniqueIdentitiesDifferOnOneHost) {
  EXPECT_NE(UniqueIdentity("populate-abc"), UniqueIdentity("populate-abc"));
  EXPECT_EQ(UniqueIdentity("populate-abc").rfind("populate-abc-", 0), 0u);
}

}  // namespace
}  // namespace hoist::kube

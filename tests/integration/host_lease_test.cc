// Host leases (kube::LeaseSemaphore with Forklift's esxi-lock-<host>-slot-<n> names) between real
// processes (it_tool_host_lease) on the lab API server: two processes racing for the one free slot,
// hand-over on SIGTERM (the Lease is deleted), take-over of a crashed holder's slot after it expires.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "esxi/clone_executor.h"
#include "integration/kube_lab_apiserver.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/lease_semaphore.h"
#include "kube/objects.h"

namespace hoist::kube {
namespace {

using testing::BinDir;
using testing::ChildProcess;
using testing::LabApiServer;

constexpr int kLeaseDurationMs = 3000;
const std::string kNs = "openshift-mtv";
const std::string kHost = esxi::HostId("HostSystem:host-21");
const std::string kPrefix = esxi::HostLeaseName(kHost, 0).substr(0, esxi::HostLeaseName(kHost, 0).size() - 1);

class Holder {
 public:
  Holder(const LabApiServer& server, const std::string& identity) : identity_(identity) {
    process_.Start({BinDir() + "/it_tool_host_lease", "--kubeconfig", server.kubeconfig(), "--identity",
                    identity, "--namespace", kNs, "--prefix", kPrefix, "--slots", "2", "--lease-duration-ms",
                    std::to_string(kLeaseDurationMs), "--renew-interval-ms", "300", "--renew-deadline-ms",
                    "2000", "--retry-ms", "100"});
    reader_ = std::thread([this] {
      std::string line;
      while (process_.ReadLine(&line)) {
        std::lock_guard<std::mutex> l(mu_);
        lines_.push_back(line);
      }
    });
  }
  ~Holder() { Stop(SIGKILL); }
  bool Printed(const std::string& prefix) {
    std::lock_guard<std::mutex> l(mu_);
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
  }
  bool Acquired() { return Printed("acquired"); }
  int Stop(int sig = SIGTERM) {
    if (!process_.running()) return -1;
    process_.Signal(sig);
    int rc = process_.Wait();
    if (reader_.joinable()) reader_.join();
    process_.CloseOutput();
    return rc;
  }
  const std::string& identity() const { return identity_; }

 private:
  std::string identity_;
  ChildProcess process_;
  std::thread reader_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

std::string HolderOf(Client& client, int slot) {
  try {
    return client.Get(resources::kLease, kNs, esxi::HostLeaseName(kHost, slot))["spec"].value(
        "holderIdentity", "");
  } catch (const ApiError& e) {
    if (IsNotFound(e)) return "";
    throw;
  }
}

TEST(HostLeaseLabTest, TwoProcessesRaceForOneFreeSlot) {
  LabApiServer server;
  server.Start();
  Client client(server.Config());
  client.Create(resources::kNamespace, "", NewObject(resources::kNamespace, "", kNs));

  // Slot 0 is held by another populator (this test, in-process).
  LeaseSemaphoreConfig mine;
  mine.lease_namespace = kNs;
  mine.name_prefix = kPrefix;
  mine.slots = 1;
  mine.identity = "populate-other";
  mine.lease_duration = std::chrono::milliseconds(kLeaseDurationMs);
  mine.renew_interval = std::chrono::milliseconds(300);
  mine.renew_deadline = std::chrono::milliseconds(2000);
  LeaseSemaphore other(client, mine);
  auto slot0 = other.TryAcquire();
  ASSERT_NE(slot0, nullptr);
  EXPECT_EQ(slot0->name(), "esxi-lock-hostsystem-host-21-slot-0");

  Holder a(server, "populate-a"), b(server, "populate-b");
  ASSERT_TRUE(WaitFor(
      [&] { return (a.Acquired() || b.Acquired()) && (a.Printed("waiting") || b.Printed("waiting")); },
      std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(kLeaseDurationMs + 500));
  ASSERT_NE(a.Acquired(), b.Acquired()) << "exactly one of the two holds the free slot";
  Holder& winner = a.Acquired() ? a : b;
  Holder& loser = a.Acquired() ? b : a;
  EXPECT_EQ(HolderOf(client, 0), "populate-other");
  EXPECT_EQ(HolderOf(client, 1), winner.identity()) << "the winner keeps renewing; the loser keeps waiting";
  EXPECT_TRUE(loser.Printed("waiting populate-other,populate-")) << "the waiter names who holds the slots";

  // SIGTERM: the winner stops its work and deletes its Lease; the loser gets the slot at once.
  auto stopped_at = std::chrono::steady_clock::now();
  EXPECT_EQ(winner.Stop(SIGTERM), 0);
  ASSERT_TRUE(WaitFor([&] { return loser.Acquired(); }, std::chrono::milliseconds(kLeaseDurationMs)));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::milliseconds(kLeaseDurationMs))
      << "hand-over does not wait for the lease to expire";
  EXPECT_EQ(HolderOf(client, 1), loser.identity());

  // A crash cannot release: the Lease stays until it has not been renewed for its duration.
  Holder c(server, "populate-c");
  ASSERT_TRUE(WaitFor([&] { return c.Printed("waiting"); }, std::chrono::seconds(20)));
  auto crashed_at = std::chrono::steady_clock::now();
  loser.Stop(SIGKILL);
  EXPECT_EQ(HolderOf(client, 1), loser.identity()) << "a killed holder's Lease is still there";
  ASSERT_TRUE(WaitFor([&] { return c.Acquired(); }, std::chrono::milliseconds(4 * kLeaseDurationMs)));
  EXPECT_GE(std::chrono::steady_clock::now() - crashed_at, std::chrono::milliseconds(kLeaseDurationMs - 500))
      << "taken over only once expired";
  Json lease = client.Get(resources::kLease, kNs, esxi::HostLeaseName(kHost, 1));
  EXPECT_EQ(lease["spec"]["holderIdentity"], "populate-c");
  EXPECT_GE(lease["spec"]["leaseTransitions"].get<int>(), 1);
  EXPECT_EQ(c.Stop(SIGTERM), 0);
  EXPECT_EQ(HolderOf(client, 1), "");
  slot0.reset();
  EXPECT_EQ(HolderOf(client, 0), "") << "released slots leave no Lease behind";
}

TEST(HostLeaseLabTest, AHolderThatLosesItsLeaseStopsItsWork) {
  LabApiServer server;
  server.Start();
  Client client(server.Config());
  client.Create(resources::kNamespace, "", NewObject(resources::kNamespace, "", kNs));
  Holder a(server, "populate-a");
  ASSERT_TRUE(WaitFor([&] { return a.Acquired(); }, std::chrono::seconds(20)));
  // Another party takes the slot over (as a populator would that judged it expired during a long
  // pause of this one): the holder must stop the work the lease guards, not carry on unprotected.
  RetryOnConflict([&] {
    Json lease = client.Get(resources::kLease, kNs, esxi::HostLeaseName(kHost, 0));
    lease["spec"]["holderIdentity"] = "populate-thief";
    client.Update(resources::kLease, lease);
  });
  ASSERT_TRUE(WaitFor([&] { return a.Printed("lost"); }, std::chrono::seconds(5)));
  EXPECT_TRUE(a.Printed("lost lease openshift-mtv/esxi-lock-hostsystem-host-21-slot-0")) << "names the lease";
  EXPECT_EQ(a.Stop(SIGTERM), 1) << "the work failed because its lease was lost";
  EXPECT_EQ(HolderOf(client, 0), "populate-thief") << "a lost lease is not deleted";
}

}  // namespace
}  // namespace hoist::kube

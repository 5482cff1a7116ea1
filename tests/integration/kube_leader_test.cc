// Leader election between two processes (it_tool_kube_leader) on a Lease in the lab API server.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "integration/kube_lab_apiserver.h"
#include "kube/client.h"
#include "kube/objects.h"

namespace hoist::kube {
namespace {

using testing::BinDir;
using testing::ChildProcess;
using testing::LabApiServer;

constexpr int kLeaseDurationMs = 4000;

// A candidate process and the lines it printed.
class Candidate {
 public:
  Candidate(const LabApiServer& server, const std::string& identity) : identity_(identity) {
    process_.Start({BinDir() + "/it_tool_kube_leader", "--kubeconfig", server.kubeconfig(), "--identity",
                    identity, "--lease-duration-ms", std::to_string(kLeaseDurationMs), "--renew-deadline-ms",
                    "3000", "--retry-period-ms", "300"});
    reader_ = std::thread([this] {
      std::string line;
      while (process_.ReadLine(&line)) {
        std::lock_guard<std::mutex> l(mu_);
        lines_.push_back(line);
      }
    });
  }
  ~Candidate() { Stop(SIGKILL); }
  bool Printed(const std::string& line) {
    std::lock_guard<std::mutex> l(mu_);
    return std::find(lines_.begin(), lines_.end(), line) != lines_.end();
  }
  bool Leading() { return Printed("leading " + identity_); }
  int Stop(int sig = SIGTERM) {
    if (!process_.running()) return -1;
    process_.Signal(sig);
    int rc = process_.Wait();
    if (reader_.joinable()) reader_.join();
    process_.CloseOutput();
    return rc;
  }

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

TEST(KubeLeaderLabTest, GracefulStopHandsOverAtOnceAndCrashAfterExpiry) {
  LabApiServer server;
  server.Start();
  Client client(server.Config());

  Candidate a(server, "candidate-a");
  ASSERT_TRUE(WaitFor([&] { return a.Leading(); }, std::chrono::seconds(20)));
  Candidate b(server, "candidate-b");
  ASSERT_TRUE(WaitFor([&] { return b.Printed("leader candidate-a"); }, std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(kLeaseDurationMs + 1000));
  EXPECT_FALSE(b.Leading()) << "b took a lease that a keeps renewing";
  Json lease = client.Get(resources::kLease, "default", "hoist-it-leader");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "candidate-a");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 4);

  // Graceful stop: a releases, b takes over well within the lease duration.
  auto stopped_at = std::chrono::steady_clock::now();
  EXPECT_EQ(a.Stop(), 0);
  ASSERT_TRUE(WaitFor([&] { return b.Leading(); }, std::chrono::milliseconds(kLeaseDurationMs)));
  auto handover = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_LT(handover, std::chrono::milliseconds(kLeaseDurationMs));
  lease = client.Get(resources::kLease, "default", "hoist-it-leader");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "candidate-b");
  EXPECT_GE(lease["spec"]["leaseTransitions"].get<int>(), 1);

  // A crash (SIGKILL) cannot release: the next candidate waits for the lease to expire, then leads.
  Candidate c(server, "candidate-c");
  ASSERT_TRUE(WaitFor([&] { return c.Printed("leader candidate-b"); }, std::chrono::seconds(20)));
  auto crashed_at = std::chrono::steady_clock::now();
  b.Stop(SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return c.Leading(); }, std::chrono::milliseconds(3 * kLeaseDurationMs)));
  EXPECT_GE(std::chrono::steady_clock::now() - crashed_at,
            std::chrono::milliseconds(kLeaseDurationMs - 1000));
  EXPECT_EQ(c.Stop(), 0);
}

}  // namespace
}  // namespace hoist::kube

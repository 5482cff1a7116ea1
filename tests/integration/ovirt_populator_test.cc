// hoist-populator ovirt against the lab's oVirt engine + imageio simulator (lab/sim/ovirt), run as
// the populator pod runs it: Forklift's flags, the secret's keys (user, password, cacert) in the
// environment.
#include <gtest/gtest.h>

#include "lab/sim/ovirt/simulator.h"
#include "net/http_client.h"
#include "populator_harness.h"
#include "populators/ovirt/engine.h"
#include "sink/checkpoint.h"

namespace hoist {
namespace {

using testing::Allocated;
using testing::MakeImage;
using testing::Populator;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WaitFor;

constexpr uint64_t kMiB = 1 << 20;
constexpr const char* kUid = "99999999-8888-7777-6666-555555555555";

class OvirtPopulatorTest : public ::testing::Test {
 protected:
  void SetUp() override { StartSim({}); }
  void StartSim(lab::sim::ovirt::SimulatorOptions o) {
    sim_.reset();
    sim_ = std::make_unique<lab::sim::ovirt::Simulator>(o);
    sim_->Start();
  }
  std::string AddDisk(const std::string& name, uint64_t size, const std::vector<uint64_t>& data_mib) {
    std::string path = MakeImage(dir_.File(name + ".raw"), size, data_mib);
    std::string id = "d1sk-" + name;
    sim_->AddDisk({id, name, path, ""});
    bytes_[id] = ReadFile(path);
    return id;
  }
  std::vector<std::string> Args(const std::string& disk, const std::string& volume, uint64_t pvc,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"ovirt",
                                  "--engine-url=" + sim_->engine_url(),
                                  "--disk-id=" + disk,
                                  "--volume-path=" + volume,
                                  "--secret-name=ovirt-secret",
                                  "--cr-name=disk-1",
                                  "--cr-namespace=default",
                                  "--owner-uid=" + std::string(kUid),
                                  "--pvc-size=" + std::to_string(pvc),
                                  "--metrics-listen=127.0.0.1:0",
                                  "--final-scrape-wait=0"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::vector<std::string> Env() {
    return {"user=admin@internal", "password=ovirt-lab", "cacert=" + sim_->ca_pem()};
  }
  bool Phase(const std::string& phase) {
    for (const auto& t : sim_->transfers()) {
      for (const auto& p : t.phases) {
        if (p == phase) return true;
      }
    }
    return false;
  }

  ScratchDir dir_{"hoist-it-ovirt"};
  std::unique_ptr<lab::sim::ovirt::Simulator> sim_;
  std::map<std::string, std::string> bytes_;
};

TEST_F(OvirtPopulatorTest, FetchesOnlyTheDataExtentsVerifiedWithProgress) {
  std::string disk = AddDisk("sparse", 64 * kMiB, {0, 1, 20, 40, 63});
  std::string volume = dir_.File("disk.img");
  uint16_t port = testing::FreeLoopbackPort();
  auto args = Args(disk, volume, 80 * kMiB);
  args[9] = "--metrics-listen=127.0.0.1:" + std::to_string(port);
  args[10] = "--final-scrape-wait=30s";
  Populator p(args, Env(), dir_.File("sparse.log"));
  double last = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        last = testing::ScrapeProgress("https://127.0.0.1:" + std::to_string(port) + "/metrics",
                                       "ovirt_progress", kUid);
        return last == 100;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100)))
      << last << "\n"
      << p.Log();
  // As the controller does, keep scraping while the pod runs: the populator waits for that last scrape.
  while (p.Running())
    testing::ScrapeProgress("https://127.0.0.1:" + std::to_string(port) + "/metrics", "ovirt_progress", kUid);
  ASSERT_EQ(p.Wait(), 0) << p.Log();
  EXPECT_TRUE(ReadFile(volume) == bytes_[disk]);
  EXPECT_LE(Allocated(volume), 6 * kMiB);
  uint64_t fetched = 0;
  for (const auto& r : sim_->data_requests()) fetched += r.end - r.begin;
  EXPECT_LE(fetched, 5 * kMiB + 4 * kMiB) << "zero extents are not fetched (small gaps may be read through)";
  EXPECT_GE(fetched, 5 * kMiB);
  EXPECT_TRUE(Phase("finished_success")) << "the transfer was finalized";
  EXPECT_EQ(sim_->active_transfers(), 0);
  EXPECT_NE(p.Log().find("verified"), std::string::npos) << p.Log();
}

TEST_F(OvirtPopulatorTest, BlockVolumeThroughTheProxyWhenTheHostIsUnreachable) {
  lab::sim::ovirt::SimulatorOptions o;
  o.transfer_url_reachable = false;
  StartSim(o);
  std::string disk = AddDisk("block", 16 * kMiB, {2, 9});
  std::string device = dir_.File("block");
  { std::ofstream(device) << std::string(18 * kMiB, '\x33'); }
  Populator p(Args(disk, device, 18 * kMiB), Env(), dir_.File("block.log"));
  ASSERT_EQ(p.Wait(), 0) << p.Log();
  std::string content = ReadFile(device);
  EXPECT_TRUE(content.substr(0, 16 * kMiB) == bytes_[disk]);
  ASSERT_FALSE(sim_->data_requests().empty());
  for (const auto& r : sim_->data_requests()) EXPECT_EQ(r.server, "proxy");
}

TEST_F(OvirtPopulatorTest, WrongBytesFromImageioFailVerificationAndCancelTheTransfer) {
  std::string disk = AddDisk("corrupt", 16 * kMiB, {0, 5, 6});
  sim_->CorruptAt(5 * kMiB + 777);
  std::string volume = dir_.File("corrupt.img");
  Populator p(Args(disk, volume, 16 * kMiB), Env(), dir_.File("corrupt.log"));
  EXPECT_EQ(p.Wait(), 1);
  std::string log = p.Log();
  EXPECT_NE(log.find("verifying oVirt disk " + disk), std::string::npos) << log;
  EXPECT_NE(log.find("imageio's block checksum"), std::string::npos) << log;
  EXPECT_TRUE(Phase("cancelled_user"))
      << "a failed copy cancels its transfer, so the disk is not left locked";
  EXPECT_FALSE(std::filesystem::exists(volume + ".hoist-checkpoint"));
}

TEST_F(OvirtPopulatorTest, KilledMidCopyResumesFromTheCheckpointWithANewTransfer) {
  std::vector<uint64_t> data;
  for (uint64_t m = 0; m < 48; m += 3) data.push_back(m);
  std::string disk = AddDisk("resume", 48 * kMiB, data);
  sim_->StallAt(24 * kMiB + 4096);  // inside a data extent
  std::string volume = dir_.File("resume.img");
  Populator first(Args(disk, volume, 48 * kMiB, {"--checkpoint-interval=200ms"}), Env(),
                  dir_.File("resume-1.log"));
  std::optional<sink::CheckpointRecord> rec;
  ASSERT_TRUE(WaitFor(
      [&] {
        rec = sink::ReadCheckpoint(volume + ".hoist-checkpoint");
        uint64_t done = 0;
        if (rec) {
          for (const auto& r : rec->done) done += r.length();
        }
        return sim_->Stalled() && done >= 24 * kMiB;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100)))
      << first.Log();
  first.Signal(SIGKILL);
  EXPECT_EQ(first.Wait(), 128 + SIGKILL);
  rec = sink::ReadCheckpoint(volume + ".hoist-checkpoint");
  ASSERT_TRUE(rec.has_value());
  sim_->Release();
  sim_->ClearDataRequests();
  EXPECT_EQ(sim_->active_transfers(), 1) << "the killed pod's transfer is still there, locking the disk";

  Populator second(Args(disk, volume, 48 * kMiB), Env(), dir_.File("resume-2.log"));
  ASSERT_EQ(second.Wait(), 0) << second.Log();
  EXPECT_NE(second.Log().find("left by an earlier attempt"), std::string::npos) << second.Log();
  EXPECT_NE(second.Log().find("resuming the copy"), std::string::npos) << second.Log();
  EXPECT_TRUE(ReadFile(volume) == bytes_[disk]);
  for (const auto& r : sim_->data_requests()) {
    for (const auto& d : rec->done) {
      EXPECT_FALSE(r.begin < d.end && d.begin < r.end)
          << "bytes " << r.begin << "-" << r.end << " fetched again; the checkpoint holds " << d.begin << "-"
          << d.end;
    }
  }
  EXPECT_EQ(sim_->active_transfers(), 0);
}

TEST_F(OvirtPopulatorTest, SigtermRecordsTheCheckpointAndCancelsTheTransfer) {
  std::string disk = AddDisk("term", 32 * kMiB, {0, 10, 20, 30});
  sim_->StallAt(20 * kMiB + 1);
  std::string volume = dir_.File("term.img");
  Populator p(Args(disk, volume, 32 * kMiB), Env(), dir_.File("term.log"));
  ASSERT_TRUE(WaitFor([&] { return sim_->Stalled(); }, std::chrono::seconds(60))) << p.Log();
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 128 + SIGTERM) << p.Log();
  auto rec = sink::ReadCheckpoint(volume + ".hoist-checkpoint");
  ASSERT_TRUE(rec.has_value()) << "SIGTERM writes the checkpoint";
  EXPECT_GE(rec->done.size(), 1u);
  EXPECT_EQ(rec->done.front().begin, 0u);
  EXPECT_GE(rec->done.front().end, 20 * kMiB) << "everything before the stall is recorded";
  EXPECT_TRUE(Phase("cancelled_user"));
  sim_->Release();
}

TEST_F(OvirtPopulatorTest, WrongPasswordAndMissingDiskSayWhatToCheck) {
  std::string disk = AddDisk("auth", 4 * kMiB, {0});
  {
    auto env = Env();
    env[1] = "password=Wr0ng-secret";
    Populator p(Args(disk, dir_.File("auth.img"), 4 * kMiB), env, dir_.File("auth.log"));
    EXPECT_EQ(p.Wait(), 1);
    EXPECT_NE(p.Log().find("refused the login"), std::string::npos) << p.Log();
    EXPECT_EQ(p.Log().find("Wr0ng-secret"), std::string::npos);
  }
  {
    Populator p(Args("no-such-disk", dir_.File("none.img"), 4 * kMiB), Env(), dir_.File("none.log"));
    EXPECT_EQ(p.Wait(), 1);
    EXPECT_NE(p.Log().find("does not exist"), std::string::npos) << p.Log();
  }
  {
    // TLS is verified: without the engine's CA the connection is refused, and the message says so.
    Populator p(Args(disk, dir_.File("tls.img"), 4 * kMiB), {"user=admin@internal", "password=ovirt-lab"},
                dir_.File("tls.log"));
    EXPECT_EQ(p.Wait(), 1);
    EXPECT_NE(p.Log().find("could not be verified"), std::string::npos) << p.Log();
  }
}

TEST_F(OvirtPopulatorTest, SimulatorPausesAnIdleTransferAndDropsItsTicket) {
  std::string disk = AddDisk("idle", 1 * kMiB, {0});
  net::HttpClientOptions co;
  co.tls.ca_pem = sim_->ca_pem();
  net::HttpClient client(co);
  populators::ovirt::Engine engine(client, sim_->engine_url(), "admin@internal", "ovirt-lab");
  engine.Login();
  auto t = engine.CreateDownload(disk, 1);
  EXPECT_EQ(t.phase, "initializing");
  t = engine.WaitTransferring(t.id, std::chrono::seconds(10), {});
  EXPECT_EQ(engine.GetDisk(disk).status, "locked");
  ASSERT_TRUE(
      WaitFor([&] { return engine.GetTransfer(t.id)->phase == "paused_system"; }, std::chrono::seconds(10)));
  net::HttpRequest get;
  get.url = t.proxy_url;
  EXPECT_EQ(client.Do(get).status, 403) << "the ticket is gone";
}

}  // namespace
}  // namespace hoist

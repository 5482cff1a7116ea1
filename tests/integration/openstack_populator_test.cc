// hoist-populator openstack against Debian's real Keystone and Glance (started once for this program),
// run as the populator pod runs it: Forklift's flags, the secret's keys in the environment. A fault
// injector in front of Glance (lab/sim/glance) stalls, fails or records transfers where real Glance
// cannot be made to.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/openstack.h"
#include "lab/sim/glance/fault_proxy.h"
#include "populator_harness.h"
#include "sink/checkpoint.h"

namespace hoist {
namespace {

using nlohmann::json;
using testing::Allocated;
using testing::MakeImage;
using testing::Populator;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WaitFor;

constexpr uint64_t kMiB = 1 << 20;

lab::OpenStack* g_openstack = nullptr;
lab::sim::glance::FaultProxy* g_proxy = nullptr;
ScratchDir* g_dir = nullptr;

class OpenStackEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    dir_ = std::make_unique<ScratchDir>("hoist-it-openstack");
    g_dir = dir_.get();
    os_ = std::make_unique<lab::OpenStack>(lab::OpenStackOptions{.dir = dir_->File("openstack")});
    os_->Start();
    g_openstack = os_.get();
    proxy_ = std::make_unique<lab::sim::glance::FaultProxy>(os_->glance_url());
    proxy_->Start();
    g_proxy = proxy_.get();
  }
  void TearDown() override {
    proxy_.reset();
    os_.reset();
    dir_.reset();
  }

 private:
  std::unique_ptr<ScratchDir> dir_;
  std::unique_ptr<lab::OpenStack> os_;
  std::unique_ptr<lab::sim::glance::FaultProxy> proxy_;
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new OpenStackEnvironment);

std::vector<std::string> PasswordEnv() {
  return {"username=admin",
          "password=" + g_openstack->admin_password(),
          "projectName=admin",
          "domainName=Default",
          "userDomainID=default",
          "projectDomainID=default",
          "regionName=" + g_openstack->region()};
}

std::vector<std::string> Args(const std::string& image, const std::string& volume, uint64_t pvc_size,
                              std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"openstack",
                                "--endpoint=" + g_openstack->identity_url(),
                                "--image-id=" + image,
                                "--volume-path=" + volume,
                                "--secret-name=os-secret",
                                "--cr-name=disk-1",
                                "--cr-namespace=default",
                                "--owner-uid=11111111-2222-3333-4444-555555555555",
                                "--pvc-size=" + std::to_string(pvc_size),
                                "--metrics-listen=127.0.0.1:0",
                                "--final-scrape-wait=0"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

struct Image {
  std::string file;
  std::string id;
  std::string bytes;
};

Image Upload(const std::string& name, uint64_t size, const std::vector<uint64_t>& data_mib) {
  Image i;
  i.file = MakeImage(g_dir->File(name + ".raw"), size, data_mib);
  i.id = g_openstack->UploadImage(name, i.file);
  i.bytes = ReadFile(i.file);
  return i;
}

// Points the catalog at the fault injector for one test.
class ThroughProxy {
 public:
  ThroughProxy() {
    g_openstack->SetImageEndpoint(g_proxy->url());
    g_proxy->ClearRequests();
  }
  ~ThroughProxy() {
    g_proxy->Release();
    g_openstack->SetImageEndpoint("");
  }
};

TEST(OpenstackPopulator, CopiesASparseImageVerifiedWithProgressOnTheMetricsEndpoint) {
  Image img = Upload("sparse", 32 * kMiB, {0, 1, 5, 17, 31});
  const std::string volume = g_dir->File("sparse-disk.img");
  uint16_t port = testing::FreeLoopbackPort();
  auto args = Args(img.id, volume, 40 * kMiB);
  args.back() = "--final-scrape-wait=30s";
  args[9] = "--metrics-listen=127.0.0.1:" + std::to_string(port);
  Populator p(args, PasswordEnv(), g_dir->File("sparse.log"));
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/metrics";
  double last = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        last = testing::ScrapeProgress(url, "openstack_populator_progress",
                                       "11111111-2222-3333-4444-555555555555");
        return last == 100;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100)))
      << "progress seen: " << last << "\n"
      << p.Log();
  // As the controller does, keep scraping while the pod runs: the populator waits for that last scrape.
  while (p.Running())
    testing::ScrapeProgress(url, "openstack_populator_progress", "11111111-2222-3333-4444-555555555555");
  ASSERT_EQ(p.Wait(), 0) << p.Log();
  EXPECT_TRUE(ReadFile(volume) == img.bytes) << "the volume holds the image's bytes";
  EXPECT_LE(Allocated(volume), 6 * kMiB) << "zero blocks were not written";
  EXPECT_NE(p.Log().find("verified"), std::string::npos) << p.Log();
  EXPECT_FALSE(std::filesystem::exists(volume + ".hoist-checkpoint")) << "the record is removed on success";
}

TEST(OpenstackPopulator, BlockVolumeGetsTheImageAndKeepsWhatLiesBeyondIt) {
  Image img = Upload("block", 16 * kMiB, {0, 3, 15});
  const std::string device = g_dir->File("block-device");
  const uint64_t device_size = 20 * kMiB;
  { std::ofstream(device) << std::string(device_size, '\x77'); }  // a reused volume's old bytes
  Populator p(Args(img.id, device, device_size), PasswordEnv(), g_dir->File("block.log"));
  ASSERT_EQ(p.Wait(), 0) << p.Log();
  std::string content = ReadFile(device);
  ASSERT_EQ(content.size(), device_size) << "a block volume is never truncated";
  EXPECT_TRUE(content.substr(0, img.bytes.size()) == img.bytes) << "old bytes under zero blocks were zeroed";
  const uint64_t tail = device_size - sink::kTailCheckpointBytes;
  EXPECT_TRUE(content.substr(img.bytes.size(), tail - img.bytes.size()) ==
              std::string(tail - img.bytes.size(), '\x77'));
}

TEST(OpenstackPopulator, TokenAndApplicationCredentialAuthentication) {
  Image img = Upload("auth", 4 * kMiB, {1});
  // A token obtained elsewhere (authType token).
  {
    std::string volume = g_dir->File("token-disk.img");
    Populator p(
        Args(img.id, volume, 8 * kMiB),
        {"authType=token", "token=" + g_openstack->AdminToken(), "regionName=" + g_openstack->region()},
        g_dir->File("token.log"));
    ASSERT_EQ(p.Wait(), 0) << p.Log();
    EXPECT_TRUE(ReadFile(volume) == img.bytes);
  }
  // An application credential, by id and by name.
  json me = g_openstack->Keystone("GET", "/users?name=admin");
  std::string user_id = me["users"][0]["id"].get<std::string>();
  json cred = g_openstack->Keystone("POST", "/users/" + user_id + "/application_credentials",
                                    R"({"application_credential":{"name":"hoist-it"}})");
  std::string id = cred["application_credential"]["id"].get<std::string>();
  std::string secret = cred["application_credential"]["secret"].get<std::string>();
  {
    std::string volume = g_dir->File("appcred-id-disk.img");
    Populator p(Args(img.id, volume, 8 * kMiB),
                {"authType=applicationcredential", "applicationCredentialID=" + id,
                 "applicationCredentialSecret=" + secret},
                g_dir->File("appcred-id.log"));
    ASSERT_EQ(p.Wait(), 0) << p.Log();
    EXPECT_TRUE(ReadFile(volume) == img.bytes);
    EXPECT_EQ(p.Log().find(secret), std::string::npos) << "the secret never reaches the log";
  }
  {
    std::string volume = g_dir->File("appcred-name-disk.img");
    Populator p(Args(img.id, volume, 8 * kMiB),
                {"authType=applicationcredential", "applicationCredentialName=hoist-it",
                 "applicationCredentialSecret=" + secret, "username=admin", "userDomainName=Default"},
                g_dir->File("appcred-name.log"));
    ASSERT_EQ(p.Wait(), 0) << p.Log();
    EXPECT_TRUE(ReadFile(volume) == img.bytes);
  }
}

TEST(OpenstackPopulator, WrongPasswordIsAClearErrorWithoutThePassword) {
  Image img = Upload("badauth", 1 * kMiB, {0});
  auto env = PasswordEnv();
  env[1] = "password=not-the-Password-42";
  Populator p(Args(img.id, g_dir->File("badauth-disk.img"), 2 * kMiB), env, g_dir->File("badauth.log"));
  EXPECT_EQ(p.Wait(), 1);
  std::string log = p.Log();
  EXPECT_NE(log.find("refused the authentication"), std::string::npos) << log;
  EXPECT_EQ(log.find("not-the-Password-42"), std::string::npos) << "the password never reaches the log";
}

TEST(OpenstackPopulator, MissingImageAndUnknownRegionNameWhatToCheck) {
  {
    Populator p(Args("00000000-0000-0000-0000-000000000000", g_dir->File("missing.img"), kMiB), PasswordEnv(),
                g_dir->File("missing.log"));
    EXPECT_EQ(p.Wait(), 1);
    EXPECT_NE(p.Log().find("does not exist"), std::string::npos) << p.Log();
  }
  {
    auto env = PasswordEnv();
    env.back() = "regionName=Nowhere";
    Populator p(Args("x", g_dir->File("region.img"), kMiB), env, g_dir->File("region.log"));
    EXPECT_EQ(p.Wait(), 1);
    EXPECT_NE(p.Log().find("region Nowhere"), std::string::npos) << p.Log();
    EXPECT_NE(p.Log().find("regionName"), std::string::npos) << p.Log();
  }
}

TEST(OpenstackPopulator, WaitsForAnImageThatIsStillUploading) {
  std::string file = MakeImage(g_dir->File("late.raw"), 4 * kMiB, {2});
  std::string id = g_openstack->CreateEmptyImage("late");
  std::string volume = g_dir->File("late-disk.img");
  Populator p(Args(id, volume, 8 * kMiB, {"--image-poll=200ms"}), PasswordEnv(), g_dir->File("late.log"));
  ASSERT_TRUE(WaitFor([&] { return p.Log().find("waiting for the image") != std::string::npos; },
                      std::chrono::seconds(30)))
      << p.Log();
  EXPECT_TRUE(p.Running()) << "a queued image is waited for, not copied";
  // Upload the data now (as the OpenStack adapter's image upload finishes).
  std::string data = ReadFile(file);
  net::HttpClient client;
  net::HttpRequest put;
  put.method = "PUT";
  put.url = g_openstack->glance_url() + "/v2/images/" + id + "/file";
  put.headers.Set("X-Auth-Token", g_openstack->AdminToken());
  put.headers.Set("Content-Type", "application/octet-stream");
  put.body = data;
  ASSERT_EQ(client.Do(put).status, 204);
  ASSERT_EQ(p.Wait(), 0) << p.Log();
  EXPECT_TRUE(ReadFile(volume) == data);
}

TEST(OpenstackPopulator, WrongBytesFromGlanceFailVerification) {
  Image img = Upload("corrupt", 8 * kMiB, {0, 4, 7});
  // Glance's stored bytes change behind its back: it serves them, its recorded hash stays.
  {
    std::fstream f(g_openstack->ImageDataPath(img.id), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4 * kMiB + 12345);
    f.put('\x42');
  }
  std::string volume = g_dir->File("corrupt-disk.img");
  Populator p(Args(img.id, volume, 16 * kMiB), PasswordEnv(), g_dir->File("corrupt.log"));
  EXPECT_EQ(p.Wait(), 1);
  std::string log = p.Log();
  EXPECT_NE(log.find("verifying Glance image " + img.id), std::string::npos) << log;
  EXPECT_NE(log.find("os_hash_value"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(volume + ".hoist-checkpoint"))
      << "a copy that failed verification starts over instead of resuming into bad data";
}

TEST(OpenstackPopulator, KilledMidCopyResumesWithoutFetchingTheCheckpointedBytesAgain) {
  Image img = Upload("resume", 48 * kMiB, {0, 3, 9, 20, 21, 33, 40, 47});
  ThroughProxy proxy;
  g_proxy->StallAt(24 * kMiB + 100);
  const std::string volume = g_dir->File("resume-disk.img");
  const std::string record = volume + ".hoist-checkpoint";
  Populator first(Args(img.id, volume, 64 * kMiB, {"--checkpoint-interval=200ms"}), PasswordEnv(),
                  g_dir->File("resume-1.log"));
  std::optional<sink::CheckpointRecord> rec;
  ASSERT_TRUE(WaitFor(
      [&] {
        rec = sink::ReadCheckpoint(record);
        uint64_t done = 0;
        if (rec) {
          for (const auto& r : rec->done) done += r.length();
        }
        return g_proxy->Stalled() && done >= 24 * kMiB;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100)))
      << first.Log();
  first.Signal(SIGKILL);  // a pod killed mid-copy: no chance to write anything more
  EXPECT_EQ(first.Wait(), 128 + SIGKILL);
  rec = sink::ReadCheckpoint(record);
  ASSERT_TRUE(rec.has_value());
  g_proxy->Release();
  g_proxy->ClearRequests();

  Populator second(Args(img.id, volume, 64 * kMiB), PasswordEnv(), g_dir->File("resume-2.log"));
  ASSERT_EQ(second.Wait(), 0) << second.Log();
  EXPECT_NE(second.Log().find("resuming the copy"), std::string::npos) << second.Log();
  EXPECT_TRUE(ReadFile(volume) == img.bytes) << "resumed copy is complete and verified";
  auto requests = g_proxy->requests();
  ASSERT_FALSE(requests.empty());
  uint64_t fetched = 0;
  for (const auto& r : requests) {
    ASSERT_GT(r.end, r.begin) << "every request of the resumed copy names a range";
    fetched += r.end - r.begin;
    for (const auto& d : rec->done) {
      EXPECT_FALSE(r.begin < d.end && d.begin < r.end)
          << "bytes " << r.begin << "-" << r.end << " were fetched again though the checkpoint holds "
          << d.begin << "-" << d.end;
    }
  }
  uint64_t done = 0;
  for (const auto& d : rec->done) done += d.length();
  EXPECT_EQ(fetched, 48 * kMiB - done) << "exactly the bytes the checkpoint did not hold";
}

TEST(OpenstackPopulator, ExpiredTokenIsRenewedAndServerErrorsAreRetried) {
  Image img = Upload("retry", 8 * kMiB, {0, 7});
  ThroughProxy proxy;
  g_proxy->FailNext(401, 1);
  {
    std::string volume = g_dir->File("reauth-disk.img");
    Populator p(Args(img.id, volume, 16 * kMiB), PasswordEnv(), g_dir->File("reauth.log"));
    ASSERT_EQ(p.Wait(), 0) << p.Log();
    EXPECT_NE(p.Log().find("authenticating again"), std::string::npos) << p.Log();
    EXPECT_TRUE(ReadFile(volume) == img.bytes);
  }
  g_proxy->FailNext(503, 2);
  {
    std::string volume = g_dir->File("retry-disk.img");
    Populator p(Args(img.id, volume, 16 * kMiB), PasswordEnv(), g_dir->File("retry.log"));
    ASSERT_EQ(p.Wait(), 0) << p.Log();
    EXPECT_NE(p.Log().find("retrying a range"), std::string::npos) << p.Log();
    EXPECT_TRUE(ReadFile(volume) == img.bytes);
  }
}

}  // namespace
}  // namespace hoist

// The oVirt and OpenStack populators end to end in the lab: hoist-controller (a child process) watches
// PVCs whose dataSourceRef names an OvirtVolumePopulator or OpenstackVolumePopulator, runs
// `hoist-populator ovirt|openstack` in pods (kubelet-lite), scrapes their progress into the CR and
// rebinds the volume. Sources: the lab oVirt simulator and Debian's real Keystone + Glance (started
// once for this program). Checked as a user would: the target PVC's bytes, CR progress up to 100, a
// corrupted transfer failing verification, and a pod killed mid-copy resuming from its checkpoint
// without fetching again the bytes before it.
#include <dirent.h>
#include <signal.h>
#include <stdio.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/openstack.h"
#include "lab/sim/glance/fault_proxy.h"
#include "lab/sim/ovirt/simulator.h"
#include "net/tls.h"
#include "populator_harness.h"
#include "sink/checkpoint.h"

namespace hoist {
namespace {

using nlohmann::json;
using testing::BinDir;
using testing::MakeImage;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WaitFor;

constexpr uint64_t kMiB = 1 << 20;

std::string Sh(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string SourceDir() { return HOIST_TEST_SOURCE_DIR; }

// The lab, the controller and the sources, shared by every case of this program.
struct World {
  std::unique_ptr<ScratchDir> dir;
  std::unique_ptr<lab::OpenStack> openstack;
  std::unique_ptr<lab::sim::glance::FaultProxy> glance_proxy;
  std::unique_ptr<lab::sim::ovirt::Simulator> ovirt;
  pid_t controller = -1;
  int manifests = 0;

  std::string Dir() const { return dir->path() + "/lab"; }
  std::string Kubectl(const std::string& args, int* rc = nullptr) {
    return Sh("kubectl --request-timeout=20s --kubeconfig " + Dir() + "/kubeconfig " + args, rc);
  }
  void Apply(const std::string& yaml) {
    std::string path = dir->File("manifest-" + std::to_string(++manifests) + ".yaml");
    std::ofstream(path) << yaml;
    int rc = 0;
    std::string out = Kubectl("apply -f " + path, &rc);
    if (rc != 0) throw std::runtime_error("kubectl apply failed: " + out + "\n" + yaml);
  }
  json Get(const std::string& what) {
    int rc = 0;
    std::string out = Kubectl("get " + what + " -o json", &rc);
    if (rc != 0) return nullptr;
    return json::parse(out, nullptr, false);
  }
};
World* g = nullptr;

class E2eEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g = new World;
    g->dir = std::make_unique<ScratchDir>("hoist-it-e2e");
    std::filesystem::create_directories(g->Dir());
    std::string bin = BinDir() + "/hoist-populator";
    std::ofstream(g->Dir() + "/images.yaml")
        << "images:\n  quay.io/hoist/populator-ovirt:\n    entrypoint: [" << bin
        << ", ovirt]\n  quay.io/hoist/populator-openstack:\n    entrypoint: [" << bin << ", openstack]\n";
    int rc = 0;
    std::string out = Sh(BinDir() + "/hoist lab up --detach --log-level warn --dir " + g->Dir(), &rc);
    ASSERT_EQ(rc, 0) << out;
    out = g->Kubectl("apply -f " + SourceDir() + "/deploy/crds/", &rc);
    ASSERT_EQ(rc, 0) << out;
    g->Apply(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: e2e}\nprovisioner: "
        "lab.hoist.io/file\n"
        "reclaimPolicy: Delete\nvolumeBindingMode: Immediate\n");
    // Sources.
    g->ovirt = std::make_unique<lab::sim::ovirt::Simulator>();
    g->ovirt->Start();
    g->openstack = std::make_unique<lab::OpenStack>(lab::OpenStackOptions{.dir = g->dir->File("openstack")});
    g->openstack->Start();
    g->glance_proxy = std::make_unique<lab::sim::glance::FaultProxy>(g->openstack->glance_url());
    g->glance_proxy->Start();
    g->openstack->SetImageEndpoint(g->glance_proxy->url());  // recorded, faults only when asked for
    // The controller.
    std::vector<std::string> argv = {
        BinDir() + "/hoist-controller",  "--kubeconfig=" + g->Dir() + "/kubeconfig",
        "--metrics-address=127.0.0.1:0", "--scrape-interval=300ms",
        "--leader-elect=false",          "--kube-api-qps=0"};
    std::string log = g->dir->File("controller.log");
    g->controller = fork();
    if (g->controller == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("OVIRT_POPULATOR_IMAGE", "quay.io/hoist/populator-ovirt", 1);
      setenv("OPENSTACK_POPULATOR_IMAGE", "quay.io/hoist/populator-openstack", 1);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  void TearDown() override {
    if (g->controller > 0) {
      kill(g->controller, SIGTERM);
      waitpid(g->controller, nullptr, 0);
    }
    Sh(BinDir() + "/hoist lab down --dir " + g->Dir());
    g->glance_proxy.reset();
    g->openstack.reset();
    g->ovirt.reset();
    delete g;
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new E2eEnvironment);

struct Target {
  std::string ns;
  std::string pvc;
  bool block = false;
  uint64_t size = 0;  // the PVC's request
};

// Creates the namespace, Secret, CR and target PVC.
void Create(const Target& t, const std::string& kind, const std::string& cr_spec, const std::string& secret) {
  g->Apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + t.ns +
           "}\n---\napiVersion: v1\nkind: Secret\n"
           "metadata: {name: source-secret, namespace: " +
           t.ns + "}\n" + secret +
           "\n---\n"
           "apiVersion: forklift.konveyor.io/v1beta1\nkind: " +
           kind + "\nmetadata: {name: disk, namespace: " + t.ns + "}\nspec:\n" + cr_spec +
           "\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: " + t.pvc + ", namespace: " +
           t.ns + "}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: e2e\n  volumeMode: " +
           (t.block ? "Block" : "Filesystem") + "\n  resources: {requests: {storage: \"" +
           std::to_string(t.size) + "\"}}\n  dataSourceRef: {apiGroup: forklift.konveyor.io, kind: " + kind +
           ", name: disk}\n");
}

std::string Uid(const Target& t) {
  json pvc = g->Get("pvc -n " + t.ns + " " + t.pvc);
  return pvc.is_null() ? "" : pvc["metadata"]["uid"].get<std::string>();
}

// The data of the PV bound to claim `name`: the directory's disk.img (Filesystem) or the file (Block).
std::string DataOf(const std::string& ns, const std::string& claim, bool block) {
  json pvc = g->Get("pvc -n " + ns + " " + claim);
  if (pvc.is_null() || !pvc["spec"].contains("volumeName")) return "";
  json pv = g->Get("pv " + pvc["spec"]["volumeName"].get<std::string>());
  if (pv.is_null()) return "";
  std::string path = pv["metadata"]["annotations"].value("lab.hoist.io/data-path", "");
  return block ? path : path + "/disk.img";
}

// Waits for the target PVC to be Bound, collecting the CR's progress values on the way.
bool WaitPopulated(const Target& t, const std::string& kind, std::vector<int>* progress,
                   std::chrono::seconds timeout) {
  return WaitFor(
      [&] {
        json cr = g->Get(kind + " -n " + t.ns + " disk");
        if (!cr.is_null() && cr.contains("status") && cr["status"].contains("progress")) {
          int p = std::stoi(cr["status"]["progress"].get<std::string>());
          if (progress->empty() || progress->back() != p) progress->push_back(p);
        }
        json pvc = g->Get("pvc -n " + t.ns + " " + t.pvc);
        return !pvc.is_null() && pvc["status"].value("phase", "") == "Bound" && !progress->empty() &&
               progress->back() == 100;
      },
      timeout, std::chrono::milliseconds(200));
}

std::string PodLogs(const Target& t) {
  return g->Kubectl("logs -n " + t.ns + " populate-" + Uid(t) + " --tail=60");
}

// The PID of the populator process for a target PVC (kubelet-lite runs pods as local processes).
pid_t PopulatorPid(const std::string& owner_uid) {
  DIR* d = opendir("/proc");
  pid_t found = -1;
  while (dirent* e = readdir(d)) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::string cmd = ReadFile("/proc/" + std::string(e->d_name) + "/cmdline");
    if (cmd.find("hoist-populator") != std::string::npos &&
        cmd.find("--owner-uid=" + owner_uid) != std::string::npos) {
      found = pid;
    }
  }
  closedir(d);
  return found;
}

std::string OvirtCr(const std::string& disk) {
  return "  engineUrl: " + g->ovirt->engine_url() + "\n  engineSecretName: source-secret\n  diskId: " + disk;
}
std::string OvirtSecret(const std::string& extra = "") {
  return "data:\n  user: " + net::Base64Encode("admin@internal") +
         "\n  password: " + net::Base64Encode("ovirt-lab") +
         "\n  ca.crt: " + net::Base64Encode(g->ovirt->ca_pem()) + extra;
}
std::string OpenstackCr(const std::string& image) {
  return "  identityUrl: " + g->openstack->identity_url() +
         "\n  secretName: source-secret\n  imageId: " + image;
}
std::string OpenstackSecret(const std::string& extra = "") {
  return "stringData:\n  username: admin\n  password: " + g->openstack->admin_password() +
         "\n  projectName: admin\n  domainName: Default\n  regionName: " + g->openstack->region() + extra;
}

void ExpectRising(const std::vector<int>& p) {
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.back(), 100);
  for (size_t i = 1; i < p.size(); ++i) EXPECT_LE(p[i - 1], p[i]) << "progress never goes back";
}

class PopulatorsE2e : public ::testing::TestWithParam<bool> {};  // Block?

TEST_P(PopulatorsE2e, OvirtDiskLandsOnTheTargetPvc) {
  bool block = GetParam();
  std::string raw =
      MakeImage(g->dir->File(std::string("ovirt-") + (block ? "b" : "f") + ".raw"), 24 * kMiB, {0, 7, 8, 23});
  std::string disk = std::string("disk-ovirt-") + (block ? "block" : "fs");
  g->ovirt->AddDisk({disk, disk, raw, ""});
  Target t{std::string("ovirt-") + (block ? "block" : "fs"), "vm-disk-0", block, 28 * kMiB};
  Create(t, "OvirtVolumePopulator", OvirtCr(disk), OvirtSecret());
  std::vector<int> progress;
  ASSERT_TRUE(WaitPopulated(t, "ovirtvolumepopulator", &progress, std::chrono::seconds(120)))
      << PodLogs(t) << ReadFile(g->dir->File("controller.log")).substr(0, 3000);
  ExpectRising(progress);
  std::string data = ReadFile(DataOf(t.ns, t.pvc, block));
  ASSERT_GE(data.size(), 24 * kMiB);
  EXPECT_TRUE(data.substr(0, 24 * kMiB) == ReadFile(raw)) << "the target PVC holds the oVirt disk's bytes";
  EXPECT_EQ(g->ovirt->active_transfers(), 0) << "the image transfer was finalized";
}

TEST_P(PopulatorsE2e, GlanceImageLandsOnTheTargetPvc) {
  bool block = GetParam();
  std::string raw =
      MakeImage(g->dir->File(std::string("glance-") + (block ? "b" : "f") + ".raw"), 20 * kMiB, {1, 2, 19});
  std::string image = g->openstack->UploadImage(std::string("e2e-") + (block ? "block" : "fs"), raw);
  Target t{std::string("openstack-") + (block ? "block" : "fs"), "vm-disk-0", block, 24 * kMiB};
  Create(t, "OpenstackVolumePopulator", OpenstackCr(image), OpenstackSecret());
  std::vector<int> progress;
  ASSERT_TRUE(WaitPopulated(t, "openstackvolumepopulator", &progress, std::chrono::seconds(120)))
      << PodLogs(t);
  ExpectRising(progress);
  std::string data = ReadFile(DataOf(t.ns, t.pvc, block));
  ASSERT_GE(data.size(), 20 * kMiB);
  EXPECT_TRUE(data.substr(0, 20 * kMiB) == ReadFile(raw)) << "the target PVC holds the Glance image's bytes";
}

INSTANTIATE_TEST_SUITE_P(VolumeMode, PopulatorsE2e, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Block" : "Filesystem"; });

TEST(PopulatorsE2eFailures, CorruptedTransfersFailVerificationWithAClearError) {
  // oVirt: imageio sends a wrong byte.
  std::string raw = MakeImage(g->dir->File("ovirt-corrupt.raw"), 8 * kMiB, {0, 3});
  g->ovirt->AddDisk({"disk-corrupt", "corrupt", raw, ""});
  g->ovirt->CorruptAt(3 * kMiB + 99);
  Target t{"ovirt-corrupt", "vm-disk-0", false, 10 * kMiB};
  Create(t, "OvirtVolumePopulator", OvirtCr("disk-corrupt"), OvirtSecret());
  std::string logs;
  EXPECT_TRUE(WaitFor(
      [&] {
        logs = PodLogs(t);
        return logs.find("imageio's block checksum") != std::string::npos;
      },
      std::chrono::seconds(90), std::chrono::milliseconds(300)))
      << logs;
  EXPECT_NE(logs.find("verifying oVirt disk disk-corrupt"), std::string::npos) << logs;
  json pvc = g->Get("pvc -n " + t.ns + " " + t.pvc);
  EXPECT_NE(pvc["status"].value("phase", ""), "Bound")
      << "a volume that failed verification is never handed over";
  g->ovirt->CorruptAt(UINT64_MAX);

  // OpenStack: Glance itself serves changed bytes (its recorded hash stays).
  std::string raw2 = MakeImage(g->dir->File("glance-corrupt.raw"), 8 * kMiB, {0, 5});
  std::string image = g->openstack->UploadImage("e2e-corrupt", raw2);
  {
    std::fstream f(g->openstack->ImageDataPath(image), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5 * kMiB + 1);
    f.put('\x01');
  }
  Target o{"openstack-corrupt", "vm-disk-0", false, 10 * kMiB};
  Create(o, "OpenstackVolumePopulator", OpenstackCr(image), OpenstackSecret());
  EXPECT_TRUE(WaitFor(
      [&] {
        logs = PodLogs(o);
        return logs.find("os_hash_value") != std::string::npos;
      },
      std::chrono::seconds(90), std::chrono::milliseconds(300)))
      << logs;
  EXPECT_NE(logs.find("verifying Glance image " + image), std::string::npos) << logs;
}

// Kills the populator process of `t` (SIGKILL: a crashed pod) once its checkpoint holds `at_least`
// bytes; returns the record it left.
sink::CheckpointRecord KillMidCopy(const Target& t, const std::function<bool()>& stalled, uint64_t at_least) {
  std::string uid;
  std::optional<sink::CheckpointRecord> rec;
  EXPECT_TRUE(WaitFor(
      [&] {
        uid = Uid(t);
        if (uid.empty() || !stalled()) return false;
        std::string prime = DataOf(t.ns, "prime-" + uid, t.block);
        if (prime.empty()) return false;
        if (t.block) {
          // The record lives in the block volume's tail.
          rec = std::nullopt;
          int fd = open(prime.c_str(), O_RDONLY);
          if (fd < 0) return false;
          off_t size = lseek(fd, 0, SEEK_END);
          auto store = sink::MakeDeviceTailCheckpointStore(
              fd, (static_cast<uint64_t>(size) - sink::kTailCheckpointBytes) / 4096 * 4096,
              const_cast<sink::DeviceOps&>(sink::SystemDeviceOps()), prime);
          rec = store->Read();
          close(fd);
        } else {
          rec = sink::ReadCheckpoint(prime + ".hoist-checkpoint");
        }
        uint64_t done = 0;
        if (rec) {
          for (const auto& r : rec->done) done += r.length();
        }
        return done >= at_least;
      },
      std::chrono::seconds(120), std::chrono::milliseconds(200)))
      << PodLogs(t);
  pid_t pid = PopulatorPid(uid);
  EXPECT_GT(pid, 0);
  if (pid > 0) kill(pid, SIGKILL);
  return rec.value_or(sink::CheckpointRecord{});
}

TEST(PopulatorsE2eResume, OvirtPodKilledMidCopyResumesOnBlock) {
  std::vector<uint64_t> data;
  for (uint64_t m = 0; m < 32; m += 2) data.push_back(m);
  std::string raw = MakeImage(g->dir->File("ovirt-resume.raw"), 32 * kMiB, data);
  g->ovirt->AddDisk({"disk-resume", "resume", raw, ""});
  g->ovirt->StallAt(20 * kMiB + 5);
  Target t{"ovirt-resume", "vm-disk-0", true, 34 * kMiB};  // 2 MiB beyond the disk: room for the record
  Create(t, "OvirtVolumePopulator", OvirtCr("disk-resume"),
         OvirtSecret("\n  HOIST_CHECKPOINT_INTERVAL: " + net::Base64Encode("200ms")));
  sink::CheckpointRecord rec = KillMidCopy(
      t, [] { return g->ovirt->Stalled(); }, 16 * kMiB);
  ASSERT_FALSE(rec.done.empty());
  g->ovirt->ClearDataRequests();
  g->ovirt->Release();
  std::vector<int> progress;
  ASSERT_TRUE(WaitPopulated(t, "ovirtvolumepopulator", &progress, std::chrono::seconds(180))) << PodLogs(t);
  std::string bytes = ReadFile(DataOf(t.ns, t.pvc, true));
  EXPECT_TRUE(bytes.substr(0, 32 * kMiB) == ReadFile(raw));
  EXPECT_NE(PodLogs(t).find("resuming the copy"), std::string::npos) << PodLogs(t);
  for (const auto& r : g->ovirt->data_requests()) {
    for (const auto& d : rec.done) {
      EXPECT_FALSE(r.begin < d.end && d.begin < r.end)
          << "bytes " << r.begin << "-" << r.end << " fetched again; the checkpoint held " << d.begin << "-"
          << d.end;
    }
  }
}

TEST(PopulatorsE2eResume, OpenstackPodKilledMidCopyResumesOnFilesystem) {
  std::string raw = MakeImage(g->dir->File("glance-resume.raw"), 32 * kMiB, {0, 4, 9, 15, 16, 22, 31});
  std::string image = g->openstack->UploadImage("e2e-resume", raw);
  g->glance_proxy->StallAt(16 * kMiB + 5);
  Target t{"openstack-resume", "vm-disk-0", false, 36 * kMiB};
  Create(t, "OpenstackVolumePopulator", OpenstackCr(image),
         OpenstackSecret("\n  HOIST_CHECKPOINT_INTERVAL: 200ms"));
  sink::CheckpointRecord rec = KillMidCopy(
      t, [] { return g->glance_proxy->Stalled(); }, 16 * kMiB);
  ASSERT_FALSE(rec.done.empty());
  g->glance_proxy->ClearRequests();
  g->glance_proxy->Release();
  std::vector<int> progress;
  ASSERT_TRUE(WaitPopulated(t, "openstackvolumepopulator", &progress, std::chrono::seconds(180)))
      << PodLogs(t);
  EXPECT_TRUE(ReadFile(DataOf(t.ns, t.pvc, false)) == ReadFile(raw));
  for (const auto& r : g->glance_proxy->requests()) {
    for (const auto& d : rec.done) {
      EXPECT_FALSE(r.begin < d.end && d.begin < r.end)
          << "bytes " << r.begin << "-" << r.end << " fetched again; the checkpoint held " << d.begin << "-"
          << d.end;
    }
  }
}

}  // namespace
}  // namespace hoist

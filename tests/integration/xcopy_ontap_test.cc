// The xcopy populator end to end against the lab: hoist-populator (out of cluster, --kubeconfig) copies
// a VM's disk from the lab vCenter's VMFS datastore (on an ONTAP simulator LUN) onto a target PVC's LUN
// on the same array through the host's vmkfstools-wrapper. What a user would check: the bytes on the
// target LUN, the completion metrics the controller reads, and nothing left behind — no mapping of the
// LUN on the array, no device and no task directory on the ESXi host.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "lab/xcopy/populator_process.h"
#include "lab/sim/ontap/simulator.h"
#include "lab/cluster.h"
#include "lab/store.h"
#include "lab/xcopy/world.h"
#include "lab/arrays/lab_array.h"
#include "esxi/ssh_executor.h"
#include "net/tls.h"
#include "storage/config.h"
#include "storage/ontap/ontap_array.h"
#include "storage/registry.h"
#include "vsphere/client.h"
#include "vsphere/property.h"

namespace hoist::testing {
namespace {

namespace fs = std::filesystem;
using lab::xcopy::PopulatorProcess;
using lab::xcopy::PopulatorSpec;
using lab::xcopy::TargetVolume;
using lab::xcopy::World;
using lab::xcopy::WorldOptions;

std::string BinDir() {
  const char* b = std::getenv("HOIST_BIN_DIR");
  return b ? b : "";
}

// The labels of the completion sample for `uid`, or "" when it is absent.
std::string Completion(const std::string& metrics, const std::string& uid) {
  std::smatch m;
  std::regex re("vsphere_xcopy_volume_populator_copy_duration_seconds\\{([^}]*owner_uid=\"" + uid +
                "\"[^}]*)\\} ([0-9.]+)");
  return std::regex_search(metrics, m, re) ? m[1].str() : "";
}

class XcopyOntapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(BinDir().empty()) << "HOIST_BIN_DIR must name the directory with hoist-populator and hoist-vcsim";
    std::string tmpl = (fs::temp_directory_path() / "xcopy-ontap.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    world_.reset();
    if (!HasFailure() && std::getenv("HOIST_TEST_KEEP") == nullptr) fs::remove_all(dir_);
  }

  WorldOptions Options() {
    WorldOptions o;
    o.dir = (dir_ / "world").string();
    o.bin_dir = BinDir();
    o.hosts[0].iqn = "iqn.1998-01.com.vmware:esx1-0001";
    o.vms[0].disk_bytes = 4 << 20;
    o.vms[0].data_bytes = 3 << 20;  // the last MiB is a hole
    o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.002";
    return o;
  }
  void StartWorld(WorldOptions o) {
    world_ = std::make_unique<World>(std::move(o));
    world_->Start();
  }

  // The groups the array maps the target LUN to, asked through hoist's own array client.
  std::vector<std::string> ArrayMappings(const TargetVolume& t, const std::string& vendor = "ontap") {
    storage::VendorRegistry registry;
    storage::ontap::RegisterVendor(registry);
    auto array = registry.Create(vendor, storage::ArrayConfigFromSecret(world_->SecretData(t.array)));
    const auto& csi = t.pv_object["spec"]["csi"];
    storage::VolumeRef ref{t.pv, csi.value("driver", ""), csi.value("volumeHandle", ""), {}};
    for (const auto& [k, v] : csi["volumeAttributes"].items()) ref.volume_attributes[k] = v.get<std::string>();
    std::vector<std::string> groups = array->ListMappings(array->ResolveVolume(ref));
    std::sort(groups.begin(), groups.end());
    return groups;
  }

  // Nothing of the run is left on the array or the host: the LUN is mapped to exactly what it was
  // mapped to before (the lab nodes, as the CSI driver attached it), no ESXi initiator sees it, and
  // the host has neither the device nor a task directory.
  void ExpectNothingLeft(const TargetVolume& t, const std::string& host = "esx1.lab") {
    EXPECT_EQ(ArrayMappings(t), std::vector<std::string>{"lab-nodes"}) << "the array's mappings of the LUN";
    EXPECT_EQ(world_->SanInitiatorsOfHosts(t.naa), std::vector<std::string>{}) << "the SAN still presents the LUN to ESXi";
    EXPECT_FALSE(world_->HostHasDevice(host, t.naa)) << "the ESXi host still has the device";
    EXPECT_EQ(world_->HostTaskDirs(host), std::vector<std::string>{}) << "task directories left on the host";
  }

  fs::path dir_;
  std::unique_ptr<World> world_;
};

TEST_F(XcopyOntapTest, VibIscsiCopiesTheDiskWithXcopyAndLeavesNothingMapped) {
  StartWorld(Options());
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-0", "ontap1", 4 << 20);
  // The CSI driver attached the volume to the lab's nodes: that mapping must be there again afterwards.
  ASSERT_EQ(ArrayMappings(t), std::vector<std::string>{"lab-nodes"});
  PopulatorProcess p;
  p.Start(*world_, t, {}, (dir_ / "populator.log").string());
  ASSERT_EQ(p.Wait(), 0) << p.log();

  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1")) << "the target LUN holds the VMDK's bytes";
  std::string labels = Completion(p.metrics(), "uid-disk-0");
  ASSERT_FALSE(labels.empty()) << "no completion metric was scraped: " << p.metrics() << "\n" << p.log();
  for (const char* l : {"result=\"success\"", "xcopy_used=\"1\"", "storage_vendor=\"ontap\"", "clone_method=\"vib\"",
                        "storage_protocol=\"iscsi\""}) {
    EXPECT_NE(labels.find(l), std::string::npos) << l << " in " << labels;
  }
  EXPECT_EQ(p.last_progress(), 100);
  EXPECT_NE(p.metrics().find("type=\"provisioned\"} 4194304"), std::string::npos) << p.metrics();
  EXPECT_NE(p.metrics().find("storage_array_vendor=\"NetApp\""), std::string::npos) << p.metrics();
  ExpectNothingLeft(t);
  EXPECT_EQ(p.log().find("Lab-Array-Pw1"), std::string::npos) << "the array password reached the log";
  EXPECT_EQ(p.log().find("Lab-vCenter-Pw1"), std::string::npos) << "the vCenter password reached the log";
}

TEST_F(XcopyOntapTest, VibFibreChannelCopiesTheDiskWithXcopy) {
  WorldOptions o = Options();
  o.hosts[0].iqn.clear();
  o.hosts[0].fc = {{"20000025b5000001", "20000025b500000f"}, {"20000025b5000001", "20000025b500001f"}};
  o.datastores[0].transport = "fc";
  StartWorld(o);
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-fc", "ontap1", 4 << 20);
  PopulatorProcess p;
  p.Start(*world_, t, {}, (dir_ / "populator.log").string());
  ASSERT_EQ(p.Wait(), 0) << p.log();
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1"));
  std::string labels = Completion(p.metrics(), "uid-disk-fc");
  EXPECT_NE(labels.find("storage_protocol=\"fc\""), std::string::npos) << labels;
  EXPECT_NE(labels.find("xcopy_used=\"1\""), std::string::npos) << labels;
  ExpectNothingLeft(t);
}

// The SSH method through real OpenSSH: the populator uploads hoist's wrapper to the datastore through
// vCenter and runs it with the restricted key, the host key pinned.
TEST_F(XcopyOntapTest, SshIscsiAndFcCopyTheDiskWithXcopy) {
  WorldOptions o = Options();
  o.ssh = true;
  o.hosts.push_back({});
  o.hosts[1].name = "esx2.lab";
  o.hosts[1].fc = {{"20000025b5000002", "20000025b500002f"}};
  StartWorld(o);
  for (const char* host : {"esx1.lab", "esx2.lab"}) {
    std::string name = std::string("disk-ssh-") + (host[3] == '1' ? "iscsi" : "fc");
    TargetVolume t = world_->CreateTargetVolume("mig", name, "ontap1", 4 << 20);
    PopulatorSpec spec;
    spec.method = "ssh";
    spec.extra_args = {"--migration-host=" + world_->HostMoref(host)};
    PopulatorProcess p;
    p.Start(*world_, t, spec, (dir_ / (name + ".log")).string());
    ASSERT_EQ(p.Wait(), 0) << p.log();
    EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1")) << host;
    std::string labels = Completion(p.metrics(), "uid-" + name);
    EXPECT_NE(labels.find("clone_method=\"ssh\""), std::string::npos) << labels;
    EXPECT_NE(labels.find("xcopy_used=\"1\""), std::string::npos) << labels;
    EXPECT_NE(labels.find(host[3] == '1' ? "storage_protocol=\"iscsi\"" : "storage_protocol=\"fc\""),
              std::string::npos) << labels;
    ExpectNothingLeft(t, host);
    EXPECT_EQ(p.log().find("PRIVATE KEY"), std::string::npos) << "the SSH key reached the log";
  }
  EXPECT_TRUE(fs::exists(fs::path(world_->HostRoot("esx1.lab")) / "vmfs/volumes/san-ds1/secure-vmkfstools-wrapper"))
      << "the wrapper was uploaded to the datastore root";
}

// The SSH method's host-key settings from the per-disk Secret, against real OpenSSH: the hosts' keys
// pinned by SHA256 fingerprint (a wrong one refused before anything is mapped), trust on first use and
// no check when asked for, and nothing pinned refused at start with what to set.
TEST_F(XcopyOntapTest, SshHostKeySettingsFromTheSecret) {
  WorldOptions o = Options();
  o.ssh = true;
  StartWorld(o);
  std::string known_hosts = net::Base64Decode(world_->SecretData("ontap1").at("SSH_KNOWN_HOSTS"));
  std::string fingerprints;
  std::istringstream lines(known_hosts);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) fingerprints += (fingerprints.empty() ? "" : ",") + esxi::SshKeyFingerprint(line);
  }
  ASSERT_FALSE(fingerprints.empty()) << known_hosts;

  struct Case {
    std::string name;
    std::map<std::string, std::string> env;
    int exit_code;
    std::string log_has;
  };
  const std::vector<Case> cases = {
      {"fingerprint", {{"SSH_KNOWN_HOSTS", ""}, {"SSH_HOST_KEY_FINGERPRINTS", fingerprints}}, 0, "clone finished"},
      {"wrong-fingerprint",
       {{"SSH_KNOWN_HOSTS", ""}, {"SSH_HOST_KEY_FINGERPRINTS", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}},
       255,
       "none matches the pinned fingerprint"},
      {"accept-new", {{"SSH_KNOWN_HOSTS", ""}, {"SSH_HOST_KEY_CHECK", "accept-new"}}, 0, "clone finished"},
      {"off", {{"SSH_KNOWN_HOSTS", ""}, {"SSH_HOST_KEY_CHECK", "off"}}, 0, "SSH key is not checked"},
      {"nothing-pinned", {{"SSH_KNOWN_HOSTS", ""}}, 2, "SSH_HOST_KEY_FINGERPRINTS"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TargetVolume t = world_->CreateTargetVolume("mig", "disk-" + c.name, "ontap1", 4 << 20);
    PopulatorSpec spec;
    spec.method = "ssh";
    spec.env = c.env;
    PopulatorProcess p;
    p.Start(*world_, t, spec, (dir_ / (c.name + ".log")).string());
    ASSERT_EQ(p.Wait(), c.exit_code) << p.log();
    EXPECT_NE(p.log().find(c.log_has), std::string::npos) << p.log();
    if (c.exit_code == 0) {
      EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1")) << "the target LUN holds the VMDK's bytes";
    } else {
      EXPECT_EQ(world_->ReadLun(t).find_first_not_of('\0'), std::string::npos) << "nothing was written";
    }
    ExpectNothingLeft(t);
  }
}

// Forklift's "fallback copy": the source datastore sits on another array, so ESXi copies through the
// host; it must still succeed, and report that the array did not offload it.
TEST_F(XcopyOntapTest, DatastoreOnAnotherArrayIsCopiedThroughTheHost) {
  WorldOptions o = Options();
  o.datastores[0].array = "pure-foreign";
  StartWorld(o);
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-fb", "ontap1", 4 << 20);
  PopulatorProcess p;
  p.Start(*world_, t, {}, (dir_ / "populator.log").string());
  ASSERT_EQ(p.Wait(), 0) << p.log();
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1"));
  std::string labels = Completion(p.metrics(), "uid-disk-fb");
  EXPECT_NE(labels.find("result=\"success\""), std::string::npos) << labels;
  EXPECT_NE(labels.find("xcopy_used=\"0\""), std::string::npos) << labels;
  ExpectNothingLeft(t);
}

TEST_F(XcopyOntapTest, CloneFailingOnTheHostIsReportedAndCleanedUp) {
  WorldOptions o = Options();
  o.esxi_env["HOIST_FAKE_VMKFSTOOLS_FAIL"] = "Input/output error (327689)";
  StartWorld(o);
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-bad", "ontap1", 4 << 20);
  PopulatorProcess p;
  p.Start(*world_, t, {}, (dir_ / "populator.log").string());
  EXPECT_EQ(p.Wait(), 255) << p.log();
  EXPECT_TRUE(p.LogContains("Input/output error (327689)")) << p.log();
  EXPECT_TRUE(p.LogContains("failed with exit code")) << p.log();
  EXPECT_NE(Completion(p.metrics(), "uid-disk-bad").find("result=\"failure\""), std::string::npos) << p.metrics();
  ExpectNothingLeft(t);
}

TEST_F(XcopyOntapTest, TaskGetFailingOnceAndASlowDeviceDoNotFailTheCopy) {
  WorldOptions o = Options();
  o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.01";
  StartWorld(o);
  // The host relays the first taskGet badly, and the new LUN needs three rescans to show.
  std::ofstream(fs::path(world_->HostRoot("esx1.lab")) / "faults.json")
      << R"({"commands":[{"command":"vmkfstools taskGet","times":1}],"slowDevices":{"*":3}})";
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-flaky", "ontap1", 4 << 20);
  PopulatorSpec spec;
  spec.extra_args = {"--rescan-attempts=6"};
  PopulatorProcess p;
  p.Start(*world_, t, spec, (dir_ / "populator.log").string());
  ASSERT_EQ(p.Wait(), 0) << p.log();
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1"));
  std::ifstream f(fs::path(world_->HostRoot("esx1.lab")) / "faults.json");
  std::string left((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(left.find("\"times\":0"), std::string::npos) << "the taskGet fault was consumed: " << left;
  EXPECT_NE(left.find("\"*\":0"), std::string::npos) << "the device was hidden for three rescans: " << left;
  ExpectNothingLeft(t);
}

TEST_F(XcopyOntapTest, SigtermDuringTheCloneStopsItAndCleansUp) {
  WorldOptions o = Options();
  o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.2";  // 20 s for the whole clone
  StartWorld(o);
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-term", "ontap1", 4 << 20);
  PopulatorProcess p;
  p.Start(*world_, t, {}, (dir_ / "populator.log").string());
  ASSERT_TRUE(p.WaitForLog("clone started")) << p.log();
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 255) << p.log();
  EXPECT_TRUE(p.LogContains("stopped (SIGTERM) during the clone")) << p.log();
  EXPECT_NE(Completion(p.metrics(), "uid-disk-term").find("result=\"failure\""), std::string::npos) << p.metrics();
  ExpectNothingLeft(t);
}

TEST_F(XcopyOntapTest, ArrayErrorsMidFlowAreRetriedOrReportedWithNothingLeftMapped) {
  StartWorld(Options());
  // Transient trouble while mapping: two 503s and one slow answer are retried.
  world_->array("ontap1").InjectFaultForTest({"POST", "/api/protocols/san/lun-maps", 503, 2, {}});
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-5xx", "ontap1", 4 << 20);
  PopulatorProcess p;
  p.Start(*world_, t, {}, (dir_ / "populator.log").string());
  ASSERT_EQ(p.Wait(), 0) << p.log();
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1"));
  ExpectNothingLeft(t);

  // A slow answer while the populator reads the LUN's current mappings times out and is retried.
  world_->array("ontap1").InjectFaultForTest({"GET", "/api/protocols/san/lun-maps", 0, 1, std::chrono::milliseconds(2500)});
  TargetVolume t1 = world_->CreateTargetVolume("mig", "disk-slow", "ontap1", 4 << 20);
  PopulatorSpec slow;
  slow.env["STORAGE_HTTP_TIMEOUT_SECONDS"] = "1";
  PopulatorProcess p1;
  p1.Start(*world_, t1, slow, (dir_ / "populator1.log").string());
  ASSERT_EQ(p1.Wait(), 0) << p1.log();
  EXPECT_TRUE(world_->ReadLun(t1) == world_->SourceData("vm1"));
  ExpectNothingLeft(t1);

  // An array that keeps failing the mapping: a clear error naming the array, and nothing mapped.
  world_->array("ontap1").InjectFaultForTest({"POST", "/api/protocols/san/lun-maps", 500, 100, {}});
  TargetVolume t2 = world_->CreateTargetVolume("mig", "disk-500", "ontap1", 4 << 20);
  PopulatorProcess p2;
  p2.Start(*world_, t2, {}, (dir_ / "populator2.log").string());
  EXPECT_EQ(p2.Wait(), 255) << p2.log();
  EXPECT_TRUE(p2.LogContains("ONTAP")) << p2.log();
  ExpectNothingLeft(t2);
}

// vCenter ends the populator's session while it polls the clone (an administrator terminating
// sessions, or vCenter restarting its session service): the populator logs in again and goes on.
TEST_F(XcopyOntapTest, VcenterSessionExpiringMidCloneIsRenewed) {
  WorldOptions o = Options();
  o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.03";  // 3 s clone
  StartWorld(o);
  TargetVolume t = world_->CreateTargetVolume("mig", "disk-sess", "ontap1", 4 << 20);
  PopulatorProcess p;
  p.Start(*world_, t, {}, (dir_ / "populator.log").string());
  ASSERT_TRUE(p.WaitForLog("clone started")) << p.log();

  vsphere::ClientOptions co;
  co.url = world_->vcenter_url();
  co.username = world_->options().vcenter_user;
  co.password = world_->options().vcenter_password;
  co.tls.ca_file = world_->vcenter_ca_file();
  co.keepalive_interval = std::chrono::milliseconds(0);
  vsphere::Client admin(co);
  admin.Login();
  vsphere::ObjectContent oc =
      vsphere::RetrieveObject(admin, admin.service_content().session_manager, {"sessionList"});
  int terminated = 0;
  if (const vsphere::XmlNode* list = oc.Get("sessionList")) {
    for (const auto& s : list->children) {
      std::string key = s.ChildText("key");
      if (key.empty() || key == admin.session_key()) continue;
      admin.Call("TerminateSession", admin.service_content().session_manager, vsphere::TextXml("sessionId", key));
      ++terminated;
    }
  }
  ASSERT_GE(terminated, 1) << "the populator's session was not found";
  ASSERT_EQ(p.Wait(), 0) << p.log();
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1"));
  std::string log = p.log();
  size_t logins = 0;
  for (size_t at = 0; (at = log.find("logged in to vSphere", at)) != std::string::npos; ++at) ++logins;
  EXPECT_GE(logins, 2u) << "the populator logged in again after its session ended: " << log;
  ExpectNothingLeft(t);
}

// Two populators for the same host while another holder keeps one of the two lease slots: they take
// turns on the free slot and both finish.
TEST_F(XcopyOntapTest, TwoPopulatorsShareTheOneFreeHostLeaseSlot) {
  StartWorld(Options());
  std::string host_id = "hostsystem-" + world_->HostMoref("esx1.lab");
  world_->EnsureNamespace("hoist-leases");
  lab::Store& store = world_->cluster().store();
  store.Create(store.MustType("coordination.k8s.io", "leases"), "hoist-leases",
               {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "esxi-lock-" + host_id + "-slot-0"}, {"namespace", "hoist-leases"}}},
                {"spec",
                 {{"holderIdentity", "another-populator"},
                  {"leaseDurationSeconds", 3600},
                  {"acquireTime", "2026-01-01T00:00:00.000000Z"},
                  {"renewTime", "2099-01-01T00:00:00.000000Z"}}}});
  TargetVolume a = world_->CreateTargetVolume("mig", "disk-a", "ontap1", 4 << 20);
  TargetVolume b = world_->CreateTargetVolume("mig", "disk-b", "ontap1", 4 << 20);
  PopulatorProcess pa, pb;
  pa.Start(*world_, a, {}, (dir_ / "a.log").string());
  pb.Start(*world_, b, {}, (dir_ / "b.log").string());
  ASSERT_EQ(pa.Wait(), 0) << pa.log();
  ASSERT_EQ(pb.Wait(), 0) << pb.log();
  EXPECT_TRUE(world_->ReadLun(a) == world_->SourceData("vm1"));
  EXPECT_TRUE(world_->ReadLun(b) == world_->SourceData("vm1"));
  ExpectNothingLeft(a);
  ExpectNothingLeft(b);
  auto held = store.Get(store.MustType("coordination.k8s.io", "leases"), "hoist-leases",
                        "esxi-lock-" + host_id + "-slot-0");
  EXPECT_EQ(held["spec"]["holderIdentity"], "another-populator") << "a live holder's slot is never taken";
}

}  // namespace
}  // namespace hoist::testing

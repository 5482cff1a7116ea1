// The planner loop against the lab cluster (API server, binder) and the lab vCenter (hoist-vcsim):
// Plans with multi-disk VMs become per-disk PVCs, Secrets and CRs; Plan.status follows the CRs and the
// PVCs; a mixed mapping, a missing storage Secret and an unknown vendor are conditions; a failed disk
// removes only its VM's objects; deleting a Plan removes only that Plan's objects.
//
// The populator machinery is not running here: the test plays its part the way it shows in the
// cluster (CR status.progress and conditions, then a PV whose claimRef is the target PVC).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "integration/planner_lab.h"
#include "kube/selectors.h"
#include "planner/api.h"
#include "planner/planner.h"

namespace hoist::planner {
namespace {

using hoist::testing::Eventually;
namespace fs = std::filesystem;
using nlohmann::json;
namespace res = kube::resources;

json World(const std::string& dir) {
  return {{"hosts", {{{"name", "esx1.lab"}, {"iqn", "iqn.1998-01.com.vmware:esx1-0001"}},
                     {{"name", "esx2.lab"}, {"iqn", "iqn.1998-01.com.vmware:esx2-0001"}}}},
          {"datastores",
           {{{"name", "san-ds1"}, {"naa", "naa.600a098038314d2d4c244a6f6b6b6f31"}, {"dir", dir + "/ds1"},
             {"array", "ontap1"}, {"vendor", "NETAPP"}, {"model", "LUN C-Mode"}, {"lunId", 0}},
            {{"name", "san-ds2"}, {"naa", "naa.600a098038314d2d4c244a6f6b6b6f32"}, {"dir", dir + "/ds2"},
             {"array", "ontap1"}, {"vendor", "NETAPP"}, {"model", "LUN C-Mode"}, {"lunId", 1}}}},
          {"vms",
           {{{"name", "vm1"}, {"host", "esx1.lab"}, {"datastore", "san-ds1"},
             {"disks", {{{"capacityBytes", 1048576}}, {{"capacityBytes", 2097152}, {"datastore", "san-ds2"}}}}},
            {{"name", "vm2"}, {"host", "esx2.lab"}, {"datastore", "san-ds1"}, {"disks", {{{"capacityBytes", 3145728}}}}},
            {{"name", "vm3"}, {"host", "esx1.lab"}, {"datastore", "san-ds1"}, {"disks", {{{"capacityBytes", 1048576}}}}}}}};
}

class PlannerLab : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = hoist::testing::TempDir("hoist-planner-it");
    vcsim_.Start(dir_ + "/vcsim", World(dir_ + "/vcsim"));
    lab_ = std::make_unique<hoist::testing::LabCluster>(dir_ + "/cluster");
    lab_->Namespace("mtv");
    lab_->Secret("mtv", "vcenter-creds", {{"user", vcsim_.user}, {"password", vcsim_.password}, {"cacert", vcsim_.ca_pem}});
    lab_->Apply(resources::kProvider,
                {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                 {"kind", "Provider"},
                 {"metadata", {{"name", "vcenter"}, {"namespace", "mtv"}}},
                 {"spec", {{"type", "vsphere"}, {"url", vcsim_.url()}, {"secret", {{"name", "vcenter-creds"}, {"namespace", "mtv"}}}}}});
    lab_->Apply(resources::kProvider,
                {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                 {"kind", "Provider"},
                 {"metadata", {{"name", "host"}, {"namespace", "mtv"}}},
                 {"spec", {{"type", "openshift"}}}});
  }
  void TearDown() override {
    if (planner_) planner_->Stop();
    planner_.reset();
    lab_.reset();
    vcsim_.Stop();
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  void StartPlanner(int max_vm_inflight = 20) {
    PlannerOptions o;
    o.lease_namespace = "hoist-leases";
    o.resync = std::chrono::milliseconds(300);
    o.status_interval = std::chrono::milliseconds(0);
    o.max_vm_inflight = max_vm_inflight;
    planner_ = std::make_unique<Planner>(lab_->client(), o);
    planner_->Start();
  }

  void StorageSecret(const std::string& name = "ontap-creds") {
    lab_->Secret("mtv", name,
                 {{"STORAGE_HOSTNAME", "https://ontap.lab"}, {"STORAGE_USERNAME", "admin"}, {"STORAGE_PASSWORD", "Lab-Array-Pw1"},
                  {"ONTAP_SVM", "svm0"}});
  }

  // san-ds1 by id and san-ds2 by name, both offloaded unless `ds2_offload` is false.
  void StorageMap(const std::string& name, bool ds2_offload = true, const std::string& vendor = "ontap") {
    json xcopy = {{"vsphereXcopyConfig", {{"secretRef", "ontap-creds"}, {"storageVendorProduct", vendor}}}};
    json ds1 = {{"source", {{"id", vcsim_.DatastoreMoref("san-ds1")}}},
                {"destination", {{"storageClass", "ontap-san"}}},
                {"offloadPlugin", xcopy}};
    json ds2 = {{"source", {{"name", "san-ds2"}}}, {"destination", {{"storageClass", "ontap-san"}, {"accessMode", "ReadWriteOnce"}}}};
    if (ds2_offload) ds2["offloadPlugin"] = xcopy;
    lab_->Apply(resources::kStorageMap, {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                                         {"kind", "StorageMap"},
                                         {"metadata", {{"name", name}, {"namespace", "mtv"}}},
                                         {"spec", {{"map", {ds1, ds2}}}}});
  }

  json Plan(const std::string& name, const std::string& map, const json& vms) {
    return lab_->Apply(resources::kPlan,
                       {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                        {"kind", "Plan"},
                        {"metadata", {{"name", name}, {"namespace", "mtv"}}},
                        {"spec",
                         {{"provider", {{"source", {{"name", "vcenter"}}}, {"destination", {{"name", "host"}}}}},
                          {"map", {{"storage", {{"name", map}}}}},
                          {"targetNamespace", "vms"},
                          {"vms", vms}}}});
  }

  json GetPlan(const std::string& name) { return lab_->client().Get(resources::kPlan, "mtv", name); }

  const json* Condition(const json& plan, const std::string& type) {
    const json* c = kube::At(plan, {"status", "conditions"});
    if (c == nullptr) return nullptr;
    for (const json& x : *c) {
      if (x.value("type", "") == type) return &x;
    }
    return nullptr;
  }
  bool HasCondition(const std::string& plan, const std::string& type) {
    json p = GetPlan(plan);
    const json* c = Condition(p, type);
    return c != nullptr && (*c)["status"] == "True";
  }

  std::vector<json> Owned(const kube::ResourceType& type, const json& plan, const std::string& vm_id = "") {
    kube::LabelSelector s;
    s.Equals("plan", kube::Uid(plan));
    if (!vm_id.empty()) s.Equals("vmID", vm_id);
    return lab_->List(type, "vms", s.String());
  }

  json VmStatus(const json& plan, const std::string& vm_id) {
    const json* vms = kube::At(plan, {"status", "migration", "vms"});
    if (vms == nullptr || !vms->is_array()) return json::object();
    for (const json& vm : *vms) {
      if (vm.value("id", "") == vm_id) return vm;
    }
    return json::object();
  }

  void SetCrStatus(const json& cr, const json& status) {
    json o = lab_->client().Get(resources::kXcopyPopulator, "vms", kube::Name(cr));
    o["status"] = status;
    lab_->client().UpdateStatus(resources::kXcopyPopulator, o);
  }

  std::string dir_;
  hoist::testing::Vcsim vcsim_;
  std::unique_ptr<hoist::testing::LabCluster> lab_;
  std::unique_ptr<Planner> planner_;
};

json RunningStatus(const std::string& progress) {
  return {{"progress", progress},
          {"xcopyUsed", "1"},
          {"conditions",
           {{{"type", "Running"}, {"status", "True"}, {"reason", "Copying"}, {"message", "populate pod copies"},
             {"lastTransitionTime", "2026-03-01T10:00:00Z"}}}}};
}

TEST_F(PlannerLab, TwoVmsThreeDisksFromPlanToBoundPvcs) {
  StorageSecret();
  StorageMap("san");
  StartPlanner();
  json plan = Plan("wave-1", "san", {{{"id", vcsim_.VmMoref("vm1")}}, {{"name", "vm2"}}});

  // Every disk of both VMs in one go: 3 PVCs, 3 Secrets, 3 CRs.
  ASSERT_TRUE(Eventually([&] { return Owned(resources::kXcopyPopulator, plan).size() == 3; }))
      << GetPlan("wave-1").dump(2);
  std::vector<json> pvcs = Owned(res::kPersistentVolumeClaim, plan);
  ASSERT_EQ(pvcs.size(), 3u);
  ASSERT_EQ(Owned(res::kSecret, plan).size(), 3u);

  std::string vm1 = vcsim_.VmMoref("vm1"), vm2 = vcsim_.VmMoref("vm2");
  std::map<std::string, json> by_file;
  for (const json& pvc : pvcs) by_file[kube::Annotation(pvc, "copy-offload")] = pvc;
  ASSERT_EQ(by_file.count("[san-ds1] vm1/vm1.vmdk"), 1u);
  ASSERT_EQ(by_file.count("[san-ds2] vm1/vm1_1.vmdk"), 1u);
  ASSERT_EQ(by_file.count("[san-ds1] vm2/vm2.vmdk"), 1u);
  const json& d0 = by_file["[san-ds1] vm1/vm1.vmdk"];
  const json& d1 = by_file["[san-ds2] vm1/vm1_1.vmdk"];
  EXPECT_EQ(d0["spec"]["volumeMode"], "Block");
  EXPECT_EQ(d0["spec"]["resources"]["requests"]["storage"], "1048576");
  EXPECT_EQ(d1["spec"]["resources"]["requests"]["storage"], "2097152");
  EXPECT_EQ(d0["spec"]["accessModes"][0], "ReadWriteMany");
  EXPECT_EQ(d1["spec"]["accessModes"][0], "ReadWriteOnce");
  EXPECT_EQ(d0["spec"]["dataSourceRef"]["kind"], "VSphereXcopyVolumePopulator");
  EXPECT_EQ(d0["spec"]["dataSourceRef"]["name"], d0["metadata"]["name"]);
  EXPECT_EQ(kube::Label(d0, "vmID"), vm1);
  EXPECT_EQ(kube::Label(d0, "migration"), kube::Uid(plan));
  EXPECT_EQ(kube::Label(d0, "sourceHost"), vcsim_.HostMoref("esx1.lab"));
  EXPECT_EQ(kube::Label(by_file["[san-ds1] vm2/vm2.vmdk"], "sourceHost"), vcsim_.HostMoref("esx2.lab"));
  EXPECT_EQ(kube::Label(d0, "volume.csi.k8s.io/affinity-source-naa"), "naa.600a098038314d2d4c244a6f6b6b6f31");
  EXPECT_NE(kube::Label(d0, "vmdkKey"), kube::Label(d1, "vmdkKey"));
  EXPECT_EQ(kube::Name(d0).rfind("wave-1-vm1-disk-0-", 0), 0u) << kube::Name(d0);

  json cr = lab_->client().Get(resources::kXcopyPopulator, "vms", kube::Name(d1));
  EXPECT_EQ(cr["spec"]["vmId"], vm1);
  EXPECT_EQ(cr["spec"]["vmdkPath"], "[san-ds2] vm1/vm1_1.vmdk");
  EXPECT_EQ(cr["spec"]["secretName"], kube::Name(d1));
  EXPECT_EQ(cr["spec"]["storageVendorProduct"], "ontap");
  EXPECT_EQ(cr["metadata"]["ownerReferences"][0]["uid"], kube::Uid(d1));

  auto secret = SecretData(lab_->client().Get(res::kSecret, "vms", kube::Name(d1)));
  EXPECT_EQ(secret["GOVMOMI_USERNAME"], vcsim_.user);
  EXPECT_EQ(secret["GOVMOMI_PASSWORD"], vcsim_.password);
  EXPECT_EQ(secret["cacert"], vcsim_.ca_pem);
  EXPECT_EQ(secret["STORAGE_HOSTNAME"], "https://ontap.lab");
  EXPECT_EQ(secret["STORAGE_PASSWORD"], "Lab-Array-Pw1");
  EXPECT_EQ(secret["ONTAP_SVM"], "svm0");
  EXPECT_EQ(secret["ESXI_CLONE_METHOD"], "vib");
  EXPECT_EQ(secret["HOST_LEASE_NAMESPACE"], "hoist-leases");
  EXPECT_FALSE(secret["GOVMOMI_HOSTNAME"].empty());

  // What the populator pods run as.
  EXPECT_TRUE(lab_->Find(res::kServiceAccount, "vms", "populator"));
  EXPECT_TRUE(lab_->Find(resources::kRoleBinding, "vms", "populator-pvc-reader-binding"));
  EXPECT_TRUE(lab_->Find(resources::kRole, "hoist-leases", "populator-lease-reader"));
  EXPECT_TRUE(lab_->Find(resources::kClusterRoleBinding, "", "populator-pv-reader-binding-vms"));

  // Executing, both VMs copying, every disk listed.
  ASSERT_TRUE(Eventually([&] {
    json p = GetPlan("wave-1");
    return VmStatus(p, vm1).value("phase", "") == "CopyDisks" && VmStatus(p, vm2).value("phase", "") == "CopyDisks";
  })) << GetPlan("wave-1")["status"].dump(2);
  json p = GetPlan("wave-1");
  EXPECT_TRUE(HasCondition("wave-1", "Executing"));
  EXPECT_EQ(VmStatus(p, vm1)["pipeline"][0]["tasks"].size(), 2u);
  EXPECT_EQ(VmStatus(p, vm2)["name"], "vm2");

  // The populator reports progress: the plan shows it per disk and per VM.
  SetCrStatus(cr, RunningStatus("50"));
  ASSERT_TRUE(Eventually([&] {
    json s = VmStatus(GetPlan("wave-1"), vm1);
    for (const json& t : s["pipeline"][0]["tasks"]) {
      if (t["name"] == "[san-ds2] vm1/vm1_1.vmdk") return t["phase"] == "Running" && t["transferredBytes"] == 1048576;
    }
    return false;
  })) << GetPlan("wave-1")["status"].dump(2);
  p = GetPlan("wave-1");
  EXPECT_EQ(VmStatus(p, vm1)["transferredBytes"], 1048576);
  EXPECT_EQ(VmStatus(p, vm1)["totalBytes"], 3145728);

  // Populated: the PVCs bind; the Secrets go; the VMs and the plan complete.
  for (const json& pvc : pvcs) lab_->BindLikeThePopulator(pvc);
  ASSERT_TRUE(Eventually([&] { return HasCondition("wave-1", "Succeeded"); })) << GetPlan("wave-1")["status"].dump(2);
  p = GetPlan("wave-1");
  EXPECT_EQ(VmStatus(p, vm1)["phase"], "Completed");
  EXPECT_EQ(VmStatus(p, vm2)["phase"], "Completed");
  EXPECT_FALSE(p["status"]["migration"].value("completed", "").empty());
  json vm1_status = VmStatus(p, vm1);
  for (const json& t : vm1_status["pipeline"][0]["tasks"]) {
    EXPECT_EQ(t["phase"], "Completed");
    EXPECT_EQ(t["transferredBytes"], t["totalBytes"]);
    EXPECT_TRUE(t.contains("durationSeconds"));
  }
  EXPECT_TRUE(Eventually([&] { return Owned(res::kSecret, plan).empty(); }));

  // Deleting the plan: the CRs go, the populated PVCs (the migrated disks) stay, the plan goes.
  lab_->client().Delete(resources::kPlan, "mtv", "wave-1");
  ASSERT_TRUE(Eventually([&] { return !lab_->Find(resources::kPlan, "mtv", "wave-1"); }));
  EXPECT_TRUE(Owned(resources::kXcopyPopulator, plan).empty());
  EXPECT_EQ(Owned(res::kPersistentVolumeClaim, plan).size(), 3u);
}

TEST_F(PlannerLab, MixedMappingIsRefusedNamingTheDiskAndTheDatastore) {
  StorageSecret();
  StorageMap("mixed", /*ds2_offload=*/false);
  StartPlanner();
  json plan = Plan("mixed", "mixed", {{{"name", "vm1"}}, {{"name", "vm2"}}});
  ASSERT_TRUE(Eventually([&] { return HasCondition("mixed", "VDDKAndOffloadMixedUsage"); })) << GetPlan("mixed").dump(2);
  json p = GetPlan("mixed");
  const json* c = Condition(p, "VDDKAndOffloadMixedUsage");
  std::string msg = (*c)["message"];
  EXPECT_EQ((*c)["category"], "Critical");
  EXPECT_NE(msg.find("vm1 (" + vcsim_.VmMoref("vm1") + ")"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[san-ds2] vm1/vm1_1.vmdk"), std::string::npos) << msg;
  EXPECT_NE(msg.find("datastore san-ds2 (" + vcsim_.DatastoreMoref("san-ds2") + ")"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("vm2"), std::string::npos) << msg;  // vm2's disk is on an offloaded datastore
  EXPECT_EQ((*Condition(p, "Ready"))["status"], "False");
  EXPECT_FALSE(p["status"].contains("migration"));
  // Nothing was created, and stays so.
  uint64_t passes = planner_->passes();
  ASSERT_TRUE(Eventually([&] { return planner_->passes() > passes + 2; }));
  EXPECT_TRUE(Owned(res::kPersistentVolumeClaim, plan).empty());
  EXPECT_TRUE(Owned(resources::kXcopyPopulator, plan).empty());
}

TEST_F(PlannerLab, MissingStorageSecretAndUnknownVendorAreConditionsUntilFixed) {
  StorageMap("san");
  StorageMap("odd", true, "netapp");
  StartPlanner();
  json plan = Plan("wait-secret", "san", {{{"name", "vm3"}}});
  Plan("odd-vendor", "odd", {{{"name", "vm3"}}});
  ASSERT_TRUE(Eventually([&] { return HasCondition("wait-secret", "StorageSecretNotValid"); }));
  ASSERT_TRUE(Eventually([&] { return HasCondition("odd-vendor", "UnknownStorageVendor"); }));
  EXPECT_NE((*Condition(GetPlan("wait-secret"), "StorageSecretNotValid"))["message"].get<std::string>().find("mtv/ontap-creds"),
            std::string::npos);
  EXPECT_NE((*Condition(GetPlan("odd-vendor"), "UnknownStorageVendor"))["message"].get<std::string>().find("netapp"),
            std::string::npos);
  EXPECT_TRUE(Owned(res::kPersistentVolumeClaim, plan).empty());
  EXPECT_TRUE(planner_->running());

  // The user creates the Secret: the plan starts at the next look.
  StorageSecret();
  ASSERT_TRUE(Eventually([&] { return Owned(resources::kXcopyPopulator, plan).size() == 1; }));
  EXPECT_TRUE(HasCondition("wait-secret", "Ready"));
  EXPECT_EQ(Condition(GetPlan("wait-secret"), "StorageSecretNotValid"), nullptr);
}

TEST_F(PlannerLab, AFailedDiskRemovesItsVmsVolumesAndNothingElse) {
  StorageSecret();
  StorageMap("san");
  StartPlanner();
  json plan = Plan("wave-2", "san", {{{"name", "vm1"}}, {{"name", "vm2"}}});
  std::string vm1 = vcsim_.VmMoref("vm1"), vm2 = vcsim_.VmMoref("vm2");
  ASSERT_TRUE(Eventually([&] { return Owned(resources::kXcopyPopulator, plan).size() == 3; }));
  std::vector<json> vm2_pvcs = Owned(res::kPersistentVolumeClaim, plan, vm2);
  ASSERT_EQ(vm2_pvcs.size(), 1u);

  // One disk of vm1 fails (as hoist's controller marks a failed populator pod).
  json failing = Owned(resources::kXcopyPopulator, plan, vm1)[0];
  SetCrStatus(failing, {{"progress", "30"},
                        {"result", "failure"},
                        {"conditions",
                         {{{"type", "Failed"}, {"status", "True"}, {"reason", "PopulatorFailed"},
                           {"message", "populator pod populate-x failed: clone fell back to host copy — check VAAI on the array"},
                           {"lastTransitionTime", "2026-03-01T10:00:00Z"}}}}});
  ASSERT_TRUE(Eventually([&] { return VmStatus(GetPlan("wave-2"), vm1)["phase"] == "Failed"; }));
  json s = VmStatus(GetPlan("wave-2"), vm1);
  EXPECT_NE(s["error"]["reasons"][0].get<std::string>().find("check VAAI on the array"), std::string::npos) << s.dump(2);

  // vm1: no PVC (no LUN) and no Secret left; the CRs stay, unowned, as the record.
  ASSERT_TRUE(Eventually([&] { return Owned(res::kPersistentVolumeClaim, plan, vm1).empty(); }));
  EXPECT_TRUE(Owned(res::kSecret, plan, vm1).empty());
  std::vector<json> kept = Owned(resources::kXcopyPopulator, plan, vm1);
  ASSERT_EQ(kept.size(), 2u);
  for (const json& cr : kept) {
    EXPECT_FALSE(cr["metadata"].contains("ownerReferences")) << cr.dump();
    EXPECT_NE(kube::Annotation(cr, "planner.hoist.io/vm-failed").find("check VAAI on the array"), std::string::npos) << cr.dump();
  }
  // vm2 untouched, still copying.
  ASSERT_EQ(Owned(res::kPersistentVolumeClaim, plan, vm2).size(), 1u);
  EXPECT_EQ(kube::Uid(Owned(res::kPersistentVolumeClaim, plan, vm2)[0]), kube::Uid(vm2_pvcs[0]));
  EXPECT_EQ(Owned(res::kSecret, plan, vm2).size(), 1u);
  EXPECT_EQ(VmStatus(GetPlan("wave-2"), vm2)["phase"], "CopyDisks");
  EXPECT_TRUE(HasCondition("wave-2", "Executing"));

  // vm2 completes: the plan ends Failed, naming vm1.
  lab_->BindLikeThePopulator(vm2_pvcs[0]);
  ASSERT_TRUE(Eventually([&] { return HasCondition("wave-2", "Failed"); }));
  EXPECT_NE((*Condition(GetPlan("wave-2"), "Failed"))["message"].get<std::string>().find("vm1 (" + vm1 + ")"), std::string::npos);
}

TEST_F(PlannerLab, DeletingAPlanRemovesOnlyItsOwnObjects) {
  StorageSecret();
  StorageMap("san");
  StartPlanner();
  json a = Plan("plan-a", "san", {{{"name", "vm1"}}});
  json b = Plan("plan-b", "san", {{{"name", "vm2"}}});
  ASSERT_TRUE(Eventually([&] {
    return Owned(resources::kXcopyPopulator, a).size() == 2 && Owned(resources::kXcopyPopulator, b).size() == 1;
  }));
  std::vector<json> b_pvcs = Owned(res::kPersistentVolumeClaim, b);

  lab_->client().Delete(resources::kPlan, "mtv", "plan-a");
  ASSERT_TRUE(Eventually([&] { return !lab_->Find(resources::kPlan, "mtv", "plan-a"); }));
  EXPECT_TRUE(Owned(resources::kXcopyPopulator, a).empty());
  EXPECT_TRUE(Owned(res::kSecret, a).empty());
  ASSERT_TRUE(Eventually([&] { return Owned(res::kPersistentVolumeClaim, a).empty(); }));  // unfinished: deleted
  // plan-b's objects are the same objects as before.
  ASSERT_EQ(Owned(res::kPersistentVolumeClaim, b).size(), 1u);
  EXPECT_EQ(kube::Uid(Owned(res::kPersistentVolumeClaim, b)[0]), kube::Uid(b_pvcs[0]));
  EXPECT_EQ(Owned(resources::kXcopyPopulator, b).size(), 1u);
  EXPECT_EQ(Owned(res::kSecret, b).size(), 1u);
  EXPECT_TRUE(HasCondition("plan-b", "Executing"));
}

TEST_F(PlannerLab, VmsBeyondTheInflightLimitWaitWithoutVolumes) {
  StorageSecret();
  StorageMap("san");
  StartPlanner(/*max_vm_inflight=*/1);
  // vm1 and vm3 both run on esx1: one at a time. vm2 (esx2) does not wait for them.
  json plan = Plan("queue", "san", {{{"name", "vm1"}}, {{"name", "vm3"}}, {{"name", "vm2"}}});
  std::string vm1 = vcsim_.VmMoref("vm1"), vm2 = vcsim_.VmMoref("vm2"), vm3 = vcsim_.VmMoref("vm3");
  ASSERT_TRUE(Eventually([&] {
    return Owned(res::kPersistentVolumeClaim, plan, vm1).size() == 2 && Owned(res::kPersistentVolumeClaim, plan, vm2).size() == 1;
  }));
  EXPECT_TRUE(Owned(res::kPersistentVolumeClaim, plan, vm3).empty());
  // The status is written after the pass that created the PVCs.
  EXPECT_TRUE(Eventually([&] {
    return VmStatus(GetPlan("queue"), vm3).value("reason", "").find("MAX_VM_INFLIGHT") != std::string::npos;
  })) << VmStatus(GetPlan("queue"), vm3).dump();
  EXPECT_EQ(VmStatus(GetPlan("queue"), vm3)["phase"], "Pending");
  EXPECT_TRUE(Owned(res::kPersistentVolumeClaim, plan, vm3).empty());

  for (const json& pvc : Owned(res::kPersistentVolumeClaim, plan, vm1)) lab_->BindLikeThePopulator(pvc);
  ASSERT_TRUE(Eventually([&] {
    json p = GetPlan("queue");
    return VmStatus(p, vm1)["phase"] == "Completed" && VmStatus(p, vm3)["phase"] == "CopyDisks";
  }));
  EXPECT_EQ(Owned(res::kPersistentVolumeClaim, plan, vm3).size(), 1u);
}

TEST_F(PlannerLab, HoistControllerRunsThePlannerWhenCopyOffloadIsOn) {
  StorageSecret();
  StorageMap("san");
  json plan = Plan("by-controller", "san", {{{"name", "vm3"}}});
  std::string bin = hoist::testing::BinDir() + "/hoist-controller";
  std::string kubeconfig = lab_->kubeconfig();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("FEATURE_COPY_OFFLOAD", "true", 1);
    ::setenv("HOST_LEASE_NAMESPACE", "hoist-leases", 1);
    std::freopen((dir_ + "/controller.log").c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    ::execl(bin.c_str(), bin.c_str(), "--kubeconfig", kubeconfig.c_str(), "--leader-elect=false",
            "--metrics-address", "127.0.0.1:0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool created = Eventually([&] { return Owned(resources::kXcopyPopulator, plan).size() == 1; });
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(created) << hoist::testing::ReadText(dir_ + "/controller.log");
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << hoist::testing::ReadText(dir_ + "/controller.log");
  EXPECT_TRUE(HasCondition("by-controller", "Executing"));
}

}  // namespace
}  // namespace hoist::planner

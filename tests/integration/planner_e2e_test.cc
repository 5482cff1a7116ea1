// End to end in the lab: a Plan with a two-disk VM and a one-disk VM on an offload-mapped datastore,
// run by hoist-controller with FEATURE_COPY_OFFLOAD=true (the planner and the populator machinery), the
// xcopy populator in pods, the ONTAP simulator and the lab vCenter. It must end with three Bound PVCs
// holding the source disks' bytes, Plan.status per disk, no mapping left on the ESXi host, no
// credentials left in the namespace, and deleting the Plan removes only its objects.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "kube/objects.h"
#include "kube/selectors.h"
#include "lab/xcopy/world.h"
#include "net/tls.h"
#include "planner/api.h"

namespace hoist::planner {
namespace {

namespace fs = std::filesystem;
using lab::xcopy::TargetVolume;
using lab::xcopy::World;
using lab::xcopy::WorldOptions;
using nlohmann::json;
namespace res = kube::resources;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json SecretObject(const std::string& ns, const std::string& name,
                  const std::map<std::string, std::string>& data) {
  json d = json::object();
  for (const auto& [k, v] : data) d[k] = net::Base64Encode(v);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", d}};
}

class PlannerE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("HOIST_BIN_DIR");
    ASSERT_NE(bin, nullptr);
    bin_ = bin;
    std::string tmpl = (fs::temp_directory_path() / "planner-e2e.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    WorldOptions o;
    o.dir = (dir_ / "world").string();
    o.bin_dir = bin;
    o.hosts[0].iqn = "iqn.1998-01.com.vmware:esx1-0001";
    o.vms = {lab::xcopy::VmSpec{}, lab::xcopy::VmSpec{}};
    o.vms[0].name = "vm1";
    o.vms[0].disks = 2;
    o.vms[0].disk_bytes = 4 << 20;
    o.vms[0].data_bytes = 3 << 20;
    o.vms[1].name = "vm2";
    o.vms[1].disk_bytes = 2 << 20;
    o.vms[1].seed = 7;
    o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.01";
    o.controller = true;
    o.controller_env = {{"FEATURE_COPY_OFFLOAD", "true"}, {"HOST_LEASE_NAMESPACE", "hoist-leases"}};
    world_ = std::make_unique<World>(o);
    world_->Start();
    kube::RestConfig c = kube::LoadKubeconfig({world_->kubeconfig(), ""});
    c.qps = 0;
    client_ = std::make_unique<kube::Client>(c);
  }
  void TearDown() override {
    if (HasFailure() && world_) {
      std::fprintf(stderr, "controller log:\n%s\n", world_->controller_log().c_str());
      std::fprintf(stderr, "%s\n", world_->Kubectl("get plan,pvc,vxvp,pods -A -o wide").c_str());
    }
    client_.reset();
    world_.reset();
    if (!HasFailure() && std::getenv("HOIST_TEST_KEEP") == nullptr) fs::remove_all(dir_);
  }

  // What an administrator writes: the vCenter Provider and its Secret, the array's Secret, the
  // StorageMap with the offload plugin, the Plan.
  void WritePlan(const std::string& name, const json& vms) {
    if (!planned_) {
      world_->EnsureNamespace("mtv");
      client_->Create(res::kSecret, "mtv",
                      SecretObject("mtv", "vcenter-creds",
                                   {{"user", world_->options().vcenter_user},
                                    {"password", world_->options().vcenter_password},
                                    {"cacert", ReadAll(world_->vcenter_ca_file())}}));
      std::map<std::string, std::string> array = world_->StorageSecretData("ontap1");
      // The populator's own intervals, short for a test (they pass through to the per-disk Secret).
      array["HOIST_XCOPY_TASK_POLL_INTERVAL"] = "100ms";
      array["HOIST_XCOPY_RESCAN_INTERVAL"] = "200ms";
      array["HOIST_XCOPY_CLEANUP_SETTLE"] = "0";
      client_->Create(res::kSecret, "mtv", SecretObject("mtv", "ontap-creds", array));
      client_->Create(
          resources::kProvider, "mtv",
          {{"apiVersion", "forklift.konveyor.io/v1beta1"},
           {"kind", "Provider"},
           {"metadata", {{"name", "vcenter"}, {"namespace", "mtv"}}},
           {"spec",
            {{"type", "vsphere"}, {"url", world_->vcenter_url()}, {"secret", {{"name", "vcenter-creds"}}}}}});
      client_->Create(resources::kStorageMap, "mtv",
                      {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                       {"kind", "StorageMap"},
                       {"metadata", {{"name", "san"}, {"namespace", "mtv"}}},
                       {"spec",
                        {{"map",
                          {{{"source", {{"name", "san-ds1"}}},
                            {"destination", {{"storageClass", "ontap1"}, {"accessMode", "ReadWriteOnce"}}},
                            {"offloadPlugin",
                             {{"vsphereXcopyConfig",
                               {{"secretRef", "ontap-creds"}, {"storageVendorProduct", "ontap"}}}}}}}}}}});
      planned_ = true;
    }
    client_->Create(resources::kPlan, "mtv",
                    {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                     {"kind", "Plan"},
                     {"metadata", {{"name", name}, {"namespace", "mtv"}}},
                     {"spec",
                      {{"provider", {{"source", {{"name", "vcenter"}}}}},
                       {"map", {{"storage", {{"name", "san"}}}}},
                       {"targetNamespace", "vms"},
                       {"vms", vms}}}});
  }

  json Plan(const std::string& name) { return client_->Get(resources::kPlan, "mtv", name); }
  std::string Condition(const json& plan) {
    const json* conds = kube::At(plan, {"status", "conditions"});
    if (conds == nullptr || !conds->is_array()) return "";
    for (const json& c : *conds) {
      std::string t = c.value("type", "");
      if ((t == "Succeeded" || t == "Failed") && c.value("status", "") == "True") return t;
    }
    return "";
  }
  bool WaitForPlan(const std::string& name, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (!Condition(Plan(name)).empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::vector<json> Owned(const kube::ResourceType& type, const json& plan) {
    kube::ListOptions o;
    o.label_selector = kube::LabelSelector().Equals("plan", kube::Uid(plan)).String();
    return client_->List(type, "vms", o).items;
  }

  std::string bin_;
  fs::path dir_;
  std::unique_ptr<World> world_;
  std::unique_ptr<kube::Client> client_;
  bool planned_ = false;
};

TEST_F(PlannerE2E, TwoVmsThreeDisksEndBoundWithTheSourceBytes) {
  WritePlan("wave-1", {{{"id", world_->VmMoref("vm1")}}, {{"name", "vm2"}}});
  ASSERT_TRUE(WaitForPlan("wave-1", 180)) << Plan("wave-1")["status"].dump(2);
  json plan = Plan("wave-1");
  ASSERT_EQ(Condition(plan), "Succeeded") << plan["status"].dump(2);

  // Three Bound PVCs, each holding its source disk's bytes; nothing left mapped to the ESXi host.
  std::vector<json> pvcs = Owned(res::kPersistentVolumeClaim, plan);
  ASSERT_EQ(pvcs.size(), 3u);
  std::set<std::string> seen;
  for (const json& pvc : pvcs) {
    EXPECT_EQ(kube::pvc::Phase(pvc), "Bound") << pvc.dump();
    std::string vm = kube::Annotation(pvc, "planner.hoist.io/vm-name");
    int disk = std::stoi(kube::Annotation(pvc, "planner.hoist.io/disk-index"));
    EXPECT_EQ(kube::Annotation(pvc, "copy-offload"), world_->VmdkPath(vm, disk));
    seen.insert(vm + "/" + std::to_string(disk));
    TargetVolume t;
    t.ns = "vms";
    t.pvc = kube::Name(pvc);
    t.array = "ontap1";
    ASSERT_TRUE(world_->WaitForPopulated(t, 10));
    EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData(vm, disk))
        << vm << " disk " << disk << " bytes differ";
    EXPECT_EQ(world_->SanInitiatorsOfHosts(t.naa), std::vector<std::string>{}) << t.naa;
    EXPECT_FALSE(world_->HostHasDevice("esx1.lab", t.naa));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"vm1/0", "vm1/1", "vm2/0"}));
  EXPECT_EQ(world_->HostTaskDirs("esx1.lab"), std::vector<std::string>{});

  // Plan.status per disk: copied by the array, with times.
  int tasks = 0;
  json vms = plan["status"]["migration"]["vms"];
  for (const json& vm : vms) {
    EXPECT_EQ(vm["phase"], "Completed") << vm.dump(2);
    EXPECT_EQ(vm["transferredBytes"], vm["totalBytes"]);
    for (const json& t : vm["pipeline"][0]["tasks"]) {
      ++tasks;
      EXPECT_EQ(t["phase"], "Completed") << t.dump(2);
      EXPECT_EQ(t["annotations"].value("xcopyUsed", ""), "1") << t.dump(2);
      EXPECT_EQ(t["annotations"].value("cloneMethod", ""), "vib") << t.dump(2);
      EXPECT_FALSE(t.value("started", "").empty());
      EXPECT_FALSE(t.value("completed", "").empty());
    }
  }
  EXPECT_EQ(tasks, 3);
  // Credentials are gone once the disks are copied.
  EXPECT_TRUE(Owned(res::kSecret, plan).empty());

  // hoist status shows the same from the cluster's objects.
  std::string cmd = bin_ + "/hoist status --kubeconfig " + world_->kubeconfig() + " -n vms -o json";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(WEXITSTATUS(::pclose(p)), 0) << out;
  json rows = json::parse(out);
  ASSERT_EQ(rows.size(), 3u);
  for (const json& r : rows) {
    EXPECT_EQ(r["state"], "Succeeded");
    EXPECT_EQ(r["xcopy"], "yes");
    EXPECT_EQ(r["percent"], 100);
  }

  // Deleting the plan: its CRs go, the migrated disks stay.
  client_->Delete(resources::kPlan, "mtv", "wave-1");
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    try {
      client_->Get(resources::kPlan, "mtv", "wave-1");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } catch (const std::exception& e) {
      gone = kube::IsNotFound(e);
    }
  }
  ASSERT_TRUE(gone);
  EXPECT_TRUE(Owned(resources::kXcopyPopulator, plan).empty());
  std::vector<json> kept = Owned(res::kPersistentVolumeClaim, plan);
  EXPECT_EQ(kept.size(), 3u);
  for (const json& pvc : kept) EXPECT_EQ(kube::pvc::Phase(pvc), "Bound");
}

}  // namespace
}  // namespace hoist::planner

// The xcopy populator through hoist-controller, as a migration plan drives it: a per-disk Secret, a
// VSphereXcopyVolumePopulator and a Block PVC whose dataSourceRef names it. The controller makes the
// prime PVC (provisioned on the ONTAP simulator like any Trident volume) and the populator pod
// (hoist-populator xcopy, run by the lab's kubelet in-cluster), scrapes its metrics into the CR's
// status and rebinds the volume. What the user sees: the PVC Bound with the VM disk's bytes, the CR's
// status (result, progress, xcopyUsed, vendor, method, protocol), and nothing left mapped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "lab/cluster.h"
#include "lab/store.h"
#include "lab/xcopy/world.h"
#include "storage/config.h"
#include "storage/ontap/ontap_array.h"
#include "storage/registry.h"

namespace hoist::testing {
namespace {

namespace fs = std::filesystem;
using lab::xcopy::TargetVolume;
using lab::xcopy::World;
using lab::xcopy::WorldOptions;

class XcopyControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("HOIST_BIN_DIR");
    ASSERT_NE(bin, nullptr) << "HOIST_BIN_DIR must name the directory with hoist-controller and hoist-populator";
    std::string tmpl = (fs::temp_directory_path() / "xcopy-ctl.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    WorldOptions& o = options_;
    o.dir = (dir_ / "world").string();
    o.bin_dir = bin;
    o.hosts[0].iqn = "iqn.1998-01.com.vmware:esx1-0001";
    o.vms[0].disk_bytes = 4 << 20;
    o.vms[0].data_bytes = 3 << 20;
    o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.01";
    o.controller = true;
    o.secret_extra = {{"HOIST_XCOPY_TASK_POLL_INTERVAL", "100ms"},
                      {"HOIST_XCOPY_RESCAN_INTERVAL", "200ms"},
                      {"HOIST_XCOPY_CLEANUP_SETTLE", "0"},
                      {"HOIST_XCOPY_SCRAPE_WAIT", "10s"}};
  }
  // Starts the world with options_ (a test may change them first).
  void StartWorld() {
    world_ = std::make_unique<World>(options_);
    world_->Start();
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "controller log:\n%s\n", world_ ? world_->controller_log().c_str() : "");
    world_.reset();
    if (!HasFailure() && std::getenv("HOIST_TEST_KEEP") == nullptr) fs::remove_all(dir_);
  }

  nlohmann::json Cr(const std::string& ns, const std::string& name) {
    lab::Store& store = world_->cluster().store();
    return store.Get(*store.FindType("forklift.konveyor.io", "vspherexcopyvolumepopulators"), ns, name);
  }
  std::vector<std::string> ArrayMappings(const TargetVolume& t) {
    storage::VendorRegistry registry;
    storage::ontap::RegisterVendor(registry);
    auto array = registry.Create("ontap", storage::ArrayConfigFromSecret(world_->SecretData(t.array)));
    const auto& csi = t.pv_object["spec"]["csi"];
    storage::VolumeRef ref{t.pv, csi.value("driver", ""), csi.value("volumeHandle", ""), {}};
    for (const auto& [k, v] : csi["volumeAttributes"].items()) ref.volume_attributes[k] = v.get<std::string>();
    std::vector<std::string> groups = array->ListMappings(array->ResolveVolume(ref));
    std::sort(groups.begin(), groups.end());
    return groups;
  }

  fs::path dir_;
  WorldOptions options_;
  std::unique_ptr<World> world_;
};

TEST_F(XcopyControllerTest, PvcIsPopulatedThroughTheControllerWithStatusOnTheCr) {
  StartWorld();
  TargetVolume t = world_->CreateXcopyClaim("mig", "vm1-disk-0", "vm1", "ontap1", 4 << 20);
  ASSERT_TRUE(world_->WaitForPopulated(t)) << world_->Kubectl("get pvc,pods,vxvp -A -o wide") << "\n"
                                           << world_->Kubectl("logs -n mig -l app=hoist-populator --tail=50");
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm1")) << "the bound PVC holds the VM disk's bytes";

  nlohmann::json status;
  for (int i = 0; i < 100; ++i) {  // the completion fields arrive with the scrape that saw them
    status = Cr("mig", "vm1-disk-0").value("status", nlohmann::json::object());
    if (status.value("result", "") != "") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status.value("result", ""), "success") << status.dump();
  EXPECT_EQ(status.value("progress", ""), "100") << status.dump();
  EXPECT_EQ(status.value("xcopyUsed", ""), "1") << status.dump();
  EXPECT_EQ(status.value("storageVendor", ""), "ontap") << status.dump();
  EXPECT_EQ(status.value("cloneMethod", ""), "vib") << status.dump();
  EXPECT_EQ(status.value("storageProtocol", ""), "iscsi") << status.dump();
  EXPECT_EQ(status.value("provisionedBytes", ""), "4194304") << status.dump();

  EXPECT_EQ(ArrayMappings(t), std::vector<std::string>{"lab-nodes"}) << "only the node's mapping is left";
  EXPECT_EQ(world_->SanInitiatorsOfHosts(t.naa), std::vector<std::string>{});
  EXPECT_FALSE(world_->HostHasDevice("esx1.lab", t.naa));
  EXPECT_EQ(world_->HostTaskDirs("esx1.lab"), std::vector<std::string>{});
}

TEST_F(XcopyControllerTest, CloneFailureIsReportedOnTheCrAndNothingIsLeftMapped) {
  // A clone of about 20 s, so that it is still running at the first poll however slow the machine is,
  // and the 1 ms clone timeout fails it there.
  options_.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.2";
  StartWorld();
  TargetVolume t = world_->CreateXcopyClaim("mig", "vm1-disk-bad", "vm1", "ontap1", 4 << 20, "",
                                            {{"HOIST_XCOPY_CLONE_TIMEOUT", "1ms"}});
  nlohmann::json status;
  for (int i = 0; i < 600; ++i) {
    status = Cr("mig", "vm1-disk-bad").value("status", nlohmann::json::object());
    if (status.value("result", "") != "") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status.value("result", ""), "failure") << status.dump() << world_->Kubectl("get pods -A");
  lab::Store& store = world_->cluster().store();
  nlohmann::json pvc = store.Get(store.MustType("", "persistentvolumeclaims"), "mig", "vm1-disk-bad");
  EXPECT_NE(pvc["status"].value("phase", ""), "Bound") << "a failed copy never binds the claim";
  EXPECT_EQ(world_->HostTaskDirs("esx1.lab"), std::vector<std::string>{});
  // The populator pod ends Failed, and its log says why (what `kubectl logs` shows the administrator).
  std::string pod;
  for (const auto& p : store.List(store.MustType("", "pods"), "mig").items) {
    if (p["metadata"].value("name", "").rfind("populate-", 0) == 0) pod = p["metadata"].value("name", "");
  }
  ASSERT_FALSE(pod.empty());
  std::string phase;
  for (int i = 0; i < 300 && phase != "Failed"; ++i) {
    phase = store.Get(store.MustType("", "pods"), "mig", pod)["status"].value("phase", "");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(phase, "Failed");
  std::string log = world_->Kubectl("logs -n mig " + pod);
  EXPECT_NE(log.find("did not finish within the clone timeout"), std::string::npos) << log;
}

}  // namespace
}  // namespace hoist::testing

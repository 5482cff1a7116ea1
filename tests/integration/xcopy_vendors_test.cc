// The xcopy populator end to end for each array vendor × clone method (VIB through remote esxcli, SSH
// through real OpenSSH) × storage protocol (iSCSI, Fibre Channel), in one lab world: one ESXi host with
// a software iSCSI adapter, one with FC ports, a VMFS datastore on a LUN of each array, and a VM on each
// datastore. Each run checks the bytes on the target LUN, the completion metrics the controller reads
// (result, xcopy_used, vendor, method, protocol), the array's mappings of the LUN (as before the run),
// and that the ESXi host has no device and no task directory left.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <tuple>

#include "lab/xcopy/populator_process.h"
#include "lab/xcopy/world.h"
#include "storage/config.h"
#include "storage/all/vendors.h"
#include "storage/registry.h"

namespace hoist::testing {
namespace {

namespace fs = std::filesystem;
using lab::xcopy::PopulatorProcess;
using lab::xcopy::PopulatorSpec;
using lab::xcopy::TargetVolume;
using lab::xcopy::World;
using lab::xcopy::WorldOptions;

constexpr char kIscsiHost[] = "esx1.lab";
constexpr char kFcHost[] = "esx2.lab";
constexpr char kFcWwnn[] = "20000025b5000002";
constexpr char kFcWwpn[] = "20000025b500002f";
const std::vector<std::string> kVendors = {"ontap", "primera3par", "vantara"};

std::string Completion(const std::string& metrics, const std::string& uid) {
  std::smatch m;
  std::regex re("vsphere_xcopy_volume_populator_copy_duration_seconds\\{([^}]*owner_uid=\"" + uid +
                "\"[^}]*)\\} ([0-9.]+)");
  return std::regex_search(metrics, m, re) ? m[1].str() : "";
}

class XcopyVendorsTest : public ::testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {
 protected:
  static void SetUpTestSuite() {
    const char* bin = std::getenv("HOIST_BIN_DIR");
    ASSERT_NE(bin, nullptr) << "HOIST_BIN_DIR must name the directory with hoist-populator and hoist-vcsim";
    std::string tmpl = (fs::temp_directory_path() / "xcopy-vendors.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = new fs::path(tmpl);
    WorldOptions o;
    o.dir = (*dir_ / "world").string();
    o.bin_dir = bin;
    o.ssh = true;
    o.hosts.clear();
    lab::xcopy::HostSpec iscsi;
    iscsi.name = kIscsiHost;
    iscsi.iqn = "iqn.1998-01.com.vmware:esx1-0001";
    lab::xcopy::HostSpec fc;
    fc.name = kFcHost;
    fc.fc = {{kFcWwnn, kFcWwpn}};
    o.hosts = {iscsi, fc};
    o.arrays.clear();
    o.datastores.clear();
    o.vms.clear();
    uint32_t seed = 10;
    for (const auto& v : kVendors) {
      lab::xcopy::ArraySpec a;
      a.name = v + "1";
      a.vendor = v;
      if (v == "vantara") a.options.insert({"login", kFcWwpn});  // esx2's port is zoned to the array
      o.arrays.push_back(a);
      lab::xcopy::DatastoreSpec d;
      d.name = "ds-" + v;
      d.array = a.name;
      d.lun_bytes = 32 << 20;
      o.datastores.push_back(d);
      lab::xcopy::VmSpec vm;
      vm.name = "vm-" + v;
      vm.host = kIscsiHost;
      vm.datastore = d.name;
      vm.disk_bytes = 4 << 20;
      vm.data_bytes = 3 << 20;
      vm.seed = seed++;
      o.vms.push_back(vm);
    }
    o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.002";
    world_ = new World(o);
    world_->Start();
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
    if (dir_ != nullptr && std::getenv("HOIST_TEST_KEEP") == nullptr) fs::remove_all(*dir_);
    delete dir_;
  }

  std::vector<std::string> ArrayMappings(const std::string& vendor, const TargetVolume& t) {
    storage::VendorRegistry registry;
    storage::all::RegisterVendors(registry);
    auto array = registry.Create(vendor, storage::ArrayConfigFromSecret(world_->SecretData(t.array)));
    const auto& csi = t.pv_object["spec"]["csi"];
    storage::VolumeRef ref{t.pv, csi.value("driver", ""), csi.value("volumeHandle", ""), {}};
    for (const auto& [k, v] : csi["volumeAttributes"].items()) ref.volume_attributes[k] = v.get<std::string>();
    std::vector<std::string> groups = array->ListMappings(array->ResolveVolume(ref));
    std::sort(groups.begin(), groups.end());
    return groups;
  }

  static World* world_;
  static fs::path* dir_;
};

World* XcopyVendorsTest::world_ = nullptr;
fs::path* XcopyVendorsTest::dir_ = nullptr;

TEST_P(XcopyVendorsTest, CopiesTheDiskAndLeavesNothingBehind) {
  ASSERT_NE(world_, nullptr);
  auto [vendor, method, protocol] = GetParam();
  std::string host = protocol == "fc" ? kFcHost : kIscsiHost;
  std::string name = "disk-" + vendor + "-" + method + "-" + protocol;
  TargetVolume t = world_->CreateTargetVolume("mig", name, vendor + "1", 4 << 20);
  std::vector<std::string> before = ArrayMappings(vendor, t);

  PopulatorSpec spec;
  spec.vm = "vm-" + vendor;
  spec.array = vendor + "1";
  spec.vendor = vendor;
  spec.method = method;
  spec.extra_args = {"--migration-host=" + world_->HostMoref(host)};
  PopulatorProcess p;
  p.Start(*world_, t, spec, (*dir_ / (name + ".log")).string());
  ASSERT_EQ(p.Wait(), 0) << p.log();

  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm-" + vendor)) << "the target LUN holds the VMDK's bytes";
  std::string labels = Completion(p.metrics(), "uid-" + name);
  ASSERT_FALSE(labels.empty()) << p.metrics() << "\n" << p.log();
  for (const std::string& l : std::vector<std::string>{"result=\"success\"", "xcopy_used=\"1\"", "storage_vendor=\"" + vendor + "\"",
                        "clone_method=\"" + method + "\"", "storage_protocol=\"" + protocol + "\""}) {
    EXPECT_NE(labels.find(l), std::string::npos) << l << " in " << labels;
  }
  EXPECT_EQ(p.last_progress(), 100);
  EXPECT_EQ(ArrayMappings(vendor, t), before) << "the array maps the LUN as it did before the run";
  EXPECT_EQ(world_->SanInitiatorsOfHosts(t.naa), std::vector<std::string>{}) << "an ESXi host still sees the LUN";
  EXPECT_FALSE(world_->HostHasDevice(host, t.naa)) << "the ESXi host still has the device";
  EXPECT_EQ(world_->HostTaskDirs(host), std::vector<std::string>{}) << "task directories left on the host";
}

INSTANTIATE_TEST_SUITE_P(Matrix, XcopyVendorsTest,
                         ::testing::Combine(::testing::ValuesIn(kVendors), ::testing::Values("vib", "ssh"),
                                            ::testing::Values("iscsi", "fc")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
                                  std::get<2>(info.param);
                         });

}  // namespace
}  // namespace hoist::testing

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

#include "lab/arrays/lab_array.h"
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
constexpr char kSdcHost[] = "esx3.lab";
constexpr char kSdcGuid[] = "6c7ec0d4-91a2-4f33-9b6e-2d05a1c3e7f1";
const std::vector<std::string> kVendors = {"ontap", "primera3par", "vantara"};

std::string Completion(const std::string& metrics, const std::string& uid) {
  std::smatch m;
  std::regex re("vsphere_xcopy_volume_populator_copy_duration_seconds\\{([^}]*owner_uid=\"" + uid +
                "\"[^}]*)\\} ([0-9.]+)");
  return std::regex_search(metrics, m, re) ? m[1].str() : "";
}

// One world for the whole program (a gtest environment): every vendor's array, datastore and VM.
class XcopyWorld : public ::testing::Environment {
 public:
  void SetUp() override {
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
    lab::xcopy::HostSpec sdc;
    sdc.name = kSdcHost;
    sdc.iqn = "iqn.1998-01.com.vmware:esx3-0001";
    sdc.sdc_guid = kSdcGuid;
    o.hosts = {iscsi, fc, sdc};
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
    // PowerFlex: the ESXi host attaches through its SDC; the array has no XCOPY.
    lab::xcopy::ArraySpec pf;
    pf.name = "powerflex1";
    pf.vendor = "powerflex";
    pf.options.insert({"sdc", kSdcGuid});
    o.arrays.push_back(pf);
    lab::xcopy::DatastoreSpec pfds;
    pfds.name = "ds-powerflex";
    pfds.array = pf.name;
    pfds.transport = "sdc";
    pfds.hosts = {kSdcHost};
    pfds.lun_bytes = 32 << 20;
    o.datastores.push_back(pfds);
    lab::xcopy::VmSpec pfvm;
    pfvm.name = "vm-powerflex";
    pfvm.host = kSdcHost;
    pfvm.datastore = pfds.name;
    pfvm.disk_bytes = 4 << 20;
    pfvm.data_bytes = 3 << 20;
    pfvm.seed = seed++;
    o.vms.push_back(pfvm);
    o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.002";
    world_ = new World(o);
    world_->Start();
  }
  void TearDown() override {
    delete world_;
    world_ = nullptr;
    if (dir_ != nullptr && std::getenv("HOIST_TEST_KEEP") == nullptr) fs::remove_all(*dir_);
    delete dir_;
  }

  static World* world_;
  static fs::path* dir_;
};

World* XcopyWorld::world_ = nullptr;
fs::path* XcopyWorld::dir_ = nullptr;
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new XcopyWorld);

class XcopyVendorsBase {
 protected:
  World* world_ = XcopyWorld::world_;
  fs::path* dir_ = XcopyWorld::dir_;

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

};

class XcopyVendorsTest : public XcopyVendorsBase,
                         public ::testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {};
class XcopyPowerFlexTest : public XcopyVendorsBase, public ::testing::TestWithParam<std::string> {};
class XcopyArrayTroubleTest : public XcopyVendorsBase,
                              public ::testing::TestWithParam<std::tuple<std::string, std::string, int>> {};

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

// PowerFlex: the volume reaches the host through its SDC (scini), and the array does not offload, so
// ESXi copies through the host (xcopy_used 0, protocol sdc); the cleanup unmaps the host's SDC only.
TEST_P(XcopyPowerFlexTest, ThroughTheSdcIsAHostCopy) {
  ASSERT_NE(world_, nullptr);
  std::string method = GetParam();
  std::string name = "disk-powerflex-" + method;
  TargetVolume t = world_->CreateTargetVolume("mig", name, "powerflex1", 4 << 20);
  std::vector<std::string> before = ArrayMappings("powerflex", t);
  PopulatorSpec spec;
  spec.vm = "vm-powerflex";
  spec.array = "powerflex1";
  spec.vendor = "powerflex";
  spec.method = method;
  PopulatorProcess p;
  p.Start(*world_, t, spec, (*dir_ / (name + ".log")).string());
  ASSERT_EQ(p.Wait(), 0) << p.log();
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm-powerflex"));
  std::string labels = Completion(p.metrics(), "uid-" + name);
  for (const std::string& l : std::vector<std::string>{"result=\"success\"", "xcopy_used=\"0\"", "storage_vendor=\"powerflex\"",
                                                       "clone_method=\"" + method + "\"", "storage_protocol=\"sdc\""}) {
    EXPECT_NE(labels.find(l), std::string::npos) << l << " in " << labels;
  }
  EXPECT_EQ(ArrayMappings("powerflex", t), before) << "the array maps the volume as it did before the run";
  EXPECT_EQ(world_->SanInitiatorsOfHosts(t.naa), std::vector<std::string>{}) << "an ESXi host still sees the volume";
  EXPECT_FALSE(world_->HostHasDevice(kSdcHost, t.naa));
  EXPECT_EQ(world_->HostTaskDirs(kSdcHost), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(Matrix, XcopyVendorsTest,
                         ::testing::Combine(::testing::ValuesIn(kVendors), ::testing::Values("vib", "ssh"),
                                            ::testing::Values("iscsi", "fc")),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
                                  std::get<2>(info.param);
                         });

// The array's session expires (401) or the array answers 503 once, in the middle of the flow: the
// client logs in again or retries, and the copy goes through with nothing left mapped.
TEST_P(XcopyArrayTroubleTest, OneSessionExpiryOr503MidFlowIsRiddenOut) {
  ASSERT_NE(world_, nullptr);
  auto [vendor, prefix, status] = GetParam();
  std::string array = vendor + "1";
  std::string name = "disk-" + vendor + "-" + std::to_string(status);
  TargetVolume t = world_->CreateTargetVolume("mig", name, array, 4 << 20);
  std::vector<std::string> before = ArrayMappings(vendor, t);
  world_->array(array).InjectFaultForTest({"GET", prefix, status, 1, {}});
  PopulatorSpec spec;
  spec.vm = "vm-" + vendor;
  spec.array = array;
  spec.vendor = vendor;
  if (vendor == "powerflex") spec.extra_args = {"--migration-host=" + world_->HostMoref(kSdcHost)};
  PopulatorProcess p;
  p.Start(*world_, t, spec, (*dir_ / (name + ".log")).string());
  ASSERT_EQ(p.Wait(), 0) << p.log();
  EXPECT_TRUE(p.LogContains(status == 401 ? "session expired; logging in again" : "retrying")) << p.log();
  EXPECT_TRUE(world_->ReadLun(t) == world_->SourceData("vm-" + vendor));
  EXPECT_EQ(ArrayMappings(vendor, t), before);
  EXPECT_EQ(world_->SanInitiatorsOfHosts(t.naa), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    Vendors, XcopyArrayTroubleTest,
    ::testing::Values(std::make_tuple("primera3par", "/api/v1/vluns", 401), std::make_tuple("primera3par", "/api/v1/vluns", 503),
                      std::make_tuple("vantara", "/ConfigurationManager/v1/objects/", 401),
                      std::make_tuple("vantara", "/ConfigurationManager/v1/objects/", 503),
                      std::make_tuple("powerflex", "/api/instances/Volume::", 401),
                      std::make_tuple("powerflex", "/api/instances/Volume::", 503)),
    [](const auto& info) { return std::get<0>(info.param) + "_" + std::to_string(std::get<2>(info.param)); });

INSTANTIATE_TEST_SUITE_P(Methods, XcopyPowerFlexTest, ::testing::Values("vib", "ssh"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hoist::testing

// The lab's storage arrays end to end: `hoist lab up --array a1=<vendor>` as a process, real kubectl
// as the client, hoist's own vendor client (src/storage) as the array's user:
//  - the array's StorageClass provisions a Block claim as a LUN on the simulated array, and the PV's
//    spec.csi has the vendor CSI driver's shape; hoist's client resolves that PV to the LUN;
//  - a pod writing to /dev/block writes the LUN's backing file (the bytes ESXi would clone onto);
//  - the LUN is mapped to the lab nodes' group, as a CSI driver maps an attached volume;
//  - deleting the claim deletes the LUN; the array keeps its port, password and objects across a
//    restart of the lab.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "storage/config.h"
#include "storage/ontap/ontap_array.h"
#include "storage/powerflex/powerflex_array.h"
#include "storage/primera3par/primera3par_array.h"
#include "storage/registry.h"
#include "storage/vantara/vantara_array.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Bin() {
  const char* d = std::getenv("HOIST_BIN_DIR");
  return std::string(d ? d : ".") + "/hoist";
}

std::string Sh(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

hoist::storage::VendorRegistry& Registry() {
  static hoist::storage::VendorRegistry r = [] {
    hoist::storage::VendorRegistry reg;
    hoist::storage::ontap::RegisterVendor(reg);
    hoist::storage::primera3par::RegisterVendor(reg);
    hoist::storage::vantara::RegisterVendor(reg);
    hoist::storage::powerflex::RegisterVendor(reg);
    return reg;
  }();
  return r;
}

struct VendorCase {
  std::string vendor;
  std::string driver;
};
void PrintTo(const VendorCase& c, std::ostream* os) { *os << c.vendor; }

class LabArrays : public ::testing::TestWithParam<VendorCase> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access("/usr/bin/kubectl", X_OK), 0) << "kubectl is required (scripts/setup.sh installs it)";
    std::string tmpl = (fs::temp_directory_path() / "hoist-lab-arrays-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Up();
  }
  void TearDown() override {
    Sh(Bin() + " lab down --dir " + dir_ + " >/dev/null 2>&1");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Up() {
    int rc = 0;
    std::string out = Sh(Bin() + " lab up --detach --log-level warn --nodes 2 --dir " + dir_ +
                             " --array a1=" + GetParam().vendor + " 2>&1",
                         &rc);
    ASSERT_EQ(rc, 0) << out << ReadFile(dir_ + "/lab.log");
  }
  std::string K(const std::string& args, int* rc = nullptr) {
    return Sh("kubectl --request-timeout=10s --kubeconfig " + dir_ + "/kubeconfig " + args, rc);
  }
  void Apply(const std::string& yaml) {
    std::string path = dir_ + "/manifest.yaml";
    std::ofstream(path, std::ios::trunc) << yaml;
    int rc = 0;
    std::string out = K("apply -f " + path + " 2>&1", &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  std::string Get(const std::string& what, const std::string& jsonpath) {
    return K("get " + what + " -o 'jsonpath=" + jsonpath + "' 2>/dev/null");
  }
  ::testing::AssertionResult WaitFor(const std::string& what, const std::string& jsonpath,
                                     const std::string& want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string got;
    while (std::chrono::steady_clock::now() < deadline) {
      got = Get(what, jsonpath);
      if (got == want) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return ::testing::AssertionFailure()
           << what << " " << jsonpath << " = '" << got << "', want '" << want << "'\n"
           << K("get pods,pvc,pv -o wide 2>&1") << K("get events 2>&1");
  }
  json Arrays() { return json::parse(ReadFile(dir_ + "/arrays.json")); }
  std::unique_ptr<hoist::storage::StorageArray> Client() {
    json a = Arrays()["arrays"]["a1"];
    std::map<std::string, std::string> secret = a["secret"].get<std::map<std::string, std::string>>();
    return Registry().Create(GetParam().vendor, hoist::storage::ArrayConfigFromSecret(secret));
  }
  hoist::storage::VolumeRef VolumeOf(const std::string& pv_name) {
    json pv = json::parse(K("get pv " + pv_name + " -o json"));
    hoist::storage::VolumeRef v;
    v.pv_name = pv_name;
    v.driver = pv["spec"]["csi"]["driver"];
    v.volume_handle = pv["spec"]["csi"]["volumeHandle"];
    for (auto& [k, val] : pv["spec"]["csi"]["volumeAttributes"].items()) v.volume_attributes[k] = val;
    return v;
  }
  void ApplyClaim(const std::string& name, const std::string& size) {
    Apply(R"yaml(
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: )yaml" +
          name + R"yaml(
spec:
  accessModes: [ReadWriteOnce]
  volumeMode: Block
  storageClassName: a1
  resources:
    requests:
      storage: )yaml" +
          size + "\n");
  }
  std::string dir_;
};

TEST_P(LabArrays, ClaimBecomesALunWithTheVendorsHandleAndThePodWritesTheLun) {
  json a = Arrays()["arrays"]["a1"];
  EXPECT_EQ(a["vendor"], GetParam().vendor);
  EXPECT_EQ(a["driver"], GetParam().driver);
  EXPECT_EQ(Get("storageclass a1", "{.provisioner}"), GetParam().driver);
  EXPECT_TRUE(fs::exists(std::string(a["caFile"])));

  ApplyClaim("disk", "16Mi");
  Apply(R"yaml(
apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  restartPolicy: OnFailure
  containers:
  - name: dd
    image: busybox
    command: ["sh", "-c", "printf HOIST-LUN-DATA | dd of=/dev/block bs=512 seek=16 conv=notrunc 2>/dev/null"]
    volumeDevices:
    - name: disk
      devicePath: /dev/block
  volumes:
  - name: disk
    persistentVolumeClaim:
      claimName: disk
)yaml");
  ASSERT_TRUE(WaitFor("pvc disk", "{.status.phase}", "Bound"));
  std::string pv = Get("pvc disk", "{.spec.volumeName}");
  EXPECT_EQ(Get("pv " + pv, "{.spec.csi.driver}"), GetParam().driver);
  hoist::storage::VolumeRef volume = VolumeOf(pv);

  // hoist's own client finds the LUN behind the PV, as the xcopy populator would.
  auto client = Client();
  hoist::storage::Lun lun = client->ResolveVolume(volume);
  EXPECT_EQ(lun.size_bytes, 16u << 20);
  EXPECT_TRUE(lun.naa.rfind("naa.", 0) == 0 || lun.naa.rfind("eui.", 0) == 0) << lun.naa;
  auto groups = client->ListMappings(lun);
  EXPECT_EQ(groups.size(), 1u) << "mapped to the lab nodes' group, as a CSI driver maps an attached volume";

  // The pod's block device is the LUN's backing file.
  ASSERT_TRUE(WaitFor("pod writer", "{.status.phase}", "Succeeded"));
  std::string path = Get("pv " + pv, "{.metadata.annotations.lab\\.hoist\\.io/data-path}");
  EXPECT_EQ(path.rfind(std::string(a["stateDir"]), 0), 0u) << path;
  std::string data = ReadFile(path);
  ASSERT_EQ(data.size(), 16u << 20);
  EXPECT_EQ(data.substr(16 * 512, 14), "HOIST-LUN-DATA");
  EXPECT_EQ(data.substr(0, 512), std::string(512, '\0'));

  // The LUN goes with the claim.
  K("delete pod writer --wait=false");
  K("delete pvc disk --wait=false");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    try {
      client->ResolveVolume(volume);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } catch (const hoist::Error& e) {
      EXPECT_EQ(e.error_class(), hoist::ErrorClass::kPrecondition) << e.what();
      gone = true;
    }
  }
  EXPECT_TRUE(gone) << "the LUN of the deleted claim is still on the array";
  EXPECT_FALSE(fs::exists(path));
}

TEST_P(LabArrays, ArrayKeepsItsPortPasswordAndLunsAcrossARestart) {
  ApplyClaim("keep", "8Mi");
  ASSERT_TRUE(WaitFor("pvc keep", "{.status.phase}", "Bound"));
  std::string pv = Get("pvc keep", "{.spec.volumeName}");
  json before = Arrays()["arrays"]["a1"];
  hoist::storage::Lun lun_before = Client()->ResolveVolume(VolumeOf(pv));

  Sh(Bin() + " lab down --dir " + dir_ + " >/dev/null 2>&1");
  Up();
  json after = Arrays()["arrays"]["a1"];
  EXPECT_EQ(after["port"], before["port"]);
  EXPECT_EQ(after["password"], before["password"]);
  EXPECT_EQ(after["secret"], before["secret"]);
  hoist::storage::Lun lun_after = Client()->ResolveVolume(VolumeOf(pv));
  EXPECT_EQ(lun_after.naa, lun_before.naa);
  EXPECT_EQ(lun_after.name, lun_before.name);
}

TEST(LabArraysFlags, BadArrayFlagsAreRejectedWithTheReason) {
  int rc = 0;
  std::string out = Sh(Bin() + " lab up --dir /nonexistent-never --array a1=emc 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("unknown vendor \"emc\""), std::string::npos) << out;
  out = Sh(Bin() + " lab up --dir /nonexistent-never --array A_1=ontap 2>&1", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("lower-case"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Vendors, LabArrays,
                         ::testing::Values(VendorCase{"ontap", "csi.trident.netapp.io"},
                                           VendorCase{"primera3par", "csi.hpe.com"},
                                           VendorCase{"vantara", "hspc.csi.hitachi.com"},
                                           VendorCase{"powerflex", "csi-vxflexos.dellemc.com"}),
                         [](const ::testing::TestParamInfo<VendorCase>& i) { return i.param.vendor; });

}  // namespace

// hoist's Vantara client against the lab's Configuration Manager REST API simulator, in-process over
// HTTPS: HSPC handles, asynchronous jobs, host groups on the ports the ESXi host reaches (brownfield
// groups reused, new ones with the VAAI host mode options), LU paths with the SAN directory entries,
// failed jobs, session expiry, 503 "busy" and timeouts, wrong passwords and TLS verification.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "integration/array_client_fixture.h"
#include "lab/sim/vantara/simulator.h"
#include "storage/config.h"
#include "storage/vantara/vantara_array.h"

namespace hoist::storage::vantara {
namespace {

namespace fs = std::filesystem;
using lab::sim::vantara::Fault;
using lab::sim::vantara::SimLdev;
using lab::sim::vantara::SimulatorOptions;
using lab::sim::vantara::VantaraSimulator;
using testing::ThrowsError;

constexpr char kPassword[] = "Vantara-Lab-Pw1";
constexpr char kIqn[] = "iqn.1998-01.com.vmware:esx1-0001";
constexpr char kFcId[] = "fc.20000025b5000001:20000025b500000f";
constexpr char kWwpn[] = "20000025b500000f";

class VantaraClientTest : public testing::ArrayClientTest<VantaraSimulator, SimulatorOptions> {
 protected:
  VantaraClientTest() : ArrayClientTest("vantara") {}
  void SetUp() override {
    ArrayClientTest::SetUp();
    SimulatorOptions o = SimOptions(kPassword);
    o.job_polls = 2;
    StartSimulator(o);
    ldev_ = sim_->CreateLdev(4 << 20, "pvc-1");
    other_ = sim_->CreateLdev(4 << 20, "pvc-2");
    // The Kubernetes node's iSCSI target the CSI driver made when the prime PVC was attached.
    node_group_ = sim_->EnsureHostGroupForLab("CL1-B", "spc-node1", {"iqn.1994-05.com.redhat:node1"});
    sim_->AddLuPathForLab("CL1-B", node_group_, ldev_.id);
    sim_->LoginForLab(kWwpn);  // zoned to both FC ports
  }
  ArrayConfig Config(std::string password = kPassword, bool with_ca = true, bool with_id = true) {
    std::map<std::string, std::string> secret = {{"STORAGE_HOSTNAME", "127.0.0.1"},
                                                 {"STORAGE_PORT", std::to_string(sim_->port())},
                                                 {"STORAGE_USERNAME", "maintenance"},
                                                 {"STORAGE_PASSWORD", password}};
    if (with_id) secret["STORAGE_ID"] = sim_->storage_device_id();
    return ConfigFrom(secret, with_ca);
  }
  static Tuning Fast() {
    Tuning t;
    t.rest = common::Tuning{3, std::chrono::milliseconds(10)};
    t.job_poll = std::chrono::milliseconds(5);
    return t;
  }
  VolumeRef Volume() const {
    return VolumeRef{"pv-1",
                     "hspc.csi.hitachi.com",
                     "01--iscsi--" + sim_->storage_device_id() + "--" + std::to_string(ldev_.id) + "--pvc-1",
                     {}};
  }

  SimLdev ldev_, other_;
  int node_group_ = 0;
};

TEST_F(VantaraClientTest, ResolvesTheHspcVolumeToTheLdevAndItsNaa) {
  VantaraArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_EQ(lun.id, std::to_string(ldev_.id));
  EXPECT_EQ(lun.naa, ldev_.naa);
  EXPECT_EQ(lun.naa.rfind("naa.60060e80", 0), 0u) << lun.naa;
  EXPECT_EQ(lun.size_bytes, 4u << 20);
  EXPECT_EQ(lun.protocol, Protocol::kIscsi);

  VolumeRef elsewhere = Volume();
  elsewhere.volume_handle = "01--iscsi--800000099999--" + std::to_string(ldev_.id) + "--pvc-1";
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(elsewhere); }, ErrorClass::kPrecondition,
                          {"800000099999", "STORAGE_ID"}));
  VolumeRef missing = Volume();
  missing.volume_handle = "01--iscsi--" + sim_->storage_device_id() + "--4000--pvc-9";
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(missing); }, ErrorClass::kPrecondition, {"LDEV 4000"}));
}

TEST_F(VantaraClientTest, FindsTheStorageSystemWithoutStorageId) {
  VantaraArray array(Config(kPassword, true, /*with_id=*/false), Fast());
  EXPECT_EQ(array.storage_device_id(), sim_->storage_device_id());
  EXPECT_EQ(array.ResolveVolume(Volume()).naa, ldev_.naa);
}

TEST_F(VantaraClientTest, CreatesHostGroupsWithVaaiOptionsOnlyOnPortsTheHostReaches) {
  VantaraArray array(Config(), Fast());
  InitiatorGroup fc = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  EXPECT_EQ(fc.protocol, Protocol::kFc);
  EXPECT_EQ(fc.name, "CL1-A,1;CL2-A,1");
  auto groups = sim_->HostGroupsForTest();
  EXPECT_NE(std::find(groups.begin(), groups.end(),
                      "CL1-A,1:xcopy-hostsystem-host-13:VMWARE_EX:54,63:" + std::string(kWwpn)),
            groups.end())
      << ::testing::PrintToString(groups);
  // Idempotent: the same groups, nothing created.
  int posts = sim_->RequestCountForTest("POST", "");
  EXPECT_EQ(array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId}).name, fc.name);
  EXPECT_EQ(sim_->RequestCountForTest("POST", ""), posts);

  // iSCSI: a target on each iSCSI port (CL1-B already has the node's target as number 1).
  InitiatorGroup iscsi = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn});
  EXPECT_EQ(iscsi.name, "CL1-B,2;CL2-B,1");

  // A WWPN zoned nowhere cannot be reached.
  EXPECT_TRUE(ThrowsError(
      [&] {
        array.EnsureInitiatorGroup("xcopy-hostsystem-host-99", {"fc.20000025b5000009:20000025b5000099"});
      },
      ErrorClass::kPrecondition, {"zoning"}));
}

TEST_F(VantaraClientTest, BrownfieldHostGroupsHoldingTheWwpnAreReused) {
  // The ESXi host already has a host group on CL1-A (an administrator made it, under another name).
  int g = sim_->EnsureHostGroupForLab("CL1-A", "esx01_A", {kWwpn}, "VMWARE_EX");
  VantaraArray array(Config(), Fast());
  InitiatorGroup fc = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  EXPECT_EQ(fc.name, "CL1-A," + std::to_string(g) + ";CL2-A,1");
  auto groups = sim_->HostGroupsForTest();
  EXPECT_EQ(std::count_if(groups.begin(), groups.end(),
                          [](const std::string& s) { return s.rfind("CL1-A,", 0) == 0; }),
            1)
      << "no second host group for the WWPN on CL1-A: " << ::testing::PrintToString(groups);
}

TEST_F(VantaraClientTest, HostGroupListFromTheSecretIsUsedAsIs) {
  ArrayConfig c = Config();
  c.values["HOSTGROUP_ID_LIST"] = "CL1-B," + std::to_string(node_group_);
  VantaraArray array(c, Fast());
  EXPECT_EQ(array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn}).name,
            "CL1-B," + std::to_string(node_group_));
  c.values["HOSTGROUP_ID_LIST"] = "CL1-B,40";
  VantaraArray wrong(c, Fast());
  EXPECT_TRUE(ThrowsError([&] { wrong.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn}); },
                          ErrorClass::kPrecondition, {"CL1-B,40 (HOSTGROUP_ID_LIST) not found"}));
}

TEST_F(VantaraClientTest, MapListUnmapThroughJobsWithSanEntries) {
  VantaraArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  std::string node = "CL1-B," + std::to_string(node_group_);
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{node});

  Lun mapped = array.Map(lun, g.name);
  EXPECT_EQ(mapped.naa, ldev_.naa);
  EXPECT_EQ(mapped.host_lun_id, 0) << "the LUN number of the new LU paths";
  EXPECT_GE(sim_->RequestCountForTest(
                "GET", "/ConfigurationManager/v1/objects/storages/" + sim_->storage_device_id() + "/jobs/"),
            2)
      << "the client waited for the jobs";
  EXPECT_EQ(sim_->PathsForTest(ldev_.id), (std::vector<std::string>{"CL1-A,1,0", node + ",0", "CL2-A,1,0"}));
  auto groups = array.ListMappings(lun);
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<std::string>{g.name, node}));
  ASSERT_TRUE(fs::exists(SanEntry(kWwpn, lun.naa)));
  auto entry = SanJson(kWwpn, lun.naa);
  EXPECT_EQ(entry["backing"], ldev_.backing);
  EXPECT_EQ(entry["vendor"], "HITACHI");

  int posts = sim_->RequestCountForTest("POST", "");
  array.Map(lun, g.name);  // already mapped on both ports: no job
  EXPECT_EQ(sim_->RequestCountForTest("POST", ""), posts);

  // The other LDEV takes the next LUN id in the same host groups.
  Lun other = lun;
  other.id = std::to_string(other_.id);
  other.naa.clear();
  EXPECT_EQ(array.Map(other, g.name).naa, other_.naa) << "the NAA comes from the LDEV after mapping";
  EXPECT_EQ(SanJson(kWwpn, other_.naa)["lunId"], 1);

  array.Unmap(lun, g.name);
  EXPECT_FALSE(fs::exists(SanEntry(kWwpn, lun.naa)));
  EXPECT_TRUE(fs::exists(SanEntry(kWwpn, other_.naa)));
  EXPECT_TRUE(fs::exists(SanEntry("iqn.1994-05.com.redhat:node1", lun.naa)));
  array.Unmap(lun, g.name);  // not mapped any more: success
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{node});
}

TEST_F(VantaraClientTest, AFailedJobSaysWhatTheArrayRefused) {
  VantaraArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  sim_->FailNextJobForTest("B958", "0947", "Another LDEV is already mapped to the specified LUN.");
  EXPECT_TRUE(ThrowsError([&] { array.Map(lun, g.name); }, ErrorClass::kPrecondition,
                          {"adding an LU path for LDEV " + lun.id + " to host group CL1-A,1 on Vantara",
                           "Failed", "SSB1 B958, SSB2 0947", "Another LDEV is already mapped"}));
}

TEST_F(VantaraClientTest, LogsInAgainWhenTheSessionExpiresAndDiscardsItWhenDone) {
  {
    VantaraArray array(Config(), Fast());
    Lun lun = array.ResolveVolume(Volume());
    sim_->ExpireSessionsForTest();
    EXPECT_EQ(array.ListMappings(lun).size(), 1u);
    EXPECT_EQ(sim_->RequestCountForTest("POST", "/ConfigurationManager/v1/objects/storages/" +
                                                    sim_->storage_device_id() + "/sessions"),
              2);
    EXPECT_EQ(sim_->SessionCountForTest(), 1);
  }
  EXPECT_EQ(sim_->SessionCountForTest(), 0) << "sessions count against the array's limit";
}

TEST_F(VantaraClientTest, RetriesBusyAndTimeoutsMidFlow) {
  VantaraArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  const std::string jobs = "/ConfigurationManager/v1/objects/storages/" + sim_->storage_device_id() + "/jobs";
  sim_->InjectFaultForTest(Fault{"GET", jobs, 503, 1});
  sim_->InjectFaultForTest(Fault{
      "POST", "/ConfigurationManager/v1/objects/storages/" + sim_->storage_device_id() + "/luns", 503, 1});
  EXPECT_EQ(array.Map(lun, g.name).naa, ldev_.naa);
  EXPECT_EQ(sim_->PathsForTest(ldev_.id).size(), 3u);

  sim_->InjectFaultForTest(
      Fault{"GET", "/ConfigurationManager/v1/objects/storages", 0, 1, std::chrono::milliseconds(2500)});
  EXPECT_EQ(array.ListMappings(lun).size(), 2u);

  sim_->InjectFaultForTest(Fault{"GET", "/ConfigurationManager/v1/objects/storages", 503, 10});
  EXPECT_TRUE(ThrowsError([&] { array.ListMappings(lun); }, ErrorClass::kTransient, {"KART00003-E", "busy"}));
}

TEST_F(VantaraClientTest, WrongPasswordIsAPreconditionWithoutThePassword) {
  testing::ExpectWrongPasswordRefused<VantaraArray>(Config("Wrong-Pw-77"), Fast(), Volume(),
                                                    {"logging in as maintenance on Vantara"}, kPassword);
}

TEST_F(VantaraClientTest, TlsIsVerifiedByDefault) {
  testing::ExpectTlsVerifiedByDefault<VantaraArray>(Config(kPassword, /*with_ca=*/false), Fast(), Volume(),
                                                    ldev_.naa);
}

}  // namespace
}  // namespace hoist::storage::vantara

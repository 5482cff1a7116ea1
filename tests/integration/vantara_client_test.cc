// hoist's Vantara client against the lab's Configuration Manager REST API simulator, in-process over
// HTTPS: HSPC handles, asynchronous jobs, host groups on the ports the ESXi host reaches (brownfield
// groups reused, new ones with the VAAI host mode options), LU paths with the SAN directory entries,
// failed jobs, session expiry, 503 "busy" and timeouts, wrong passwords and TLS verification.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
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

constexpr char kPassword[] = "Vantara-Lab-Pw1";
constexpr char kIqn[] = "iqn.1998-01.com.vmware:esx1-0001";
constexpr char kFcId[] = "fc.20000025b5000001:20000025b500000f";
constexpr char kWwpn[] = "20000025b500000f";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class VantaraClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::path(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") / "hoist-vantara-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    SimulatorOptions o;
    o.lun_dir = (dir_ / "luns").string();
    o.san_dir = (dir_ / "san").string();
    o.password = kPassword;
    o.job_polls = 2;
    sim_ = std::make_unique<VantaraSimulator>(o);
    sim_->Start();
    ldev_ = sim_->CreateLdev(4 << 20, "pvc-1");
    other_ = sim_->CreateLdev(4 << 20, "pvc-2");
    // The Kubernetes node's iSCSI target the CSI driver made when the prime PVC was attached.
    node_group_ = sim_->EnsureHostGroupForLab("CL1-B", "spc-node1", {"iqn.1994-05.com.redhat:node1"});
    sim_->AddLuPathForLab("CL1-B", node_group_, ldev_.id);
    sim_->LoginForLab(kWwpn);  // zoned to both FC ports
  }
  void TearDown() override {
    sim_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ArrayConfig Config(std::string password = kPassword, bool with_ca = true, bool with_id = true) {
    std::map<std::string, std::string> secret = {{"STORAGE_HOSTNAME", "127.0.0.1"},
                                                 {"STORAGE_PORT", std::to_string(sim_->port())},
                                                 {"STORAGE_USERNAME", "maintenance"},
                                                 {"STORAGE_PASSWORD", password}};
    if (with_ca) secret["STORAGE_CA_CERT"] = sim_->ca_pem();
    if (with_id) secret["STORAGE_ID"] = sim_->storage_device_id();
    ArrayConfig c = ArrayConfigFromSecret(secret);
    c.http_timeout = std::chrono::milliseconds(2000);
    return c;
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
  fs::path SanEntry(const std::string& initiator, const std::string& naa) const {
    return dir_ / "san" / initiator / naa;
  }

  fs::path dir_;
  std::unique_ptr<VantaraSimulator> sim_;
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
  try {
    array.ResolveVolume(elsewhere);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("800000099999"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("STORAGE_ID"), std::string::npos) << e.what();
  }
  VolumeRef missing = Volume();
  missing.volume_handle = "01--iscsi--" + sim_->storage_device_id() + "--4000--pvc-9";
  try {
    array.ResolveVolume(missing);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("LDEV 4000"), std::string::npos) << e.what();
  }
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
  try {
    array.EnsureInitiatorGroup("xcopy-hostsystem-host-99", {"fc.20000025b5000009:20000025b5000099"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("zoning"), std::string::npos) << e.what();
  }
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
  try {
    wrong.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("CL1-B,40 (HOSTGROUP_ID_LIST) not found"), std::string::npos)
        << e.what();
  }
}

TEST_F(VantaraClientTest, MapListUnmapThroughJobsWithSanEntries) {
  VantaraArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  std::string node = "CL1-B," + std::to_string(node_group_);
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{node});

  Lun mapped = array.Map(lun, g.name);
  EXPECT_EQ(mapped.naa, ldev_.naa);
  EXPECT_GE(sim_->RequestCountForTest(
                "GET", "/ConfigurationManager/v1/objects/storages/" + sim_->storage_device_id() + "/jobs/"),
            2)
      << "the client waited for the jobs";
  EXPECT_EQ(sim_->PathsForTest(ldev_.id), (std::vector<std::string>{"CL1-A,1,0", node + ",0", "CL2-A,1,0"}));
  auto groups = array.ListMappings(lun);
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<std::string>{g.name, node}));
  ASSERT_TRUE(fs::exists(SanEntry(kWwpn, lun.naa)));
  auto entry = nlohmann::json::parse(ReadFile(SanEntry(kWwpn, lun.naa)));
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
  EXPECT_EQ(nlohmann::json::parse(ReadFile(SanEntry(kWwpn, other_.naa)))["lunId"], 1);

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
  try {
    array.Map(lun, g.name);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    std::string msg = e.what();
    EXPECT_NE(msg.find("adding an LU path for LDEV " + lun.id + " to host group CL1-A,1 on Vantara"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("Failed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("SSB1 B958, SSB2 0947"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Another LDEV is already mapped"), std::string::npos) << msg;
  }
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
  try {
    array.ListMappings(lun);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
    EXPECT_NE(std::string(e.what()).find("KART00003-E"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("busy"), std::string::npos) << e.what();
  }
}

TEST_F(VantaraClientTest, WrongPasswordIsAPreconditionWithoutThePassword) {
  const std::string wrong = "Wrong-Pw-77";
  VantaraArray array(Config(wrong), Fast());
  try {
    array.ResolveVolume(Volume());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(msg.find("logging in as maintenance on Vantara"), std::string::npos) << msg;
    EXPECT_NE(msg.find("STORAGE_PASSWORD"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
    EXPECT_EQ(msg.find(kPassword), std::string::npos) << msg;
  }
}

TEST_F(VantaraClientTest, TlsIsVerifiedByDefault) {
  VantaraArray untrusted(Config(kPassword, /*with_ca=*/false), Fast());
  try {
    untrusted.ResolveVolume(Volume());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
  }
  ArrayConfig skip = Config(kPassword, /*with_ca=*/false);
  skip.skip_tls_verify = true;
  VantaraArray insecure(skip, Fast());
  EXPECT_EQ(insecure.ResolveVolume(Volume()).naa, ldev_.naa);
}

}  // namespace
}  // namespace hoist::storage::vantara

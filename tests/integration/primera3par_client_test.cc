// hoist's Primera/3PAR client against the lab's WSAPI simulator, in-process over HTTPS: volumes, hosts
// found by WWPN (brownfield FC) or created, host sets with the array's name limits, VLUNs with LUN ids
// free on every host, SAN directory entries appearing and disappearing, session expiry, 5xx and
// timeouts, wrong passwords, TLS verification and logging out.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "lab/sim/primera3par/simulator.h"
#include "storage/config.h"
#include "storage/primera3par/primera3par_array.h"

namespace hoist::storage::primera3par {
namespace {

namespace fs = std::filesystem;
using lab::sim::primera3par::Fault;
using lab::sim::primera3par::Primera3parSimulator;
using lab::sim::primera3par::SimulatorOptions;
using lab::sim::primera3par::SimVolume;

constexpr char kPassword[] = "Primera-Lab-Pw1";
constexpr char kIqn1[] = "iqn.1998-01.com.vmware:esx1-0001";
constexpr char kFcId[] = "fc.20000025b5000001:20000025b500000f";
constexpr char kWwpn[] = "20000025B500000F";
constexpr char kHandle[] = "pvc-0f8e3f6e-39e4-4f63-8bde-0d7c0a6b1c2d";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Primera3parClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::path(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") / "hoist-3par-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Start(true);
  }
  void Start(bool queries) {
    SimulatorOptions o;
    o.lun_dir = (dir_ / "luns").string();
    o.san_dir = (dir_ / "san").string();
    o.password = kPassword;
    o.queries = queries;
    sim_ = std::make_unique<Primera3parSimulator>(o);
    sim_->Start();
    vol_ = sim_->CreateVolume(VolumeNameFromHandle(kHandle), 4 << 20);
    other_ = sim_->CreateVolume("pvc-other", 4 << 20);
    // The Kubernetes node the CSI driver exported the volume to.
    sim_->CreateHostForLab("k8s-node1", {}, {"iqn.1994-05.com.redhat:node1"});
    sim_->CreateHostSetForLab("k8s-nodes", {"k8s-node1"});
    sim_->ExportForLab(vol_.name, "set:k8s-nodes");
  }
  void TearDown() override {
    sim_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ArrayConfig Config(std::string password = kPassword, bool with_ca = true) {
    std::map<std::string, std::string> secret = {
        {"STORAGE_HOSTNAME", sim_->url()}, {"STORAGE_USERNAME", "3paradm"}, {"STORAGE_PASSWORD", password}};
    if (with_ca) secret["STORAGE_CA_CERT"] = sim_->ca_pem();
    ArrayConfig c = ArrayConfigFromSecret(secret);
    c.http_timeout = std::chrono::milliseconds(2000);
    return c;
  }
  static common::Tuning Fast() { return common::Tuning{3, std::chrono::milliseconds(10)}; }
  VolumeRef Volume() const {
    return VolumeRef{"pv-1", "csi.hpe.com", kHandle, {{"volumeAccessMode", "block"}}};
  }
  fs::path SanEntry(const std::string& initiator, const std::string& naa) const {
    return dir_ / "san" / initiator / naa;
  }

  fs::path dir_;
  std::unique_ptr<Primera3parSimulator> sim_;
  SimVolume vol_, other_;
};

TEST_F(Primera3parClientTest, ResolvesTheCsiVolumeToTheVolumeAndItsNaa) {
  Primera3parArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_EQ(lun.name, "pvc-0f8e3f6e-39e4-4f63-8bde-0d7");
  EXPECT_EQ(lun.naa, vol_.naa);
  EXPECT_EQ(lun.naa.rfind("naa.60002ac", 0), 0u) << lun.naa;
  EXPECT_EQ(lun.size_bytes, 4u << 20);

  try {
    array.ResolveVolume(VolumeRef{"pv-9", "csi.hpe.com", "pvc-missing", {}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    std::string msg = e.what();
    EXPECT_NE(msg.find("volume pvc-missing (PV pv-9) not found on Primera/3PAR 127.0.0.1:"),
              std::string::npos)
        << msg;
  }
}

TEST_F(Primera3parClientTest, EnsureInitiatorGroupCreatesHostAndHostSetOnceAndAddsNewPaths) {
  Primera3parArray array(Config(), Fast());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn1});
  EXPECT_EQ(g.name, "set:xcopy-hostsystem-host-12");
  EXPECT_EQ(g.protocol, Protocol::kIscsi);
  EXPECT_EQ(sim_->HostSetMembersForTest("xcopy-hostsystem-host-12"),
            std::vector<std::string>{"xcopy-hostsystem-host-12"});
  int posts = sim_->RequestCountForTest("POST", "/api/v1/host");
  InitiatorGroup again = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn1});
  EXPECT_EQ(again.name, g.name);
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/host"), posts) << "nothing created the second time";
  EXPECT_EQ(sim_->RequestCountForTest("PUT", "/api/v1/hostsets"), 0);

  // A second iSCSI name of the same ESXi host joins the host the array already has for it? No: a new
  // name nobody holds gets added to the host created for this group.
  array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn1, "iqn.1998-01.com.vmware:esx1-0002"});
  auto hosts = sim_->HostsForTest();
  EXPECT_NE(
      std::find(hosts.begin(), hosts.end(),
                "xcopy-hostsystem-host-12:iqn.1998-01.com.vmware:esx1-0001,iqn.1998-01.com.vmware:esx1-0002"),
      hosts.end())
      << ::testing::PrintToString(hosts);
}

TEST_F(Primera3parClientTest, BrownfieldFcHostIsFoundByItsWwpnAndJoinsTheSet) {
  // The ESXi host is zoned and defined on the array already, under its own name.
  sim_->CreateHostForLab("esx01", {"20:00:00:25:b5:00:00:0f"}, {});
  auto before = sim_->HostsForTest();
  Primera3parArray array(Config(), Fast());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  EXPECT_EQ(g.protocol, Protocol::kFc);
  EXPECT_EQ(g.initiators, std::vector<std::string>{kWwpn});
  EXPECT_EQ(sim_->HostSetMembersForTest("xcopy-hostsystem-host-13"), std::vector<std::string>{"esx01"});
  EXPECT_EQ(sim_->HostsForTest(), before) << "no second host for a WWPN the array knows";
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/hosts") -
                sim_->RequestCountForTest("POST", "/api/v1/hostsets"),
            0);
}

TEST_F(Primera3parClientTest, BrownfieldHostIsFoundWithoutHostQueriesToo) {
  sim_->Stop();
  Start(/*queries=*/false);
  sim_->CreateHostForLab("esx01", {kWwpn}, {});
  Primera3parArray array(Config(), Fast());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  EXPECT_EQ(sim_->HostSetMembersForTest("xcopy-hostsystem-host-13"), std::vector<std::string>{"esx01"});
  Lun lun = array.ResolveVolume(Volume());
  array.Map(lun, g.name);
  EXPECT_EQ(array.ListMappings(lun), (std::vector<std::string>{"set:k8s-nodes", g.name}));
}

TEST_F(Primera3parClientTest, LongGroupNamesGetAStableHostSetWithinTheLimit) {
  Primera3parArray array(Config(), Fast());
  const std::string name = "xcopy-hostsystem-host-1234567890123";
  InitiatorGroup g = array.EnsureInitiatorGroup(name, {kIqn1});
  EXPECT_EQ(g.name, "set:" + HostSetName(name));
  EXPECT_LE(g.name.size(), 31u);
  EXPECT_EQ(array.EnsureInitiatorGroup(name, {kIqn1}).name, g.name);
  EXPECT_EQ(sim_->HostSetMembersForTest(HostSetName(name)).size(), 1u);
}

TEST_F(Primera3parClientTest, MapListUnmapWritesAndRemovesSanEntriesWithAFreeLunId) {
  // The ESXi host already sees LUN 1 of another volume through a host export (not through the set):
  // the new export must not reuse that id.
  sim_->CreateHostForLab("esx01", {kWwpn}, {});
  sim_->ExportForLab(other_.name, "esx01");
  Primera3parArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{"set:k8s-nodes"});
  EXPECT_FALSE(fs::exists(SanEntry(kWwpn, lun.naa)));

  Lun mapped = array.Map(lun, g.name);
  EXPECT_EQ(mapped.naa, vol_.naa);
  array.Map(lun, g.name);  // already exported: nothing new
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/vluns"), 1);
  EXPECT_EQ(sim_->VlunsForTest(lun.name), (std::vector<std::string>{"set:k8s-nodes:1", g.name + ":2"}));
  EXPECT_EQ(array.ListMappings(lun), (std::vector<std::string>{"set:k8s-nodes", g.name}));
  ASSERT_TRUE(fs::exists(SanEntry(kWwpn, lun.naa)));
  auto entry = nlohmann::json::parse(ReadFile(SanEntry(kWwpn, lun.naa)));
  EXPECT_EQ(entry["backing"], vol_.backing);
  EXPECT_EQ(entry["lunId"], 2);
  EXPECT_EQ(entry["vendor"], "3PARdata");
  EXPECT_TRUE(fs::exists(SanEntry(kWwpn, other_.naa)));

  array.Unmap(lun, g.name);
  EXPECT_FALSE(fs::exists(SanEntry(kWwpn, lun.naa)));
  EXPECT_TRUE(fs::exists(SanEntry(kWwpn, other_.naa)));
  EXPECT_TRUE(fs::exists(SanEntry("iqn.1994-05.com.redhat:node1", lun.naa)));
  array.Unmap(lun, g.name);  // not exported any more: success
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{"set:k8s-nodes"});

  // Restoring a host export (a name without set:) exports to the host, not to a set of that name.
  array.Map(lun, "esx01");
  EXPECT_EQ(array.ListMappings(lun), (std::vector<std::string>{"set:k8s-nodes", "esx01"}));
}

TEST_F(Primera3parClientTest, LogsInAgainWhenTheSessionExpires) {
  Primera3parArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/credentials"), 1);
  sim_->ExpireSessionsForTest();
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{"set:k8s-nodes"});
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/credentials"), 2);
  EXPECT_EQ(sim_->SessionCountForTest(), 1);
}

TEST_F(Primera3parClientTest, DeletesItsSessionWhenDone) {
  {
    Primera3parArray array(Config(), Fast());
    array.ResolveVolume(Volume());
    EXPECT_EQ(sim_->SessionCountForTest(), 1);
  }
  EXPECT_EQ(sim_->SessionCountForTest(), 0) << "sessions count against the array's limit";
}

TEST_F(Primera3parClientTest, Retries5xxAndTimeoutsAndGivesUpWithTheOperationNamed) {
  Primera3parArray array(Config(), Fast());
  array.ResolveVolume(Volume());
  sim_->InjectFaultForTest(Fault{"GET", "/api/v1/volumes", 503, 1});
  EXPECT_EQ(array.ResolveVolume(Volume()).naa, vol_.naa);
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/v1/volumes"), 3);

  sim_->InjectFaultForTest(Fault{"GET", "/api/v1/vluns", 0, 1, std::chrono::milliseconds(2500)});
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{"set:k8s-nodes"});

  sim_->InjectFaultForTest(Fault{"POST", "/api/v1/vluns", 500, 10});
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kIqn1});
  try {
    array.Map(lun, g.name);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
    std::string msg = e.what();
    EXPECT_NE(msg.find("exporting volume " + lun.name + " to " + g.name + " on Primera/3PAR"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("HTTP 500"), std::string::npos) << msg;
  }
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/vluns"), 3);
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{"set:k8s-nodes"}) << "nothing left exported";
}

TEST_F(Primera3parClientTest, WrongPasswordIsAPreconditionWithoutThePassword) {
  const std::string wrong = "Wrong-Pw-77";
  Primera3parArray array(Config(wrong), Fast());
  try {
    array.ResolveVolume(Volume());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(msg.find("logging in as 3paradm on Primera/3PAR"), std::string::npos) << msg;
    EXPECT_NE(msg.find("STORAGE_PASSWORD"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
    EXPECT_EQ(msg.find(kPassword), std::string::npos) << msg;
  }
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/credentials"), 1);  // not retried
}

TEST_F(Primera3parClientTest, TlsIsVerifiedByDefault) {
  Primera3parArray untrusted(Config(kPassword, /*with_ca=*/false), Fast());
  try {
    untrusted.ResolveVolume(Volume());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
  }
  ArrayConfig skip = Config(kPassword, /*with_ca=*/false);
  skip.skip_tls_verify = true;
  Primera3parArray insecure(skip, Fast());
  EXPECT_EQ(insecure.ResolveVolume(Volume()).naa, vol_.naa);
}

}  // namespace
}  // namespace hoist::storage::primera3par

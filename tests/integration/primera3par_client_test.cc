// hoist's Primera/3PAR client against the lab's WSAPI simulator, in-process over HTTPS: volumes, hosts
// found by WWPN (brownfield FC) or created, host sets with the array's name limits, VLUNs with LUN ids
// free on every host, SAN directory entries appearing and disappearing, session expiry, 5xx and
// timeouts, wrong passwords, TLS verification and logging out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "integration/array_client_fixture.h"
#include "lab/sim/primera3par/simulator.h"
#include "net/http.h"
#include "storage/config.h"
#include "storage/primera3par/primera3par_array.h"

namespace hoist::storage::primera3par {
namespace {

namespace fs = std::filesystem;
using lab::sim::primera3par::Fault;
using lab::sim::primera3par::Primera3parSimulator;
using lab::sim::primera3par::SimulatorOptions;
using lab::sim::primera3par::SimVolume;
using testing::ThrowsError;

constexpr char kPassword[] = "Primera-Lab-Pw1";
constexpr char kIqn1[] = "iqn.1998-01.com.vmware:esx1-0001";
constexpr char kFcId[] = "fc.20000025b5000001:20000025b500000f";
constexpr char kWwpn[] = "20000025B500000F";
constexpr char kHandle[] = "pvc-0f8e3f6e-39e4-4f63-8bde-0d7c0a6b1c2d";

class Primera3parClientTest : public testing::ArrayClientTest<Primera3parSimulator, SimulatorOptions> {
 protected:
  Primera3parClientTest() : ArrayClientTest("3par") {}
  void SetUp() override {
    ArrayClientTest::SetUp();
    Start(true);
  }
  void Start(bool queries, bool auto_lun = true) {
    SimulatorOptions o = SimOptions(kPassword);
    o.queries = queries;
    o.auto_lun = auto_lun;
    StartSimulator(o);
    vol_ = sim_->CreateVolume(VolumeNameFromHandle(kHandle), 4 << 20);
    other_ = sim_->CreateVolume("pvc-other", 4 << 20);
    // The Kubernetes node the CSI driver exported the volume to.
    sim_->CreateHostForLab("k8s-node1", {}, {"iqn.1994-05.com.redhat:node1"});
    sim_->CreateHostSetForLab("k8s-nodes", {"k8s-node1"});
    sim_->ExportForLab(vol_.name, "set:k8s-nodes");
  }
  ArrayConfig Config(std::string password = kPassword, bool with_ca = true) {
    return ConfigFrom(
        {{"STORAGE_HOSTNAME", sim_->url()}, {"STORAGE_USERNAME", "3paradm"}, {"STORAGE_PASSWORD", password}},
        with_ca);
  }
  static common::Tuning Fast() { return common::Tuning{3, std::chrono::milliseconds(10)}; }
  VolumeRef Volume() const {
    return VolumeRef{"pv-1", "csi.hpe.com", kHandle, {{"volumeAccessMode", "block"}}};
  }

  SimVolume vol_, other_;
};

TEST_F(Primera3parClientTest, ResolvesTheCsiVolumeToTheVolumeAndItsNaa) {
  Primera3parArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_EQ(lun.name, "pvc-0f8e3f6e-39e4-4f63-8bde-0d7");
  EXPECT_EQ(lun.naa, vol_.naa);
  EXPECT_EQ(lun.naa.rfind("naa.60002ac", 0), 0u) << lun.naa;
  EXPECT_EQ(lun.size_bytes, 4u << 20);

  EXPECT_TRUE(ThrowsError(
      [&] {
        array.ResolveVolume(VolumeRef{"pv-9", "csi.hpe.com", "pvc-missing", {}});
      },
      ErrorClass::kPrecondition, {"volume pvc-missing (PV pv-9) not found on Primera/3PAR 127.0.0.1:"}));
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
  EXPECT_EQ(mapped.host_lun_id, 2) << "the free LUN id the export was made with";
  EXPECT_EQ(array.Map(lun, g.name).host_lun_id, 2) << "already exported: read from the VLUN";
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/vluns"), 1);
  EXPECT_EQ(sim_->VlunsForTest(lun.name), (std::vector<std::string>{"set:k8s-nodes:1", g.name + ":2"}));
  EXPECT_EQ(array.ListMappings(lun), (std::vector<std::string>{"set:k8s-nodes", g.name}));
  ASSERT_TRUE(fs::exists(SanEntry(kWwpn, lun.naa)));
  auto entry = SanJson(kWwpn, lun.naa);
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

TEST_F(Primera3parClientTest, MapAsksForTheVlunsOfTheHostsItReachesNotForEveryVlun) {
  // The ESXi host is in a brownfield host set of its cluster, and the other volume is exported to that
  // set at LUN 1; an export of an unrelated host holds LUN 2 — which the ESXi host does not see. The
  // array is a 3PAR OS one: it takes the LUN id the client asks for, or refuses a taken one.
  sim_->Stop();
  Start(/*queries=*/true, /*auto_lun=*/false);
  sim_->CreateHostForLab("esx01", {kWwpn}, {});
  sim_->CreateHostForLab("esx99", {"20000025B5000099"}, {});
  sim_->CreateHostSetForLab("esx-cluster", {"esx01"});
  sim_->ExportForLab(other_.name, "set:esx-cluster");
  SimVolume third = sim_->CreateVolume("pvc-third", 4 << 20);
  sim_->ExportForLab(third.name, "esx99");
  sim_->ExportForLab(third.name, "set:k8s-nodes");
  ASSERT_EQ(sim_->VlunsForTest(third.name), (std::vector<std::string>{"esx99:1", "set:k8s-nodes:2"}));
  Primera3parArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  array.Map(lun, g.name);
  // LUN 1 is taken on esx01 through its cluster's set; 2 is free there (only esx99 and the nodes use it).
  EXPECT_EQ(sim_->VlunsForTest(lun.name), (std::vector<std::string>{"set:k8s-nodes:1", g.name + ":2"}));
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/vluns"), 1) << "the first LUN id asked for was free";
  EXPECT_EQ(SanJson(kWwpn, lun.naa)["lunId"], 2);
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/v1/vluns"),
            sim_->RequestCountForTest("GET", "/api/v1/vluns?query="))
      << "every VLUN read was a filtered query";
  EXPECT_GE(
      sim_->RequestCountForTest("GET", "/api/v1/vluns?query=" + net::UrlEncode("\"hostname EQ esx01\"")), 1);
}

TEST_F(Primera3parClientTest, CollectionsStreamInChunksAndACutOneIsReadAgain) {
  // Without host queries the client reads the whole host list, which WSAPI streams in chunks; the
  // array fails mid-stream once (the connection closes before the last chunk).
  sim_->Stop();
  Start(/*queries=*/false);
  for (int i = 0; i < 30; ++i) {
    char wwpn[17];
    std::snprintf(wwpn, sizeof wwpn, "20000025B5%06X", 0x100 + i);
    sim_->CreateHostForLab("brownfield-host-" + std::to_string(i), {wwpn}, {});
  }
  sim_->CreateHostForLab("esx01", {kWwpn}, {});
  auto before = sim_->HostsForTest();
  sim_->InjectFaultForTest(Fault{"GET", "/api/v1/hosts", 0, 1, {}, /*cut=*/true});
  Primera3parArray array(Config(), Fast());
  array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {kFcId});
  EXPECT_EQ(sim_->HostSetMembersForTest("xcopy-hostsystem-host-13"), std::vector<std::string>{"esx01"});
  EXPECT_EQ(sim_->HostsForTest(), before) << "the host was found in the list read again, not made anew";
  // The query (400: no queries), the cut list, the whole list.
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/v1/hosts") -
                sim_->RequestCountForTest("GET", "/api/v1/hostsets"),
            3);
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
  EXPECT_TRUE(
      ThrowsError([&] { array.Map(lun, g.name); }, ErrorClass::kTransient,
                  {"exporting volume " + lun.name + " to " + g.name + " on Primera/3PAR", "HTTP 500"}));
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/vluns"), 3);
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{"set:k8s-nodes"}) << "nothing left exported";
}

TEST_F(Primera3parClientTest, WrongPasswordIsAPreconditionWithoutThePassword) {
  testing::ExpectWrongPasswordRefused<Primera3parArray>(Config("Wrong-Pw-77"), Fast(), Volume(),
                                                        {"logging in as 3paradm on Primera/3PAR"}, kPassword);
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/v1/credentials"), 1);  // not retried
}

TEST_F(Primera3parClientTest, TlsIsVerifiedByDefault) {
  testing::ExpectTlsVerifiedByDefault<Primera3parArray>(Config(kPassword, /*with_ca=*/false), Fast(),
                                                        Volume(), vol_.naa);
}

}  // namespace
}  // namespace hoist::storage::primera3par

// hoist's ONTAP client against the lab's ONTAP simulator, in-process over HTTPS: igroups, LUN lookup,
// mapping and unmapping (with the SAN directory entries the lab vCenter reads), pagination, retries of
// 5xx and timeouts, wrong passwords and TLS verification.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "integration/array_client_fixture.h"
#include "lab/sim/ontap/simulator.h"
#include "storage/config.h"
#include "storage/ontap/ontap_array.h"

namespace hoist::storage::ontap {
namespace {

namespace fs = std::filesystem;
using lab::sim::ontap::Fault;
using lab::sim::ontap::OntapSimulator;
using lab::sim::ontap::SimLun;
using lab::sim::ontap::SimulatorOptions;
using testing::ThrowsError;

constexpr char kPassword[] = "Netapp-Lab-Pw1";
constexpr char kIqn1[] = "iqn.1998-01.com.vmware:esx1-0001";
constexpr char kIqn2[] = "iqn.1998-01.com.vmware:esx1-0002";

class OntapClientTest : public testing::ArrayClientTest<OntapSimulator, SimulatorOptions> {
 protected:
  OntapClientTest() : ArrayClientTest("ontap") {}
  void SetUp() override {
    ArrayClientTest::SetUp();
    SimulatorOptions o = SimOptions(kPassword);
    o.svms = {"svm0", "svm1"};
    o.page_size = 2;  // every collection with more than two records is paginated
    StartSimulator(o);
    lun_ = sim_->CreateLun("/vol/trident_pvc_1/lun0", 1 << 20);
    other_ = sim_->CreateLun("/vol/trident_pvc_2/lun0", 1 << 20);
    sim_->CreateLun("/vol/trident_pvc_3/lun0", 1 << 20);
    sim_->CreateLun("/vol/trident_pvc_1/lun0", 1 << 20, "svm1");  // same name in another SVM
  }

  ArrayConfig Config(std::string password = kPassword, bool with_ca = true, std::string svm = "svm0") {
    std::map<std::string, std::string> secret = {
        {"STORAGE_HOSTNAME", sim_->host()}, {"STORAGE_USERNAME", "admin"}, {"STORAGE_PASSWORD", password}};
    if (!svm.empty()) secret["ONTAP_SVM"] = svm;
    return ConfigFrom(secret, with_ca);
  }
  static Tuning Fast() { return Tuning{3, std::chrono::milliseconds(10)}; }
  VolumeRef Volume() const {
    return VolumeRef{"pv-1", "csi.trident.netapp.io", "pvc-1", {{"internalName", "trident_pvc_1"}}};
  }

  SimLun lun_, other_;
};

TEST_F(OntapClientTest, ResolvesTheTridentVolumeToTheLunAndItsNaa) {
  OntapArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_EQ(lun.name, "/vol/trident_pvc_1/lun0");
  EXPECT_EQ(lun.id, lun_.uuid);  // the one in svm0, not the namesake in svm1
  EXPECT_EQ(lun.serial, lun_.serial);
  EXPECT_EQ(lun.naa, lun_.naa);
  EXPECT_EQ(lun.naa, NaaFromSerial(lun_.serial));
  EXPECT_EQ(lun.size_bytes, 1u << 20);

  VolumeRef missing{"pv-9", "csi.trident.netapp.io", "pvc-9", {{"internalName", "trident_pvc_9"}}};
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(missing); }, ErrorClass::kPrecondition,
                          {"/vol/trident_pvc_9/lun0", sim_->host()}));
}

TEST_F(OntapClientTest, EnsureIgroupIsIdempotentAndAddsNewInitiators) {
  OntapArray array(Config(), Fast());
  InitiatorGroup g1 = array.EnsureInitiatorGroup("xcopy-host-12", {kIqn1});
  EXPECT_EQ(g1.name, "xcopy-host-12-iscsi");
  EXPECT_EQ(g1.protocol, Protocol::kIscsi);
  EXPECT_EQ(g1.initiators, std::vector<std::string>{kIqn1});
  InitiatorGroup g2 = array.EnsureInitiatorGroup("xcopy-host-12", {kIqn1});
  EXPECT_EQ(g2.name, g1.name);
  EXPECT_EQ(g2.initiators, std::vector<std::string>{kIqn1});
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/protocols/san/igroups"), 2);  // one create, one initiator
  InitiatorGroup g3 = array.EnsureInitiatorGroup("xcopy-host-12", {kIqn1, kIqn2});
  EXPECT_EQ(g3.initiators, (std::vector<std::string>{kIqn1, kIqn2}));
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/protocols/san/igroups"), 3);

  InitiatorGroup fc = array.EnsureInitiatorGroup("xcopy-host-13", {"fc.20000025b5000001:20000025b500000f"});
  EXPECT_EQ(fc.name, "xcopy-host-13-fcp");
  EXPECT_EQ(fc.initiators, std::vector<std::string>{"20:00:00:25:b5:00:00:0f"});
}

TEST_F(OntapClientTest, MapListUnmapWritesAndRemovesSanEntries) {
  OntapArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  // The node's igroup the CSI driver made when the prime PVC was attached.
  InitiatorGroup node = array.EnsureInitiatorGroup("k8s-node1", {"iqn.1994-05.com.redhat:node1"});
  array.Map(lun, node.name);
  InitiatorGroup host = array.EnsureInitiatorGroup("xcopy-host-12", {kIqn1, kIqn2});
  InitiatorGroup fc = array.EnsureInitiatorGroup("xcopy-host-13", {"fc.20000025b5000001:20000025b500000f"});
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{node.name});
  EXPECT_FALSE(fs::exists(SanEntry(kIqn1, lun.naa)));

  Lun mapped = array.Map(lun, host.name);
  EXPECT_EQ(mapped.naa, lun_.naa);
  EXPECT_EQ(mapped.host_lun_id, 0) << "the LUN number ONTAP gave the mapping";
  EXPECT_EQ(array.Map(lun, host.name).host_lun_id, 0) << "already mapped: read from the mapping";
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/protocols/san/lun-maps"), 2);
  array.Map(lun, fc.name);
  // Three mappings, two per page: the client follows _links.next.
  auto groups = array.ListMappings(lun);
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<std::string>{node.name, host.name, fc.name}));
  EXPECT_EQ(sim_->MappingsForTest(lun.name).size(), 3u);

  // Every initiator of the igroup sees the LUN, as the lab vCenter's SAN contract expects.
  for (const char* iqn : {kIqn1, kIqn2}) {
    ASSERT_TRUE(fs::exists(SanEntry(iqn, lun.naa))) << iqn;
    auto entry = SanJson(iqn, lun.naa);
    EXPECT_EQ(entry["backing"], lun_.backing);
    EXPECT_EQ(entry["vendor"], "NETAPP");
    EXPECT_EQ(entry["lunId"], 0);
    EXPECT_EQ(entry["sizeBytes"], 1 << 20);
  }
  EXPECT_TRUE(fs::exists(SanEntry("20:00:00:25:b5:00:00:0f", lun.naa)));
  // The other LUN gets the next LUN id in the same igroup.
  Lun by_name;
  by_name.name = other_.name;
  Lun other = array.Map(by_name, host.name);
  EXPECT_EQ(other.naa, other_.naa);
  EXPECT_EQ(SanJson(kIqn1, other_.naa)["lunId"], 1);
  EXPECT_EQ(other.host_lun_id, 1);

  array.Unmap(lun, host.name);
  EXPECT_FALSE(fs::exists(SanEntry(kIqn1, lun.naa)));
  EXPECT_FALSE(fs::exists(SanEntry(kIqn2, lun.naa)));
  EXPECT_TRUE(fs::exists(SanEntry(kIqn1, other_.naa)));
  array.Unmap(lun, host.name);  // not mapped any more: success
  groups = array.ListMappings(lun);
  std::sort(groups.begin(), groups.end());
  EXPECT_EQ(groups, (std::vector<std::string>{node.name, fc.name}));
}

TEST_F(OntapClientTest, MappingToAMissingIgroupNamesLunIgroupAndHost) {
  OntapArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_TRUE(ThrowsError(
      [&] { array.Map(lun, "xcopy-nohost-iscsi"); }, ErrorClass::kPrecondition,
      {"mapping LUN /vol/trident_pvc_1/lun0 to igroup xcopy-nohost-iscsi on ONTAP " + sim_->host(),
       "initiator group does not exist"}));
}

TEST_F(OntapClientTest, RetriesA5xxOnceAndGivesUpAfterTheAttempts) {
  OntapArray array(Config(), Fast());
  array.svm_uuid();
  sim_->InjectFaultForTest(Fault{"GET", "/api/storage/luns", 503, 1});
  EXPECT_EQ(array.ResolveVolume(Volume()).naa, lun_.naa);
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/storage/luns"), 2);

  sim_->InjectFaultForTest(Fault{"GET", "/api/storage/luns", 500, 10});
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(Volume()); }, ErrorClass::kTransient,
                          {"looking up LUN /vol/trident_pvc_1/lun0 on ONTAP", "HTTP 500"}));
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/storage/luns"), 2 + 3);
}

TEST_F(OntapClientTest, RetriesATimedOutCall) {
  ArrayConfig c = Config();
  c.http_timeout = std::chrono::milliseconds(300);
  OntapArray array(c, Fast());
  array.svm_uuid();
  sim_->InjectFaultForTest(Fault{"GET", "/api/protocols/san/lun-maps", 0, 1, std::chrono::milliseconds(900)});
  Lun lun;
  lun.name = "/vol/trident_pvc_1/lun0";
  EXPECT_TRUE(array.ListMappings(lun).empty());
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/protocols/san/lun-maps"), 2);
}

TEST_F(OntapClientTest, WrongPasswordIsAPreconditionWithoutThePassword) {
  testing::ExpectWrongPasswordRefused<OntapArray>(Config("Wrong-Pw-77"), Fast(), Volume(),
                                                  {"HTTP 401", sim_->host()}, kPassword);
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/svm/svms"), 1);  // not retried
}

TEST_F(OntapClientTest, TlsIsVerifiedByDefault) {
  testing::ExpectTlsVerifiedByDefault<OntapArray>(Config(kPassword, /*with_ca=*/false), Fast(), Volume(),
                                                  lun_.naa);
}

TEST_F(OntapClientTest, SvmMustBeNamedWhenTheUserSeesSeveral) {
  OntapArray array(Config(kPassword, true, /*svm=*/""), Fast());
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(Volume()); }, ErrorClass::kPrecondition, {"ONTAP_SVM"}));
  OntapArray svm1(Config(kPassword, true, "svm1"), Fast());
  EXPECT_NE(svm1.ResolveVolume(Volume()).id, lun_.uuid);
}

}  // namespace
}  // namespace hoist::storage::ontap

// hoist's PowerFlex client against the lab's gateway simulator, in-process over HTTPS: csi-vxflexos
// handles, the ESXi host's SDC found by its GUID, volume-to-SDC mappings with the SAN directory entries
// the lab vCenter reads (eui. devices), token expiry, 5xx and timeouts, wrong passwords and TLS.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "integration/array_client_fixture.h"
#include "lab/sim/powerflex/simulator.h"
#include "storage/config.h"
#include "storage/powerflex/powerflex_array.h"

namespace hoist::storage::powerflex {
namespace {

namespace fs = std::filesystem;
using lab::sim::powerflex::Fault;
using lab::sim::powerflex::PowerFlexSimulator;
using lab::sim::powerflex::SimSdc;
using lab::sim::powerflex::SimulatorOptions;
using lab::sim::powerflex::SimVolume;
using testing::ThrowsError;

constexpr char kPassword[] = "PowerFlex-Lab-Pw1";
constexpr char kEsxGuid[] = "6D2EC3B1-5F0E-4A7E-8B3C-1A2B3C4D5E6F";

class PowerFlexClientTest : public testing::ArrayClientTest<PowerFlexSimulator, SimulatorOptions> {
 protected:
  PowerFlexClientTest() : ArrayClientTest("powerflex") {}
  void SetUp() override {
    ArrayClientTest::SetUp();
    StartSimulator(SimOptions(kPassword));
    vol_ = sim_->CreateVolume("k8s-5b1c9e8a0f", 4 << 20);
    node_ = sim_->RegisterSdc("0c6b3a1e-9e59-4f7b-a1e5-0b5c3f1d2a11", "node1", "Linux");
    esx_ = sim_->RegisterSdc(kEsxGuid, "esx01", "Esx");
    sim_->MapForLab(vol_.id, node_.id);  // csi-vxflexos mapped it to the node that attached the prime PVC
  }
  ArrayConfig Config(std::string password = kPassword, bool with_ca = true) {
    return ConfigFrom({{"STORAGE_HOSTNAME", sim_->host()},
                       {"STORAGE_USERNAME", "admin"},
                       {"STORAGE_PASSWORD", password},
                       {"POWERFLEX_SYSTEM_ID", sim_->system_id()}},
                      with_ca);
  }
  static common::Tuning Fast() { return common::Tuning{3, std::chrono::milliseconds(10)}; }
  VolumeRef Volume() const {
    return VolumeRef{
        "pv-1", "csi-vxflexos.dellemc.com", sim_->system_id() + "-" + vol_.id, {{"Name", vol_.name}}};
  }

  SimVolume vol_;
  SimSdc node_, esx_;
};

TEST_F(PowerFlexClientTest, ResolvesTheCsiVolumeToTheVolumeAndItsEui) {
  PowerFlexArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  EXPECT_EQ(lun.id, vol_.id);
  EXPECT_EQ(lun.naa, "eui." + sim_->system_id() + vol_.id);
  EXPECT_EQ(lun.naa, vol_.eui);
  EXPECT_EQ(lun.size_bytes, 4u << 20);
  EXPECT_EQ(lun.protocol, Protocol::kSdc);

  // By name, for handles without the volume id.
  VolumeRef by_name{"pv-1", "csi-vxflexos.dellemc.com", "", {{"Name", vol_.name}}};
  EXPECT_EQ(array.ResolveVolume(by_name).id, vol_.id);

  VolumeRef other_system = Volume();
  other_system.volume_handle = "1111222233334444-" + vol_.id;
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(other_system); }, ErrorClass::kPrecondition,
                          {"1111222233334444"}));
  VolumeRef missing = Volume();
  missing.volume_handle = sim_->system_id() + "-00000000deadbeef";
  EXPECT_TRUE(ThrowsError([&] { array.ResolveVolume(missing); }, ErrorClass::kPrecondition,
                          {"volume 00000000deadbeef not found on PowerFlex"}));
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/instances/Volume::00000000deadbeef"), 1)
      << "a refusal is not retried";
}

TEST_F(PowerFlexClientTest, TheEsxiSdcIsTheGroup) {
  PowerFlexArray array(Config(), Fast());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kEsxGuid});
  EXPECT_EQ(g.name, esx_.id);
  EXPECT_EQ(g.protocol, Protocol::kSdc);

  EXPECT_TRUE(ThrowsError(
      [&] {
        array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {"11111111-2222-3333-4444-555555555555"});
      },
      ErrorClass::kPrecondition, {"install the SDC"}));
  EXPECT_TRUE(ThrowsError(
      [&] { array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {"iqn.1998-01.com.vmware:esx1"}); },
      ErrorClass::kPrecondition, {"IoctlIniGuidStr"}));
  sim_->SetSdcConnectedForLab(kEsxGuid, false);
  EXPECT_TRUE(ThrowsError([&] { array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kEsxGuid}); },
                          ErrorClass::kPrecondition, {"Disconnected"}));
}

TEST_F(PowerFlexClientTest, MapListUnmapWithEuiSanEntries) {
  PowerFlexArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kEsxGuid});
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{node_.id});
  const std::string guid = "6d2ec3b1-5f0e-4a7e-8b3c-1a2b3c4d5e6f";
  EXPECT_FALSE(fs::exists(SanEntry(guid, lun.naa)));

  EXPECT_EQ(array.Map(lun, g.name).naa, vol_.eui);
  array.Map(lun, g.name);  // already mapped: nothing sent
  EXPECT_EQ(sim_->RequestCountForTest("POST", "/api/instances/Volume::" + vol_.id + "/action/addMappedSdc"),
            1);
  EXPECT_EQ(array.ListMappings(lun), (std::vector<std::string>{node_.id, esx_.id}));
  ASSERT_TRUE(fs::exists(SanEntry(guid, lun.naa)));
  auto entry = SanJson(guid, lun.naa);
  EXPECT_EQ(entry["backing"], vol_.backing);
  EXPECT_EQ(entry["vendor"], "EMC");

  array.Unmap(lun, g.name);
  EXPECT_FALSE(fs::exists(SanEntry(guid, lun.naa)));
  EXPECT_TRUE(fs::exists(SanEntry("0c6b3a1e-9e59-4f7b-a1e5-0b5c3f1d2a11", lun.naa)))
      << "the node keeps its mapping";
  array.Unmap(lun, g.name);  // not mapped any more: success
  EXPECT_EQ(array.ListMappings(lun), std::vector<std::string>{node_.id});
}

TEST_F(PowerFlexClientTest, LogsInAgainWhenTheTokenExpiresAndLogsOutWhenDone) {
  {
    PowerFlexArray array(Config(), Fast());
    Lun lun = array.ResolveVolume(Volume());
    sim_->ExpireSessionsForTest();
    EXPECT_EQ(array.ListMappings(lun).size(), 1u);
    EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/login"), 2);
    EXPECT_EQ(sim_->SessionCountForTest(), 1);
  }
  EXPECT_EQ(sim_->SessionCountForTest(), 0);
}

TEST_F(PowerFlexClientTest, Retries5xxAndTimeoutsMidFlow) {
  PowerFlexArray array(Config(), Fast());
  Lun lun = array.ResolveVolume(Volume());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kEsxGuid});
  sim_->InjectFaultForTest(Fault{"POST", "/api/instances/Volume::", 503, 1});
  sim_->InjectFaultForTest(Fault{"GET", "/api/instances/Volume::", 0, 1, std::chrono::milliseconds(2500)});
  array.Map(lun, g.name);
  EXPECT_EQ(sim_->MappedSdcsForTest(vol_.id), (std::vector<std::string>{node_.id, esx_.id}));

  sim_->InjectFaultForTest(Fault{"POST", "/api/instances/Volume::", 500, 10});
  EXPECT_TRUE(ThrowsError([&] { array.Unmap(lun, g.name); }, ErrorClass::kTransient,
                          {"unmapping volume " + vol_.id + " from SDC " + esx_.id + " on PowerFlex"}));
}

TEST_F(PowerFlexClientTest, WrongPasswordIsAPreconditionWithoutThePassword) {
  testing::ExpectWrongPasswordRefused<PowerFlexArray>(Config("Wrong-Pw-77"), Fast(), Volume(),
                                                      {"logging in as admin on PowerFlex"}, kPassword);
}

TEST_F(PowerFlexClientTest, TlsIsVerifiedByDefault) {
  testing::ExpectTlsVerifiedByDefault<PowerFlexArray>(Config(kPassword, /*with_ca=*/false), Fast(), Volume(),
                                                      vol_.eui);
}

}  // namespace
}  // namespace hoist::storage::powerflex

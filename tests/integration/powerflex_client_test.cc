// hoist's PowerFlex client against the lab's gateway simulator, in-process over HTTPS: csi-vxflexos
// handles, the ESXi host's SDC found by its GUID, volume-to-SDC mappings with the SAN directory entries
// the lab vCenter reads (eui. devices), token expiry, 5xx and timeouts, wrong passwords and TLS.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
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

constexpr char kPassword[] = "PowerFlex-Lab-Pw1";
constexpr char kEsxGuid[] = "6D2EC3B1-5F0E-4A7E-8B3C-1A2B3C4D5E6F";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PowerFlexClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::path(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") / "hoist-powerflex-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    SimulatorOptions o;
    o.lun_dir = (dir_ / "luns").string();
    o.san_dir = (dir_ / "san").string();
    o.password = kPassword;
    sim_ = std::make_unique<PowerFlexSimulator>(o);
    sim_->Start();
    vol_ = sim_->CreateVolume("k8s-5b1c9e8a0f", 4 << 20);
    node_ = sim_->RegisterSdc("0c6b3a1e-9e59-4f7b-a1e5-0b5c3f1d2a11", "node1", "Linux");
    esx_ = sim_->RegisterSdc(kEsxGuid, "esx01", "Esx");
    sim_->MapForLab(vol_.id, node_.id);  // csi-vxflexos mapped it to the node that attached the prime PVC
  }
  void TearDown() override {
    sim_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ArrayConfig Config(std::string password = kPassword, bool with_ca = true) {
    std::map<std::string, std::string> secret = {{"STORAGE_HOSTNAME", sim_->host()},
                                                 {"STORAGE_USERNAME", "admin"},
                                                 {"STORAGE_PASSWORD", password},
                                                 {"POWERFLEX_SYSTEM_ID", sim_->system_id()}};
    if (with_ca) secret["STORAGE_CA_CERT"] = sim_->ca_pem();
    ArrayConfig c = ArrayConfigFromSecret(secret);
    c.http_timeout = std::chrono::milliseconds(2000);
    return c;
  }
  static common::Tuning Fast() { return common::Tuning{3, std::chrono::milliseconds(10)}; }
  VolumeRef Volume() const {
    return VolumeRef{
        "pv-1", "csi-vxflexos.dellemc.com", sim_->system_id() + "-" + vol_.id, {{"Name", vol_.name}}};
  }
  fs::path SanEntry(const std::string& sdc_guid, const std::string& eui) const {
    return dir_ / "san" / sdc_guid / eui;
  }

  fs::path dir_;
  std::unique_ptr<PowerFlexSimulator> sim_;
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
  try {
    array.ResolveVolume(other_system);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("1111222233334444"), std::string::npos) << e.what();
  }
  VolumeRef missing = Volume();
  missing.volume_handle = sim_->system_id() + "-00000000deadbeef";
  try {
    array.ResolveVolume(missing);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("volume 00000000deadbeef not found on PowerFlex"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sim_->RequestCountForTest("GET", "/api/instances/Volume::00000000deadbeef"), 1)
      << "a refusal is not retried";
}

TEST_F(PowerFlexClientTest, TheEsxiSdcIsTheGroup) {
  PowerFlexArray array(Config(), Fast());
  InitiatorGroup g = array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kEsxGuid});
  EXPECT_EQ(g.name, esx_.id);
  EXPECT_EQ(g.protocol, Protocol::kSdc);

  try {
    array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {"11111111-2222-3333-4444-555555555555"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("install the SDC"), std::string::npos) << e.what();
  }
  try {
    array.EnsureInitiatorGroup("xcopy-hostsystem-host-13", {"iqn.1998-01.com.vmware:esx1"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("IoctlIniGuidStr"), std::string::npos) << e.what();
  }
  sim_->SetSdcConnectedForLab(kEsxGuid, false);
  try {
    array.EnsureInitiatorGroup("xcopy-hostsystem-host-12", {kEsxGuid});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Disconnected"), std::string::npos) << e.what();
  }
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
  auto entry = nlohmann::json::parse(ReadFile(SanEntry(guid, lun.naa)));
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
  try {
    array.Unmap(lun, g.name);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
    EXPECT_NE(
        std::string(e.what()).find("unmapping volume " + vol_.id + " from SDC " + esx_.id + " on PowerFlex"),
        std::string::npos)
        << e.what();
  }
}

TEST_F(PowerFlexClientTest, WrongPasswordIsAPreconditionWithoutThePassword) {
  const std::string wrong = "Wrong-Pw-77";
  PowerFlexArray array(Config(wrong), Fast());
  try {
    array.ResolveVolume(Volume());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(msg.find("logging in as admin on PowerFlex"), std::string::npos) << msg;
    EXPECT_NE(msg.find("STORAGE_PASSWORD"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
    EXPECT_EQ(msg.find(kPassword), std::string::npos) << msg;
  }
}

TEST_F(PowerFlexClientTest, TlsIsVerifiedByDefault) {
  PowerFlexArray untrusted(Config(kPassword, /*with_ca=*/false), Fast());
  try {
    untrusted.ResolveVolume(Volume());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
  }
  ArrayConfig skip = Config(kPassword, /*with_ca=*/false);
  skip.skip_tls_verify = true;
  PowerFlexArray insecure(skip, Fast());
  EXPECT_EQ(insecure.ResolveVolume(Volume()).naa, vol_.eui);
}

}  // namespace
}  // namespace hoist::storage::powerflex

// PowerFlex's SDC model end to end in the lab: the lab vCenter (hoist-vcsim) with an ESXi host that
// runs the PowerFlex SDC (scini module), the PowerFlex simulator sharing its SAN directory, and hoist's
// own clients on both sides. The host reports the SDC's GUID through HostKernelModuleSystem.QueryModules
// and a block adapter driven by scini; hoist's PowerFlex client finds that SDC by the GUID and maps a
// volume to it; after a rescan the host sees the volume as eui.<systemId><volumeId> with an active path
// on the SDC adapter, its device node is the volume's file; unmapping makes it go at the next rescan.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "lab/sim/powerflex/simulator.h"
#include "storage/config.h"
#include "storage/powerflex/powerflex_array.h"
#include "vsphere/client.h"
#include "vsphere/esxcli.h"
#include "vsphere/inventory.h"
#include "vsphere/property.h"

extern char** environ;

namespace hoist {
namespace {

namespace fs = std::filesystem;

constexpr char kGuid[] = "6d2ec3b1-5f0e-4a7e-8b3c-1a2b3c4d5e6f";
constexpr char kDatastoreNaa[] = "naa.600a098038314d2d4c244a6f6b6b6f31";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PowerFlexSdcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin_dir = std::getenv("HOIST_BIN_DIR");
    ASSERT_NE(bin_dir, nullptr);
    fs::path bin = fs::path(bin_dir) / "hoist-vcsim";
    ASSERT_TRUE(fs::exists(bin)) << bin
                                 << " is missing (needs golang-go and golang-github-vmware-govmomi-dev)";
    std::string tmpl = (fs::temp_directory_path() / "hoist-pflex-sdc.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "ds1");
    fs::create_directories(dir_ / "san");

    lab::sim::powerflex::SimulatorOptions so;
    so.lun_dir = (dir_ / "luns").string();
    so.san_dir = (dir_ / "san").string();
    sim_ = std::make_unique<lab::sim::powerflex::PowerFlexSimulator>(so);
    sim_->Start();
    sim_->RegisterSdc(kGuid, "esx1", "Esx");
    vol_ = sim_->CreateVolume("k8s-1a2b3c4d5e", 2 << 20);

    nlohmann::json world = {
        {"sanDir", (dir_ / "san").string()},
        {"hosts",
         {{{"name", "esx1.lab"},
           {"iqn", "iqn.1998-01.com.vmware:esx1-0001"},
           {"sdc", {{"guid", kGuid}, {"mdmIps", {"10.0.0.10", "10.0.0.11"}}}}}}},
        {"datastores", {{{"name", "san-ds1"}, {"naa", kDatastoreNaa}, {"dir", (dir_ / "ds1").string()}}}},
    };
    std::ofstream(dir_ / "world.json") << world.dump();
    std::vector<std::string> args = {bin.string(),
                                     "--world",
                                     (dir_ / "world.json").string(),
                                     "--state-dir",
                                     (dir_ / "state").string(),
                                     "--url-file",
                                     (dir_ / "inventory.json").string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = (dir_ / "vcsim.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(dir_ / "inventory.json")) {
      int status = 0;
      ASSERT_EQ(waitpid(pid_, &status, WNOHANG), 0) << "hoist-vcsim exited: " << ReadFile(log);
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "hoist-vcsim did not start: " << ReadFile(log);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    inventory_ = nlohmann::json::parse(ReadFile(dir_ / "inventory.json"));
    host_ = {"HostSystem", inventory_["hosts"]["esx1.lab"]["moref"].get<std::string>()};
    vsphere::ClientOptions options;
    options.url = inventory_["url"].get<std::string>();
    options.username = "administrator@vsphere.local";
    options.password = "lab";
    options.keepalive_interval = std::chrono::milliseconds(0);
    vc_ = std::make_unique<vsphere::Client>(options);
    vc_->Login();
    esxcli_ = std::make_unique<vsphere::Esxcli>(*vc_);
  }
  void TearDown() override {
    esxcli_.reset();
    vc_.reset();
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (sim_) sim_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  storage::ArrayConfig Config() {
    return storage::ArrayConfigFromSecret({{"STORAGE_HOSTNAME", sim_->host()},
                                           {"STORAGE_USERNAME", "admin"},
                                           {"STORAGE_PASSWORD", "Scaleio123"},
                                           {"STORAGE_CA_CERT", sim_->ca_pem()}});
  }

  fs::path dir_;
  pid_t pid_ = -1;
  std::unique_ptr<lab::sim::powerflex::PowerFlexSimulator> sim_;
  lab::sim::powerflex::SimVolume vol_;
  nlohmann::json inventory_;
  vsphere::ManagedObjectReference host_;
  std::unique_ptr<vsphere::Client> vc_;
  std::unique_ptr<vsphere::Esxcli> esxcli_;
};

TEST_F(PowerFlexSdcTest, EsxiSeesAVolumeMappedToItsSdcAsAnEuiDevice) {
  // The SDC's GUID, as the xcopy populator reads it: the scini module's IoctlIniGuidStr.
  vsphere::ObjectContent oc = vsphere::RetrieveObject(*vc_, host_, {"configManager.kernelModuleSystem"});
  const vsphere::XmlNode* ref = oc.Get("configManager.kernelModuleSystem");
  ASSERT_NE(ref, nullptr);
  const std::string* type = ref->Attribute("type");
  ASSERT_NE(type, nullptr);
  vsphere::XmlNode modules = vc_->Call("QueryModules", {*type, ref->text});
  std::string options;
  for (const auto* m : modules.Children("returnval")) {
    if (m->ChildText("name") == "scini") options = m->ChildText("optionString");
  }
  EXPECT_NE(options.find(std::string("IoctlIniGuidStr=") + kGuid), std::string::npos) << options;
  EXPECT_NE(options.find("IoctlMdmIPStr=10.0.0.10,10.0.0.11"), std::string::npos) << options;

  vsphere::Inventory inv(*vc_);
  vsphere::HostInfo host = inv.GetHost(host_);
  const vsphere::HostBusAdapter* sdc = nullptr;
  for (const auto& a : host.storage.adapters) {
    if (a.driver == "scini") sdc = &a;
  }
  ASSERT_NE(sdc, nullptr) << "the SDC shows as an adapter driven by scini";
  EXPECT_EQ(sdc->type, "HostBlockHba");
  const std::string sdc_adapter = sdc->device;

  // hoist's PowerFlex client maps the volume to the SDC with that GUID.
  storage::powerflex::PowerFlexArray array(Config());
  storage::Lun lun =
      array.ResolveVolume({"pv-1", "csi-vxflexos.dellemc.com", sim_->system_id() + "-" + vol_.id, {}});
  storage::InitiatorGroup group = array.EnsureInitiatorGroup("xcopy-hostsystem-" + host_.value, {kGuid});
  array.Map(lun, group.name);

  EXPECT_THROW(esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", lun.naa}), Error)
      << "invisible until a rescan";
  esxcli_->Run(host_, {"storage", "core", "adapter", "rescan", "-t", "add", "-a"});
  vsphere::EsxcliResult dev = esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", lun.naa});
  EXPECT_EQ(dev.Field(0, "Status"), "on");
  host = inv.GetHost(host_);
  auto active = host.storage.ActiveAdapters(lun.naa);
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0]->device, sdc_adapter);
  fs::path node =
      fs::path(inventory_["hosts"]["esx1.lab"]["root"].get<std::string>()) / "vmfs/devices/disks" / lun.naa;
  EXPECT_EQ(fs::read_symlink(node), fs::path(vol_.backing)) << "the device is the volume's data";

  array.Unmap(lun, group.name);
  esxcli_->Run(host_, {"storage", "core", "adapter", "rescan", "-t", "delete", "-A", sdc_adapter});
  EXPECT_THROW(esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", lun.naa}), Error);
}

}  // namespace
}  // namespace hoist

// hoist's vSphere client (src/vsphere) against the lab's vCenter (hoist-vcsim, govmomi's simulator with
// remote esxcli): the esxcli flow of the xcopy populator — find the device, rescan until an array's
// mapping shows, clone through the vmkfstools-wrapper, poll the task, detach — with the bytes checked on
// the target LUN.
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
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "vsphere/client.h"
#include "vsphere/esxcli.h"
#include "vsphere/fault.h"

extern char** environ;

namespace hoist::vsphere {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDatastoreNaa = "naa.600a098038314d2d4c244a6f6b6b6f31";
constexpr const char* kTargetNaa = "naa.600a0980383030303030303030303031";
constexpr const char* kIqn = "iqn.1998-01.com.vmware:esx1-0001";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

class VcsimClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin_dir = std::getenv("HOIST_BIN_DIR");
    ASSERT_NE(bin_dir, nullptr) << "HOIST_BIN_DIR must name the directory holding hoist-vcsim";
    fs::path bin = fs::path(bin_dir) / "hoist-vcsim";
    ASSERT_TRUE(fs::exists(bin)) << bin
                                 << " is missing (needs golang-go and golang-github-vmware-govmomi-dev)";

    std::string tmpl = (fs::temp_directory_path() / "vcsim-client.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "ds1");
    fs::create_directories(dir_ / "san" / kIqn);

    std::mt19937_64 rng(42);
    data_.resize(2 * 1024 * 1024 + 4096);
    for (auto& c : data_) c = static_cast<char>(rng());
    WriteFile(dir_ / "data.bin", data_);
    // The target LUN starts with stale bytes, as a reused LUN would.
    WriteFile(dir_ / "lun.img", std::string(4 * 1024 * 1024, '\x5a'));

    nlohmann::json world = {
        {"sanDir", (dir_ / "san").string()},
        {"hosts", {{{"name", "esx1.lab"}, {"iqn", kIqn}}}},
        {"datastores",
         {{{"name", "san-ds1"},
           {"naa", kDatastoreNaa},
           {"dir", (dir_ / "ds1").string()},
           {"array", "ontap1"}}}},
        {"vms",
         {{{"name", "vm1"},
           {"disks", {{{"capacityBytes", 4 * 1024 * 1024}, {"data", (dir_ / "data.bin").string()}}}}}}},
    };
    WriteFile(dir_ / "world.json", world.dump());

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

    ClientOptions options;
    options.url = inventory_["url"].get<std::string>();
    options.username = "administrator@vsphere.local";
    options.password = "lab";
    options.keepalive_interval = std::chrono::milliseconds(0);
    client_ = std::make_unique<Client>(options);
    client_->Login();
    esxcli_ = std::make_unique<Esxcli>(*client_);
  }

  void TearDown() override {
    esxcli_.reset();
    client_.reset();
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Polls `vmkfstools taskGet` until the task has an exit code; returns the last message JSON.
  nlohmann::json WaitForTask(const std::string& task_id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
      EsxcliResult r = esxcli_->Run(host_, {"vmkfstools", "taskGet", "-i", task_id});
      EXPECT_EQ(r.Field(0, "status"), "0");
      nlohmann::json msg = nlohmann::json::parse(r.Field(0, "message"));
      if (!msg.value("exitCode", std::string()).empty()) return msg;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "clone task " << task_id << " did not finish: " << msg.dump();
        return msg;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  fs::path dir_;
  std::string data_;
  pid_t pid_ = -1;
  nlohmann::json inventory_;
  ManagedObjectReference host_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Esxcli> esxcli_;
};

TEST_F(VcsimClientTest, XcopyFlowThroughRemoteEsxcli) {
  // The datastore's LUN is there from the start; the target LUN only once mapped and rescanned.
  EsxcliResult ds = esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", kDatastoreNaa});
  ASSERT_EQ(ds.kind, EsxcliResult::Kind::kRows);
  EXPECT_EQ(ds.Field(0, "Status"), "on");

  try {
    esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", kTargetNaa});
    FAIL() << "an unmapped device was listed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Unable to find device"), std::string::npos) << e.what();
  }

  // The array maps the LUN to the host's initiator (an entry naming the array: XCOPY within it).
  WriteFile(dir_ / "san" / kIqn / kTargetNaa,
            nlohmann::json{{"backing", (dir_ / "lun.img").string()}, {"array", "ontap1"}}.dump());
  EXPECT_TRUE(esxcli_->Run(host_, {"storage", "core", "adapter", "rescan", "-t", "add", "-a"}).AsBool());
  uint64_t before = client_->round_trips();
  EsxcliResult dev = esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", kTargetNaa});
  EXPECT_EQ(client_->round_trips() - before, 1u) << "executer and CLIInfo are cached after warm-up";
  EXPECT_EQ(dev.Field(0, "Status"), "on");

  EsxcliResult adapters = esxcli_->Run(host_, {"storage", "core", "adapter", "list"});
  bool found = false;
  for (size_t i = 0; i < adapters.rows.size(); ++i) found = found || adapters.Field(i, "UID") == kIqn;
  EXPECT_TRUE(found) << "the iSCSI adapter is listed with its IQN";

  EsxcliResult version = esxcli_->Run(host_, {"vmkfstools", "version"});
  EXPECT_EQ(version.Field(0, "status"), "0");
  EXPECT_TRUE(nlohmann::json::parse(version.Field(0, "message")).contains("version"));

  EsxcliResult started =
      esxcli_->Run(host_, {"vmkfstools", "clone", "-s", "/vmfs/volumes/san-ds1/vm1/vm1.vmdk", "-t",
                           std::string("/vmfs/devices/disks/") + kTargetNaa});
  ASSERT_EQ(started.Field(0, "status"), "0") << started.Field(0, "message");
  std::string task = nlohmann::json::parse(started.Field(0, "message"))["taskId"].get<std::string>();
  nlohmann::json done = WaitForTask(task);
  EXPECT_EQ(done["exitCode"], "0") << done.dump();
  EXPECT_EQ(done["xcopyUsed"], true) << "same array, HardwareAcceleratedMove=1";
  EXPECT_NE(done["lastLine"].get<std::string>().find("100%"), std::string::npos) << done.dump();

  std::string lun = ReadFile(dir_ / "lun.img");
  ASSERT_EQ(lun.size(), 4u * 1024 * 1024);
  EXPECT_TRUE(lun.compare(0, data_.size(), data_) == 0) << "the LUN holds the VMDK's bytes";
  EXPECT_EQ(lun.find_first_not_of('\0', data_.size()), std::string::npos) << "the rest of the disk is zero";

  EXPECT_EQ(esxcli_->Run(host_, {"vmkfstools", "taskClean", "-i", task}).Field(0, "status"), "0");

  // Cleanup as the populator does it: detach, forget, unmap, rescan.
  EXPECT_TRUE(
      esxcli_->Run(host_, {"storage", "core", "device", "set", "--state=off", "-d", kTargetNaa}).AsBool());
  EXPECT_EQ(esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", kTargetNaa}).Field(0, "Status"),
            "off");
  EXPECT_TRUE(
      esxcli_->Run(host_, {"storage", "core", "device", "detached", "remove", "-d", kTargetNaa}).AsBool());
  fs::remove(dir_ / "san" / kIqn / kTargetNaa);
  EXPECT_TRUE(esxcli_->Run(host_, {"storage", "core", "adapter", "rescan", "-t", "delete", "-A", "vmhba65"})
                  .AsBool());
  EXPECT_THROW(esxcli_->Run(host_, {"storage", "core", "device", "list", "-d", kTargetNaa}), Error);
}

TEST_F(VcsimClientTest, UnknownOptionNamesWhatTheCommandHas) {
  try {
    esxcli_->Run(host_, {"storage", "core", "device", "list", "--bogus", "x"});
    FAIL() << "an unknown option was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("--device"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hoist::vsphere

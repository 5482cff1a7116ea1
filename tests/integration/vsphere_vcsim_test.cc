// The vSphere client against the lab's vCenter (hoist-vcsim: VMware's govmomi simulator with remote
// esxcli and a SAN storage model): login, inventory, host storage, remote esxcli with the executer
// cache, tasks, and re-login after an administrator terminated the session.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "vsphere/client.h"
#include "vsphere/esxcli.h"
#include "vsphere/fault.h"
#include "vsphere/inventory.h"

extern char** environ;

namespace hoist::vsphere {
namespace {

namespace fs = std::filesystem;

constexpr char kNaa[] = "naa.600a098038314d2d4c244a6f6b6b6f31";
constexpr char kIqn[] = "iqn.1998-01.com.vmware:esx1-0001";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json LabWorld(const fs::path& dir) {
  return {{"hosts",
           {{{"name", "esx1.lab"},
             {"iqn", kIqn},
             {"fc", {{{"wwnn", "20000025b5000001"}, {"wwpn", "20000025b500000f"}}}}}}},
          {"datastores",
           {{{"name", "san-ds1"},
             {"naa", kNaa},
             {"dir", (dir / "ds1").string()},
             {"array", "ontap1"},
             {"vendor", "NETAPP"},
             {"model", "LUN C-Mode"},
             {"transport", "iscsi"},
             {"capacityBytes", 1099511627776LL},
             {"lunId", 0},
             {"hosts", {"esx1.lab"}}}}},
          {"vms",
           {{{"name", "vm1"},
             {"host", "esx1.lab"},
             {"datastore", "san-ds1"},
             {"disks",
              {{{"capacityBytes", 1048576}},
               {{"vmdk", "vm1/extra.vmdk"}, {"capacityBytes", 2097152}, {"snapshots", 1}}}}}}}};
}

// One hoist-vcsim process in its own temporary directory.
struct Vcsim {
  pid_t pid = 0;
  fs::path dir;
  std::string error;  // why it did not start
  nlohmann::json inventory;

  void Start(const std::vector<std::string>& extra_args) {
    const char* bin_dir = std::getenv("HOIST_BIN_DIR");
    fs::path bin = std::getenv("HOIST_VCSIM") ? fs::path(std::getenv("HOIST_VCSIM"))
                                              : fs::path(bin_dir ? bin_dir : ".") / "hoist-vcsim";
    if (!fs::exists(bin)) {
      error =
          "hoist-vcsim not found at " + bin.string() + " (build target hoist_vcsim; run scripts/setup.sh)";
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "hoist-vsphere-it-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      error = "mkdtemp failed";
      return;
    }
    dir = tmpl;
    std::ofstream(dir / "world.json") << LabWorld(dir).dump();
    std::vector<std::string> args = {
        bin.string(), "--world=" + (dir / "world.json").string(), "--state-dir=" + (dir / "state").string(),
        "--san-dir=" + (dir / "san").string(), "--url-file=" + (dir / "inventory.json").string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, (dir / "stdout.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&fa, 2, (dir / "stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      error = "cannot start hoist-vcsim";
      pid = 0;
      return;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!fs::exists(dir / "inventory.json")) {
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = 0;
        error = "hoist-vcsim exited: " + ReadFile(dir / "stderr.log");
        return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        error = "hoist-vcsim did not start within 30 s";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    inventory = nlohmann::json::parse(ReadFile(dir / "inventory.json"));
  }

  void Stop() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status;
      waitpid(pid, &status, 0);
      pid = 0;
    }
    if (!dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      dir.clear();
    }
  }
};

class VcsimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sim_.Start({});
    setup_error_ = sim_.error;
    inventory_ = sim_.inventory;
  }
  static void TearDownTestSuite() { sim_.Stop(); }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static ClientOptions Options() {
    ClientOptions o;
    o.url = inventory_["url"].get<std::string>();
    o.username = "administrator@vsphere.local";
    o.password = "lab-password";
    return o;
  }

  static ManagedObjectReference Host() {
    return {"HostSystem", inventory_["hosts"]["esx1.lab"]["moref"].get<std::string>()};
  }

  static inline Vcsim sim_;
  static inline std::string setup_error_;
  static inline nlohmann::json inventory_;
};

TEST_F(VcsimTest, FindsTheVmItsDisksHostAdaptersAndDatastoreLun) {
  Client c(Options());
  c.Login();
  EXPECT_EQ(c.service_content().api_type, "VirtualCenter");
  Inventory inv(c);

  const auto& vm_json = inventory_["vms"]["vm1"];
  ManagedObjectReference vm_ref = inv.ResolveVm(vm_json["moref"].get<std::string>());
  VmInfo vm = inv.GetVm(vm_ref);
  EXPECT_EQ(vm.name, "vm1");
  EXPECT_EQ(vm.host, Host());
  ASSERT_EQ(vm.disks.size(), 2u);
  EXPECT_EQ(vm.disks[0].file_name, "[san-ds1] vm1/vm1.vmdk");
  EXPECT_EQ(vm.disks[0].backing, DiskBacking::kFlat);
  EXPECT_EQ(vm.disks[0].capacity_bytes, 1048576);
  // The second disk runs on a snapshot delta; the populator is given the base disk.
  const VirtualDisk* extra = FindDiskByPath(vm.disks, "[san-ds1] vm1/extra.vmdk");
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(extra->capacity_bytes, 2097152);
  EXPECT_FALSE(extra->parent_files.empty());

  // The same VM by inventory path.
  auto by_path = inv.FindByInventoryPath("DC0/vm/vm1");
  ASSERT_TRUE(by_path.has_value());
  EXPECT_EQ(*by_path, vm_ref);

  HostInfo host = inv.GetHost(vm.host);
  EXPECT_EQ(host.name, "esx1.lab");
  std::vector<std::string> initiators;
  for (const auto& a : host.storage.adapters) {
    if (a.is_iscsi() || a.is_fc()) initiators.push_back(a.InitiatorId());
  }
  std::sort(initiators.begin(), initiators.end());
  EXPECT_EQ(initiators, inventory_["hosts"]["esx1.lab"]["initiators"].get<std::vector<std::string>>());

  auto ds = inv.FindHostDatastore(host, "san-ds1");
  ASSERT_TRUE(ds.has_value());
  EXPECT_EQ(ds->info_type, "VmfsDatastoreInfo");
  ASSERT_EQ(ds->extents.size(), 1u);
  EXPECT_EQ(ds->extents[0], kNaa);
  ASSERT_NE(host.storage.FindLun(kNaa), nullptr);
  auto active = host.storage.ActiveAdapters(kNaa);
  ASSERT_FALSE(active.empty());
  EXPECT_EQ(active[0]->InitiatorId(), kIqn);  // the datastore's transport is iSCSI

  inv.RescanAllHba(host.ref);
  inv.RescanVmfs(host.ref);
}

TEST_F(VcsimTest, FindsTheVmByUuid) {
  Client c(Options());
  c.Login();
  Inventory inv(c);
  const auto& vm_json = inventory_["vms"]["vm1"];
  EXPECT_EQ(inv.ResolveVm(vm_json["uuid"].get<std::string>()),
            (ManagedObjectReference{"VirtualMachine", vm_json["moref"].get<std::string>()}));
}

TEST_F(VcsimTest, MissingVmIsAPreconditionNamingTheVm) {
  Client c(Options());
  c.Login();
  Inventory inv(c);
  try {
    inv.GetVm({"VirtualMachine", "vm-999999"});
    FAIL() << "expected ManagedObjectNotFound";
  } catch (const Fault& f) {
    EXPECT_EQ(f.fault_type(), "ManagedObjectNotFound");
    EXPECT_EQ(f.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(f.what()).find("vm-999999"), std::string::npos) << f.what();
  }
}

TEST_F(VcsimTest, RemoteEsxcliCostsOneRoundTripPerCommandAfterWarmUp) {
  Client c(Options());
  c.Login();
  Esxcli cli(c);
  uint64_t before = c.round_trips();
  EsxcliResult r = cli.Run(Host(), {"storage", "core", "device", "list", "-d", kNaa});
  ASSERT_EQ(r.kind, EsxcliResult::Kind::kRows);
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.Field(0, "Device"), kNaa);
  EXPECT_EQ(r.Field(0, "Status"), "on");
  EXPECT_EQ(c.round_trips() - before, 3u);  // executer, CLIInfo, command

  for (int i = 0; i < 3; ++i) {
    before = c.round_trips();
    r = cli.Run(Host(), {"storage", "core", "device", "list", "--device", kNaa});
    EXPECT_EQ(c.round_trips() - before, 1u);
    EXPECT_EQ(r.Field(0, "Status"), "on");
  }
  before = c.round_trips();
  r = cli.Run(Host(), {"system", "hostname", "get"});  // no options: no CLIInfo needed
  EXPECT_EQ(c.round_trips() - before, 1u);
  EXPECT_FALSE(r.Field(0, "HostName").empty());

  try {
    cli.Execute(Host(), "storage core device", "list",
                {{"device", {"naa.0000000000000000000000000000dead"}}});
    FAIL() << "expected a CLI fault";
  } catch (const Fault& f) {
    EXPECT_EQ(f.fault_type(), "VimEsxCLICLIFault") << f.what();
    EXPECT_EQ(f.error_class(), ErrorClass::kPrecondition);
  }
  try {
    cli.Run(Host(), {"nosuchnamespace", "version"});
    FAIL() << "expected NotFound";
  } catch (const Fault& f) {
    EXPECT_EQ(f.fault_type(), "NotFound") << f.what();
  }
}

TEST_F(VcsimTest, LogsInAgainAfterTheSessionWasTerminated) {
  Client victim(Options());
  victim.Login();
  Client admin(Options());
  admin.Login();
  admin.Call("TerminateSession", admin.service_content().session_manager,
             TextXml("sessionId", victim.session_key()));

  Inventory inv(victim);
  VmInfo vm = inv.GetVm({"VirtualMachine", inventory_["vms"]["vm1"]["moref"].get<std::string>()});
  EXPECT_EQ(vm.name, "vm1");
  EXPECT_EQ(victim.logins(), 2u);
}

TEST_F(VcsimTest, WaitsForTasks) {
  Client c(Options());
  c.Login();
  Inventory inv(c);
  ManagedObjectReference vm{"VirtualMachine", inventory_["vms"]["vm1"]["moref"].get<std::string>()};
  XmlNode r = c.Call("PowerOnVM_Task", vm);
  TaskInfo t = inv.WaitForTask(ParseMoref(*r.Child("returnval")), std::chrono::seconds(30));
  EXPECT_EQ(t.state, "success");
  // Powering on a running VM fails inside the task: the task's fault becomes the error.
  r = c.Call("PowerOnVM_Task", vm);
  try {
    inv.WaitForTask(ParseMoref(*r.Child("returnval")), std::chrono::seconds(30));
    FAIL() << "expected the task to fail";
  } catch (const Fault& f) {
    EXPECT_EQ(f.fault_type(), "InvalidPowerState") << f.what();
  }
  r = c.Call("PowerOffVM_Task", vm);
  EXPECT_EQ(inv.WaitForTask(ParseMoref(*r.Child("returnval")), std::chrono::seconds(30)).state, "success");
}

// Against the simulator serving https: verified with its CA, refused without it.
TEST(VcsimTls, VerifiesTheCertificateAgainstTheGivenCa) {
  Vcsim sim;
  sim.Start({"--tls"});
  ASSERT_TRUE(sim.error.empty()) << sim.error;
  ClientOptions o;
  o.url = sim.inventory["url"].get<std::string>();
  o.username = "administrator@vsphere.local";
  o.password = "lab-password";
  o.keepalive_interval = std::chrono::milliseconds(0);
  {
    ClientOptions trusting = o;
    trusting.tls.ca_file = sim.inventory["caFile"].get<std::string>();
    Client c(trusting);
    EXPECT_NO_THROW(c.Login());
  }
  {
    Client c(o);
    try {
      c.Login();
      ADD_FAILURE() << "login without the CA succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
    }
  }
  sim.Stop();
}

}  // namespace
}  // namespace hoist::vsphere

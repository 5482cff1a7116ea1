// The clone executors (esxi::CloneExecutor) and host storage operations (esxi::HostStorage) against
// real peers: hoist-vcsim (VMware's simulator with remote esxcli running hoist's wrapper under
// BusyBox) for the VIB method, and real OpenSSH sshd with the restricted key's forced command
// running the wrapper against the same simulated host for the SSH method. The wrapper the SSH method
// runs is uploaded by the executor through vCenter's datastore file access. Every case checks what
// an administrator would see: the bytes on the LUN, the task directory and RDM files left on the
// host (none), the device state, and the words of the error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/subprocess.h"
#include "esxi/host_storage.h"
#include "esxi/ssh_executor.h"
#include "esxi/vib.h"
#include "esxi/vib_executor.h"
#include "esxi/wrapper_command.h"
#include "populators/xcopy/esxi_vsphere.h"
#include "vsphere/client.h"
#include "vsphere/datastore_file.h"
#include "vsphere/esxcli.h"

extern char** environ;

namespace hoist::esxi {
namespace {

namespace fs = std::filesystem;
using populators::xcopy::VsphereDatastoreUploader;
using populators::xcopy::VsphereEsxcliRunner;

constexpr const char* kDatastore = "san ds 1";
constexpr const char* kDatastoreNaa = "naa.600a098038314d2d4c244a6f6b6b6f31";
constexpr const char* kIqn = "iqn.1998-01.com.vmware:esx1-0001";
// A VMDK whose path has spaces and both kinds of quotes.
constexpr const char* kVmdkRel = "vm1/it's a \"disk\".vmdk";
constexpr std::int64_t kDiskBytes = 64 * 1024 * 1024;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& data, mode_t mode = 0644) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << data;
  }
  ::chmod(p.c_str(), mode);
}

std::string RunTool(const std::vector<std::string>& argv) {
  ProcessOptions o;
  const char* path = std::getenv("PATH");
  o.env = {"PATH=" + std::string(path ? path : "/usr/bin:/bin"), "HOME=/tmp"};
  ProcessResult r = RunProcess(argv, o);
  if (!r.ok()) throw std::runtime_error(argv[0] + " failed: " + r.err);
  return r.out;
}

int FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

pid_t Spawn(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  return pid;
}

void Stop(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

fs::path lab_dir_for_ps;

// Whether a process runs (a zombie waiting for its parent does not count).
bool Alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// Command lines of processes that use an SSH executor's private directory (its connection master).
std::string ExecutorProcesses() {
  std::string found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = ReadFile(e.path() / "cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find((lab_dir_for_ps / "tmp" / "hoist-ssh.").string()) != std::string::npos) found += cmd + "\n";
  }
  return found;
}

// An uploader that counts what it puts on the datastore.
class CountingUploader : public DatastoreUploader {
 public:
  explicit CountingUploader(DatastoreUploader& inner) : inner_(inner) {}
  void Upload(std::string_view ds, std::string_view path, std::string_view content) override {
    ++uploads;
    inner_.Upload(ds, path, content);
  }
  std::atomic<int> uploads{0};

 private:
  DatastoreUploader& inner_;
};

// An esxcli runner whose first taskGet fails as a sporadic SOAP error would.
class FlakyTaskGet : public EsxcliRunner {
 public:
  explicit FlakyTaskGet(EsxcliRunner& inner) : inner_(inner) {}
  EsxcliOutput Run(const esxi::EsxcliCommand& command) override {
    if (command.path().size() > 1 && command.path()[1] == "taskGet" && task_gets++ == 0)
      throw TransientError(
          "vSphere ExecuteSoap on ReflectManagedMethodExecuter: SystemError \"A general system error "
          "occurred\"");
    return inner_.Run(command);
  }
  std::string host() const override { return inner_.host(); }
  std::atomic<int> task_gets{0};

 private:
  EsxcliRunner& inner_;
};

// One simulated vCenter + ESXi host (hoist-vcsim) and an sshd whose restricted key runs the wrapper
// against that host's file system; shared by all tests of the suite.
struct Lab {
  fs::path dir, root, ds_dir, bin;
  std::optional<std::string> saved_tmpdir;  // TMPDIR before Start, restored by the destructor
  pid_t vcsim = -1, sshd = -1;
  int ssh_port = 0;
  nlohmann::json inventory;
  vsphere::ManagedObjectReference host;
  std::unique_ptr<vsphere::Client> client;
  std::unique_ptr<vsphere::Esxcli> esxcli;
  std::unique_ptr<VsphereEsxcliRunner> runner;
  std::unique_ptr<VsphereDatastoreUploader> uploader;
  std::string data;
  std::string client_key, host_key_pub, stranger_key, free_key;
  int next_lun = 1;

  void Start() {
    const char* bin_dir = std::getenv("HOIST_BIN_DIR");
    if (bin_dir == nullptr)
      throw std::runtime_error("HOIST_BIN_DIR must name the directory holding hoist-vcsim");
    fs::path vcsim_bin = fs::path(bin_dir) / "hoist-vcsim";
    if (!fs::exists(vcsim_bin)) throw std::runtime_error(vcsim_bin.string() + " is missing");
    std::string tmpl = (fs::temp_directory_path() / "esxi-executors.XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    dir = tmpl;
    ::chmod(dir.c_str(), 0755);
    // The SSH executors' private directories (key, known_hosts, connection socket) go here, so the
    // tests can tell their processes from those of other tests running at the same time.
    fs::create_directories(dir / "tmp");
    lab_dir_for_ps = dir;
    if (const char* t = std::getenv("TMPDIR")) saved_tmpdir = t;
    ::setenv("TMPDIR", (dir / "tmp").c_str(), 1);
    ds_dir = dir / "ds";
    fs::create_directories(ds_dir);
    fs::create_directories(dir / "san" / kIqn);

    std::mt19937_64 rng(7);
    data.resize(1024 * 1024 + 512);
    for (auto& c : data) c = static_cast<char>(rng());
    WriteFile(dir / "data.bin", data);

    nlohmann::json world = {
        {"sanDir", (dir / "san").string()},
        // vmkfstools copies 1 MiB per 1 % step, so a 64 MiB disk makes 64 steps of 30 ms.
        {"env", {{"HOIST_FAKE_VMKFSTOOLS_DELAY", "0.03"}}},
        {"hosts", {{{"name", "esx1.lab"}, {"iqn", kIqn}}}},
        {"datastores",
         {{{"name", kDatastore}, {"naa", kDatastoreNaa}, {"dir", ds_dir.string()}, {"array", "ontap1"}}}},
        {"vms",
         {{{"name", "vm1"},
           {"disks",
            {{{"vmdk", kVmdkRel}, {"capacityBytes", kDiskBytes}, {"data", (dir / "data.bin").string()}}}}}}},
    };
    WriteFile(dir / "world.json", world.dump());
    vcsim = Spawn({vcsim_bin.string(), "--world", (dir / "world.json").string(), "--state-dir",
                   (dir / "state").string(), "--url-file", (dir / "inventory.json").string()},
                  dir / "vcsim.log");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(dir / "inventory.json")) {
      int status = 0;
      if (waitpid(vcsim, &status, WNOHANG) != 0)
        throw std::runtime_error("hoist-vcsim exited: " + ReadFile(dir / "vcsim.log"));
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("hoist-vcsim did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    inventory = nlohmann::json::parse(ReadFile(dir / "inventory.json"));
    host = {"HostSystem", inventory["hosts"]["esx1.lab"]["moref"].get<std::string>()};
    root = inventory["hosts"]["esx1.lab"]["root"].get<std::string>();

    vsphere::ClientOptions options;
    options.url = inventory["url"].get<std::string>();
    options.username = "administrator@vsphere.local";
    options.password = "lab";
    options.keepalive_interval = std::chrono::milliseconds(0);
    client = std::make_unique<vsphere::Client>(options);
    client->Login();
    esxcli = std::make_unique<vsphere::Esxcli>(*client);
    runner = std::make_unique<VsphereEsxcliRunner>(*esxcli, host, "esx1.lab");
    vsphere::DatastoreFiles files(*client);
    uploader = std::make_unique<VsphereDatastoreUploader>(*client, files.DatacenterPath(host));
    StartSshd();
  }

  void StartSshd() {
    const char* busybox = "/bin/busybox";
    if (!fs::exists(busybox)) throw std::runtime_error("busybox is not installed");
    bin = dir / "bin";
    fs::create_directories(bin);
    for (const char* applet : {"sh",   "cat",   "chmod",  "cut",    "dd",    "echo",     "find",    "grep",
                               "head", "kill",  "logger", "ls",     "mkdir", "mv",       "od",      "printf",
                               "rm",   "rmdir", "sed",    "setsid", "sleep", "tail",     "touch",   "tr",
                               "wc",   "awk",   "stat",   "expr",   "sort",  "basename", "dirname", "ln"}) {
      fs::create_symlink(busybox, bin / applet);
    }
    // The wrapper sees only BusyBox, as on ESXi; the lab's vmkfstools and vsish (stand-ins for
    // ESXi's own binaries) run with the system's tools.
    fs::path fakes = fs::path(HOIST_TEST_SOURCE_DIR) / "src/lab/sim/vcsim/fakes";
    for (const char* f : {"vmkfstools", "vsish"}) {
      WriteFile(bin / f, "#!/bin/sh\nPATH=/usr/bin:/bin exec /bin/sh '" + (fakes / f).string() + "' \"$@\"\n",
                0755);
    }
    auto keygen = [&](const std::string& name) {
      RunTool({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hoist-it-" + name, "-f",
               (dir / name).string()});
      return (dir / name).string();
    };
    client_key = ReadFile(keygen("client_key"));
    stranger_key = ReadFile(keygen("stranger_key"));
    free_key = ReadFile(keygen("free_key"));
    keygen("host_key");
    host_key_pub = ReadFile(dir / "host_key.pub");
    // The line an administrator pastes on ESXi (here /vmfs lives under the host root), plus a
    // key without the forced command, as a wrongly installed key would be.
    std::string line = RestrictedKeyLine(ReadFile(dir / "client_key.pub"));
    for (std::size_t p; (p = line.find("/vmfs/volumes/")) != std::string::npos;)
      line.replace(p, 14, root.string() + "/vmfs/VOLUMES/");
    for (std::size_t p; (p = line.find("/vmfs/VOLUMES/")) != std::string::npos;)
      line.replace(p, 14, "/vmfs/volumes/");
    WriteFile(dir / "authorized_keys", line + "\n" + ReadFile(dir / "free_key.pub"));

    fs::create_directories("/run/sshd");
    for (int attempt = 0; attempt < 5; ++attempt) {
      ssh_port = FreePort();
      std::ostringstream cfg;
      cfg << "Port " << ssh_port << "\nListenAddress 127.0.0.1\nHostKey " << (dir / "host_key").string()
          << "\nAuthorizedKeysFile " << (dir / "authorized_keys").string() << "\nPidFile "
          << (dir / "sshd.pid").string()
          << "\nUsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
          << "PermitRootLogin prohibit-password\nLogLevel VERBOSE\n"
          << "SetEnv PATH=" << bin.string() << " HOIST_WRAPPER_ROOT_FOR_TEST=" << root.string()
          << " HOIST_ESXI_ROOT=" << root.string() << " HOIST_FAKE_VMKFSTOOLS_DELAY=0.03 HOIST_FAKE_XCOPY=1\n";
      WriteFile(dir / "sshd_config", cfg.str());
      sshd = Spawn({"/usr/sbin/sshd", "-D", "-e", "-f", (dir / "sshd_config").string()}, dir / "sshd.log");
      for (int i = 0; i < 200; ++i) {
        if (ReadFile(dir / "sshd.log").find("Server listening") != std::string::npos) return;
        int status = 0;
        if (waitpid(sshd, &status, WNOHANG) != 0) {
          sshd = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      Stop(sshd);
    }
    throw std::runtime_error("sshd did not start: " + ReadFile(dir / "sshd.log"));
  }

  ~Lab() {
    runner.reset();
    esxcli.reset();
    uploader.reset();
    client.reset();
    Stop(sshd);
    Stop(vcsim);
    // The next suite's lab makes its directory under the TMPDIR the program started with.
    if (saved_tmpdir) {
      ::setenv("TMPDIR", saved_tmpdir->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
    if (!dir.empty() && !std::getenv("HOIST_KEEP_TEST_DIR")) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }

  // A new LUN on the same array, mapped to the host's initiator (what the array does before a clone).
  std::string MapNewLun(int lun_id = -1) {
    char naa[64];
    std::snprintf(naa, sizeof naa, "naa.600a09803830303030303030303030%02x", next_lun++);
    fs::path backing = dir / (std::string(naa) + ".img");
    WriteFile(backing, std::string(2 * 1024 * 1024, '\x5a'));  // stale bytes, as a reused LUN has
    fs::resize_file(backing, kDiskBytes);
    nlohmann::json entry = {{"backing", backing.string()}, {"array", "ontap1"}};
    if (lun_id >= 0) entry["lunId"] = lun_id;
    WriteFile(dir / "san" / kIqn / (std::string(naa) + ".tmp"), entry.dump());
    fs::rename(dir / "san" / kIqn / (std::string(naa) + ".tmp"), dir / "san" / kIqn / naa);
    return naa;
  }
  void Unmap(const std::string& naa) { fs::remove(dir / "san" / kIqn / naa); }
  std::string Lun(const std::string& naa) { return ReadFile(dir / (naa + ".img")); }

  std::vector<std::string> TaskDirs() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(root / "tmp"))
      if (e.path().filename().string().rfind("vmkfstools-wrapper-", 0) == 0)
        out.push_back(e.path().filename());
    return out;
  }
  // Files vmkfstools left next to the source VMDK (RDM descriptors and mapping files).
  std::vector<std::string> RdmFiles() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(ds_dir / "vm1")) {
      std::string n = e.path().filename();
      if (n.find("-xcopy-") != std::string::npos || n.find("rdm") != std::string::npos) out.push_back(n);
    }
    return out;
  }

  SshExecutorOptions SshOptions() {
    SshExecutorOptions o;
    o.address = "127.0.0.1";
    o.port = ssh_port;
    o.host_name = "esx1.lab";
    o.private_key = client_key;
    o.datastore = kDatastore;
    o.known_hosts = host_key_pub;
    o.connect_timeout = std::chrono::seconds(10);
    o.command_timeout = std::chrono::seconds(30);
    o.retry.first_delay = std::chrono::milliseconds(50);
    o.retry.max_delay = std::chrono::milliseconds(100);
    return o;
  }
};

Lab* lab = nullptr;

class ExecutorTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    lab = new Lab();
    try {
      lab->Start();
    } catch (const std::exception& e) {
      std::string log =
          lab->dir.empty() ? "" : ReadFile(lab->dir / "vcsim.log") + ReadFile(lab->dir / "sshd.log");
      delete lab;
      lab = nullptr;
      FAIL() << e.what() << "\n" << log;
    }
  }
  static void TearDownTestSuite() {
    delete lab;
    lab = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(lab, nullptr) << "the lab did not start";
    counting_ = std::make_unique<CountingUploader>(*lab->uploader);
    flaky_ = std::make_unique<FlakyTaskGet>(*lab->runner);
    executor_ = Make(GetParam());
    storage_ = std::make_unique<HostStorage>(*lab->runner, FastStorage());
  }

  static HostStorageOptions FastStorage() {
    HostStorageOptions o;
    o.rescan_interval = std::chrono::milliseconds(50);
    o.rescan_retry_interval = std::chrono::milliseconds(50);
    return o;
  }

  std::unique_ptr<CloneExecutor> Make(const std::string& method, bool flaky = false) {
    if (method == "vib") {
      VibExecutorOptions o;
      o.retry.first_delay = std::chrono::milliseconds(50);
      return MakeVibExecutor(flaky ? static_cast<EsxcliRunner&>(*flaky_) : *lab->runner, o);
    }
    SshExecutorOptions o = lab->SshOptions();
    if (flaky) {
      // An ssh whose first task-get session drops, as a flaky management network would do it.
      fs::path mark = lab->dir / ("flaky-" + std::to_string(++flaky_count_));
      std::string script =
          "#!/bin/sh\ncase \"$*\" in *--task-get*) if [ ! -e '" + mark.string() + "' ]; then : > '" +
          mark.string() +
          "'; echo 'Connection closed by 127.0.0.1 port 22' >&2; exit 255; fi;; esac\nexec ssh \"$@\"\n";
      WriteFile(lab->dir / "flaky-ssh", script, 0755);
      o.ssh_program = (lab->dir / "flaky-ssh").string();
    }
    return MakeSshExecutor(o, counting_.get());
  }

  std::string Source() { return "/vmfs/volumes/" + std::string(kDatastore) + "/" + kVmdkRel; }

  // Polls until the task has ended; checks that progress never goes backwards.
  CloneTaskStatus WaitDone(CloneExecutor& ex, const CloneTask& t) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int last = -1;
    while (true) {
      CloneTaskStatus st = ex.GetStatus(t, {});
      if (st.progress_percent) {
        EXPECT_GE(*st.progress_percent, last) << "progress went backwards";
        last = *st.progress_percent;
      }
      if (st.finished()) return st;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "clone did not finish: " << st.last_line;
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Waits until vmkfstools has made some progress.
  void WaitRunning(CloneExecutor& ex, const CloneTask& t) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      CloneTaskStatus st = ex.GetStatus(t, {});
      ASSERT_FALSE(st.finished()) << "the clone ended before the test could act: " << st.last_line;
      if (st.progress_percent.value_or(0) >= 5) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "no progress";
  }

  void ExpectNothingLeft() {
    EXPECT_EQ(lab->TaskDirs(), std::vector<std::string>{}) << "task directories left on the host";
    EXPECT_EQ(lab->RdmFiles(), std::vector<std::string>{}) << "RDM files left next to the source VMDK";
  }

  std::unique_ptr<CountingUploader> counting_;
  std::unique_ptr<FlakyTaskGet> flaky_;
  std::unique_ptr<CloneExecutor> executor_;
  std::unique_ptr<HostStorage> storage_;
  static inline int flaky_count_ = 0;
};

TEST_P(ExecutorTest, ClonesTheDiskOntoTheLunAndLeavesNothingBehind) {
  std::string naa = lab->MapNewLun();
  ScsiDevice dev = storage_->WaitForDevice(naa, {});
  EXPECT_EQ(dev.status, "on");
  EXPECT_EQ(dev.devfs_path, "/vmfs/devices/disks/" + naa);

  WrapperVersion v = executor_->Prepare({});
  EXPECT_EQ(v.implementation, "hoist");
  EXPECT_EQ(v.version, ScriptVersion(EmbeddedWrapperScript()));
  CloneTask t = executor_->StartClone({Source(), "/vmfs/devices/disks/" + naa});
  EXPECT_EQ(t.task_id.size(), 36u);
  CloneTaskStatus st = WaitDone(*executor_, t);
  EXPECT_TRUE(st.succeeded()) << st.std_err;
  EXPECT_EQ(st.progress_percent, 100);
  EXPECT_EQ(st.xcopy_used, true) << "source and target LUN are on the same array";
  EXPECT_GT(st.clone_write_ops.value_or(0), 0u);

  std::string lun = lab->Lun(naa);
  ASSERT_EQ(lun.size(), static_cast<std::size_t>(kDiskBytes));
  EXPECT_TRUE(lun.compare(0, lab->data.size(), lab->data) == 0) << "the LUN holds the VMDK's bytes";
  EXPECT_EQ(lun.find_first_not_of('\0', lab->data.size()), std::string::npos) << "stale bytes overwritten";

  executor_->Clean(t);
  ExpectNothingLeft();
  executor_.reset();
  // `ssh -O exit` returns when the master has acknowledged; the master exits right after. Without the
  // exit it would linger for ControlPersist (60 s).
  std::string left = ExecutorProcesses();
  for (int i = 0; i < 100 && !left.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = ExecutorProcesses();
  }
  EXPECT_EQ(left, "") << "the SSH connection outlived its executor";
  EXPECT_TRUE(fs::is_empty(lab->dir / "tmp")) << "the executor's key directory was not removed";
  storage_->DetachDevice(naa);
  EXPECT_FALSE(storage_->FindDevice(naa).has_value());
  lab->Unmap(naa);
  storage_->RescanDeadPaths("vmhba65");
  EXPECT_FALSE(storage_->FindDevice(naa).has_value()) << "no device left on the host";
}

TEST_P(ExecutorTest, ACloneThatFailsOnTheHostReportsVmkfstoolsReason) {
  std::string naa = lab->MapNewLun();
  storage_->WaitForDevice(naa, {});
  CloneTask t = executor_->StartClone(
      {"/vmfs/volumes/" + std::string(kDatastore) + "/vm1/no such disk.vmdk", "/vmfs/devices/disks/" + naa});
  CloneTaskStatus st = WaitDone(*executor_, t);
  EXPECT_TRUE(st.finished());
  EXPECT_FALSE(st.succeeded());
  EXPECT_NE(st.std_err.find("Could not find the file"), std::string::npos) << st.std_err;
  executor_->Clean(t);
  ExpectNothingLeft();
  storage_->DetachDevice(naa);
  lab->Unmap(naa);
}

TEST_P(ExecutorTest, ATaskGetThatFailsOnceIsRetried) {
  auto ex = Make(GetParam(), /*flaky=*/true);
  std::string naa = lab->MapNewLun();
  storage_->WaitForDevice(naa, {});
  CloneTask t = ex->StartClone({Source(), "/vmfs/devices/disks/" + naa});
  CloneTaskStatus st = WaitDone(*ex, t);
  EXPECT_TRUE(st.succeeded()) << st.std_err;
  if (GetParam() == "vib") {
    EXPECT_GE(flaky_->task_gets.load(), 2);
  }
  EXPECT_TRUE(lab->Lun(naa).compare(0, lab->data.size(), lab->data) == 0);
  ex->Clean(t);
  ExpectNothingLeft();
  storage_->DetachDevice(naa);
  lab->Unmap(naa);
}

TEST_P(ExecutorTest, StopDuringACloneEndsVmkfstoolsOnTheHost) {
  std::string naa = lab->MapNewLun();
  storage_->WaitForDevice(naa, {});
  CloneTask t = executor_->StartClone({Source(), "/vmfs/devices/disks/" + naa});
  ASSERT_TRUE(t.pid.has_value());
  WaitRunning(*executor_, t);
  EXPECT_TRUE(executor_->Stop(t)) << "the clone was running";
  EXPECT_FALSE(Alive(static_cast<pid_t>(*t.pid))) << "vmkfstools' task still runs on the host";
  ExpectNothingLeft();
  try {
    executor_->GetStatus(t, {});
    ADD_FAILURE() << "a stopped task is still known";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown to the ESXi host"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(executor_->Stop(t)) << "stopping twice is harmless";
  storage_->DetachDevice(naa);
  lab->Unmap(naa);
}

TEST_P(ExecutorTest, ACloneProcessThatDiesIsReportedAsFailed) {
  std::string naa = lab->MapNewLun();
  storage_->WaitForDevice(naa, {});
  CloneTask t = executor_->StartClone({Source(), "/vmfs/devices/disks/" + naa});
  WaitRunning(*executor_, t);
  // The host kills the task (out of memory in hostd-tmp, an administrator…).
  ASSERT_EQ(::kill(-static_cast<pid_t>(*t.pid), SIGKILL), 0);
  CloneTaskStatus st = WaitDone(*executor_, t);
  EXPECT_FALSE(st.succeeded());
  EXPECT_NE(st.std_err.find("ended without recording an exit code"), std::string::npos) << st.std_err;
  executor_->Clean(t);
  ExpectNothingLeft();
  storage_->DetachDevice(naa);
  lab->Unmap(naa);
}

TEST_P(ExecutorTest, StaleTaskDirectoriesArePurgedByTheNextClone) {
  // A task of a populator that died 6 days ago: its process is gone, its directory remains.
  fs::path stale = lab->root / "tmp" / "vmkfstools-wrapper-0badc0de-0000-4000-8000-00000000beef";
  fs::create_directories(stale);
  WriteFile(stale / "pid", "999999");
  WriteFile(stale / "out", "Clone: 42% done.");
  auto old = std::chrono::system_clock::now() - std::chrono::hours(24 * 6);
  timespec times[2];
  times[0].tv_sec = times[1].tv_sec = std::chrono::system_clock::to_time_t(old);
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, stale.c_str(), times, 0), 0);
  std::string naa = lab->MapNewLun();
  storage_->WaitForDevice(naa, {});
  CloneTask t = executor_->StartClone({Source(), "/vmfs/devices/disks/" + naa});
  EXPECT_FALSE(fs::exists(stale)) << "the stale task directory was not purged";
  executor_->Stop(t);
  ExpectNothingLeft();
  storage_->DetachDevice(naa);
  lab->Unmap(naa);
}

INSTANTIATE_TEST_SUITE_P(Methods, ExecutorTest, ::testing::Values("vib", "ssh"),
                         [](const auto& info) { return info.param; });

// ---- host storage --------------------------------------------------------------------------------

class StorageTest : public ExecutorTest {};

TEST_P(StorageTest, ALunIdAboveMaxLunIsRefusedWithTheFix) {
  std::string naa = lab->MapNewLun(1500);
  try {
    storage_->WaitForDevice(naa, {}, 1500);
    FAIL() << "a LUN id above Disk.MaxLUN was waited for";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("Disk.MaxLUN (1024)"), std::string::npos) << e.what();
  }
  // Without the id the wait ends after its rescans and still names Disk.MaxLUN.
  try {
    storage_->WaitForDevice(naa, {});
    FAIL() << "a device above Disk.MaxLUN became visible";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did not become visible on esx1.lab"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("Disk.MaxLUN (1024)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(storage_->IntSetting("/Disk/MaxLUN"), 1024);
  lab->Unmap(naa);
}

// Records every command on its way to the host.
class RecordingRunner : public EsxcliRunner {
 public:
  explicit RecordingRunner(EsxcliRunner& inner) : inner_(inner) {}
  EsxcliOutput Run(const esxi::EsxcliCommand& command) override {
    commands.push_back(command);
    return inner_.Run(command);
  }
  std::string host() const override { return inner_.host(); }
  std::vector<esxi::EsxcliCommand> commands;

 private:
  EsxcliRunner& inner_;
};

// A whole VIB clone cycle (device wait, version, clone, polls, clean, detach, dead-path rescan) costs
// one SOAP round trip per command plus the executer lookup: the parameters are named, so no CLIInfo
// is fetched. The names are the ones the host's CLIInfo gives for the options an administrator types.
TEST_P(StorageTest, EveryCommandOfACloneNamesItsParametersAsTheHostDoes) {
  vsphere::Esxcli fresh(*lab->client);
  VsphereEsxcliRunner runner(fresh, lab->host, "esx1.lab");
  RecordingRunner recording(runner);
  HostStorage storage(recording, FastStorage());
  VibExecutorOptions vo;
  vo.retry.first_delay = std::chrono::milliseconds(50);
  auto vib = MakeVibExecutor(recording, vo);

  std::string naa = lab->MapNewLun();
  uint64_t before = lab->client->round_trips();
  storage.WaitForDevice(naa, {}, 7);
  vib->Prepare({});
  CloneTask t = vib->StartClone({Source(), "/vmfs/devices/disks/" + naa});
  EXPECT_TRUE(WaitDone(*vib, t).succeeded());
  vib->Clean(t);
  storage.DetachDevice(naa);
  lab->Unmap(naa);
  storage.RescanDeadPaths("vmhba65");
  EXPECT_EQ(lab->client->round_trips() - before, recording.commands.size() + 1)
      << "one round trip per command, plus RetrieveManagedMethodExecuter";

  // The CLIInfo of each namespace used, straight from the host.
  vsphere::XmlNode ex = lab->client->Call("RetrieveManagedMethodExecuter", lab->host);
  vsphere::ManagedObjectReference executer = vsphere::ParseMoref(*ex.Child("returnval"));
  std::set<std::string> checked;
  for (const auto& c : recording.commands) {
    ASSERT_TRUE(c.named()) << c.ToString();
    std::vector<std::string> ns(c.path().begin(), c.path().end() - 1);
    std::string dotted;
    for (const auto& w : ns) dotted += (dotted.empty() ? "" : ".") + w;
    vsphere::XmlNode r = lab->client->Call(
        "ExecuteSoap", executer,
        vsphere::BuildExecuteSoapParams("ha-dynamic-type-manager-local-cli-cliinfo", "vim.CLIInfo.FetchCLIInfo",
                                        {{"typeName", {"vim.EsxCLI." + dotted}}}));
    vsphere::CliInfo info = vsphere::DecodeCliInfo(r.Child("returnval")->ChildText("response"));
    const vsphere::CliMethod* m = info.Method(c.path().back());
    ASSERT_NE(m, nullptr) << c.ToString();
    std::vector<std::string> argv = c.Argv();
    std::vector<std::string> options(argv.begin() + static_cast<std::ptrdiff_t>(c.path().size()), argv.end());
    std::vector<vsphere::EsxcliArgument> mapped = vsphere::MapCliOptions(*m, c.ToString(), options);
    ASSERT_EQ(mapped.size(), c.options().size()) << c.ToString();
    for (std::size_t i = 0; i < mapped.size(); ++i) {
      EXPECT_EQ(mapped[i].name, c.options()[i].param) << c.ToString();
    }
    checked.insert(c.ToString().substr(0, c.ToString().find(" -")));
  }
  EXPECT_GE(checked.size(), 8u) << "device list/set, detached remove, adapter rescan, settings, vmkfstools ×4";
}

INSTANTIATE_TEST_SUITE_P(Esxcli, StorageTest, ::testing::Values("vib"),
                         [](const auto& info) { return info.param; });

// ---- SSH only: host keys, keys, the wrapper upload ----------------------------------------------

class SshTest : public ExecutorTest {};

TEST_P(SshTest, TheWrapperIsUploadedOnlyWhenMissingOrOlder) {
  fs::path wrapper = lab->ds_dir / std::string(kSshWrapperFileName);
  fs::remove(wrapper);
  auto ex = Make("ssh");
  EXPECT_EQ(ex->Prepare({}).implementation, "hoist");
  EXPECT_EQ(counting_->uploads.load(), 1);
  EXPECT_EQ(ReadFile(wrapper), std::string(EmbeddedWrapperScript())) << "uploaded through vCenter's /folder";

  auto again = Make("ssh");
  again->Prepare({});
  EXPECT_EQ(counting_->uploads.load(), 1) << "the same version is not uploaded again";

  WriteFile(wrapper, SetScriptVersion(EmbeddedWrapperScript(), "0.3.3"));
  auto older = Make("ssh");
  EXPECT_EQ(older->Prepare({}).version, ScriptVersion(EmbeddedWrapperScript()));
  EXPECT_EQ(counting_->uploads.load(), 2) << "an older wrapper is replaced";
}

TEST_P(SshTest, HostKeysArePinned) {
  auto prepare = [&](SshExecutorOptions o) -> std::string {
    try {
      MakeSshExecutor(o, counting_.get())->Prepare({});
      return "ok";
    } catch (const Error& e) {
      return std::string(ErrorClassName(e.error_class())) + ": " + e.what();
    }
  };
  SshExecutorOptions o = lab->SshOptions();
  EXPECT_EQ(prepare(o), "ok") << "the host key from /etc/ssh/ssh_host_*_key.pub";

  o.known_hosts = "[127.0.0.1]:22 " +
                  RunTool({"sh", "-c", "cut -d' ' -f1,2 " + (lab->dir / "stranger_key.pub").string()});
  std::string r = prepare(o);
  EXPECT_NE(r.find("does not match the pinned one"), std::string::npos) << r;

  o = lab->SshOptions();
  o.host_key_check = SshHostKeyCheck::kFingerprint;
  std::string fp = SshKeyFingerprint(lab->host_key_pub);
  // Same text as ssh-keygen -l prints.
  EXPECT_NE(RunTool({"ssh-keygen", "-l", "-f", (lab->dir / "host_key.pub").string()}).find(fp),
            std::string::npos)
      << fp;
  o.fingerprints = {fp};
  EXPECT_EQ(prepare(o), "ok");
  o.fingerprints = {SshKeyFingerprint(ReadFile(lab->dir / "stranger_key.pub"))};
  r = prepare(o);
  EXPECT_NE(r.find("none matches the pinned fingerprint"), std::string::npos) << r;
  EXPECT_NE(r.find(fp), std::string::npos) << "names the fingerprint the host offers: " << r;

  o = lab->SshOptions();
  o.known_hosts.clear();
  r = prepare(o);
  EXPECT_NE(r.find("no host key is pinned"), std::string::npos) << r;

  o.host_key_check = SshHostKeyCheck::kAcceptNew;
  o.known_hosts_file = (lab->dir / "tofu_known_hosts").string();
  EXPECT_EQ(prepare(o), "ok");
  EXPECT_NE(
      ReadFile(o.known_hosts_file)
          .find(RunTool({"sh", "-c", "cut -d' ' -f2 " + (lab->dir / "host_key.pub").string()}).substr(0, 40)),
      std::string::npos)
      << "the first key seen is kept";

  o.host_key_check = SshHostKeyCheck::kInsecure;
  EXPECT_EQ(prepare(o), "ok");
}

TEST_P(SshTest, KeyProblemsSayWhatToInstall) {
  SshExecutorOptions o = lab->SshOptions();
  o.private_key = ReadFile(lab->dir / "stranger_key");
  try {
    MakeSshExecutor(o, counting_.get())->Prepare({});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("refused the key"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("hoist esxi ssh-key-line"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("PRIVATE KEY"), std::string::npos) << "no key material in errors";
  }
  o.private_key = ReadFile(lab->dir / "free_key");  // installed without the forced command
  try {
    MakeSshExecutor(o, counting_.get())->Prepare({});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not restricted"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Ssh, SshTest, ::testing::Values("ssh"), [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hoist::esxi

#include "lab/xcopy/world.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "lab/arrays/lab_array.h"
#include "lab/arrays/lab_arrays.h"
#include "lab/cluster.h"
#include "lab/store.h"

extern char** environ;

namespace hoist::lab::xcopy {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw BugError("cannot write " + p.string());
}

std::string Pattern(uint32_t seed, uint64_t n) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (uint64_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (uint64_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

// Runs a command and returns its standard output; throws with its output when it fails.
std::string Run(const std::string& command) {
  std::string out;
  FILE* f = ::popen((command + " 2>&1").c_str(), "r");
  if (f == nullptr) throw PreconditionError("cannot run " + command);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  int rc = ::pclose(f);
  if (rc != 0) throw PreconditionError(command + " failed: " + out);
  return out;
}

std::string Quote(const std::string& s) {
  std::string o = "'";
  for (char c : s) {
    if (c == '\'') {
      o += "'\\''";
    } else {
      o += c;
    }
  }
  return o + "'";
}

std::string Base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string ManagementIp(size_t index) { return "127.20.0." + std::to_string(index + 1); }

const VmSpec& FindVm(const WorldOptions& o, const std::string& name) {
  for (const auto& v : o.vms) {
    if (v.name == name) return v;
  }
  throw BugError("xcopy world: no VM " + name);
}

}  // namespace

World::World(WorldOptions options) : options_(std::move(options)) {}

World::~World() { Stop(); }

Cluster& World::cluster() { return *cluster_; }
std::string World::kubeconfig() const { return cluster_->kubeconfig_path(); }

arrays::LabArray& World::array(const std::string& name) {
  for (const auto& a : arrays_->arrays()) {
    if (a->info().name == name) return *a;
  }
  throw BugError("xcopy world: no array " + name);
}

void World::Start() {
  fs::path dir = options_.dir;
  ClusterOptions co;
  co.dir = (dir / "cluster").string();
  co.nodes = options_.nodes;
  co.persist = options_.persist;
  fs::create_directories(co.dir);
  cluster_ = std::make_unique<Cluster>(co);
  WriteImages();
  cluster_->Start();
  // The arrays (the lab's: a simulator, a volume backend and a StorageClass each).
  std::vector<arrays::ArraySpec> specs;
  for (const auto& a : options_.arrays) {
    arrays::ArraySpec spec;
    spec.name = a.name;
    spec.vendor = a.vendor;
    spec.options = a.options;
    specs.push_back(spec);
  }
  arrays_ = std::make_unique<arrays::LabArrays>(*cluster_, specs);
  // Each datastore's LUN is a volume on its array, provisioned like any other.
  for (const auto& d : options_.datastores) {
    bool simulated = false;
    for (const auto& a : options_.arrays) simulated = simulated || a.name == d.array;
    if (simulated) {
      TargetVolume v = Provision("lab-vsphere", "datastore-" + d.name, d.array, d.lun_bytes, nullptr);
      datastore_naa_[d.name] = v.naa;
    } else {
      // A LUN of an array the lab does not simulate (another vendor): only its name matters.
      std::string serial = (d.name + "FOREIGN00000").substr(0, 12);
      datastore_naa_[d.name] = "naa.624a9370" + Hex(serial).substr(0, 24);
    }
  }
  StartVcenter();
  if (options_.ssh) StartSsh();
  if (options_.controller) StartController();
  started_ = true;
}

void World::WriteImages() {
  std::string populator = (fs::path(options_.bin_dir) / "hoist-populator").string();
  std::ofstream out(fs::path(options_.dir) / "cluster" / "images.yaml", std::ios::trunc);
  out << "images:\n  " << options_.populator_image << ":\n    entrypoint: [" << populator << ", xcopy]\n";
}

void World::StartVcenter() {
  fs::path dir = options_.dir;
  nlohmann::json world;
  world["sanDir"] = arrays_->san_dir();
  world["stateDir"] = (dir / "esxi").string();
  world["env"] = options_.esxi_env;
  for (const auto& h : options_.hosts) {
    nlohmann::json jh = {{"name", h.name}};
    if (!h.iqn.empty()) jh["iqn"] = h.iqn;
    for (const auto& [wwnn, wwpn] : h.fc) jh["fc"].push_back({{"wwnn", wwnn}, {"wwpn", wwpn}});
    if (!h.settings.empty()) jh["settings"] = h.settings;
    if (!h.sdc_guid.empty()) jh["sdc"] = {{"guid", h.sdc_guid}, {"mdmIps", {"127.30.0.1"}}};
    jh["managementIp"] = ManagementIp(world["hosts"].size());
    world["hosts"].push_back(jh);
  }
  for (const auto& d : options_.datastores) {
    fs::create_directories(dir / "datastores" / d.name);
    std::string vendor = "PURE", model = "FlashArray";  // a foreign array's
    for (const auto& a : options_.arrays) {
      if (a.name != d.array) continue;
      if (a.vendor == "ontap") vendor = "NETAPP", model = "LUN C-Mode";
      if (a.vendor == "primera3par") vendor = "3PARdata", model = "VV";
      if (a.vendor == "vantara") vendor = "HITACHI", model = "OPEN-V";
      if (a.vendor == "powerflex") vendor = "EMC", model = "PowerFlex";
    }
    world["datastores"].push_back({{"name", d.name},
                                   {"naa", datastore_naa_.at(d.name)},
                                   {"dir", (dir / "datastores" / d.name).string()},
                                   {"array", d.array},
                                   {"vendor", vendor},
                                   {"model", model},
                                   {"capacityBytes", d.lun_bytes}});
    if (!d.transport.empty()) world["datastores"].back()["transport"] = d.transport;
    if (!d.hosts.empty()) world["datastores"].back()["hosts"] = d.hosts;
  }
  for (const auto& v : options_.vms) {
    uint64_t n = v.data_bytes == 0 ? v.disk_bytes : std::min(v.data_bytes, v.disk_bytes);
    nlohmann::json disks = nlohmann::json::array();
    for (int i = 0; i < std::max(1, v.disks); ++i) {
      fs::path data = dir / "data" / (v.name + (i == 0 ? "" : "_" + std::to_string(i)) + ".raw");
      WriteFile(data, Pattern(v.seed + i, n));
      nlohmann::json disk = {{"capacityBytes", v.disk_bytes}, {"data", data.string()}};
      if (v.snapshots > 0) disk["snapshots"] = v.snapshots;
      disks.push_back(disk);
    }
    world["vms"].push_back(
        {{"name", v.name}, {"host", v.host}, {"datastore", v.datastore}, {"disks", disks}});
  }
  WriteFile(dir / "vcsim" / "world.json", world.dump(2));

  std::string bin = (fs::path(options_.bin_dir) / "hoist-vcsim").string();
  if (!fs::exists(bin)) {
    throw PreconditionError(bin +
                            " is missing (it needs golang-go and golang-github-vmware-govmomi-dev; run "
                            "scripts/setup.sh and build the hoist_vcsim target)");
  }
  fs::path url_file = dir / "vcsim" / "inventory.json";
  fs::remove(url_file);
  std::vector<std::string> args = {bin,
                                   "--world",
                                   (dir / "vcsim" / "world.json").string(),
                                   "--state-dir",
                                   (dir / "esxi").string(),
                                   "--url-file",
                                   url_file.string(),
                                   "--tls",
                                   "--user",
                                   options_.vcenter_user,
                                   "--password",
                                   options_.vcenter_password};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  std::string log = (dir / "vcsim" / "vcsim.log").string();
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = posix_spawn(&vcsim_pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw PreconditionError("cannot start " + bin + ": " + std::strerror(rc));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(url_file)) {
    int status = 0;
    if (waitpid(vcsim_pid_, &status, WNOHANG) == vcsim_pid_) {
      vcsim_pid_ = -1;
      throw PreconditionError("hoist-vcsim exited on start: " + ReadFile(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw PreconditionError("hoist-vcsim did not start within 60 s: " + ReadFile(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  inventory_ = nlohmann::json::parse(ReadFile(url_file));
}

void World::StartSsh() {
  fs::path dir = fs::path(options_.dir) / "ssh";
  fs::create_directories(dir);
  fs::create_directories("/run/sshd");
  if (!fs::exists("/usr/sbin/sshd")) {
    throw PreconditionError("/usr/sbin/sshd is missing (openssh-server; scripts/setup.sh installs it)");
  }
  std::string busybox = Run("command -v busybox");
  while (!busybox.empty() && busybox.back() == '\n') busybox.pop_back();
  // What an ESXi shell has: BusyBox applets, and the lab's vmkfstools/vsish (the fake vmkfstools copies
  // with coreutils' `dd conv=sparse`, so dd stays the system's).
  fs::path bin = dir / "bin";
  fs::create_directories(bin);
  for (const char* applet :
       {"sh",     "cat",   "chmod", "cut",   "echo",  "find",   "grep",     "head",     "kill",
        "logger", "ls",    "mkdir", "mv",    "od",    "printf", "rm",       "rmdir",    "sed",
        "setsid", "sleep", "tail",  "touch", "tr",    "wc",     "awk",      "basename", "dirname",
        "stat",   "date",  "expr",  "sort",  "xargs", "ln",     "readlink", "truncate"}) {
    std::error_code ec;
    fs::create_symlink(busybox, bin / applet, ec);
  }
  std::string fakes = inventory_.value("fakes", "");
  if (fakes.empty()) fakes = (fs::path(HOIST_LAB_XCOPY_SOURCE_DIR) / "src/lab/sim/vcsim/fakes").string();
  for (const char* f : {"vmkfstools", "vsish"}) {
    std::error_code ec;
    fs::copy_file(fs::path(fakes) / f, bin / f, fs::copy_options::overwrite_existing, ec);
    fs::permissions(bin / f, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);
  }
  Run("ssh-keygen -q -t ed25519 -N '' -C hoist-lab-populator -f " + Quote((dir / "client_key").string()));
  ssh_private_key_ = ReadFile(dir / "client_key");
  ssh_public_key_ = ReadFile(dir / "client_key.pub");
  std::string hoist = (fs::path(options_.bin_dir) / "hoist").string();
  std::string key_line =
      Run(Quote(hoist) + " esxi ssh-key-line --public-key " + Quote((dir / "client_key.pub").string()));

  std::mt19937 rng(std::random_device{}());
  for (size_t i = 0; i < options_.hosts.size(); ++i) {
    const HostSpec& h = options_.hosts[i];
    fs::path hd = dir / h.name;
    fs::create_directories(hd);
    std::string root = HostRoot(h.name);
    Run("ssh-keygen -q -t ed25519 -N '' -f " + Quote((hd / "host_key").string()));
    std::string host_pub = ReadFile(hd / "host_key.pub");
    ssh_known_hosts_ += ManagementIp(i) + " " + host_pub;
    // The forced command finds /vmfs/volumes below the host's root, as the lab's ESXi paths are.
    std::string line = key_line;
    for (size_t p = 0; (p = line.find("/vmfs/volumes/", p)) != std::string::npos; p += root.size() + 14) {
      line.replace(p, 14, root + "/vmfs/volumes/");
    }
    WriteFile(hd / "authorized_keys", line);
    pid_t pid = -1;
    for (int attempt = 0; attempt < 20 && pid < 0; ++attempt) {
      int port = ssh_port_ != 0 ? ssh_port_ : 20000 + static_cast<int>(rng() % 40000);
      std::string env_line = "SetEnv HOIST_ESXI_ROOT=" + root + " HOIST_WRAPPER_ROOT_FOR_TEST=" + root +
                             " HOIST_ESXI_HOST=" + h.name + " PATH=" + bin.string() + ":/usr/bin:/bin";
      for (const auto& [k, v] : options_.esxi_env) env_line += " " + k + "=" + v;
      WriteFile(hd / "sshd_config",
                "Port " + std::to_string(port) + "\nListenAddress " + ManagementIp(i) + "\nHostKey " +
                    (hd / "host_key").string() + "\nAuthorizedKeysFile " + (hd / "authorized_keys").string() +
                    "\nPidFile " + (hd / "sshd.pid").string() +
                    "\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n" +
                    env_line + "\n");
      std::string log = (hd / "sshd.log").string();
      std::vector<std::string> args = {"/usr/sbin/sshd", "-D", "-e", "-f", (hd / "sshd_config").string()};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
      posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      pid_t child = -1;
      int rc = posix_spawn(&child, argv[0], &fa, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      if (rc != 0) throw PreconditionError("cannot start sshd: " + std::string(std::strerror(rc)));
      // Ready once it wrote its pid file; gone when the port was taken.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      bool up = false;
      while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(child, &status, WNOHANG) == child) break;
        if (fs::exists(hd / "sshd.pid")) {
          up = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (up) {
        pid = child;
        ssh_port_ = port;
      } else {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        if (ssh_port_ != 0)
          throw PreconditionError("sshd for " + h.name + " did not start: " + ReadFile(log));
      }
    }
    if (pid < 0)
      throw PreconditionError("sshd for " + h.name + " did not start: " + ReadFile(hd / "sshd.log"));
    sshd_pids_.push_back(pid);
  }
}

std::string World::Kubectl(const std::string& args, int* rc) const {
  std::string out;
  FILE* f = ::popen(
      ("kubectl --request-timeout=20s --kubeconfig " + Quote(kubeconfig()) + " " + args + " 2>&1").c_str(),
      "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  int status = ::pclose(f);
  if (rc != nullptr) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string World::controller_log() const { return ReadFile(fs::path(options_.dir) / "controller.log"); }

void World::StartController() {
  int rc = 0;
  std::string crds = (fs::path(HOIST_LAB_XCOPY_SOURCE_DIR) / "deploy" / "crds").string();
  std::string out = Kubectl("apply -f " + Quote(crds), &rc);
  if (rc != 0) throw PreconditionError("applying hoist's CRDs with kubectl failed: " + out);
  std::string bin = (fs::path(options_.bin_dir) / "hoist-controller").string();
  std::vector<std::string> args = {bin, "--kubeconfig=" + kubeconfig(), "--metrics-address=127.0.0.1:0",
                                   "--leader-elect=false", "--kube-api-qps=0"};
  for (const auto& a : options_.controller_args) args.push_back(a);
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE=", 0) != 0) envs.push_back(*e);
  }
  envs.push_back("VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE=" + options_.populator_image);
  for (const auto& [k, v] : options_.controller_env) envs.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string log = (fs::path(options_.dir) / "controller.log").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int r = posix_spawn(&controller_pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) throw PreconditionError("cannot start " + bin + ": " + std::strerror(r));
}

TargetVolume World::CreateXcopyClaim(const std::string& ns, const std::string& name, const std::string& vm,
                                     const std::string& array_name, uint64_t size_bytes,
                                     const std::string& migration_host,
                                     const std::map<std::string, std::string>& secret_extra) {
  EnsureNamespace(ns);
  std::string secret = name + "-0";
  CreateSecret(ns, secret, array_name, secret_extra);
  Store& store = cluster_->store();
  auto crs = store.FindType("forklift.konveyor.io", "vspherexcopyvolumepopulators");
  if (!crs) throw PreconditionError("the VSphereXcopyVolumePopulator CRD is not installed");
  std::string vendor;
  for (const auto& a : options_.arrays) {
    if (a.name == array_name) vendor = a.vendor;
  }
  nlohmann::json spec = {{"vmId", VmMoref(vm)},
                         {"vmdkPath", VmdkPath(vm)},
                         {"secretName", secret},
                         {"storageVendorProduct", vendor}};
  if (!migration_host.empty()) spec["migrationHost"] = HostMoref(migration_host);
  store.Create(*crs, ns,
               {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                {"kind", "VSphereXcopyVolumePopulator"},
                {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"vmID", VmMoref(vm)}}}}},
                {"spec", spec}});
  return Provision(
      ns, name, array_name, size_bytes,
      {{"dataSourceRef",
        {{"apiGroup", "forklift.konveyor.io"}, {"kind", "VSphereXcopyVolumePopulator"}, {"name", name}}}});
}

bool World::WaitForPopulated(TargetVolume& t, int timeout_seconds) {
  Store& store = cluster_->store();
  ResourceType pvcs = store.MustType("", "persistentvolumeclaims");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    nlohmann::json got = store.Get(pvcs, t.ns, t.pvc);
    if (got.contains("status") && got["status"].value("phase", "") == "Bound") {
      t.pv = got["spec"].value("volumeName", "");
      Complete(t);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void World::Stop() {
  if (controller_pid_ > 0) {
    ::kill(controller_pid_, SIGTERM);
    ::waitpid(controller_pid_, nullptr, 0);
    controller_pid_ = -1;
  }
  for (pid_t p : sshd_pids_) {
    ::kill(p, SIGTERM);
    ::waitpid(p, nullptr, 0);
  }
  sshd_pids_.clear();
  if (vcsim_pid_ > 0) {
    ::kill(vcsim_pid_, SIGTERM);
    int status = 0;
    ::waitpid(vcsim_pid_, &status, 0);
    vcsim_pid_ = -1;
  }
  if (arrays_) arrays_->Stop();
  if (cluster_) cluster_->Stop();
  started_ = false;
}

std::string World::vcenter_url() const { return inventory_.value("url", ""); }
std::string World::vcenter_ca_file() const { return inventory_.value("caFile", ""); }
std::string World::HostMoref(const std::string& host) const {
  return inventory_["hosts"][host]["moref"].get<std::string>();
}
std::string World::VmMoref(const std::string& vm) const {
  return inventory_["vms"][vm]["moref"].get<std::string>();
}
std::string World::VmdkPath(const std::string& vm, int disk) const {
  return inventory_["vms"][vm]["disks"][disk].get<std::string>();
}
std::string World::HostRoot(const std::string& host) const {
  return inventory_["hosts"][host]["root"].get<std::string>();
}

std::string World::SourceData(const std::string& vm, int disk) const {
  const VmSpec& v = FindVm(options_, vm);
  uint64_t n = v.data_bytes == 0 ? v.disk_bytes : std::min(v.data_bytes, v.disk_bytes);
  std::string s = Pattern(v.seed + disk, n);
  s.resize(v.disk_bytes, '\0');
  return s;
}

bool World::HostHasDevice(const std::string& host, const std::string& naa) const {
  std::error_code ec;
  return fs::exists(fs::symlink_status(fs::path(HostRoot(host)) / "vmfs" / "devices" / "disks" / naa, ec));
}

std::vector<std::string> World::HostTaskDirs(const std::string& host) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(HostRoot(host)) / "tmp", ec)) {
    if (e.path().filename().string().rfind("vmkfstools-wrapper-", 0) == 0) out.push_back(e.path().string());
  }
  return out;
}

std::vector<std::string> World::SanInitiators(const std::string& naa) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& ini : fs::directory_iterator(arrays_->san_dir(), ec)) {
    if (fs::exists(ini.path() / naa)) out.push_back(ini.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> World::SanInitiatorsOfHosts(const std::string& naa) const {
  // Initiator directory names are IQNs, WWPNs (with or without colons), fc.<wwnn>:<wwpn> or SDC GUIDs.
  auto norm = [](const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c != ':') o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return o;
  };
  std::vector<std::string> ours;
  for (const auto& h : options_.hosts) {
    if (!h.iqn.empty()) ours.push_back(norm(h.iqn));
    for (const auto& [wwnn, wwpn] : h.fc) {
      ours.push_back(norm(wwpn));
      ours.push_back("fc." + norm(wwnn) + norm(wwpn));
    }
    if (!h.sdc_guid.empty()) ours.push_back(norm(h.sdc_guid));
  }
  std::vector<std::string> out;
  for (const auto& ini : SanInitiators(naa)) {
    if (std::find(ours.begin(), ours.end(), norm(ini)) != ours.end()) out.push_back(ini);
  }
  return out;
}

std::string World::NaaOfBacking(const std::string& backing) const {
  std::error_code ec;
  for (const auto& ini : fs::directory_iterator(arrays_->san_dir(), ec)) {
    for (const auto& e : fs::directory_iterator(ini.path(), ec)) {
      if (e.path().filename().string().find(".tmp") != std::string::npos) continue;
      std::string target;
      if (fs::is_symlink(e.symlink_status())) {
        target = fs::read_symlink(e.path()).string();
      } else {
        try {
          target = nlohmann::json::parse(ReadFile(e.path())).value("backing", "");
        } catch (const std::exception&) {
        }
      }
      if (!target.empty() && fs::equivalent(target, backing, ec)) return e.path().filename().string();
    }
  }
  return "";
}

TargetVolume World::Provision(const std::string& ns, const std::string& name, const std::string& array_name,
                              uint64_t size_bytes, const nlohmann::json& extra_spec) {
  EnsureNamespace(ns);
  Store& store = cluster_->store();
  ResourceType pvcs = store.MustType("", "persistentvolumeclaims");
  nlohmann::json pvc = {{"apiVersion", "v1"},
                        {"kind", "PersistentVolumeClaim"},
                        {"metadata", {{"name", name}, {"namespace", ns}}},
                        {"spec",
                         {{"accessModes", {"ReadWriteOnce"}},
                          {"volumeMode", "Block"},
                          {"storageClassName", array(array_name).info().storage_class},
                          {"resources", {{"requests", {{"storage", std::to_string(size_bytes)}}}}}}}};
  if (extra_spec.is_object()) pvc["spec"].update(extra_spec);
  store.Create(pvcs, ns, pvc);
  cluster_->Poke();
  TargetVolume t;
  t.ns = ns;
  t.pvc = name;
  t.array = array_name;
  t.size_bytes = size_bytes;
  if (extra_spec.is_object() && extra_spec.contains("dataSourceRef")) return t;  // its populator binds it
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    nlohmann::json got = store.Get(pvcs, ns, name);
    if (got.contains("status") && got["status"].value("phase", "") == "Bound") {
      t.pv = got["spec"].value("volumeName", "");
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw PreconditionError("xcopy world: PVC " + ns + "/" + name + " on array " + array_name +
                              " did not bind: " + got.dump());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Complete(t);
  return t;
}

void World::Complete(TargetVolume& t) {
  Store& store = cluster_->store();
  t.pv_object = store.Get(store.MustType("", "persistentvolumes"), "", t.pv);
  t.backing = t.pv_object["metadata"]["annotations"].value("lab.hoist.io/data-path", "");
  // The node mapping made at provisioning names the device in the SAN directory.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((t.naa = NaaOfBacking(t.backing)).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (t.naa.empty()) {
    throw BugError("xcopy world: no SAN entry presents the LUN of PV " + t.pv + " (" + t.backing + ")");
  }
}

TargetVolume World::CreateTargetVolume(const std::string& ns, const std::string& name,
                                       const std::string& array_name, uint64_t size_bytes) {
  return Provision(ns, name, array_name, size_bytes, nullptr);
}

std::string World::ReadLun(const TargetVolume& t) const { return ReadFile(t.backing); }

std::map<std::string, std::string> World::SecretData(const std::string& array) const {
  std::map<std::string, std::string> d = StorageSecretData(array);
  d["GOVMOMI_HOSTNAME"] = vcenter_url();
  d["GOVMOMI_USERNAME"] = options_.vcenter_user;
  d["GOVMOMI_PASSWORD"] = options_.vcenter_password;
  d["cacert"] = ReadFile(vcenter_ca_file());
  return d;
}

std::map<std::string, std::string> World::StorageSecretData(const std::string& array) const {
  std::map<std::string, std::string> d;
  if (options_.ssh) {
    // Forklift passes the provider's key pair base64-encoded; hoist also takes pinned host keys and
    // the port (ESXi's sshd listens on 22; the lab's on a free port).
    d["SSH_PRIVATE_KEY"] = Base64(ssh_private_key_);
    d["SSH_PUBLIC_KEY"] = Base64(ssh_public_key_);
    d["SSH_KNOWN_HOSTS"] = Base64(ssh_known_hosts_);
    d["ESXI_SSH_PORT"] = std::to_string(ssh_port_);
  }
  for (const auto& a : arrays_->arrays()) {
    if (a->info().name != array) continue;
    for (const auto& [k, v] : a->info().secret) d[k] = v;
  }
  return d;
}

void World::EnsureNamespace(const std::string& ns) {
  Store& store = cluster_->store();
  ResourceType nss = store.MustType("", "namespaces");
  if (!store.TryGet(nss, "", ns)) {
    store.Create(nss, "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  }
}

void World::CreateSecret(const std::string& ns, const std::string& name, const std::string& array,
                         const std::map<std::string, std::string>& extra) {
  EnsureNamespace(ns);
  Store& store = cluster_->store();
  ResourceType secrets = store.MustType("", "secrets");
  std::map<std::string, std::string> data = SecretData(array);
  data["HOST_LEASE_NAMESPACE"] = ns;
  for (const auto& [k, v] : options_.secret_extra) data[k] = v;
  for (const auto& [k, v] : extra) data[k] = v;
  nlohmann::json s = {{"apiVersion", "v1"},
                      {"kind", "Secret"},
                      {"metadata", {{"name", name}, {"namespace", ns}}},
                      {"type", "Opaque"},
                      {"stringData", data}};
  if (store.TryGet(secrets, ns, name)) store.Delete(secrets, ns, name);
  store.Create(secrets, ns, s);
}

}  // namespace hoist::lab::xcopy

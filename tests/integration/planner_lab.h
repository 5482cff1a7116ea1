#pragma once
// What the planner's integration tests run against: the lab cluster in-process (API server, binder,
// provisioner) with hoist's CRDs from deploy/crds/, and the lab vCenter (hoist-vcsim, VMware's govmomi
// simulator with the lab's SAN model) as a child process serving https with its own CA. Plus the user's
// side: a vSphere Provider and its Secret, a storage Secret, a StorageMap, Plans.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "kube/objects.h"
#include "lab/apiserver_yaml.h"
#include "lab/cluster.h"
#include "net/tls.h"

namespace hoist::testing {

namespace fs = std::filesystem;
using nlohmann::json;

inline std::string BinDir() {
  const char* d = std::getenv("HOIST_BIN_DIR");
  return d != nullptr ? d : ".";
}

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string TempDir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// Polls `done` every 20 ms until it is true or `timeout` passes; returns its last answer.
inline bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// hoist-vcsim on a world file, https with its CA in <dir>/state/ca.pem.
class Vcsim {
 public:
  ~Vcsim() { Stop(); }
  void Start(const std::string& dir, const json& world) {
    fs::create_directories(dir);
    std::ofstream(dir + "/world.json") << world.dump();
    std::string bin = BinDir() + "/hoist-vcsim";
    if (!fs::exists(bin)) throw std::runtime_error("hoist-vcsim not found at " + bin + " (build target hoist_vcsim)");
    std::vector<std::string> args = {bin,
                                     "--world=" + dir + "/world.json",
                                     "--state-dir=" + dir + "/state",
                                     "--san-dir=" + dir + "/san",
                                     "--url-file=" + dir + "/inventory.json",
                                     "--tls",
                                     "--user=" + user,
                                     "--password=" + password};
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen((dir + "/vcsim.log").c_str(), "w", stdout);
      std::freopen((dir + "/vcsim.err").c_str(), "w", stderr);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    bool up = Eventually([&] { return fs::exists(dir + "/inventory.json"); }, std::chrono::seconds(60));
    if (!up) throw std::runtime_error("hoist-vcsim did not start: " + ReadText(dir + "/vcsim.err"));
    inventory = json::parse(ReadText(dir + "/inventory.json"));
    ca_pem = ReadText(inventory.value("caFile", dir + "/state/ca.pem"));
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }
  std::string url() const { return inventory["url"].get<std::string>(); }
  std::string VmMoref(const std::string& vm) const { return inventory["vms"][vm]["moref"].get<std::string>(); }
  std::string HostMoref(const std::string& h) const { return inventory["hosts"][h]["moref"].get<std::string>(); }
  std::string DatastoreMoref(const std::string& ds) const {
    return inventory["datastores"][ds]["moref"].get<std::string>();
  }

  json inventory;
  std::string ca_pem;
  std::string user = "administrator@vsphere.local";
  std::string password = "Lab-vCenter-Pw1";

 private:
  pid_t pid_ = -1;
};

// The lab cluster in this process, hoist's CRDs installed.
class LabCluster {
 public:
  explicit LabCluster(const std::string& dir) {
    lab::ClusterOptions o;
    o.dir = dir;
    o.nodes = 1;
    o.persist = false;
    cluster_ = std::make_unique<lab::Cluster>(o);
    cluster_->Start();
    kube::RestConfig c = kube::LoadKubeconfig({cluster_->kubeconfig_path(), ""});
    c.qps = 0;
    client_ = std::make_unique<kube::Client>(c);
    for (const auto& entry : fs::directory_iterator(std::string(HOIST_TEST_SOURCE_DIR) + "/deploy/crds")) {
      client_->Create(kube::resources::kCustomResourceDefinition, "", lab::YamlToJson(ReadText(entry.path())));
    }
  }
  ~LabCluster() {
    client_.reset();
    cluster_->Stop();
  }
  kube::Client& client() { return *client_; }
  lab::Cluster& cluster() { return *cluster_; }
  std::string kubeconfig() const { return cluster_->kubeconfig_path(); }

  void Namespace(const std::string& ns) {
    try {
      client_->Create(kube::resources::kNamespace, "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
    } catch (const std::exception& e) {
      if (!kube::IsAlreadyExists(e)) throw;
    }
  }
  void Secret(const std::string& ns, const std::string& name, const std::map<std::string, std::string>& data) {
    json d = json::object();
    for (const auto& [k, v] : data) d[k] = net::Base64Encode(v);
    client_->Create(kube::resources::kSecret, ns,
                    {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", name}, {"namespace", ns}}}, {"data", d}});
  }
  json Apply(const kube::ResourceType& type, const json& obj) { return client_->Create(type, kube::Namespace(obj), obj); }
  std::optional<json> Find(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    try {
      return client_->Get(type, ns, name);
    } catch (const std::exception& e) {
      if (kube::IsNotFound(e)) return std::nullopt;
      throw;
    }
  }
  std::vector<json> List(const kube::ResourceType& type, const std::string& ns, const std::string& selector = "") {
    kube::ListOptions o;
    o.label_selector = selector;
    return client_->List(type, ns, o).items;
  }

  // What the populator machinery does when a disk is populated: a PV pre-bound to the target PVC (the
  // claimRef switch of the rebind), which the lab's binder then binds.
  void BindLikeThePopulator(const json& pvc) {
    std::string name = "pv-" + kube::Uid(pvc);
    client_->Create(kube::resources::kPersistentVolume, "",
                    {{"apiVersion", "v1"},
                     {"kind", "PersistentVolume"},
                     {"metadata", {{"name", name}}},
                     {"spec",
                      {{"capacity", {{"storage", pvc["spec"]["resources"]["requests"]["storage"]}}},
                       {"accessModes", pvc["spec"]["accessModes"]},
                       {"volumeMode", "Block"},
                       {"storageClassName", pvc["spec"]["storageClassName"]},
                       {"persistentVolumeReclaimPolicy", "Retain"},
                       {"hostPath", {{"path", "/dev/null"}}},
                       {"claimRef",
                        {{"kind", "PersistentVolumeClaim"},
                         {"namespace", kube::Namespace(pvc)},
                         {"name", kube::Name(pvc)},
                         {"uid", kube::Uid(pvc)}}}}}});
  }

 private:
  std::unique_ptr<lab::Cluster> cluster_;
  std::unique_ptr<kube::Client> client_;
};

}  // namespace hoist::testing

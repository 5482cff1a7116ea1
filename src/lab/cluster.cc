#include "lab/cluster.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "lab/binder.h"
#include "lab/cluster_objects.h"
#include "lab/kubelet.h"
#include "lab/nodes.h"
#include "lab/provisioner.h"
#include "lab/scheduler.h"
#include "net/tls.h"

namespace hoist::lab {
namespace fs = std::filesystem;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    throw PreconditionError("writing " + path + ": " + std::strerror(errno) +
                            " — check the lab directory's permissions");
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      ::close(fd);
      throw TransientError("writing " + path + ": " + std::strerror(errno));
    }
    off += n;
  }
  ::fsync(fd);
  ::close(fd);
  ::chmod(tmp.c_str(), mode);
  fs::rename(tmp, path);
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::read(fd, raw.data(), bytes) != static_cast<ssize_t>(bytes))
    throw TransientError("reading /dev/urandom for the lab's API token failed");
  ::close(fd);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {}

Cluster::~Cluster() { Stop(); }

std::string Cluster::url() const { return api_ ? api_->url() : ""; }
uint16_t Cluster::port() const { return api_ ? api_->port() : 0; }

void Cluster::Poke() {
  std::lock_guard<std::mutex> lock(mu_);
  dirty_ = true;
  cv_.notify_all();
}

void Cluster::Start() {
  if (options_.dir.empty()) throw PreconditionError("the lab needs a directory (--dir)");
  std::error_code ec;
  fs::create_directories(options_.dir + "/pki", ec);
  if (ec) throw PreconditionError("creating the lab directory " + options_.dir + ": " + ec.message());
  options_.dir = fs::canonical(options_.dir).string();
  const std::string& dir = options_.dir;
  fs::create_directories(dir + "/volumes");
  fs::create_directories(dir + "/pods");

  // TLS material and token, kept across restarts so an existing kubeconfig stays valid.
  std::string ca_pem = ReadFile(dir + "/pki/ca.crt");
  std::string cert_pem = ReadFile(dir + "/pki/server.crt");
  std::string key_pem = ReadFile(dir + "/pki/server.key");
  std::string token = ReadFile(dir + "/pki/token");
  if (ca_pem.empty() || cert_pem.empty() || key_pem.empty() || token.empty()) {
    auto pki = net::GenerateCaAndServer(
        "hoist-lab-ca", "hoist-lab-apiserver",
        {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}, {"127.0.0.1"});
    ca_pem = pki.ca.cert_pem;
    cert_pem = pki.server.cert_pem;
    key_pem = pki.server.key_pem;
    token = RandomHex(24);
    WriteFileAtomic(dir + "/pki/ca.crt", ca_pem, 0644);
    WriteFileAtomic(dir + "/pki/ca.key", pki.ca.key_pem, 0600);
    WriteFileAtomic(dir + "/pki/server.crt", cert_pem, 0644);
    WriteFileAtomic(dir + "/pki/server.key", key_pem, 0600);
    WriteFileAtomic(dir + "/pki/token", token, 0600);
  }

  StoreOptions so;
  if (options_.persist) so.dir = dir + "/store";
  so.graceful_pod_deletion = true;
  store_ = std::make_unique<Store>(so);

  // The port: asked for, else the last run's (kubeconfig keeps working), else any.
  uint16_t port = options_.port;
  bool reused = false;
  if (port == 0) {
    std::string state = ReadFile(dir + "/lab.json");
    try {
      if (!state.empty()) {
        port = Json::parse(state).value("port", 0);
        reused = port != 0;
      }
    } catch (const std::exception&) {
    }
  }
  ApiServerOptions ao;
  ao.port = port;
  ao.token = token;
  ao.tls_cert_pem = cert_pem;
  ao.tls_key_pem = key_pem;
  api_ = std::make_unique<ApiServer>(*store_, ao);
  try {
    api_->Start();
  } catch (const hoist::Error& e) {
    if (!reused) throw;
    log::Warn("lab", "the previous API server port is taken; picking another (kubeconfig is rewritten)",
              {{"port", port}});
    ao.port = 0;
    api_ = std::make_unique<ApiServer>(*store_, ao);
    api_->Start();
  }
  WriteFileAtomic(dir + "/lab.json", Json{{"port", api_->port()}, {"url", api_->url()}}.dump() + "\n", 0644);
  WriteFileAtomic(kubeconfig_path(), MakeKubeconfig(api_->url(), ca_pem, token), 0600);

  // Images.
  images_ = std::make_shared<ImageTable>();
  images_->LoadFile(dir + "/images.yaml");
  for (const auto& f : options_.image_flags) images_->AddFlag(f);

  // Nodes and controllers.
  NodesOptions no;
  no.count = options_.nodes;
  std::vector<std::string> nodes = EnsureNodes(*store_, no);
  binder_ = std::make_unique<Binder>(*store_);
  provisioner_ = std::make_unique<Provisioner>(*store_, dir + "/volumes");
  scheduler_ = std::make_unique<Scheduler>(*store_, nodes);
  KubeletOptions ko;
  ko.dir = dir;
  ko.node_names = nodes;
  ko.api_port = api_->port();
  ko.ca_pem = ca_pem;
  ko.token = token;
  kubelet_ = std::make_shared<Kubelet>(*store_, images_, ko);
  kubelet_->SetWakeup([this] { Poke(); });
  api_->SetPodLogSource(kubelet_);

  for (const char* resource : {"pods", "persistentvolumeclaims", "persistentvolumes", "nodes", "configmaps"}) {
    subscriptions_.push_back(
        store_->Subscribe(store_->MustType("", resource), "", [this](const WatchEvent&) { Poke(); }));
  }
  subscriptions_.push_back(store_->Subscribe(store_->MustType("storage.k8s.io", "storageclasses"), "",
                                             [this](const WatchEvent&) { Poke(); }));
  started_ = true;
  loop_ = std::thread(&Cluster::Loop, this);
  log::Info("lab", "lab is up",
            {{"url", api_->url()}, {"dir", dir}, {"nodes", static_cast<int>(nodes.size())}});
}

std::set<std::string> Cluster::PausedControllers() const {
  std::set<std::string> out;
  try {
    Json cm = store_->Get(store_->MustType("", "configmaps"), "kube-system", "hoist-lab");
    std::string list = GetString(cm, "/data/paused-controllers");
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      if (!name.empty()) out.insert(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } catch (const std::exception&) {
  }
  return out;
}

void Cluster::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto wait =
        kubelet_->HasPendingTimers() ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000);
    cv_.wait_for(lock, wait, [this] { return dirty_ || stopping_; });
    if (stopping_) break;
    dirty_ = false;
    lock.unlock();
    try {
      std::set<std::string> paused = PausedControllers();
      for (int i = 0; i < 200; ++i) {
        bool wrote = !paused.count("binder") && binder_->Sync();
        wrote = (!paused.count("provisioner") && provisioner_->Sync()) || wrote;
        wrote = (!paused.count("scheduler") && scheduler_->Sync()) || wrote;
        if (!wrote) break;
        // Under a steady stream of changes, let the kubelet report pod states now and then too.
        if (i % 25 == 24 && !paused.count("kubelet")) kubelet_->Sync();
      }
      if (!paused.count("kubelet")) kubelet_->Sync();
    } catch (const std::exception& e) {
      log::Warn("lab", "controller pass failed", {{"error", e.what()}});
    }
    lock.lock();
  }
}

void Cluster::Stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (loop_.joinable()) loop_.join();
  subscriptions_.clear();
  if (kubelet_) kubelet_->Stop();
  if (api_) {
    api_->SetPodLogSource(nullptr);
    api_->Stop();
  }
  if (store_) store_->Compact();
  log::Info("lab", "lab stopped", {{"dir", options_.dir}});
}

}  // namespace hoist::lab

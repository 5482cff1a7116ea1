#pragma once
// The lab cluster: one process running the lab API server on top of the object store and the cluster
// behaviour around it — virtual nodes, PV binder, provisioner, scheduler, kubelet-lite (garbage
// collection of ownerReferences and namespace deletion are the store's). `hoist lab up` runs one;
// integration tests embed one.
//
// Files under the lab directory DIR:
//   kubeconfig            for kubectl and hoist (bearer token, CA embedded)
//   lab.json              the API server's port, reused on restart so kubeconfig stays valid
//   pki/                  CA, server certificate, token
//   store/                the object store's snapshot and journal
//   volumes/              file-backed volumes (provisioner.h)
//   pods/                 per-pod logs and volume material (kubelet.h)
//   images.yaml           image name → local program (images.h)
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lab/apiserver.h"
#include "lab/images.h"
#include "lab/store.h"

namespace hoist::lab {

class Binder;
class Provisioner;
class Scheduler;
class Kubelet;

struct ClusterOptions {
  std::string dir;
  uint16_t port = 0;                     // 0: the port of the last run, else any free one
  std::vector<std::string> image_flags;  // "NAME=PATH"
  int nodes = 3;
  bool persist = true;  // journal the store under DIR/store (tests may turn it off)
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();  // Stop()
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Opens the store, starts the API server and the controllers, writes DIR/kubeconfig. Throws
  // hoist::Error when the directory or port cannot be used.
  void Start();
  // Stops the controllers, the pods (SIGTERM, grace, SIGKILL), the API server; flushes the store.
  void Stop();

  std::string url() const;
  uint16_t port() const;
  std::string kubeconfig_path() const { return options_.dir + "/kubeconfig"; }
  const std::string& dir() const { return options_.dir; }
  Store& store() { return *store_; }
  Provisioner& provisioner() { return *provisioner_; }
  // Wakes the controllers (after writing to the store directly they notice anyway, via watches).
  void Poke();

 private:
  void Loop();
  // Controllers named in ConfigMap kube-system/hoist-lab, key `paused-controllers` ("binder",
  // "provisioner", "scheduler", "kubelet", comma-separated): they skip their passes, as when a real
  // cluster's kube-controller-manager is slow or down, so that tests can hold a state that the lab
  // would otherwise pass through in a millisecond.
  std::set<std::string> PausedControllers() const;

  ClusterOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiServer> api_;
  std::shared_ptr<ImageTable> images_;
  std::unique_ptr<Binder> binder_;
  std::unique_ptr<Provisioner> provisioner_;
  std::unique_ptr<Scheduler> scheduler_;
  std::shared_ptr<Kubelet> kubelet_;
  std::vector<std::unique_ptr<Store::Subscription>> subscriptions_;
  std::thread loop_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace hoist::lab

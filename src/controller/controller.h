#pragma once
// The populator controller: one set of informers (PVCs, PVs, pods, StorageClasses and the CRs of every
// enabled kind) shared by all kinds, a work queue of target PVC keys ("ns/name"), worker threads running
// the Reconciler, and the ProgressMonitor scraping running populators. Data flow:
//
//   informers ──events──► handlers: which target PVC does this concern? ──► WorkQueue
//       │                   (pod/prime PVC → owner; PV → claim; CR/StorageClass/Available PV → index)
//       └─► Stores ◄── StoreCache ◄── Reconciler (workers) ──► API writes, events, CR status
//                                         ▲        │ Watch/Finish
//                                         │        ▼
//                               on_change └── ProgressMonitor ──► https://<podIP>:8443/metrics
//
// Forklift runs one controller per kind, each with its own informers, queue and metrics listener;
// hoist serves all kinds from one of each.
#include <atomic>
#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "controller/cache.h"
#include "controller/metrics.h"
#include "controller/monitor.h"
#include "controller/reconciler.h"
#include "controller/settings.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/kube_client.h"
#include "kube/workqueue.h"

namespace hoist::controller {

struct ControllerOptions {
  ControllerSettings settings;
  int workers = 2;
  int scrape_threads = 4;
  std::string reporting_instance;  // for Events: the pod or host name
  MetricsFetcher fetcher;          // empty: HttpsMetricsFetcher
  // Every target PVC is reconciled again this often even without events (a safety net).
  std::chrono::milliseconds resync_period{std::chrono::minutes(5)};
};

class Controller {
 public:
  Controller(kube::KubeClient& client, ControllerOptions options, ControllerMetrics& metrics);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the informers, waits for their caches, then runs workers and scrapes until `stop`. On stop,
  // the items being reconciled finish; nothing is left half-done that a restart could not resume.
  void Run(std::stop_token stop);

  bool CachesSynced() const { return synced_.load(); }
  bool Running() const { return running_.load(); }

 private:
  void Enqueue(const std::string& key);
  void OnPvc(const nlohmann::json& pvc, bool resync);
  void OnPod(const nlohmann::json* old_pod, const nlohmann::json& pod, bool deleted);
  void OnPv(const nlohmann::json& pv);
  void OnStorageClass(const nlohmann::json& sc);
  void OnPopulator(PopulatorKind kind, const nlohmann::json& cr);
  void Worker(std::stop_token stop);
  void Housekeeping(std::stop_token stop);

  kube::KubeClient& client_;
  ControllerOptions options_;
  ControllerMetrics& metrics_;
  kube::Informer pvcs_;
  kube::Informer pvs_;
  kube::Informer pods_;
  kube::Informer classes_;
  std::vector<std::pair<PopulatorKind, std::unique_ptr<kube::Informer>>> populators_;
  std::unique_ptr<StoreCache> cache_;
  kube::WorkQueue queue_;
  kube::EventRecorder events_;
  ProgressMonitor monitor_;
  Reconciler reconciler_;
  std::atomic<bool> synced_{false};
  std::atomic<bool> running_{false};
};

}  // namespace hoist::controller

#pragma once
// The populator machinery's state machine for one target PVC (Forklift's syncPvc, reference §1.3),
// reading the cluster from a ClusterCache and writing through a KubeClient. One call of Sync moves
// the population one step and returns; watch events (or the requested delay) bring the next call.
// Every step is idempotent and re-derived from the cluster, so a controller killed at any point
// resumes where the objects say it is:
//
//   target PVC unbound
//     StorageClass: missing → wait; WaitForFirstConsumer without selected-node → wait; in-tree → fail;
//                   no provisioner → wait for the PV controller to bind a static volume (see below)
//     prime PVC prime-<uid> missing → create (independently of the pod)
//     pod populate-<uid> missing → throttle per ESXi host, else create
//     pod Running → scrape progress;  Failed → recreate (ovirt/openstack, 3 times) or fail (xcopy)
//     pod Succeeded → PV of the prime PVC: claimRef → target PVC (+ populated-from)
//   target PVC bound
//     prime PVC not yet Lost → wait;  Lost (or gone) → delete it, finish
//     no prime PVC and the PV was never populated (a static volume the PV controller bound) →
//       populate it in place: a pod on the target PVC itself, then mark the PV populated-from
//
// Every Sync ends by writing the CR's status (progress, xcopy fields, conditions) when it changed.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/cache.h"
#include "controller/kinds.h"
#include "controller/metrics.h"
#include "controller/monitor.h"
#include "controller/progress.h"
#include "controller/settings.h"
#include "kube/events.h"
#include "kube/kube_client.h"
#include "kube/resource.h"

namespace hoist::controller {

// The API resource of a populator kind (forklift.konveyor.io/v1beta1, namespaced).
kube::ResourceType PopulatorResource(PopulatorKind kind);

struct SyncOutcome {
  // Reconcile again after this delay even without an event (throttled PVCs).
  std::optional<std::chrono::milliseconds> requeue_after;
};

struct ReconcilerOptions {
  ControllerSettings settings;
  std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
};

class Reconciler {
 public:
  Reconciler(kube::KubeClient& client, const ClusterCache& cache, ProgressSource& progress,
             kube::EventRecorder& events, ControllerMetrics& metrics, ReconcilerOptions options);

  // Reconciles the target PVC "namespace/name". Throws (hoist::Error / kube::ApiError) when a step
  // failed and the PVC should be retried with backoff.
  SyncOutcome Sync(const std::string& key);

  // Target PVCs currently held back on `host` (the controller wakes them when a pod there ends).
  std::vector<std::string> ThrottledOn(const std::string& host) const;

  const ReconcilerOptions& options() const { return options_; }

 private:
  struct Context;
  void SyncUnbound(Context& c);
  void SyncBound(Context& c);
  void SyncPod(Context& c, const std::string& claim_name, const std::string& node_name);
  void EnsurePrime(Context& c, const std::string& node_name);
  void Rebind(Context& c);
  void FinishInPlace(Context& c);
  void Finish(Context& c);
  void Fail(Context& c, std::string reason, std::string message);
  bool PodSucceeded(Context& c);
  enum class Slot { kTaken, kThrottled, kAlreadyCreated };
  Slot TakeSlot(Context& c);
  void ReleaseSlot(const std::string& host, const std::string& pod_key);
  void WriteStatus(Context& c);
  bool StatusSubresource(PopulatorKind kind);
  void Drop(const std::string& key);
  void Emit(const kube::ResourceType& type, const nlohmann::json& regarding, std::string_view event_type,
            std::string_view reason, std::string_view note);
  std::string Now() const;

  kube::KubeClient& client_;
  const ClusterCache& cache_;
  ProgressSource& progress_;
  kube::EventRecorder& events_;
  ControllerMetrics& metrics_;
  ReconcilerOptions options_;

  mutable std::mutex mu_;
  // Pods created by this process that the cache has not shown yet, per ESXi host (key → when), so
  // that a burst of creations does not overshoot MAX_POPULATOR_INFLIGHT on a stale cache.
  std::map<std::string, std::map<std::string, std::chrono::steady_clock::time_point>> pending_pods_;
  std::map<std::string, std::set<std::string>> throttled_;  // host → target PVC keys
  std::map<PopulatorKind, bool> status_subresource_;
  std::map<std::string, std::string> uid_of_key_;  // target PVC key → uid (for cleanup after deletion)
  // Target PVC key → (uid, the True condition's type and reason as this process last wrote it).
  std::map<std::string, std::pair<std::string, std::pair<std::string, std::string>>> last_condition_;
  // Target PVC key → (the CR's resourceVersion before our last status patch, the CR that patch
  // returned): used while the informer still shows the older version.
  std::map<std::string, std::pair<std::string, nlohmann::json>> last_written_;
};

}  // namespace hoist::controller

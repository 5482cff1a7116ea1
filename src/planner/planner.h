#pragma once
// The copy-offload planner: a controller loop over Plans (forklift.konveyor.io/v1beta1) that turns each
// VM's disks into the target PVC + per-disk Secret + VSphereXcopyVolumePopulator that hoist's populator
// machinery fills, and reports progress in Plan.status. It runs inside hoist-controller when
// FEATURE_COPY_OFFLOAD=true.
//
//   Plan ──► validate (validation.h: providers, StorageMap, secrets, every VM's disks from vCenter)
//        ──► Critical condition? report it, create nothing, look again later
//        ──► start: per VM (at most max_vm_inflight copying per ESXi host), all its disks in one pass:
//              PVC → Secret (owner: PVC) → CR (owner: PVC)          (builders.h, secret.h)
//        ──► every pass: roll PVC/CR state up into status.migration (status.h)
//              disk Completed → its Secret is deleted (no credentials left behind)
//              disk Failed    → the VM's PVCs and Secrets are deleted (no LUN left allocated), the CRs
//                               are kept, unowned, as the record of what happened
//   Plan deleted ──► its CRs, Secrets and unfinished PVCs are deleted (label plan=<uid>; Bound PVCs,
//                    the migrated disks, stay), then the finalizer planner.hoist.io/cleanup goes.
//
// Level-triggered and idempotent: object names are deterministic (names.h), every create tolerates
// AlreadyExists, state lives in the cluster (Plan.status, PVCs, CRs), so a restart resumes. Plans,
// target PVCs and CRs are watched through informers (a running plan costs no API reads per pass);
// Providers, StorageMaps and Secrets are read when a plan is validated or a VM is started.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kube/kube_client.h"
#include "planner/api.h"
#include "planner/source.h"

namespace hoist::kube {
class Informer;
class WorkQueue;
class EventRecorder;
}  // namespace hoist::kube

namespace hoist::planner {

struct PlannerOptions {
  // HOST_LEASE_NAMESPACE / HOST_LEASE_DURATION_SECONDS handed to the populators (Forklift's defaults).
  std::string lease_namespace = "openshift-mtv";
  int lease_duration_seconds = 10;
  // MAX_VM_INFLIGHT: VMs whose disks are being copied at once, per ESXi host and plan (Forklift's
  // vSphere scheduler counts an offload VM as one). Disks of VMs beyond it get no objects yet, so
  // they hold no LUN on the array while they wait.
  int max_vm_inflight = 20;
  // How often a Plan is looked at again without an event (not ready: secrets or VMs may appear;
  // running: a safety net behind the watches).
  std::chrono::milliseconds resync{std::chrono::seconds(30)};
  // Status writes that change neither a Plan condition nor a VM's phase (disk phases, bytes, times)
  // are made at most this often per Plan.
  std::chrono::milliseconds status_interval{std::chrono::seconds(2)};
  int workers = 2;
  std::string instance = "hoist-controller";  // reportingInstance of the Events
  // Opens vCenter for a Provider; default: VsphereInventory.
  std::function<std::shared_ptr<SourceInventory>(const VsphereConnection&)> connect;
  // Wall clock for status times; default system_clock::now.
  std::function<std::chrono::system_clock::time_point()> now;
};

class Planner {
 public:
  Planner(kube::KubeClient& client, PlannerOptions options = {});
  ~Planner();  // Stop()
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  // Starts the informers and the workers, and returns once the caches are filled (throws
  // kTransient when they are not within `sync_timeout`).
  void Start(std::chrono::milliseconds sync_timeout = std::chrono::seconds(60));
  // Stops the workers (finishing the pass in progress) and the informers.
  void Stop();
  bool running() const { return running_.load(); }

  // Passes made (successful or not), for tests and metrics.
  uint64_t passes() const { return passes_.load(); }

 private:
  struct PlanMemo;
  struct Pass;

  void Worker();
  void EnqueueByPlanUid(const std::string& uid);
  void Reconcile(const std::string& key);

  // Pieces of a pass (planner.cc).
  bool Cleanup(const Plan& plan);
  void Load(Pass& pass, bool need_secrets);
  std::vector<struct Condition> Validate(Pass& pass);
  void StartVm(Pass& pass, nlohmann::json& vm_status);
  void ObserveVm(Pass& pass, nlohmann::json& vm_status);
  void RemoveVmObjects(Pass& pass, const nlohmann::json& vm_status);
  void EnsureNamespaceObjects(Pass& pass);
  std::shared_ptr<SourceInventory> Inventory(Pass& pass);
  const nlohmann::json* CachedOrFetched(Pass& pass, const kube::ResourceType& type, const std::string& name);
  // Returns whether it wrote (pass.obj is then the written Plan).
  bool WriteStatus(Pass& pass, const nlohmann::json& status);
  void Event(const nlohmann::json& plan, const char* type, const char* reason, const std::string& note);
  std::string Now() const;

  kube::KubeClient& client_;
  PlannerOptions options_;
  std::unique_ptr<kube::Informer> plans_, pvcs_, crs_;
  std::unique_ptr<kube::WorkQueue> queue_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::vector<std::thread> workers_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> passes_{0};

  std::mutex mu_;  // the members below
  std::map<std::string, std::shared_ptr<PlanMemo>> memos_;  // by Plan UID
  struct Connection {
    std::string fingerprint;
    std::shared_ptr<SourceInventory> inventory;
  };
  std::map<std::string, Connection> connections_;  // by Provider UID
  std::set<std::string> namespaces_ready_;        // target namespaces with the populator SA and RBAC
};

}  // namespace hoist::planner

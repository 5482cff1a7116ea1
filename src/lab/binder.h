#pragma once
// The lab's PersistentVolume binder: the PV controller of Kubernetes
// (pkg/controller/volume/persistentvolume) reduced to what a one-process lab needs, plus the
// pvc-protection / pv-protection finalizers and retroactive default StorageClass assignment.
//
// Claims: an unbound claim binds to the smallest Available volume that fits (class, capacity >= request,
// accessModes superset, volumeMode, label selector, node affinity for the selected node) or to the volume
// pre-bound to it (claimRef); `spec.volumeName` asks for one volume. Claims of a WaitForFirstConsumer
// class bind only volumes pre-bound to them until the scheduler sets `volume.kubernetes.io/selected-node`.
// With nothing to bind and a provisioner in the class, the claim is annotated
// `volume.kubernetes.io/storage-provisioner` (and the beta key) for the provisioner to act on.
// A bound claim whose volume now names another claim (the volume populator's claimRef switch) is Lost.
// Volumes: no claimRef → Available; claim gone → Released, then the reclaim policy: Retain keeps it,
// Delete is carried out by the provisioner that made it (see provisioner.h).
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "lab/store.h"

namespace hoist::lab {

// The class a claim asks for: the beta annotation `volume.beta.kubernetes.io/storage-class`, else
// spec.storageClassName, else "".
std::string ClaimClass(const Json& claim);
// claimRef names this claim (namespace and name) and its uid is empty or the claim's.
bool IsVolumeBoundToClaim(const Json& pv, const Json& claim);
// The rules a volume named in claim.spec.volumeName must meet: capacity, class, volumeMode.
// On failure `why` says which (for the claim's event).
bool VolumeSatisfiesClaim(const Json& pv, const Json& claim, std::string* why = nullptr);
// The PV controller's findBestMatchForClaim. `node` (may be null) is the selected node for delayed
// binding; with `delay_binding` and no node, only volumes pre-bound to the claim are considered.
// Returns an index into `pvs`, or -1.
int FindBestMatch(const Json& claim, const std::vector<Json>& pvs, const Json* node, bool delay_binding);

class Binder {
 public:
  explicit Binder(Store& store);
  // One pass; stops after the first write and returns true (call again until it returns false).
  bool Sync();

 private:
  bool SyncClaim(const Json& claim);
  bool SyncUnboundClaim(const Json& claim);
  bool SyncBoundClaim(const Json& claim);
  bool SyncVolume(const Json& pv);
  bool Bind(const Json& pv, const Json& claim);
  bool SetClaimPhase(const Json& claim, const std::string& phase);
  bool SetVolumePhase(const Json& pv, const std::string& phase, const std::string& message = "");
  void EventOnce(const Json& object, const std::string& type, const std::string& reason,
                 const std::string& message);

  Store& store_;
  ResourceType pvcs_, pvs_, classes_, nodes_, pods_;
  // Per-pass snapshot.
  std::vector<Json> claims_, volumes_, class_list_, node_list_, pod_list_;
  bool pods_listed_ = false;  // pod_list_ is current for this Sync
  std::vector<Json> free_volumes_;                          // Available, no claimRef
  std::map<std::string, std::vector<Json>> prebound_;       // "ns/name" of claimRef → volumes
  std::unordered_set<std::string> events_sent_;  // "uid/reason/message"
};

}  // namespace hoist::lab

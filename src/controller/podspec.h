#pragma once
// The objects the populator machinery creates or patches for one target PVC, as pure functions:
// the populator pod `populate-<uid>`, the prime PVC `prime-<uid>`, the PV rebind patch, and the
// decision whether (and on which node) population may start. Field for field these follow Forklift's
// populator-controller so that Forklift's and hoist's populator images and forklift-controller see
// the same objects; where Forklift misbehaves, the comment on the function says what hoist does.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "controller/kinds.h"

namespace hoist::controller {

// Container resources of populator pods (POPULATOR_CONTAINER_{LIMITS,REQUESTS}_{CPU,MEMORY}).
struct PopulatorResources {
  std::string limits_cpu = "1000m";
  std::string limits_memory = "1Gi";
  std::string requests_cpu = "100m";
  std::string requests_memory = "512Mi";
};
// Reads the four settings through `lookup` (e.g. getenv); a malformed value keeps the default and
// adds a line to `warnings` naming the variable and the value.
PopulatorResources ResourcesFromSettings(
    const std::function<std::optional<std::string>(std::string_view)>& lookup,
    std::vector<std::string>* warnings);

// Whether population of a target PVC may start, given its StorageClass.
enum class BindingAction {
  kPopulate,             // go ahead (node_name set for WaitForFirstConsumer classes)
  kWaitForStorageClass,  // spec.storageClassName names a class that does not exist (yet)
  kWaitForNode,          // WaitForFirstConsumer and no volume.kubernetes.io/selected-node yet
  kSkipInTree,           // in-tree provisioner (kubernetes.io/*) without pv.kubernetes.io/migrated-to
  kStaticVolume,         // no provisioner (kubernetes.io/no-provisioner, or storageClassName ""): the PV
                         // controller binds the claim to an Available PV, which is then populated in place
};
struct BindingDecision {
  BindingAction action = BindingAction::kPopulate;
  std::string node_name;  // the selected node, for pod.spec.nodeName and the prime PVC annotation
  std::string message;    // for conditions/logs when not kPopulate
};
// `storage_class` is the class named by the PVC, or nullptr when it was not found. A PVC without
// spec.storageClassName is populated without any class check (as Forklift does). Forklift skipped
// every kubernetes.io/* provisioner silently, including kubernetes.io/no-provisioner, whose claims the
// PV controller then bound to an empty static volume that was reported as populated; hoist returns
// kStaticVolume for those (and for storageClassName "", which also only binds static volumes).
BindingDecision DecideBinding(const nlohmann::json& target_pvc, const nlohmann::json* storage_class);

// Whether an Available PV could be bound to `target_pvc` by the PV controller: same class, volume
// mode, access modes it offers, capacity at least the request, and no claimRef to another claim.
// Used to tell the user which static volume the claim waits for (or that none matches).
bool StaticVolumeMatches(const nlohmann::json& pv, const nlohmann::json& target_pvc);

// The ESXi host a populator pod is counted against for throttling: the CR's spec.migrationHost
// (xcopy, dedicated migration hosts), else its `sourceHost` label; "" when neither is set.
std::string RuntimeHost(const nlohmann::json& cr);

// ownerReference to the target PVC (apiVersion v1, kind PersistentVolumeClaim, name, uid).
nlohmann::json OwnerReferenceTo(const nlohmann::json& target_pvc);

struct PodInputs {
  PopulatorKind kind = PopulatorKind::kOvirt;
  std::string image;
  PopulatorResources resources;
  std::string node_name;  // BindingDecision::node_name; empty unless WaitForFirstConsumer
  // The claim the pod writes to: empty for the prime PVC (the normal flow); the target PVC's own name
  // when a static volume already bound to it is populated in place.
  std::string claim_name;
};
// The populator pod, exactly as Forklift builds it (§1.4): name populate-<uid> in the PVC's
// namespace; labels pvcName, migration (if the CR has it), vmID, plan, sourceHost (= RuntimeHost);
// the CNI networks annotation from spec.transferNetwork; owner = target PVC; restartPolicy Never;
// fsGroup 107 and RuntimeDefault seccomp; container `populate` with PopulatorArgs, port `metrics`
// 8443, non-root uid 107 without privilege escalation and with all capabilities dropped, envFrom the
// CR's secret plus `cacert` from its optional `ca.crt`; the prime PVC (or `claim_name`) as volume `target`, mounted at
// /mnt/ (Filesystem) or as device /dev/block (Block); serviceAccountName `populator` for xcopy, the
// PVC's forklift.konveyor.io/serviceAccount annotation otherwise; spec.nodeName for WFFC.
// Differences from Forklift, all of which would otherwise make pod creation fail or misroute:
//  - a label value Kubernetes would reject (pvcName over 63 characters, odd host ids) is left out
//    instead of failing the pod create (Forklift checks only sourceHost);
//  - a transferNetwork without namespace yields "<name>" (the pod's namespace) instead of "/<name>";
//  - the pod and secret namespace come from the PVC, not from re-parsing --cr-namespace/--secret-name
//    out of the argument list.
// Throws kPrecondition (from PopulatorArgs) when the CR lacks a required field.
nlohmann::json BuildPopulatorPod(const PodInputs& inputs, const nlohmann::json& cr,
                                 const nlohmann::json& target_pvc);

// The prime PVC (§1.5): prime-<uid> in the PVC's namespace, labels migration/plan/vmID copied when
// present, owner = target PVC, accessModes/resources/storageClassName/volumeMode copied, and for WFFC
// the volume.kubernetes.io/selected-node annotation. It does not depend on the pod: hoist creates it
// whenever it is missing (Forklift quirk: it was only created together with the pod, so a failed
// create after a successful pod create was never retried and the pod stayed Pending forever).
nlohmann::json BuildPrimePvc(const nlohmann::json& target_pvc, std::string_view node_name);

// True when the PV's claimRef does not yet point at the target PVC (namespace, name and uid). A PV
// without claimRef needs the rebind too (Forklift quirk: a nil claimRef crashed the controller).
bool NeedsRebind(const nlohmann::json& pv, const nlohmann::json& target_pvc);

// The PV patch of §1.6 (same body as a strategic-merge or a JSON merge patch): annotation
// forklift.konveyor.io/populated-from=<pvc namespace>/<dataSourceRef.name> and claimRef
// {namespace, name, uid, resourceVersion} of the target PVC. claimRef's kind/apiVersion are kept by
// the merge. The PV controller then binds the target PVC to the PV and marks the prime PVC Lost.
nlohmann::json BuildPvRebindPatch(std::string_view pv_name, const nlohmann::json& target_pvc);

}  // namespace hoist::controller

#pragma once
// Small helpers the lab's cluster components (binder, provisioner, scheduler, kubelet) share: the
// resource types they touch, tolerant JSON accessors, Kubernetes quantities, well-known annotation
// names, and Events.
#include <cstdint>
#include <string>
#include <string_view>

#include "lab/store.h"

namespace hoist::lab {

// Annotations and labels with a meaning in Kubernetes' storage controllers.
inline constexpr char kAnnBindCompleted[] = "pv.kubernetes.io/bind-completed";
inline constexpr char kAnnBoundByController[] = "pv.kubernetes.io/bound-by-controller";
inline constexpr char kAnnProvisionedBy[] = "pv.kubernetes.io/provisioned-by";
inline constexpr char kAnnSelectedNode[] = "volume.kubernetes.io/selected-node";
inline constexpr char kAnnStorageProvisioner[] = "volume.kubernetes.io/storage-provisioner";
inline constexpr char kAnnBetaStorageProvisioner[] = "volume.beta.kubernetes.io/storage-provisioner";
inline constexpr char kAnnDefaultClass[] = "storageclass.kubernetes.io/is-default-class";
inline constexpr char kPvcProtectionFinalizer[] = "kubernetes.io/pvc-protection";
inline constexpr char kPvProtectionFinalizer[] = "kubernetes.io/pv-protection";
// Lab-only: where a PersistentVolume's bytes live on this machine (a directory for Filesystem
// volumes, a sparse file for Block volumes). Written by the provisioner, read by the kubelet.
inline constexpr char kAnnDataPath[] = "lab.hoist.io/data-path";

// The resource types the cluster components use, looked up once.
struct ClusterTypes {
  ResourceType pods, pvcs, pvs, classes, nodes, secrets, configmaps, events, namespaces;
  static ClusterTypes From(const Store& store);
};

// Tolerant accessors: a missing member or a member of another type reads as empty / `fallback`.
// `pointer` is a JSON pointer ("/spec/volumeName").
std::string GetString(const Json& object, const char* pointer, std::string fallback = "");
const Json& GetNode(const Json& object, const char* pointer);  // null Json when missing
std::string Annotation(const Json& object, const std::string& key);
bool HasAnnotation(const Json& object, const std::string& key);
std::string NamespacedName(const Json& object);  // "ns/name" or "name"
bool IsDeleting(const Json& object);             // metadata.deletionTimestamp set

// A Kubernetes resource.Quantity ("1Gi", "500M", "1.5Gi", "1e3", "100m") in whole units (bytes for
// storage), rounded up. Throws hoist::Error (kPrecondition) on malformed text.
int64_t ParseQuantity(std::string_view text);

// "2026-11-22T00:47:50Z" for now.
std::string NowTimestamp();

// Records a core/v1 Event about `involved` (best effort: failures are logged, never thrown).
void RecordEvent(Store& store, const Json& involved, std::string_view type, std::string_view reason,
                 std::string_view message, std::string_view component);

}  // namespace hoist::lab

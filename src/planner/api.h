#pragma once
// The subset of Forklift's forklift.konveyor.io/v1beta1 planning kinds that the copy-offload planner
// reads — Provider, StorageMap, Plan — as typed views of the objects the API server returns, plus the
// resource types of everything the planner writes. Parsing never throws: a missing field reads as
// empty and validation.h turns it into a condition on the Plan, so a bad object is reported, never a
// crash.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kube/resource.h"

namespace hoist::planner {

namespace resources {
inline const kube::ResourceType kProvider{"forklift.konveyor.io", "v1beta1", "providers", "Provider", true};
inline const kube::ResourceType kStorageMap{"forklift.konveyor.io", "v1beta1", "storagemaps", "StorageMap", true};
inline const kube::ResourceType kPlan{"forklift.konveyor.io", "v1beta1", "plans", "Plan", true};
inline const kube::ResourceType kXcopyPopulator{"forklift.konveyor.io", "v1beta1", "vspherexcopyvolumepopulators",
                                                "VSphereXcopyVolumePopulator", true};
inline const kube::ResourceType kRole{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
inline const kube::ResourceType kRoleBinding{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
                                             true};
inline const kube::ResourceType kClusterRole{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole",
                                             false};
inline const kube::ResourceType kClusterRoleBinding{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                                    "ClusterRoleBinding", false};
}  // namespace resources

// Forklift's StorageMap enum for offloadPlugin.vsphereXcopyConfig.storageVendorProduct.
const std::vector<std::string>& StorageVendorProducts();
bool IsKnownStorageVendor(std::string_view vendor);

// The clone methods a vSphere Provider may ask for (settings.esxiCloneMethod); "" means vib.
bool IsKnownCloneMethod(std::string_view method);

struct ObjectReference {
  std::string name;
  std::string ns;
  bool empty() const { return name.empty(); }
  // "ns/name" (or "name").
  std::string ToString() const;
};

struct Provider {
  std::string name, ns, uid;
  std::string type;  // "vsphere", "openshift", …
  std::string url;   // vCenter SDK endpoint
  ObjectReference secret;
  std::map<std::string, std::string> settings;
  // settings.esxiCloneMethod lower-cased and trimmed; "vib" when unset.
  std::string CloneMethod() const;
  // A Provider of type openshift without url is the cluster the planner runs in.
  bool IsHost() const { return type == "openshift" && url.empty(); }
};
Provider ParseProvider(const nlohmann::json& obj);

struct XcopyConfig {
  std::string secret_ref;  // Secret in the source Provider's namespace
  std::string storage_vendor_product;
  std::vector<std::string> dedicated_migration_hosts;  // ESXi host ids
};

struct StoragePair {
  int index = 0;  // position in spec.map, for messages
  std::string source_id;
  std::string source_name;
  std::string storage_class;
  std::string volume_mode;
  std::string access_mode;
  std::optional<XcopyConfig> xcopy;  // offloadPlugin.vsphereXcopyConfig
  bool csi_volume_import = false;    // offloadPlugin.csiVolumeImport (not handled by hoist)
  bool offload() const { return xcopy.has_value() || csi_volume_import; }
  // "map[2] (datastore id ds-12 → storage class fast)".
  std::string Describe() const;
};

struct StorageMap {
  std::string name, ns, uid;
  std::vector<StoragePair> pairs;
  bool UsesOffload() const;
  // The entry for a datastore: by id first (Forklift's inventory id, the moref value), then by name.
  // nullptr when the map has none.
  const StoragePair* Find(std::string_view datastore_id, std::string_view datastore_name) const;
};
StorageMap ParseStorageMap(const nlohmann::json& obj);

struct PlanVm {
  std::string id;    // vSphere moref value ("vm-123") or instance/BIOS UUID
  std::string name;  // used when id is empty
  // "vm-123" or "name web01".
  std::string Describe() const;
};

struct Plan {
  std::string name, ns, uid;
  int64_t generation = 0;
  ObjectReference source_provider;
  ObjectReference destination_provider;
  ObjectReference storage_map;
  std::string target_namespace;
  bool warm = false;
  bool archived = false;
  std::string service_account;
  std::vector<PlanVm> vms;
  bool being_deleted = false;
};
// References without a namespace default to the Plan's namespace, as in Forklift.
Plan ParsePlan(const nlohmann::json& obj);

// A Secret's data, base64-decoded. Entries that do not decode are skipped (an API server never returns
// them). stringData is honoured as well, for objects not read back from a server.
std::map<std::string, std::string> SecretData(const nlohmann::json& secret);

}  // namespace hoist::planner

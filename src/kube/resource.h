#pragma once
// Addressing of Kubernetes resources: group/version/plural/kind and whether objects live in a
// namespace, with constants for the kinds hoist uses, and the REST paths built from them.
#include <string>
#include <string_view>

namespace hoist::kube {

struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "persistentvolumeclaims"
  std::string kind;     // "PersistentVolumeClaim"
  bool namespaced = true;

  // "v1" or "storage.k8s.io/v1", as in an object's apiVersion.
  std::string ApiVersion() const;
  // "persistentvolumeclaims" or "leases.coordination.k8s.io", as kubectl names it.
  std::string Name() const;
  // "/api/v1" or "/apis/storage.k8s.io/v1".
  std::string GroupVersionPath() const;
  // Collection path: ".../namespaces/<ns>/<plural>" (or all namespaces when ns is empty), or
  // ".../<plural>" for cluster-scoped resources (ns ignored).
  std::string CollectionPath(std::string_view ns) const;
  // Object path, plus "/<subresource>" when given. Names and namespaces are percent-encoded.
  std::string ObjectPath(std::string_view ns, std::string_view name, std::string_view subresource = "") const;

  bool operator==(const ResourceType& other) const = default;
};

// The kinds hoist reads and writes.
namespace resources {
inline const ResourceType kPersistentVolumeClaim{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim",
                                                 true};
inline const ResourceType kPersistentVolume{"", "v1", "persistentvolumes", "PersistentVolume", false};
inline const ResourceType kPod{"", "v1", "pods", "Pod", true};
inline const ResourceType kSecret{"", "v1", "secrets", "Secret", true};
inline const ResourceType kConfigMap{"", "v1", "configmaps", "ConfigMap", true};
inline const ResourceType kNamespace{"", "v1", "namespaces", "Namespace", false};
inline const ResourceType kNode{"", "v1", "nodes", "Node", false};
inline const ResourceType kServiceAccount{"", "v1", "serviceaccounts", "ServiceAccount", true};
inline const ResourceType kCoreEvent{"", "v1", "events", "Event", true};
inline const ResourceType kEvent{"events.k8s.io", "v1", "events", "Event", true};
inline const ResourceType kStorageClass{"storage.k8s.io", "v1", "storageclasses", "StorageClass", false};
inline const ResourceType kLease{"coordination.k8s.io", "v1", "leases", "Lease", true};
inline const ResourceType kCustomResourceDefinition{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                                    "CustomResourceDefinition", false};
}  // namespace resources

}  // namespace hoist::kube

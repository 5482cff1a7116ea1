#pragma once
// Light accessors for unstructured objects (nlohmann::json), and typed helpers for the fields hoist
// reads on PVCs, PVs and pods. Absent fields read as empty strings / nullopt, never throw.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/resource.h"

namespace hoist::kube {

using Json = nlohmann::json;

// metadata.*
std::string Name(const Json& obj);
std::string Namespace(const Json& obj);
std::string Uid(const Json& obj);
std::string ResourceVersion(const Json& obj);
std::string Label(const Json& obj, std::string_view key);
std::string Annotation(const Json& obj, std::string_view key);
std::map<std::string, std::string> Labels(const Json& obj);
bool IsBeingDeleted(const Json& obj);  // metadata.deletionTimestamp set
// "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
std::string ObjectKey(const Json& obj);
std::string ObjectKey(std::string_view ns, std::string_view name);

// The value at a nested path ("spec", "claimRef"), or nullptr when a step is missing or not an object.
const Json* At(const Json& obj, std::initializer_list<std::string_view> path);

// Reads a nested string ("spec", "volumeName"); empty when any step is missing or not a string.
std::string StringAt(const Json& obj, std::initializer_list<std::string_view> path);

// A skeleton object of `type`: apiVersion, kind, metadata.name / namespace.
Json NewObject(const ResourceType& type, std::string_view ns, std::string_view name);

// A reference to another object, as used by PVC dataSourceRef, PV claimRef and Event regarding.
struct ObjectRef {
  std::string api_group;  // dataSourceRef.apiGroup
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
  std::string resource_version;
};
// The reference to `obj` itself (apiVersion, kind, namespace, name, uid, resourceVersion).
ObjectRef RefTo(const Json& obj);

namespace pvc {
std::string Phase(const Json& pvc);                       // status.phase: Pending, Bound, Lost
std::string VolumeName(const Json& pvc);                  // spec.volumeName
std::string StorageClassName(const Json& pvc);            // spec.storageClassName
std::string VolumeMode(const Json& pvc);                  // spec.volumeMode (Filesystem when unset)
std::string RequestedStorage(const Json& pvc);            // spec.resources.requests.storage
std::optional<ObjectRef> DataSourceRef(const Json& pvc);  // spec.dataSourceRef (or dataSource)
}  // namespace pvc

namespace pv {
std::string Phase(const Json& pv);
std::optional<ObjectRef> ClaimRef(const Json& pv);  // spec.claimRef
std::string CsiDriver(const Json& pv);              // spec.csi.driver
std::string CsiVolumeHandle(const Json& pv);        // spec.csi.volumeHandle
}  // namespace pv

namespace pod {
std::string Phase(const Json& pod);     // status.phase
std::string PodIp(const Json& pod);     // status.podIP
std::string NodeName(const Json& pod);  // spec.nodeName
}  // namespace pod

}  // namespace hoist::kube

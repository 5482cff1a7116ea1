#include "kube/objects.h"

namespace hoist::kube {

const Json* At(const Json& obj, std::initializer_list<std::string_view> path) {
  const Json* cur = &obj;
  for (std::string_view step : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(step);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

namespace {

std::optional<ObjectRef> RefAt(const Json& obj, std::initializer_list<std::string_view> path) {
  const Json* ref = At(obj, path);
  if (ref == nullptr || !ref->is_object()) return std::nullopt;
  ObjectRef out;
  out.api_group = StringAt(*ref, {"apiGroup"});
  out.api_version = StringAt(*ref, {"apiVersion"});
  out.kind = StringAt(*ref, {"kind"});
  out.ns = StringAt(*ref, {"namespace"});
  out.name = StringAt(*ref, {"name"});
  out.uid = StringAt(*ref, {"uid"});
  out.resource_version = StringAt(*ref, {"resourceVersion"});
  return out;
}
}  // namespace

std::string StringAt(const Json& obj, std::initializer_list<std::string_view> path) {
  const Json* v = At(obj, path);
  return (v != nullptr && v->is_string()) ? v->get<std::string>() : std::string();
}

std::string Name(const Json& obj) { return StringAt(obj, {"metadata", "name"}); }
std::string Namespace(const Json& obj) { return StringAt(obj, {"metadata", "namespace"}); }
std::string Uid(const Json& obj) { return StringAt(obj, {"metadata", "uid"}); }
std::string ResourceVersion(const Json& obj) { return StringAt(obj, {"metadata", "resourceVersion"}); }
std::string Label(const Json& obj, std::string_view key) {
  return StringAt(obj, {"metadata", "labels", key});
}
std::string Annotation(const Json& obj, std::string_view key) {
  return StringAt(obj, {"metadata", "annotations", key});
}

std::map<std::string, std::string> Labels(const Json& obj) {
  std::map<std::string, std::string> out;
  const Json* labels = At(obj, {"metadata", "labels"});
  if (labels == nullptr || !labels->is_object()) return out;
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

bool IsBeingDeleted(const Json& obj) {
  const Json* ts = At(obj, {"metadata", "deletionTimestamp"});
  return ts != nullptr && !ts->is_null();
}

std::string ObjectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key(ns);
  key += "/";
  key += name;
  return key;
}

std::string ObjectKey(const Json& obj) { return ObjectKey(Namespace(obj), Name(obj)); }

Json NewObject(const ResourceType& type, std::string_view ns, std::string_view name) {
  Json obj = {{"apiVersion", type.ApiVersion()}, {"kind", type.kind}, {"metadata", Json::object()}};
  if (!name.empty()) obj["metadata"]["name"] = std::string(name);
  if (type.namespaced && !ns.empty()) obj["metadata"]["namespace"] = std::string(ns);
  return obj;
}

ObjectRef RefTo(const Json& obj) {
  ObjectRef ref;
  ref.api_version = StringAt(obj, {"apiVersion"});
  auto slash = ref.api_version.find('/');
  if (slash != std::string::npos) ref.api_group = ref.api_version.substr(0, slash);
  ref.kind = StringAt(obj, {"kind"});
  ref.ns = Namespace(obj);
  ref.name = Name(obj);
  ref.uid = Uid(obj);
  ref.resource_version = ResourceVersion(obj);
  return ref;
}

namespace pvc {
std::string Phase(const Json& pvc) { return StringAt(pvc, {"status", "phase"}); }
std::string VolumeName(const Json& pvc) { return StringAt(pvc, {"spec", "volumeName"}); }
std::string StorageClassName(const Json& pvc) { return StringAt(pvc, {"spec", "storageClassName"}); }
std::string VolumeMode(const Json& pvc) {
  std::string mode = StringAt(pvc, {"spec", "volumeMode"});
  return mode.empty() ? "Filesystem" : mode;
}
std::string RequestedStorage(const Json& pvc) {
  return StringAt(pvc, {"spec", "resources", "requests", "storage"});
}
std::optional<ObjectRef> DataSourceRef(const Json& pvc) {
  auto ref = RefAt(pvc, {"spec", "dataSourceRef"});
  if (!ref) ref = RefAt(pvc, {"spec", "dataSource"});
  return ref;
}
}  // namespace pvc

namespace pv {
std::string Phase(const Json& pv) { return StringAt(pv, {"status", "phase"}); }
std::optional<ObjectRef> ClaimRef(const Json& pv) { return RefAt(pv, {"spec", "claimRef"}); }
std::string CsiDriver(const Json& pv) { return StringAt(pv, {"spec", "csi", "driver"}); }
std::string CsiVolumeHandle(const Json& pv) { return StringAt(pv, {"spec", "csi", "volumeHandle"}); }
}  // namespace pv

namespace pod {
std::string Phase(const Json& pod) { return StringAt(pod, {"status", "phase"}); }
std::string PodIp(const Json& pod) { return StringAt(pod, {"status", "podIP"}); }
std::string NodeName(const Json& pod) { return StringAt(pod, {"spec", "nodeName"}); }
}  // namespace pod

}  // namespace hoist::kube

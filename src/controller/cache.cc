#include "controller/cache.h"

#include <nlohmann/json.hpp>

#include "controller/names.h"
#include "kube/informer.h"
#include "kube/objects.h"

namespace hoist::controller {

using nlohmann::json;

std::string PopulatorSourceKey(std::string_view kind_name, std::string_view ns, std::string_view name) {
  return std::string(kind_name) + "/" + std::string(ns) + "/" + std::string(name);
}

std::vector<std::string> PopulatorSourceIndex(const json& pvc) {
  std::optional<PopulatorKind> kind = KindOfPvc(pvc);
  if (!kind) return {};
  return {PopulatorSourceKey(Info(*kind).kind_name, kube::Namespace(pvc),
                             kube::StringAt(pvc, {"spec", "dataSourceRef", "name"}))};
}

std::vector<std::string> StorageClassIndex(const json& pvc) {
  if (!KindOfPvc(pvc)) return {};
  const json* cls = kube::At(pvc, {"spec", "storageClassName"});
  if (cls == nullptr || !cls->is_string()) return {};
  return {cls->get<std::string>()};
}

std::vector<std::string> ActiveSourceHostIndex(const json& pod) {
  std::string host = kube::Label(pod, kSourceHostLabel);
  if (host.empty()) return {};
  std::string phase = kube::pod::Phase(pod);
  if (phase != "Pending" && phase != "Running" && !phase.empty()) return {};  // no phase yet: Pending
  return {host};
}

namespace {

// The name of the PVC owning `obj` (an ownerReference of kind PersistentVolumeClaim), or "".
std::string OwningPvc(const json& obj) {
  const json* refs = kube::At(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return "";
  for (const auto& r : *refs) {
    if (kube::StringAt(r, {"kind"}) == "PersistentVolumeClaim" && kube::StringAt(r, {"apiVersion"}) == "v1") {
      return kube::StringAt(r, {"name"});
    }
  }
  return "";
}

std::optional<std::string> TargetOf(const json& obj, std::string_view prefix) {
  std::string name = kube::Name(obj);
  if (name.rfind(prefix, 0) != 0) return std::nullopt;
  std::string owner = OwningPvc(obj);
  if (owner.empty()) return std::nullopt;
  return kube::ObjectKey(kube::Namespace(obj), owner);
}

}  // namespace

std::optional<std::string> TargetOfPrime(const json& pvc) { return TargetOf(pvc, kPrimePvcPrefix); }
std::optional<std::string> TargetOfPod(const json& pod) { return TargetOf(pod, kPopulatorPodPrefix); }

std::optional<json> StoreCache::Pvc(std::string_view ns, std::string_view name) const {
  return stores_.pvcs->Get(ns, name);
}
std::optional<json> StoreCache::Pv(std::string_view name) const { return stores_.pvs->Get("", name); }
std::optional<json> StoreCache::Pod(std::string_view ns, std::string_view name) const {
  return stores_.pods->Get(ns, name);
}
std::optional<json> StoreCache::StorageClass(std::string_view name) const {
  return stores_.storage_classes->Get("", name);
}
std::optional<json> StoreCache::Populator(PopulatorKind kind, std::string_view ns, std::string_view name) const {
  auto it = stores_.populators.find(kind);
  if (it == stores_.populators.end() || it->second == nullptr) return std::nullopt;
  return it->second->Get(ns, name);
}
std::vector<json> StoreCache::ActivePodsOnHost(std::string_view host) const {
  return stores_.pods->ByIndex(kIndexActiveSourceHost, std::string(host));
}
std::vector<json> StoreCache::Pvs() const { return stores_.pvs->List(); }

void AddPvcIndexes(kube::Store& pvcs) {
  pvcs.AddIndex(kIndexPopulatorSource, PopulatorSourceIndex);
  pvcs.AddIndex(kIndexStorageClass, StorageClassIndex);
}

void AddPodIndexes(kube::Store& pods) { pods.AddIndex(kIndexActiveSourceHost, ActiveSourceHostIndex); }

}  // namespace hoist::controller

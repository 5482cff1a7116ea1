#pragma once
// What the reconciler reads: the cluster as the informers last saw it. The interface lets unit tests
// decide exactly how stale the cache is; StoreCache serves it from the informers' kube::Stores.
//
// The indexes below are how events on other objects find the target PVC to reconcile (instead of
// Forklift's "notification map" of registered interests): a CR change wakes the PVCs whose
// dataSourceRef names it, a StorageClass or an Available PV wakes the PVCs of its class, and a
// finished populator pod wakes the PVCs throttled on its ESXi host.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "controller/kinds.h"

namespace hoist::kube {
class Store;
}

namespace hoist::controller {

// PVCs by "<Kind>/<namespace>/<CR name>" of a forklift.konveyor.io dataSourceRef.
inline constexpr const char* kIndexPopulatorSource = "populator-source";
// PVCs with such a dataSourceRef by spec.storageClassName.
inline constexpr const char* kIndexStorageClass = "populator-storage-class";
// Pods in phase Pending or Running by their `sourceHost` label (the per-host throttle's count).
inline constexpr const char* kIndexActiveSourceHost = "active-source-host";

std::string PopulatorSourceKey(std::string_view kind_name, std::string_view ns, std::string_view name);
std::vector<std::string> PopulatorSourceIndex(const nlohmann::json& pvc);
std::vector<std::string> StorageClassIndex(const nlohmann::json& pvc);
std::vector<std::string> ActiveSourceHostIndex(const nlohmann::json& pod);

// When `pvc` is a prime PVC (prime-<uid> owned by a PVC), the key "ns/name" of its target PVC.
std::optional<std::string> TargetOfPrime(const nlohmann::json& pvc);
// When `pod` is a populator pod (populate-<uid> owned by a PVC), the key of its target PVC.
std::optional<std::string> TargetOfPod(const nlohmann::json& pod);

class ClusterCache {
 public:
  virtual ~ClusterCache() = default;
  virtual std::optional<nlohmann::json> Pvc(std::string_view ns, std::string_view name) const = 0;
  virtual std::optional<nlohmann::json> Pv(std::string_view name) const = 0;
  virtual std::optional<nlohmann::json> Pod(std::string_view ns, std::string_view name) const = 0;
  virtual std::optional<nlohmann::json> StorageClass(std::string_view name) const = 0;
  virtual std::optional<nlohmann::json> Populator(PopulatorKind kind, std::string_view ns,
                                                  std::string_view name) const = 0;
  // Pods Pending or Running whose `sourceHost` label is `host`, in every namespace.
  virtual std::vector<nlohmann::json> ActivePodsOnHost(std::string_view host) const = 0;
  virtual std::vector<nlohmann::json> Pvs() const = 0;
};

// A ClusterCache over informer stores. The PVC store needs the kIndexPopulatorSource and
// kIndexStorageClass indexes and the pod store kIndexActiveSourceHost (AddIndexes does that).
struct CacheStores {
  const kube::Store* pvcs = nullptr;
  const kube::Store* pvs = nullptr;
  const kube::Store* pods = nullptr;
  const kube::Store* storage_classes = nullptr;
  std::map<PopulatorKind, const kube::Store*> populators;  // enabled kinds only
};

class StoreCache : public ClusterCache {
 public:
  explicit StoreCache(CacheStores stores) : stores_(std::move(stores)) {}
  std::optional<nlohmann::json> Pvc(std::string_view ns, std::string_view name) const override;
  std::optional<nlohmann::json> Pv(std::string_view name) const override;
  std::optional<nlohmann::json> Pod(std::string_view ns, std::string_view name) const override;
  std::optional<nlohmann::json> StorageClass(std::string_view name) const override;
  std::optional<nlohmann::json> Populator(PopulatorKind kind, std::string_view ns,
                                          std::string_view name) const override;
  std::vector<nlohmann::json> ActivePodsOnHost(std::string_view host) const override;
  std::vector<nlohmann::json> Pvs() const override;

 private:
  CacheStores stores_;
};

// Adds the indexes StoreCache needs to the PVC and pod stores.
void AddPvcIndexes(kube::Store& pvcs);
void AddPodIndexes(kube::Store& pods);

}  // namespace hoist::controller

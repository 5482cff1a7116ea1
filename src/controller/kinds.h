#pragma once
// The three populator kinds of forklift.konveyor.io/v1beta1 and what differs between them: resource
// names, the image setting, metric names, the populator pod's arguments and the retry policy.
// Everything here is a pure function of the CR and the target PVC (nlohmann::json objects as the API
// server returns them).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hoist::controller {

enum class PopulatorKind { kOvirt, kOpenstack, kVSphereXcopy };

struct KindInfo {
  PopulatorKind kind;
  std::string_view key;        // "ovirt", "openstack", "vsphere-xcopy"
  std::string_view kind_name;  // "OvirtVolumePopulator"
  std::string_view list_kind;  // "OvirtVolumePopulatorList"
  std::string_view plural;     // "ovirtvolumepopulators"
  std::string_view singular;   // "ovirtvolumepopulator"
  std::array<std::string_view, 2> short_names;
  std::string_view image_env;        // environment variable holding the populator image
  int controller_metrics_port;       // the controller's own per-kind metrics listener in Forklift (:8080/1/2)
  int populator_metrics_port;        // where the populator serves /metrics over HTTPS (8443)
  std::string_view progress_metric;  // family name of the populator's progress counter (percent)
  std::string_view owner_uid_label;  // label carrying the target PVC UID on the populator's metrics
  int max_recreations;               // how often a Failed pod is recreated (Forklift: 3, xcopy: never)
};

const std::array<KindInfo, 3>& AllKinds();
const KindInfo& Info(PopulatorKind kind);
// By Kind name ("VSphereXcopyVolumePopulator"); nullptr when it is not a populator kind.
const KindInfo* FindKind(std::string_view kind_name);

// The populator kind a PVC asks for: spec.dataSourceRef with apiGroup forklift.konveyor.io, a known
// kind and a non-empty name. nullopt for every other PVC (they are not ours).
std::optional<PopulatorKind> KindOfPvc(const nlohmann::json& pvc);

// A Kubernetes resource quantity ("10Gi", "1500M", "1e9", "0.5Ki") in whole bytes, fractions rounded
// up as Kubernetes does. Throws kPrecondition on malformed or negative quantities.
int64_t ParseStorageQuantity(std::string_view quantity);
// spec.resources.requests.storage of a PVC in bytes; throws kPrecondition naming the PVC when absent.
int64_t RequestedBytes(const nlohmann::json& pvc);

// The Secret the populator pod takes its environment from: spec.engineSecretName (ovirt) or
// spec.secretName (openstack, xcopy).
std::string SecretName(PopulatorKind kind, const nlohmann::json& cr);

// The populator container's arguments, exactly as Forklift's populator-controller passes them (the
// kind-specific list, then --pvc-size=<requested bytes> and --owner-uid=<target PVC UID>):
//   ovirt:     --volume-path --secret-name --disk-id --engine-url --cr-name --cr-namespace
//   openstack: --volume-path --endpoint --secret-name --image-id --cr-name --cr-namespace
//   xcopy:     --source-vm-id --source-vmdk --target-namespace --cr-name --cr-namespace --owner-name
//              --secret-name --storage-vendor-product [--migration-host, only when set]
// --volume-path is /dev/block for a Block PVC, else /mnt/disk.img (xcopy takes none).
// Unlike Forklift, which starts a pod with empty values when a required spec field is missing, a
// missing field throws kPrecondition naming the CR and the field.
std::vector<std::string> PopulatorArgs(PopulatorKind kind, const nlohmann::json& cr,
                                       const nlohmann::json& target_pvc);

// What to do when the populator pod ended in phase Failed.
struct RetryDecision {
  bool recreate = false;  // delete the failed pod and let the next sync create a new one
  int recreations = 0;    // value for the PVC's `recreations` annotation when recreating
  int attempts = 0;       // pod runs so far, including the failed one
  std::string message;    // for the event/condition: what happened and what to check
};
// Forklift's policy: ovirt/openstack pods are recreated up to 3 times, counted in the target PVC's
// `recreations` annotation ("1".."3"); xcopy pods never (a failed XCOPY usually fails again and the
// pod's logs are what the user needs). Fixes two Forklift quirks: a PVC without annotations no longer
// crashes the controller, and a non-numeric `recreations` value stops retrying with a message instead
// of failing the sync forever. `failed_pod_uid` is the Failed pod's UID: when the PVC's
// populator.hoist.io/counted-failure annotation already names it, this failure was counted before (the
// controller stopped between counting and deleting the pod), so it is recreated without counting again.
RetryDecision DecideRetry(PopulatorKind kind, const nlohmann::json& target_pvc,
                          std::string_view failed_pod_uid = "");
// Merge patch for the target PVC setting `recreations` and, with a pod UID, the counted-failure
// annotation in the same write (instead of Forklift's full Update of a mutated cache object).
nlohmann::json RecreationsPatch(int recreations, std::string_view failed_pod_uid = "");

}  // namespace hoist::controller

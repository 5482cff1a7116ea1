#pragma once
// Names the populator machinery shares with Forklift: object names derived from the target PVC's
// UID, annotation and label keys, event reasons, pod layout constants. forklift-controller relies on
// several of them (the `populate-` and `prime-` prefixes, pod labels `migration`/`vmID`, the
// `offload-completed` label), so they are part of the wire contract.
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace hoist::controller {

// API group of the populator CRs and prefix of hoist's (Forklift's) annotation keys.
inline constexpr std::string_view kGroup = "forklift.konveyor.io";
inline constexpr std::string_view kVersion = "v1beta1";
inline constexpr std::string_view kApiVersion = "forklift.konveyor.io/v1beta1";

// Objects made per target PVC.
std::string PrimePvcName(std::string_view target_pvc_uid);      // "prime-<uid>"
std::string PopulatorPodName(std::string_view target_pvc_uid);  // "populate-<uid>"
inline constexpr std::string_view kPrimePvcPrefix = "prime-";
inline constexpr std::string_view kPopulatorPodPrefix = "populate-";

// Populator pod layout.
inline constexpr std::string_view kContainerName = "populate";
inline constexpr std::string_view kTargetVolumeName = "target";
inline constexpr std::string_view kMetricsPortName = "metrics";
inline constexpr int kMetricsPort = 8443;
inline constexpr std::string_view kMetricsPath = "/metrics";
inline constexpr std::string_view kMountPath = "/mnt/";  // Filesystem PVCs; populators write disk.img
inline constexpr std::string_view kDiskImagePath = "/mnt/disk.img";
inline constexpr std::string_view kDevicePath = "/dev/block";  // Block PVCs
inline constexpr int kQemuUid = 107;                           // runAsUser and fsGroup
inline constexpr std::string_view kCaCertEnv = "cacert";       // env filled from the secret's ca.crt
inline constexpr std::string_view kCaCertKey = "ca.crt";
inline constexpr std::string_view kXcopyServiceAccount = "populator";

// Annotations.
inline constexpr std::string_view kPopulatedFromAnnotation =
    "forklift.konveyor.io/populated-from";  // on the PV
inline constexpr std::string_view kSelectedNodeAnnotation =
    "volume.kubernetes.io/selected-node";                                                  // PVC, PVC'
inline constexpr std::string_view kMigratedToAnnotation = "pv.kubernetes.io/migrated-to";  // PVC
inline constexpr std::string_view kNetworksAnnotation = "k8s.v1.cni.cncf.io/networks";     // pod
inline constexpr std::string_view kRecreationsAnnotation = "recreations";                  // PVC
inline constexpr std::string_view kServiceAccountAnnotation = "forklift.konveyor.io/serviceAccount";  // PVC
inline constexpr std::string_view kDiskSourceAnnotation = "forklift.konveyor.io/disk-source";         // PVC
inline constexpr std::string_view kCopyOffloadAnnotation = "copy-offload";  // PVC (xcopy)
// hoist's own: the UID of the Failed populator pod whose failure `recreations` already counts, written
// with `recreations` in one patch so that a controller restart never counts a failure twice.
inline constexpr std::string_view kCountedFailureAnnotation = "populator.hoist.io/counted-failure";  // PVC

// Labels.
inline constexpr std::string_view kPvcNameLabel = "pvcName";        // pod
inline constexpr std::string_view kMigrationLabel = "migration";    // pod, PVC', CR
inline constexpr std::string_view kVmIdLabel = "vmID";              // pod, PVC', CR
inline constexpr std::string_view kPlanLabel = "plan";              // pod, PVC', CR
inline constexpr std::string_view kSourceHostLabel = "sourceHost";  // pod, CR (ESXi host for throttling)
inline constexpr std::string_view kOffloadCompletedLabel =
    "forklift.konveyor.io/offload-completed";  // xcopy CR

// Events: component name and reasons (on the target PVC unless noted).
inline constexpr std::string_view kEventComponent = "forklift.konveyor.io-populator";
inline constexpr std::string_view kReasonThrottled = "PopulatorThrottled";                // Normal
inline constexpr std::string_view kReasonCreated = "PopulatorCreated";                    // Normal
inline constexpr std::string_view kReasonCreationError = "PopulatorCreationError";        // Warning
inline constexpr std::string_view kReasonPvcCreationError = "PopulatorPVCCreationError";  // Warning
inline constexpr std::string_view kReasonFailed = "PopulatorFailed";                      // Warning
inline constexpr std::string_view kReasonFinished = "PopulatorFinished";                  // Normal
inline constexpr std::string_view kReasonProgress = "PopulatorProgress";                  // on the pod
// hoist's own (Forklift has no equivalent):
inline constexpr std::string_view kReasonResourceMissing = "PopulatorResourceNotFound";  // Normal
inline constexpr std::string_view kReasonPodWaiting = "PopulatorPodWaiting";             // Warning

// Kubernetes label value rules: at most 63 characters, empty or [a-z0-9A-Z] at both ends with
// [-_.a-z0-9A-Z] between.
bool IsValidLabelValue(std::string_view value);

// Field access on unstructured objects is kube/objects.h (kube::At, kube::StringAt, kube::Label, ...).
bool HasLabel(const nlohmann::json& obj, std::string_view key);

}  // namespace hoist::controller

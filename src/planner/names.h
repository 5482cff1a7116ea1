#pragma once
// Names, labels and annotations of the objects the planner creates per disk. The label keys and the
// name scheme are Forklift's (forklift-controller's vSphere builder), so Forklift's tooling and hoist's
// controller find the objects the same way; hoist's own keys live under planner.hoist.io.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "controller/names.h"

namespace hoist::planner {

// Labels on the target PVC, the CR and the per-disk Secret (Forklift's keys; controller/names.h has the
// ones the populator machinery shares).
inline constexpr std::string_view kMigrationLabel = controller::kMigrationLabel;    // migration UID
inline constexpr std::string_view kPlanLabel = controller::kPlanLabel;              // plan UID
inline constexpr std::string_view kVmIdLabel = controller::kVmIdLabel;              // VM moref value
inline constexpr std::string_view kSourceHostLabel = controller::kSourceHostLabel;  // ESXi host id
inline constexpr std::string_view kVmdkKeyLabel = "vmdkKey";                        // vSphere device key
inline constexpr std::string_view kAffinityNaaLabel = "volume.csi.k8s.io/affinity-source-naa";

// Annotations on the target PVC.
inline constexpr std::string_view kDiskSourceAnnotation = controller::kDiskSourceAnnotation;  // vmdk path
inline constexpr std::string_view kCopyOffloadAnnotation = controller::kCopyOffloadAnnotation;  // vmdk path
inline constexpr std::string_view kServiceAccountAnnotation = controller::kServiceAccountAnnotation;

// hoist's own keys.
inline constexpr std::string_view kPlanRefAnnotation = "planner.hoist.io/plan";        // "ns/name" of the Plan
inline constexpr std::string_view kVmNameAnnotation = "planner.hoist.io/vm-name";      // the VM's vCenter name
inline constexpr std::string_view kDiskIndexAnnotation = "planner.hoist.io/disk-index";
// On the CRs of a VM that failed (kept, unowned, after its PVCs were deleted): why the VM failed.
inline constexpr std::string_view kVmFailedAnnotation = "planner.hoist.io/vm-failed";
inline constexpr std::string_view kFinalizer = "planner.hoist.io/cleanup";  // on the Plan
inline constexpr std::string_view kReportingController = "hoist.konveyor.io/planner";

// The ServiceAccount, Roles and bindings xcopy populator pods use (Forklift's names).
inline constexpr std::string_view kPopulatorServiceAccount = controller::kXcopyServiceAccount;  // "populator"
inline constexpr std::string_view kPvcReaderRole = "populator-pvc-reader";
inline constexpr std::string_view kPvcReaderBinding = "populator-pvc-reader-binding";
inline constexpr std::string_view kLeaseRole = "populator-lease-reader";
inline constexpr std::string_view kPvReaderClusterRole = "populator-pv-reader";
inline constexpr std::string_view kStorageArraySecret = "storage-array-secret";  // FlashSystem token cache
// Bindings outside the target namespace are one per target namespace, so that creating them is a
// plain idempotent create (Forklift appends subjects to one shared binding, a read-modify-write).
std::string LeaseBindingName(std::string_view target_namespace);     // populator-lease-reader-binding-<ns>
std::string PvReaderBindingName(std::string_view target_namespace);  // populator-pv-reader-binding-<ns>

// Lower-case DNS-1123 label material from arbitrary text ("Web Server_01" → "web-server-01"): runs of
// anything but [a-z0-9] become one '-', no '-' at either end, cut to `max` characters.
std::string DnsLabelPart(std::string_view text, size_t max);

// The target PVC's name (also the CR's and the per-disk Secret's), as Forklift's default template
// `{{trunc 15 .PlanName}}-{{trunc 15 .TargetVmName}}-disk-{{.DiskIndex}}` made deterministic the way
// Forklift's vSphere builder does: `-<first 8 hex digits of sha256("<migrationUID>-<vmID>-<diskKey>-
// <diskFile>-<diskIndex>")>` appended. Same inputs, same name: a repeated pass finds what it created.
std::string DiskObjectName(std::string_view plan_name, std::string_view vm_name, int disk_index,
                           std::string_view migration_uid, std::string_view vm_id, int32_t disk_key,
                           std::string_view disk_file);

// First 8 hex digits of SHA-256 of `text`.
std::string ShortHash(std::string_view text);

}  // namespace hoist::planner

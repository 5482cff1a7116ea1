#pragma once
// Plan.status from what the cluster shows: per disk the target PVC (Bound = done) and the
// VSphereXcopyVolumePopulator (progress, XCOPY facts, the controller's conditions), rolled up per VM and
// per Plan in Forklift's shape (status.migration.vms[].pipeline[].tasks[], progress in MB) with exact
// bytes, start/completion times and durations added. Pure functions; times are RFC 3339 strings handed
// in by the caller, so tests choose them.
//
//   Plan.status
//     conditions[]            validation (validation.h) + Ready / Executing / Succeeded / Failed
//     migration.started / completed
//     migration.vms[]         id, name, phase (Pending, CopyDisks, Completed, Failed), started, completed,
//                             error{phase, reasons[]}, totalBytes, transferredBytes, durationSeconds,
//       pipeline[0]           DiskTransfer: progress{total, completed} (MB), started, completed
//         tasks[]             one per disk: name (the VMDK), phase, progress, totalBytes,
//                             transferredBytes, durationSeconds, pvc, datastore, reason, error,
//                             annotations (xcopyUsed, cloneMethod, storageVendor, … from the CR)
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "planner/validation.h"

namespace hoist::planner {

std::string FormatTime(std::chrono::system_clock::time_point t);  // "2026-11-22T01:02:03Z"
std::optional<std::chrono::system_clock::time_point> ParseTime(std::string_view rfc3339);
// Whole seconds from `from` to `to` (0 when either does not parse or to < from).
int64_t SecondsBetween(std::string_view from, std::string_view to);

// The condition of `type` with status True on a CR, or null.
const nlohmann::json* TrueCondition(const nlohmann::json& cr, std::string_view type);
// A CR's status.progress ("42", "42.5") as a whole percent in [0, 100]; 0 when it does not parse.
int ProgressPercent(std::string_view progress);

// Phases as Forklift names them.
inline constexpr const char* kPhasePending = "Pending";
inline constexpr const char* kPhaseRunning = "Running";
inline constexpr const char* kPhaseCompleted = "Completed";
inline constexpr const char* kPhaseFailed = "Failed";
inline constexpr const char* kVmPhaseCopyDisks = "CopyDisks";
inline constexpr const char* kStepDiskTransfer = "DiskTransfer";

// One disk of a started VM, as observed this pass.
struct DiskObservation {
  int index = 0;
  int32_t key = 0;
  std::string file;  // "[ds1] vm1/vm1.vmdk"
  int64_t capacity_bytes = 0;
  std::string datastore;
  std::string name;  // of the PVC, the CR and the Secret
  const nlohmann::json* pvc = nullptr;  // the target PVC, when it exists
  const nlohmann::json* cr = nullptr;   // the CR, when it exists
};

struct DiskVerdict {
  std::string phase = kPhasePending;
  int percent = 0;
  int64_t transferred_bytes = 0;
  std::string reason;       // the controller's condition reason (Throttled, WaitingForNode, …) or ours
  std::string message;      // for Failed: what happened and what to check
  std::string running_since;  // the CR's Running condition lastTransitionTime, when known
};

// Bound PVC → Completed (all bytes). CR with status.result "failure" or a Failed condition, a PVC that
// is gone or Lost, a CR that is gone → Failed with the message saying why. Progress > 0 or a Running
// condition → Running. Else Pending, with the controller's reason for waiting.
DiskVerdict EvaluateDisk(const DiskObservation& disk);

// The task entry for a disk. `previous` is last pass's entry (or null): its started/completed times are
// kept, so a time is set once, when the phase is first seen.
nlohmann::json DiskTask(const DiskObservation& disk, const nlohmann::json& previous, const std::string& now);

struct VmIdentity {
  std::string id;
  std::string name;
  std::string host;  // ESXi host id
};

// A VM whose disks have objects: phase from its tasks (any Failed → Failed, all Completed → Completed,
// else CopyDisks), totals, times, the DiskTransfer step, conditions Succeeded / Failed.
nlohmann::json StartedVmStatus(const VmIdentity& vm, const std::vector<nlohmann::json>& tasks,
                               const nlohmann::json& previous, const std::string& now);
// A VM not started yet (waiting for a slot), with the reason.
nlohmann::json PendingVmStatus(const VmIdentity& vm, const std::string& reason, const nlohmann::json& previous);
// A VM that failed before its disks could be copied (objects could not be created): phase Failed,
// error.reasons = `reasons`.
nlohmann::json FailedVmStatus(const VmIdentity& vm, const std::vector<std::string>& reasons,
                              const nlohmann::json& previous, const std::string& now);

// Whether a VM status is final (Completed or Failed).
bool VmDone(const nlohmann::json& vm_status);

// The Plan's status: `validation` conditions plus Ready (no Critical condition), and once started
// (`vms` non-empty with any VM started) Executing until every VM is done, then Succeeded (all
// Completed) or Failed (any Failed). migration.started/completed are kept from `previous` once set.
nlohmann::json PlanStatus(const nlohmann::json& previous, const std::vector<Condition>& validation, bool started,
                          const std::vector<nlohmann::json>& vms, const std::string& now, int64_t generation);

// The VM entry of `status` with this id, or null.
const nlohmann::json* FindVmStatus(const nlohmann::json& status, std::string_view vm_id);
// The task of `vm_status` with this name (VMDK path), or null.
const nlohmann::json* FindTask(const nlohmann::json& vm_status, std::string_view name);

}  // namespace hoist::planner

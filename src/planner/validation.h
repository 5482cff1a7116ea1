#pragma once
// Validation of a Plan before it starts: each problem becomes a condition on the Plan (Forklift's shape:
// type, status, category, reason, message, items) that says which object, which VM, which disk and
// which datastore, and what to change. A Plan with a Critical condition is not Ready and is not started;
// nothing is created for it. Pure functions over what the planner read (no I/O).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "planner/api.h"
#include "planner/source.h"

namespace hoist::planner {

// Condition categories (Forklift's).
inline constexpr const char* kCritical = "Critical";  // blocks the Plan
inline constexpr const char* kError = "Error";
inline constexpr const char* kWarn = "Warn";
inline constexpr const char* kRequired = "Required";
inline constexpr const char* kAdvisory = "Advisory";

// Condition types. Forklift's where Forklift has one.
namespace condition {
inline constexpr const char* kReady = "Ready";
inline constexpr const char* kExecuting = "Executing";
inline constexpr const char* kSucceeded = "Succeeded";
inline constexpr const char* kFailed = "Failed";
inline constexpr const char* kArchived = "Archived";
inline constexpr const char* kSourceProviderNotValid = "SourceProviderNotValid";
inline constexpr const char* kDestinationProviderNotValid = "DestinationProviderNotValid";
inline constexpr const char* kStorageMapNotValid = "StorageMapNotValid";
inline constexpr const char* kNamespaceNotValid = "NamespaceNotValid";
inline constexpr const char* kVmNotFound = "VMNotFound";
inline constexpr const char* kDuplicateVm = "DuplicateVM";
inline constexpr const char* kVmStorageNotMapped = "VMStorageNotMapped";
inline constexpr const char* kMixedUsage = "VDDKAndOffloadMixedUsage";
inline constexpr const char* kOffloadNotConfigured = "OffloadNotConfigured";
inline constexpr const char* kOffloadPluginNotValid = "OffloadPluginNotValid";
inline constexpr const char* kUnknownStorageVendor = "UnknownStorageVendor";
inline constexpr const char* kStorageSecretNotValid = "StorageSecretNotValid";
inline constexpr const char* kCloneMethodNotValid = "EsxiCloneMethodNotValid";
inline constexpr const char* kSshKeysNotFound = "SshKeysNotFound";
inline constexpr const char* kWarmNotSupported = "WarmNotSupported";
inline constexpr const char* kDiskNotValid = "DiskNotValid";
inline constexpr const char* kSourceNotReachable = "SourceNotReachable";
}  // namespace condition

struct Condition {
  std::string type;
  std::string status = "True";
  std::string category = kCritical;
  std::string reason;
  std::string message;
  std::vector<std::string> items;  // the VMs / disks / map entries concerned
  bool critical() const { return category == kCritical && status == "True"; }
};

bool AnyCritical(const std::vector<Condition>& conditions);

// spec alone: target namespace set and a valid DNS-1123 label, at least one VM, no VM twice, not warm.
std::vector<Condition> ValidateSpec(const Plan& plan);

// The source Provider (nullopt: not found) must be vSphere with a URL and a Secret that exists
// (`secret` nullopt: not found) and has user and password; the destination, when given, must be the
// local cluster.
std::vector<Condition> ValidateProviders(const Plan& plan, const std::optional<Provider>& source,
                                         const std::optional<std::map<std::string, std::string>>& secret,
                                         bool destination_given, const std::optional<Provider>& destination);

// What the offload entries of the StorageMap need, looked up in the source Provider's namespace.
struct OffloadSecrets {
  // secretRef → data (nullopt: the Secret does not exist).
  std::map<std::string, std::optional<std::map<std::string, std::string>>> storage;
  bool ssh_private_found = false;
  bool ssh_public_found = false;
};

// The StorageMap (nullopt: not found) must have offload entries, each complete (secretRef, a known
// storageVendorProduct) with an existing, complete storage Secret; the Provider's clone method must be
// vib or ssh, and ssh needs the offload-ssh-keys-<provider>-private/public Secrets.
std::vector<Condition> ValidateStorageMap(const Plan& plan, const std::optional<StorageMap>& map,
                                          const Provider& source, const OffloadSecrets& secrets);

// One Plan VM and what vCenter said about it.
struct VmLookup {
  PlanVm wanted;
  std::optional<SourceVm> vm;  // found
  std::string error;           // why not (a hoist::Error message)
  bool transient = false;      // vCenter could not be asked
};

// Per VM and disk: the VM exists; every disk's datastore is in the map (VMStorageNotMapped); no disk is
// on a datastore mapped without offload while the plan uses offload (VDDKAndOffloadMixedUsage, naming
// the VM, the disk and the datastore); no disk has zero capacity; entries with csiVolumeImport are
// refused (hoist populates through XCOPY only).
std::vector<Condition> ValidateVms(const Plan& plan, const StorageMap& map, const std::vector<VmLookup>& vms);

// "vm1 (vm-20)".
std::string VmLabel(const SourceVm& vm);
// "[ds1] vm1/vm1.vmdk on datastore ds1 (datastore-12)".
std::string DiskLabel(const SourceDisk& disk);

// Conditions as JSON for Plan.status.conditions. `previous` is the current list: a condition whose
// status did not change keeps its lastTransitionTime.
nlohmann::json ConditionsJson(const std::vector<Condition>& conditions, const nlohmann::json& previous,
                              const std::string& now);

}  // namespace hoist::planner

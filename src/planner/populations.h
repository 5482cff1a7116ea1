#pragma once
// What `hoist status` and `hoist watch` show: one row per populator CR (all three kinds), joined with
// the PVC whose dataSourceRef names it and with the Events about either, read from any cluster. Works
// for CRs the planner made and for CRs created by hand or by Forklift. Rows are pure functions of the
// objects and `now`; ListPopulations does the reading.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hoist::kube {
class KubeClient;
}

namespace hoist::planner {

struct Population {
  std::string ns;
  std::string name;  // the CR
  std::string kind;  // "VSphereXcopyVolumePopulator", …
  std::string pvc;   // the target PVC ("" when none references the CR)
  std::string plan_uid;
  std::string vm;      // VM name (planner annotation) or id
  std::string disk;    // VMDK path, oVirt disk id or Glance image id
  std::string vendor;  // storage vendor (xcopy)
  std::string method;  // clone method: vib, ssh, vvol, rdm (xcopy); imageio (oVirt); glance (OpenStack)
  int percent = 0;
  int64_t total_bytes = 0;  // the PVC's request
  int64_t transferred_bytes = 0;
  std::optional<double> bytes_per_second;  // since the copy started (or over the whole copy when done)
  std::optional<int64_t> eta_seconds;
  std::string xcopy;   // "yes" (the array copied), "no" (ESXi fell back to a host copy), "" (not known)
  std::string state;   // Pending, Running, Succeeded, Failed
  std::string reason;  // why Pending / Failed (Throttled, WaitingForNode, PopulatorFailed, …)
  std::string message;  // the condition's message, else the latest Warning Event's note
  std::string started;  // RFC 3339, when the copy started
  bool done() const { return state == "Succeeded" || state == "Failed"; }
};

// Rows for `crs` (any mix of the three kinds), `pvcs` and `events` (events.k8s.io or core/v1) of the
// same namespaces, sorted by namespace, VM, disk.
std::vector<Population> Populations(const std::vector<nlohmann::json>& crs, const std::vector<nlohmann::json>& pvcs,
                                    const std::vector<nlohmann::json>& events, std::chrono::system_clock::time_point now);

struct PopulationQuery {
  std::string ns;        // "" for all namespaces
  std::string plan_uid;  // only CRs labelled plan=<uid>, when set
  bool events = true;    // also read Events (for messages)
};
// Lists the CRs of every populator kind the API server serves, the PVCs and the Events.
std::vector<Population> ListPopulations(kube::KubeClient& client, const PopulationQuery& query,
                                        std::chrono::system_clock::time_point now);

// "1.5 GiB", "640 MiB", "12 KiB", "0 B".
std::string FormatBytes(int64_t bytes);
// "85.3 MiB/s".
std::string FormatRate(double bytes_per_second);
// "1h02m", "4m05s", "12s".
std::string FormatDuration(int64_t seconds);

// The `hoist status` table: VM, DISK, VENDOR, METHOD, PROGRESS, RATE, ETA, XCOPY, RESULT, MESSAGE
// (NAMESPACE first when `with_namespace`). The message column is cut so that lines fit `width`
// (0: no limit).
std::string PopulationTable(const std::vector<Population>& rows, bool with_namespace, int width);

// The rows as JSON (for `-o json`).
nlohmann::json PopulationsJson(const std::vector<Population>& rows);

}  // namespace hoist::planner

#pragma once
// From a populator's /metrics scrape (parsed by prom::ParseText) to the CR's `status`, and from the
// observed pod/PVC state to the CR's `status.conditions`. Pure functions: the reconcile loop scrapes,
// calls these, and writes the result.
//
// Status fields are the ones Forklift writes (all strings): `progress` for every kind; for xcopy also
// `xcopyUsed`, `vibVersion` and, once the populator reports completion (its
// vsphere_xcopy_volume_populator_copy_duration_seconds sample), `copyDurationSeconds`, `result`,
// `storageVendor`, `cloneMethod`, `storageProtocol`, `provisionedBytes`, `allocatedBytes`, plus the CR
// label forklift.konveyor.io/offload-completed=true. forklift-controller reads `progress` as an
// integer percentage and copies the xcopy fields into its task annotations.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "controller/kinds.h"
#include "prom/parse.h"

namespace hoist::controller {

// What one scrape says about one target PVC (selected by the owner-UID label).
struct ScrapeReading {
  std::optional<double> progress;  // the kind's progress counter, percent, as scraped
  // xcopy only.
  std::optional<std::string> xcopy_used;   // "0" / "1"
  std::optional<std::string> vib_version;  // `version` label of ..._vib_version
  bool completed = false;                  // ..._copy_duration_seconds is present
  std::string copy_duration_seconds;       // the fields below only when completed
  std::string result;                      // "success" / "failure"
  std::string storage_vendor;
  std::string clone_method;
  std::string storage_protocol;
  std::string provisioned_bytes;  // integer bytes, e.g. "1073741824"
  std::string allocated_bytes;
};

// Reads the samples of `owner_uid` by family name and label, whatever the label order or number
// notation. Fixes Forklift's regex reading: `progress\{ownerUID=…` matched any family ending in
// "progress"; `1e-05` was read as 1; the completion labels had to be in alphabetical order; bytes were
// written with %g ("1.073741824e+09") — hoist writes integers.
ScrapeReading ReadScrape(PopulatorKind kind, const prom::Scrape& scrape, std::string_view owner_uid);

// The CR's next `status` object: `current` (the CR's status, may be null) with the reading applied.
// `progress` is an integer string that never goes backwards (a recreated pod starts again at 0) and
// never exceeds 100 (Forklift truncated whatever it read, including out-of-range values); NaN and
// negative readings are ignored. Other fields of `current` (e.g. conditions) are kept.
nlohmann::json NextStatus(PopulatorKind kind, const nlohmann::json& current, const ScrapeReading& reading);

// When the target PVC is bound to the populated volume: progress "100" (the last scrape may have
// been taken before the populator's final update).
nlohmann::json CompletedStatus(const nlohmann::json& current);

// xcopy: a Failed pod whose failure was never scraped still gets `result: failure` (Forklift only
// recorded it in a controller metric, so forklift-controller's task never showed it).
nlohmann::json FailedStatus(PopulatorKind kind, const nlohmann::json& current);

// Merge patch adding the offload-completed label to an xcopy CR once completion was read; null when
// nothing is to be done (other kinds, not completed, or already labelled).
nlohmann::json OffloadCompletedLabelPatch(PopulatorKind kind, const nlohmann::json& cr,
                                          const ScrapeReading& reading);

// Delay before the next scrape of a running populator: `interval` (5 s by default) normally, doubling
// per consecutive failed scrape up to 12 intervals (60 s for 5 s) (Forklift quirk: a failed scrape was
// retried at once, spinning on a dead pod).
std::chrono::milliseconds NextScrapeDelay(std::chrono::milliseconds interval, int consecutive_failures);
// Scrape only a Running pod that has an IP (Forklift's loop stopped when the pod left Running).
bool ShouldScrape(const nlohmann::json& pod);
// https://<podIP>:8443/metrics (port from the container port named `metrics` when present); "" when
// the pod has no IP yet.
std::string MetricsUrl(const nlohmann::json& pod);

// ---- Conditions (hoist addition: Forklift writes none) -----------------------------------------

enum class PopulationState { kPending, kRunning, kSucceeded, kFailed };
std::string_view PopulationStateName(PopulationState state);  // "Pending", "Running", ...

struct Observation {
  PopulatorKind kind = PopulatorKind::kOvirt;
  const nlohmann::json* target_pvc = nullptr;  // required
  const nlohmann::json* pod = nullptr;         // populate-<uid>, when it exists
  const nlohmann::json* prime_pvc = nullptr;   // prime-<uid>, when it exists
  // Why no pod exists yet (e.g. from DecideBinding or throttling); empty when nothing blocks it.
  std::string waiting_reason;  // CamelCase, e.g. "WaitingForNode", "Throttled"
  std::string waiting_message;
  // For a Failed pod: DecideRetry's verdict.
  std::optional<RetryDecision> retry;
  std::string result;  // status.result (xcopy): "failure" means the copy failed even if the pod runs
  int progress = 0;    // status.progress
  // A static volume bound to the target PVC by the PV controller, populated in place (no prime PVC):
  // Succeeded only once `populated_in_place` (the pod succeeded and the PV is marked populated-from).
  bool in_place = false;
  bool populated_in_place = false;
};

struct ConditionSummary {
  PopulationState state = PopulationState::kPending;
  std::string reason;
  std::string message;  // names the pod/PVC and what to check
};
ConditionSummary Summarize(const Observation& observation);

// The `status.conditions` list: one condition per state (Pending, Running, Succeeded, Failed), the
// summarised one "True" with its reason and message, the others "False". lastTransitionTime changes
// only when a condition's status flips (Kubernetes API conventions); observedGeneration is the CR's
// metadata.generation. `now` is RFC 3339 ("2026-11-22T01:02:03Z").
nlohmann::json UpdateConditions(const nlohmann::json& existing, const ConditionSummary& summary,
                                std::string_view now, int64_t observed_generation);

}  // namespace hoist::controller

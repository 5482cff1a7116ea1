#pragma once
// The planner's settings from hoist-controller's environment, with the names forklift-controller's
// operator sets (reference forklift-populator-controller.md §5.1, forklift-xcopy-populator.md §1.3):
//   FEATURE_COPY_OFFLOAD          "true" runs the planner (Go ParseBool; unset or anything else: off)
//   HOST_LEASE_NAMESPACE          where populators take their per-ESXi-host Leases (default openshift-mtv)
//   HOST_LEASE_DURATION_SECONDS   the Leases' duration handed to the populators (default 10)
//   MAX_VM_INFLIGHT               VMs copying at once per ESXi host and plan (default 20)
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/planner.h"

namespace hoist::planner {

struct PlannerSettings {
  bool enabled = false;
  PlannerOptions options;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;

// Malformed values keep the default and add a line to `warnings` naming the variable.
PlannerSettings PlannerSettingsFromEnvironment(const EnvLookup& lookup, std::vector<std::string>* warnings);

}  // namespace hoist::planner

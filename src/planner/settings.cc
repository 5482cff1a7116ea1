#include "planner/settings.h"

#include "core/flags.h"

namespace hoist::planner {

PlannerSettings PlannerSettingsFromEnvironment(const EnvLookup& lookup, std::vector<std::string>* warnings) {
  PlannerSettings s;
  auto get = [&](std::string_view name) -> std::string {
    std::optional<std::string> v = lookup(name);
    return v ? *v : std::string();
  };
  auto integer = [&](std::string_view name, int min, int fallback) {
    std::string v = get(name);
    if (v.empty()) return fallback;
    try {
      size_t used = 0;
      int n = std::stoi(v, &used);
      if (used == v.size() && n >= min) return n;
    } catch (const std::exception&) {
    }
    if (warnings != nullptr) {
      warnings->push_back(std::string(name) + "=\"" + v + "\" is not an integer >= " + std::to_string(min) + "; using " +
                          std::to_string(fallback));
    }
    return fallback;
  };
  std::string feature = get("FEATURE_COPY_OFFLOAD");
  if (!feature.empty()) {
    std::optional<bool> b = ParseGoBool(feature);
    if (!b && warnings != nullptr) {
      warnings->push_back("FEATURE_COPY_OFFLOAD=\"" + feature + "\" is not a boolean; copy offload stays off");
    }
    s.enabled = b.value_or(false);
  }
  if (std::string ns = get("HOST_LEASE_NAMESPACE"); !ns.empty()) s.options.lease_namespace = ns;
  s.options.lease_duration_seconds = integer("HOST_LEASE_DURATION_SECONDS", 1, s.options.lease_duration_seconds);
  s.options.max_vm_inflight = integer("MAX_VM_INFLIGHT", 1, s.options.max_vm_inflight);
  return s;
}

}  // namespace hoist::planner

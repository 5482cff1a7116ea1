// FEATURE_COPY_OFFLOAD and the planner's other settings from the controller's environment.
#include <gtest/gtest.h>

#include <map>

#include "planner/settings.h"

namespace hoist::planner {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(PlannerSettings, OffUnlessTheFeatureIsOn) {
  std::vector<std::string> w;
  EXPECT_FALSE(PlannerSettingsFromEnvironment(Env({}), &w).enabled);
  EXPECT_TRUE(PlannerSettingsFromEnvironment(Env({{"FEATURE_COPY_OFFLOAD", "true"}}), &w).enabled);
  EXPECT_TRUE(PlannerSettingsFromEnvironment(Env({{"FEATURE_COPY_OFFLOAD", "1"}}), &w).enabled);
  EXPECT_FALSE(PlannerSettingsFromEnvironment(Env({{"FEATURE_COPY_OFFLOAD", "false"}}), &w).enabled);
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(PlannerSettingsFromEnvironment(Env({{"FEATURE_COPY_OFFLOAD", "yes please"}}), &w).enabled);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("FEATURE_COPY_OFFLOAD"), std::string::npos);
}

TEST(PlannerSettings, DefaultsAreForklifts) {
  PlannerSettings s = PlannerSettingsFromEnvironment(Env({}), nullptr);
  EXPECT_EQ(s.options.lease_namespace, "openshift-mtv");
  EXPECT_EQ(s.options.lease_duration_seconds, 10);
  EXPECT_EQ(s.options.max_vm_inflight, 20);
}

TEST(PlannerSettings, ValuesAndBadValues) {
  std::vector<std::string> w;
  PlannerSettings s = PlannerSettingsFromEnvironment(
      Env({{"HOST_LEASE_NAMESPACE", "hoist-system"}, {"HOST_LEASE_DURATION_SECONDS", "15"}, {"MAX_VM_INFLIGHT", "0"}}), &w);
  EXPECT_EQ(s.options.lease_namespace, "hoist-system");
  EXPECT_EQ(s.options.lease_duration_seconds, 15);
  EXPECT_EQ(s.options.max_vm_inflight, 20);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("MAX_VM_INFLIGHT=\"0\""), std::string::npos);
}

}  // namespace
}  // namespace hoist::planner

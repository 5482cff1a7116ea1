#include "controller/settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"

namespace hoist::controller {
namespace {

using ::testing::HasSubstr;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Settings, ForkliftsEnvironment) {
  std::vector<std::string> warnings;
  ControllerSettings s = SettingsFromEnvironment(Env({{"OVIRT_POPULATOR_IMAGE", "quay.io/o:1"},
                                                      {"VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE", "quay.io/x:1"},
                                                      {"OPENSTACK_POPULATOR_IMAGE", ""},
                                                      {"MAX_POPULATOR_INFLIGHT", "4"},
                                                      {"POPULATOR_CONTAINER_LIMITS_MEMORY", "2Gi"}}),
                                                 &warnings);
  EXPECT_TRUE(s.Enabled(PopulatorKind::kOvirt));
  EXPECT_FALSE(s.Enabled(PopulatorKind::kOpenstack));
  EXPECT_TRUE(s.Enabled(PopulatorKind::kVSphereXcopy));
  EXPECT_EQ(s.images[PopulatorKind::kVSphereXcopy], "quay.io/x:1");
  EXPECT_EQ(s.EnabledKindsText(), "ovirt, vsphere-xcopy");
  EXPECT_EQ(s.max_in_flight, 4);
  EXPECT_EQ(s.resources.limits_memory, "2Gi");
  EXPECT_EQ(s.resources.requests_cpu, "100m");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("OPENSTACK_POPULATOR_IMAGE is not set"));
}

TEST(Settings, MalformedValuesKeepDefaultsWithAWarning) {
  std::vector<std::string> warnings;
  ControllerSettings s =
      SettingsFromEnvironment(Env({{"MAX_POPULATOR_INFLIGHT", "twenty"}, {"POPULATOR_CONTAINER_REQUESTS_CPU", "lots"}}),
                              &warnings);
  EXPECT_EQ(s.max_in_flight, 20);
  EXPECT_EQ(s.resources.requests_cpu, "100m");
  EXPECT_EQ(s.EnabledKindsText(), "none");
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  EXPECT_THAT(all, HasSubstr("MAX_POPULATOR_INFLIGHT=\"twenty\" is not a non-negative integer; using 20"));
  EXPECT_THAT(all, HasSubstr("POPULATOR_CONTAINER_REQUESTS_CPU=\"lots\""));
  EXPECT_EQ(SettingsFromEnvironment(Env({{"MAX_POPULATOR_INFLIGHT", "0"}}), nullptr).max_in_flight, 0);
}

}  // namespace
}  // namespace hoist::controller

// The rows of `hoist status`: CR + PVC + Events → VM, disk, progress, rate, ETA, XCOPY, result.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "planner/populations.h"
#include "planner/status.h"

namespace hoist::planner {
namespace {

using nlohmann::json;

json Cr(const std::string& name, const json& status, const std::string& kind = "VSphereXcopyVolumePopulator") {
  json spec = kind == "VSphereXcopyVolumePopulator"
                  ? json{{"vmId", "vm-20"}, {"vmdkPath", "[ds1] vm1/" + name + ".vmdk"}, {"secretName", name},
                         {"storageVendorProduct", "ontap"}}
                  : json{{"diskId", "3f2e"}, {"engineUrl", "https://engine"}, {"engineSecretName", "s"}};
  return {{"kind", kind},
          {"metadata", {{"name", name}, {"namespace", "vms"}, {"labels", {{"plan", "p-uid"}}},
                        {"annotations", {{"planner.hoist.io/vm-name", "vm1"}}}}},
          {"spec", spec},
          {"status", status}};
}

json Pvc(const std::string& cr, const std::string& phase, const std::string& kind = "VSphereXcopyVolumePopulator") {
  return {{"metadata", {{"name", cr}, {"namespace", "vms"}}},
          {"spec", {{"resources", {{"requests", {{"storage", "100Mi"}}}}},
                    {"dataSourceRef", {{"apiGroup", "forklift.konveyor.io"}, {"kind", kind}, {"name", cr}}}}},
          {"status", {{"phase", phase}}}};
}

json Running(const std::string& progress, const std::string& since) {
  return {{"progress", progress},
          {"xcopyUsed", "1"},
          {"cloneMethod", "vib"},
          {"conditions", {{{"type", "Running"}, {"status", "True"}, {"reason", "Copying"}, {"lastTransitionTime", since}}}}};
}

auto At(const std::string& t) { return *ParseTime(t); }

TEST(PlannerPopulations, RunningCopyHasRateAndEta) {
  auto rows = Populations({Cr("d0", Running("25", "2026-03-01T10:00:00Z"))}, {Pvc("d0", "Pending")}, {},
                          At("2026-03-01T10:00:10Z"));
  ASSERT_EQ(rows.size(), 1u);
  const Population& p = rows[0];
  EXPECT_EQ(p.vm, "vm1");
  EXPECT_EQ(p.disk, "[ds1] vm1/d0.vmdk");
  EXPECT_EQ(p.vendor, "ontap");
  EXPECT_EQ(p.method, "vib");
  EXPECT_EQ(p.pvc, "d0");
  EXPECT_EQ(p.state, "Running");
  EXPECT_EQ(p.percent, 25);
  EXPECT_EQ(p.total_bytes, 100ll << 20);
  EXPECT_EQ(p.transferred_bytes, 25ll << 20);
  ASSERT_TRUE(p.bytes_per_second);
  EXPECT_DOUBLE_EQ(*p.bytes_per_second, (25ll << 20) / 10.0);
  ASSERT_TRUE(p.eta_seconds);
  EXPECT_EQ(*p.eta_seconds, 30);
  EXPECT_EQ(p.xcopy, "yes");
  EXPECT_EQ(p.plan_uid, "p-uid");
}

TEST(PlannerPopulations, States) {
  json pending = {{"conditions", {{{"type", "Pending"}, {"status", "True"}, {"reason", "Throttled"},
                                   {"message", "20 populator pods on host-17"}}}}};
  json failed = {{"progress", "40"},
                 {"result", "failure"},
                 {"xcopyUsed", "0"},
                 {"conditions", {{{"type", "Failed"}, {"status", "True"}, {"reason", "PopulatorFailed"}, {"message", "clone failed"}}}}};
  json done = Running("100", "2026-03-01T10:00:00Z");
  done["copyDurationSeconds"] = "50";
  auto rows = Populations({Cr("a", pending), Cr("b", failed), Cr("c", done), Cr("orphan", json::object())},
                          {Pvc("a", "Pending"), Pvc("b", "Pending"), Pvc("c", "Bound")}, {}, At("2026-03-01T11:00:00Z"));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].state, "Pending");
  EXPECT_EQ(rows[0].reason, "Throttled");
  EXPECT_EQ(rows[0].message, "20 populator pods on host-17");
  EXPECT_EQ(rows[1].state, "Failed");
  EXPECT_EQ(rows[1].reason, "PopulatorFailed");
  EXPECT_EQ(rows[1].xcopy, "no");
  EXPECT_FALSE(rows[1].eta_seconds);
  EXPECT_EQ(rows[2].state, "Succeeded");
  EXPECT_EQ(rows[2].percent, 100);
  ASSERT_TRUE(rows[2].bytes_per_second);
  EXPECT_DOUBLE_EQ(*rows[2].bytes_per_second, (100ll << 20) / 50.0);  // over the whole copy
  EXPECT_TRUE(rows[2].done());
  EXPECT_EQ(rows[3].state, "Pending");
  EXPECT_EQ(rows[3].reason, "NoPvc");
}

TEST(PlannerPopulations, DisksStoppedWithTheirVmAreDone) {
  json stopped = Cr("s", Running("30", "2026-03-01T10:00:00Z"));
  stopped["metadata"]["annotations"]["planner.hoist.io/vm-failed"] = "[ds1] vm1/x.vmdk: clone failed";
  json gone = Cr("g", Running("30", "2026-03-01T10:00:00Z"));
  auto rows = Populations({stopped, gone}, {}, {}, At("2026-03-01T10:00:10Z"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "g");
  EXPECT_EQ(rows[0].state, "Failed");
  EXPECT_EQ(rows[0].reason, "PvcGone");
  EXPECT_EQ(rows[1].state, "Failed");
  EXPECT_EQ(rows[1].reason, "VmFailed");
  EXPECT_EQ(rows[1].message, "[ds1] vm1/x.vmdk: clone failed");
  EXPECT_TRUE(rows[1].done());
}

TEST(PlannerPopulations, WarningEventsExplainAStuckDisk) {
  json ev1 = {{"type", "Warning"}, {"regarding", {{"kind", "PersistentVolumeClaim"}, {"name", "a"}, {"namespace", "vms"}}},
              {"note", "old news"}, {"eventTime", "2026-03-01T09:00:00Z"}};
  json ev2 = {{"type", "Warning"}, {"involvedObject", {{"kind", "PersistentVolumeClaim"}, {"name", "a"}, {"namespace", "vms"}}},
              {"message", "no node can attach the volume"}, {"lastTimestamp", "2026-03-01T09:30:00Z"}};
  json normal = {{"type", "Normal"}, {"regarding", {{"name", "a"}, {"namespace", "vms"}}}, {"note", "fine"},
                 {"eventTime", "2026-03-01T09:45:00Z"}};
  auto rows = Populations({Cr("a", json::object())}, {Pvc("a", "Pending")}, {ev1, ev2, normal}, At("2026-03-01T10:00:00Z"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].message, "no node can attach the volume");
}

TEST(PlannerPopulations, OtherKindsToo) {
  auto rows = Populations({Cr("o", {{"progress", "10"}}, "OvirtVolumePopulator")}, {Pvc("o", "Pending", "OvirtVolumePopulator")},
                          {}, At("2026-03-01T10:00:00Z"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].disk, "3f2e");
  EXPECT_EQ(rows[0].method, "imageio");
  EXPECT_EQ(rows[0].state, "Running");
}

TEST(PlannerPopulations, Formatting) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(640ll << 20), "640 MiB");
  EXPECT_EQ(FormatBytes(3ll << 30), "3.0 GiB");
  EXPECT_EQ(FormatRate(85.3 * (1 << 20)), "85.3 MiB/s");
  EXPECT_EQ(FormatDuration(12), "12s");
  EXPECT_EQ(FormatDuration(245), "4m05s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
}

TEST(PlannerPopulations, TableFitsTheWidth) {
  auto rows = Populations({Cr("d0", Running("25", "2026-03-01T10:00:00Z"))}, {Pvc("d0", "Pending")}, {},
                          At("2026-03-01T10:00:10Z"));
  rows[0].message = std::string(200, 'x');
  std::string t = PopulationTable(rows, false, 120);
  EXPECT_EQ(t.rfind("VM ", 0), 0u);
  EXPECT_NE(t.find("PROGRESS"), std::string::npos);
  EXPECT_NE(t.find("25%"), std::string::npos);
  EXPECT_NE(t.find("2.5 MiB/s"), std::string::npos);
  EXPECT_NE(t.find("30s"), std::string::npos);
  size_t nl = t.find('\n');
  std::string line = t.substr(nl + 1, t.find('\n', nl + 1) - nl - 1);
  EXPECT_LE(line.size(), 120u);
  EXPECT_EQ(line.substr(line.size() - 3), "...");
  EXPECT_EQ(PopulationsJson(rows)[0]["etaSeconds"], 30);
}

}  // namespace
}  // namespace hoist::planner

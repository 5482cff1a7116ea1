// Plan.status from PVCs and CRs: per disk, per VM, per Plan.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "planner/status.h"

namespace hoist::planner {
namespace {

using nlohmann::json;

constexpr int64_t kGiB = 1ll << 30;

json Pvc(const std::string& phase) { return {{"metadata", {{"name", "d0"}}}, {"status", {{"phase", phase}}}}; }

json Cr(const std::string& progress, const std::vector<std::tuple<std::string, std::string, std::string>>& conds = {},
        json extra = json::object()) {
  json c = json::array();
  for (const auto& [type, reason, message] : conds) {
    c.push_back({{"type", type}, {"status", "True"}, {"reason", reason}, {"message", message},
                 {"lastTransitionTime", "2026-03-01T10:00:00Z"}});
  }
  json status = {{"progress", progress}, {"conditions", c}};
  for (const auto& [k, v] : extra.items()) status[k] = v;
  return {{"metadata", {{"name", "d0"}}}, {"status", status}};
}

DiskObservation Obs(const json* pvc, const json* cr) {
  DiskObservation d;
  d.index = 0;
  d.key = 2000;
  d.file = "[san-ds1] vm1/vm1.vmdk";
  d.capacity_bytes = 10 * kGiB;
  d.datastore = "san-ds1";
  d.name = "d0";
  d.pvc = pvc;
  d.cr = cr;
  return d;
}

TEST(PlannerStatus, TimesRoundTrip) {
  auto t = ParseTime("2026-03-01T10:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatTime(*t), "2026-03-01T10:00:00Z");
  EXPECT_EQ(FormatTime(*ParseTime("2026-03-01T12:00:00.123+02:00")), "2026-03-01T10:00:00Z");
  EXPECT_FALSE(ParseTime("yesterday"));
  EXPECT_EQ(SecondsBetween("2026-03-01T10:00:00Z", "2026-03-01T10:01:30Z"), 90);
  EXPECT_EQ(SecondsBetween("2026-03-01T10:01:30Z", "2026-03-01T10:00:00Z"), 0);
}

TEST(PlannerStatus, DiskPhases) {
  json pending = Pvc("Pending");
  json bound = Pvc("Bound");
  json lost = Pvc("Lost");
  json waiting = Cr("", {{"Pending", "Throttled", "20 populator pods on host-17"}});
  json running = Cr("42", {{"Running", "Copying", "populate-x copies"}});
  json failed = Cr("50", {{"Failed", "PopulatorFailed", "pod populate-x failed: VAAI clone unsupported — check the array"}});
  json result_failure = Cr("10", {}, {{"result", "failure"}});

  DiskVerdict v = EvaluateDisk(Obs(&pending, &waiting));
  EXPECT_EQ(v.phase, "Pending");
  EXPECT_EQ(v.reason, "Throttled");
  v = EvaluateDisk(Obs(&pending, &running));
  EXPECT_EQ(v.phase, "Running");
  EXPECT_EQ(v.percent, 42);
  EXPECT_EQ(v.transferred_bytes, 10 * kGiB * 42 / 100);
  EXPECT_EQ(v.running_since, "2026-03-01T10:00:00Z");
  v = EvaluateDisk(Obs(&bound, &running));
  EXPECT_EQ(v.phase, "Completed");
  EXPECT_EQ(v.transferred_bytes, 10 * kGiB);
  v = EvaluateDisk(Obs(&pending, &failed));
  EXPECT_EQ(v.phase, "Failed");
  EXPECT_EQ(v.reason, "PopulatorFailed");
  EXPECT_NE(v.message.find("VAAI clone unsupported"), std::string::npos);
  v = EvaluateDisk(Obs(&pending, &result_failure));
  EXPECT_EQ(v.phase, "Failed");
  EXPECT_NE(v.message.find("[san-ds1] vm1/vm1.vmdk"), std::string::npos);
  EXPECT_EQ(EvaluateDisk(Obs(nullptr, &running)).reason, "PvcMissing");
  EXPECT_EQ(EvaluateDisk(Obs(&lost, &running)).reason, "PvcLost");
  EXPECT_EQ(EvaluateDisk(Obs(&pending, nullptr)).reason, "PopulatorMissing");
  json garbage = Cr("lots");
  EXPECT_EQ(EvaluateDisk(Obs(&pending, &garbage)).percent, 0);
  json over = Cr("250");
  EXPECT_EQ(EvaluateDisk(Obs(&pending, &over)).percent, 100);
}

TEST(PlannerStatus, DiskTaskKeepsItsTimes) {
  json pending = Pvc("Pending");
  json bound = Pvc("Bound");
  json running = Cr("30", {{"Running", "Copying", ""}}, {{"xcopyUsed", "1"}, {"cloneMethod", "vib"}});
  json t1 = DiskTask(Obs(&pending, &running), json(), "2026-03-01T10:00:20Z");
  EXPECT_EQ(t1["phase"], "Running");
  EXPECT_EQ(t1["started"], "2026-03-01T10:00:00Z");  // the CR's Running transition
  EXPECT_FALSE(t1.contains("completed"));
  EXPECT_EQ(t1["durationSeconds"], 20);
  EXPECT_EQ(t1["progress"]["total"], 10240);
  EXPECT_EQ(t1["progress"]["completed"], 3072);
  EXPECT_EQ(t1["annotations"]["xcopyUsed"], "1");
  EXPECT_EQ(t1["annotations"]["unit"], "MB");
  EXPECT_EQ(t1["pvc"], "d0");
  EXPECT_EQ(t1["deviceKey"], 2000);

  json t2 = DiskTask(Obs(&bound, &running), t1, "2026-03-01T10:01:40Z");
  EXPECT_EQ(t2["phase"], "Completed");
  EXPECT_EQ(t2["started"], "2026-03-01T10:00:00Z");
  EXPECT_EQ(t2["completed"], "2026-03-01T10:01:40Z");
  EXPECT_EQ(t2["durationSeconds"], 100);
  json t3 = DiskTask(Obs(&bound, &running), t2, "2026-03-01T11:00:00Z");
  EXPECT_EQ(t3["completed"], "2026-03-01T10:01:40Z");
  EXPECT_EQ(t3["durationSeconds"], 100);
}

TEST(PlannerStatus, VmRollUp) {
  json pending = Pvc("Pending");
  json bound = Pvc("Bound");
  json running = Cr("50", {{"Running", "Copying", ""}});
  json failed = Cr("50", {{"Failed", "PopulatorFailed", "clone failed on esx1"}});
  std::string now = "2026-03-01T10:00:10Z";
  VmIdentity vm{"vm-20", "vm1", "host-17"};

  json t_done = DiskTask(Obs(&bound, &running), json(), now);
  json t_run = DiskTask(Obs(&pending, &running), json(), now);
  json copying = StartedVmStatus(vm, {t_done, t_run}, json(), now);
  EXPECT_EQ(copying["phase"], "CopyDisks");
  EXPECT_EQ(copying["totalBytes"], 20 * kGiB);
  EXPECT_EQ(copying["transferredBytes"], 15 * kGiB);
  EXPECT_EQ(copying["pipeline"][0]["name"], "DiskTransfer");
  EXPECT_EQ(copying["pipeline"][0]["phase"], "Running");
  EXPECT_EQ(copying["pipeline"][0]["progress"]["total"], 20480);
  EXPECT_EQ(copying["pipeline"][0]["tasks"].size(), 2u);
  EXPECT_EQ(copying["started"], now);
  EXPECT_FALSE(VmDone(copying));

  json done = StartedVmStatus(vm, {t_done, t_done}, copying, "2026-03-01T10:05:10Z");
  EXPECT_EQ(done["phase"], "Completed");
  EXPECT_EQ(done["started"], now);
  EXPECT_EQ(done["completed"], "2026-03-01T10:05:10Z");
  EXPECT_EQ(done["durationSeconds"], 300);
  EXPECT_EQ(done["conditions"][0]["type"], "Succeeded");
  EXPECT_TRUE(VmDone(done));

  json t_fail = DiskTask(Obs(&pending, &failed), json(), now);
  json bad = StartedVmStatus(vm, {t_done, t_fail}, copying, now);
  EXPECT_EQ(bad["phase"], "Failed");
  ASSERT_EQ(bad["error"]["reasons"].size(), 1u);
  EXPECT_EQ(bad["error"]["reasons"][0], "[san-ds1] vm1/vm1.vmdk: clone failed on esx1");
  EXPECT_EQ(bad["conditions"][0]["type"], "Failed");
}

TEST(PlannerStatus, PlanConditions) {
  std::string now = "2026-03-01T10:00:00Z";
  Condition critical{"VMNotFound", "True", kCritical, "NotFound", "VMs not found: vm-9", {}};
  json refused = PlanStatus(json::object(), {critical}, false, {}, now, 3);
  EXPECT_EQ(refused["observedGeneration"], 3);
  EXPECT_FALSE(refused.contains("migration"));
  ASSERT_EQ(refused["conditions"].size(), 2u);
  EXPECT_EQ(refused["conditions"][0]["type"], "Ready");
  EXPECT_EQ(refused["conditions"][0]["status"], "False");
  EXPECT_EQ(refused["conditions"][1]["type"], "VMNotFound");

  json a = {{"id", "vm-1"}, {"name", "a"}, {"phase", "CopyDisks"}};
  json b = {{"id", "vm-2"}, {"name", "b"}, {"phase", "Pending"}};
  json running = PlanStatus(refused, {}, true, {a, b}, now, 3);
  EXPECT_EQ(running["migration"]["started"], now);
  EXPECT_FALSE(running["migration"].contains("completed"));
  EXPECT_EQ(running["conditions"][0]["status"], "True");
  EXPECT_EQ(running["conditions"][1]["type"], "Executing");
  EXPECT_NE(running["conditions"][1]["message"].get<std::string>().find("0 of 2 VMs done"), std::string::npos);

  a["phase"] = "Completed";
  b["phase"] = "Failed";
  json finished = PlanStatus(running, {}, true, {a, b}, "2026-03-01T11:00:00Z", 3);
  EXPECT_EQ(finished["migration"]["started"], now);
  EXPECT_EQ(finished["migration"]["completed"], "2026-03-01T11:00:00Z");
  EXPECT_EQ(finished["conditions"][1]["type"], "Failed");
  EXPECT_NE(finished["conditions"][1]["message"].get<std::string>().find("b (vm-2)"), std::string::npos);
  b["phase"] = "Completed";
  EXPECT_EQ(PlanStatus(running, {}, true, {a, b}, now, 3)["conditions"][1]["type"], "Succeeded");
}

}  // namespace
}  // namespace hoist::planner

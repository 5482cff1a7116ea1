#include "controller/progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/kinds.h"
#include "prom/parse.h"
#include "unit/controller/fixtures.h"

namespace hoist::controller {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kUid = "5b1c7a2e-0000-4c1e-9f0a-2b3c4d5e6f70";

prom::Scrape Parse(const std::string& text) { return prom::ParseText(text); }

TEST(ReadScrape, OvirtProgressByExactFamilyAndOwner) {
  prom::Scrape s = Parse(std::string("# TYPE openstack_populator_progress counter\n"
                                     "openstack_populator_progress{ownerUID=\"") +
                         kUid +
                         "\"} 99\n"
                         "# TYPE ovirt_progress counter\n"
                         "ovirt_progress{ownerUID=\"other\"} 80\n"
                         "ovirt_progress{ownerUID=\"" +
                         kUid + "\"} 37.9\n");
  EXPECT_EQ(ReadScrape(PopulatorKind::kOvirt, s, kUid).progress, 37.9);
  EXPECT_EQ(ReadScrape(PopulatorKind::kOpenstack, s, kUid).progress, 99);
  EXPECT_FALSE(ReadScrape(PopulatorKind::kOvirt, s, "nobody").progress.has_value());
}

TEST(ReadScrape, XcopyCompletionWithLabelsInAnyOrderAndExponents) {
  std::string u = kUid;
  prom::Scrape s =
      Parse("vsphere_xcopy_volume_populator_progress{owner_uid=\"" + u +
            "\"} 1e+02\n"
            "vsphere_xcopy_volume_populator_xcopy_used{storage_vendor=\"ontap\",owner_uid=\"" +
            u +
            "\",clone_method=\"vib\"} 1\n"
            "vsphere_xcopy_volume_populator_vib_version{version=\"0.3.3\",owner_uid=\"" +
            u +
            "\"} 1\n"
            "vsphere_xcopy_volume_populator_source_disk_bytes{type=\"provisioned\",owner_uid=\"" +
            u +
            "\"} 1.073741824e+09\n"
            "vsphere_xcopy_volume_populator_source_disk_bytes{owner_uid=\"" +
            u +
            "\",type=\"datastore_allocated\"} 5e8\n"
            "vsphere_xcopy_volume_populator_copy_duration_seconds{xcopy_used=\"1\",storage_protocol="
            "\"iscsi\",result="
            "\"success\",owner_uid=\"" +
            u + "\",clone_method=\"vib\",storage_vendor=\"ontap\"} 12.75\n");
  ScrapeReading r = ReadScrape(PopulatorKind::kVSphereXcopy, s, kUid);
  EXPECT_EQ(r.progress, 100);
  EXPECT_EQ(r.xcopy_used, "1");
  EXPECT_EQ(r.vib_version, "0.3.3");
  EXPECT_TRUE(r.completed);
  EXPECT_EQ(r.copy_duration_seconds, "12.75");
  EXPECT_EQ(r.result, "success");
  EXPECT_EQ(r.storage_vendor, "ontap");
  EXPECT_EQ(r.clone_method, "vib");
  EXPECT_EQ(r.storage_protocol, "iscsi");
  EXPECT_EQ(r.provisioned_bytes, "1073741824");  // Forklift wrote "1.073741824e+09"
  EXPECT_EQ(r.allocated_bytes, "500000000");

  json status = NextStatus(PopulatorKind::kVSphereXcopy, nullptr, r);
  EXPECT_EQ(status, json::parse(R"({"progress":"100","xcopyUsed":"1","vibVersion":"0.3.3",
      "copyDurationSeconds":"12.75","result":"success","storageVendor":"ontap","cloneMethod":"vib",
      "storageProtocol":"iscsi","provisionedBytes":"1073741824","allocatedBytes":"500000000"})"));
  json cr = fixtures::XcopyCr();
  EXPECT_EQ(OffloadCompletedLabelPatch(PopulatorKind::kVSphereXcopy, cr, r),
            json::parse(R"({"metadata":{"labels":{"forklift.konveyor.io/offload-completed":"true"}}})"));
  cr["metadata"]["labels"]["forklift.konveyor.io/offload-completed"] = "true";
  EXPECT_TRUE(OffloadCompletedLabelPatch(PopulatorKind::kVSphereXcopy, cr, r).is_null());
}

TEST(ReadScrape, XcopyBeforeCompletionWritesNoCompletionFields) {
  prom::Scrape s =
      Parse(std::string("vsphere_xcopy_volume_populator_progress{owner_uid=\"") + kUid + "\"} 1e-05\n");
  ScrapeReading r = ReadScrape(PopulatorKind::kVSphereXcopy, s, kUid);
  EXPECT_FALSE(r.completed);
  json status = NextStatus(PopulatorKind::kVSphereXcopy, json::object(), r);
  EXPECT_EQ(status, json::parse(R"({"progress":"0"})"));
  EXPECT_TRUE(OffloadCompletedLabelPatch(PopulatorKind::kVSphereXcopy, fixtures::XcopyCr(), r).is_null());
}

TEST(NextStatus, ProgressNeverGoesBackwardsOrAbove100) {
  ScrapeReading r;
  r.progress = 42.7;
  json status = NextStatus(PopulatorKind::kOvirt, json{{"progress", "10"}, {"conditions", json::array()}}, r);
  EXPECT_EQ(status["progress"], "42");
  EXPECT_TRUE(status.contains("conditions"));  // other fields kept
  r.progress = 5;                              // a recreated pod starts over
  EXPECT_EQ(NextStatus(PopulatorKind::kOvirt, status, r)["progress"], "42");
  r.progress = 250;
  EXPECT_EQ(NextStatus(PopulatorKind::kOvirt, status, r)["progress"], "100");
  r.progress = std::nan("");
  EXPECT_EQ(NextStatus(PopulatorKind::kOvirt, status, r)["progress"], "42");
  r.progress = -3;
  EXPECT_EQ(NextStatus(PopulatorKind::kOvirt, status, r)["progress"], "42");
  r.progress.reset();
  EXPECT_EQ(NextStatus(PopulatorKind::kOpenstack, json{{"progress", "garbage"}}, r)["progress"], "garbage");
  EXPECT_EQ(CompletedStatus(json{{"progress", "97"}})["progress"], "100");
}

TEST(NextStatus, EmptyCompletionLabelsDoNotEraseValues) {
  ScrapeReading r;
  r.completed = true;
  r.result = "failure";
  json status = NextStatus(PopulatorKind::kVSphereXcopy, json{{"storageVendor", "pure"}}, r);
  EXPECT_EQ(status["result"], "failure");
  EXPECT_EQ(status["storageVendor"], "pure");
  EXPECT_EQ(FailedStatus(PopulatorKind::kVSphereXcopy, json::object())["result"], "failure");
  EXPECT_EQ(FailedStatus(PopulatorKind::kVSphereXcopy, json{{"result", "success"}})["result"], "success");
  EXPECT_FALSE(FailedStatus(PopulatorKind::kOvirt, json::object()).contains("result"));
}

TEST(Scrape, DelayUrlAndWhenToScrape) {
  using std::chrono::milliseconds;
  EXPECT_EQ(NextScrapeDelay(milliseconds(5000), 0).count(), 5000);
  EXPECT_EQ(NextScrapeDelay(milliseconds(5000), 1).count(), 10000);
  EXPECT_EQ(NextScrapeDelay(milliseconds(5000), 3).count(), 40000);
  EXPECT_EQ(NextScrapeDelay(milliseconds(5000), 10).count(), 60000);
  EXPECT_EQ(NextScrapeDelay(milliseconds(200), 100).count(), 2400);  // a test's fast interval scales
  json pod = {{"spec",
               {{"containers",
                 json::array({{{"name", "populate"},
                               {"ports", json::array({{{"name", "metrics"}, {"containerPort", 9443}}})}}})}}},
              {"status", {{"phase", "Running"}, {"podIP", "10.0.0.7"}}}};
  EXPECT_TRUE(ShouldScrape(pod));
  EXPECT_EQ(MetricsUrl(pod), "https://10.0.0.7:9443/metrics");
  pod["status"]["podIP"] = "fd00::7";
  EXPECT_EQ(MetricsUrl(pod), "https://[fd00::7]:9443/metrics");
  pod["status"]["phase"] = "Succeeded";
  EXPECT_FALSE(ShouldScrape(pod));
  EXPECT_EQ(MetricsUrl(json::object()), "");
  json bare = {{"status", {{"podIP", "10.0.0.8"}}}};
  EXPECT_EQ(MetricsUrl(bare), "https://10.0.0.8:8443/metrics");
}

// ---- conditions --------------------------------------------------------------------------------

json Pod(const std::string& phase) { return json{{"status", {{"phase", phase}}}}; }

TEST(Summarize, NoPodYet) {
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator");
  Observation o;
  o.target_pvc = &pvc;
  ConditionSummary c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kPending);
  EXPECT_EQ(c.reason, "CreatingPod");
  EXPECT_THAT(c.message, HasSubstr(std::string("mig/populate-") + kUid));
  o.waiting_reason = "Throttled";
  o.waiting_message = "waiting for a populator slot on ESXi host host-12 (20/20 in flight)";
  c = Summarize(o);
  EXPECT_EQ(c.reason, "Throttled");
  EXPECT_THAT(c.message, HasSubstr("host-12"));
}

TEST(Summarize, PendingPodSaysWhatHoldsIt) {
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator");
  json pod = Pod("Pending");
  json prime = {{"status", {{"phase", "Pending"}}}};
  Observation o;
  o.target_pvc = &pvc;
  o.pod = &pod;
  o.prime_pvc = &prime;
  ConditionSummary c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kPending);
  EXPECT_EQ(c.reason, "PodPending");
  EXPECT_THAT(c.message, HasSubstr(std::string("prime PVC mig/prime-") + kUid + " is Pending"));
  EXPECT_THAT(c.message, HasSubstr("kubectl describe pod -n mig populate-"));
  pod["status"]["containerStatuses"] = json::parse(
      R"([{"name":"populate","state":{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image x"}}}])");
  c = Summarize(o);
  EXPECT_THAT(c.message, HasSubstr("is waiting: ImagePullBackOff: Back-off pulling image x"));
  EXPECT_EQ(c.reason, "ImagePullBackOff");
}

TEST(Summarize, RunningSucceededRebinding) {
  json pvc = fixtures::TargetPvc("VSphereXcopyVolumePopulator");
  json pod = Pod("Running");
  json prime = {{"spec", {{"volumeName", "pvc-123"}}}, {"status", {{"phase", "Bound"}}}};
  Observation o;
  o.kind = PopulatorKind::kVSphereXcopy;
  o.target_pvc = &pvc;
  o.pod = &pod;
  o.prime_pvc = &prime;
  o.progress = 64;
  ConditionSummary c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kRunning);
  EXPECT_EQ(c.reason, "Populating");
  EXPECT_THAT(c.message, HasSubstr("is copying (64%)"));

  pod = Pod("Succeeded");
  c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kRunning);
  EXPECT_EQ(c.reason, "Rebinding");
  EXPECT_THAT(c.message, HasSubstr("volume pvc-123 to be bound to PVC mig/plan-vm-disk-0"));

  pvc["spec"]["volumeName"] = "pvc-123";
  pvc["status"]["phase"] = "Bound";
  c = Summarize(o);  // target bound but prime not yet Lost: still rebinding
  EXPECT_EQ(c.reason, "Rebinding");
  prime["status"]["phase"] = "Lost";
  c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kSucceeded);
  EXPECT_EQ(c.reason, "Populated");
  o.prime_pvc = nullptr;  // deleted
  EXPECT_EQ(Summarize(o).state, PopulationState::kSucceeded);
}

TEST(Summarize, FailedPodWithRetryAndWithout) {
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator");
  json pod = Pod("Failed");
  pod["status"]["containerStatuses"] = json::parse(
      R"([{"name":"populate","state":{"terminated":{"exitCode":3,"reason":"Error","message":"imageio: 403 Forbidden"}}}])");
  Observation o;
  o.target_pvc = &pvc;
  o.pod = &pod;
  o.retry = DecideRetry(PopulatorKind::kOvirt, pvc);
  ConditionSummary c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kPending);
  EXPECT_EQ(c.reason, "Retrying");
  EXPECT_THAT(c.message, HasSubstr("exit code 3 (Error): imageio: 403 Forbidden"));

  o.kind = PopulatorKind::kVSphereXcopy;
  o.retry = DecideRetry(PopulatorKind::kVSphereXcopy, pvc);
  c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kFailed);
  EXPECT_EQ(c.reason, "PopulatorFailed");
  EXPECT_THAT(c.message, HasSubstr("kubectl logs -n mig populate-"));

  json running = Pod("Running");
  o.pod = &running;
  o.result = "failure";
  c = Summarize(o);
  EXPECT_EQ(c.state, PopulationState::kFailed);
  EXPECT_EQ(c.reason, "CopyFailed");
}

TEST(Conditions, TransitionTimeOnlyChangesOnFlip) {
  ConditionSummary pending{PopulationState::kPending, "CreatingPod", "creating"};
  json c1 = UpdateConditions(nullptr, pending, "2026-11-22T01:00:00Z", 3);
  ASSERT_EQ(c1.size(), 4u);
  EXPECT_EQ(c1[0],
            json::parse(R"({"type":"Pending","status":"True","reason":"CreatingPod","message":"creating",
      "lastTransitionTime":"2026-11-22T01:00:00Z","observedGeneration":3})"));
  EXPECT_EQ(c1[1]["type"], "Running");
  EXPECT_EQ(c1[1]["status"], "False");
  EXPECT_EQ(c1[3]["type"], "Failed");

  ConditionSummary still{PopulationState::kPending, "PodPending", "waiting"};
  json c2 = UpdateConditions(c1, still, "2026-11-22T01:01:00Z", 3);
  EXPECT_EQ(c2[0]["lastTransitionTime"], "2026-11-22T01:00:00Z");
  EXPECT_EQ(c2[0]["reason"], "PodPending");
  EXPECT_EQ(c2[1]["lastTransitionTime"], "2026-11-22T01:00:00Z");

  ConditionSummary running{PopulationState::kRunning, "Populating", "copying"};
  json c3 = UpdateConditions(c2, running, "2026-11-22T01:02:00Z", 4);
  EXPECT_EQ(c3[0]["status"], "False");
  EXPECT_EQ(c3[0]["lastTransitionTime"], "2026-11-22T01:02:00Z");
  EXPECT_EQ(c3[1]["status"], "True");
  EXPECT_EQ(c3[1]["lastTransitionTime"], "2026-11-22T01:02:00Z");
  EXPECT_EQ(c3[2]["lastTransitionTime"], "2026-11-22T01:00:00Z");  // Succeeded stayed False
  EXPECT_EQ(c3[1]["observedGeneration"], 4);
}

}  // namespace
}  // namespace hoist::controller

// hoist-controller when things go wrong, in the lab with the test populator: failing pods (retried 3
// times for ovirt/openstack, never for xcopy), per-host throttling, the controller killed and restarted
// at every step of a population, the lab's API server restarted mid-flight, a CR created after its
// PVC, a missing secret, a static volume, and leader hand-over on a graceful stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "integration/controller_lab.h"
#include "kube/objects.h"

namespace hoist::controller::testing {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;
namespace res = kube::resources;
using std::chrono::seconds;

ControllerLab* lab = nullptr;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_EQ(::access("/usr/bin/kubectl", X_OK), 0) << "kubectl is required (scripts/setup.sh installs it)";
    lab = new ControllerLab();
    lab->Apply(R"(apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: lab-file}
provisioner: lab.hoist.io/file
volumeBindingMode: Immediate
)");
  }
  void TearDown() override {
    delete lab;
    lab = nullptr;
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Environment);

const kube::ResourceType kOvirt = PopulatorType("OvirtVolumePopulator");
const kube::ResourceType kOpenstack = PopulatorType("OpenstackVolumePopulator");
const kube::ResourceType kXcopy = PopulatorType("VSphereXcopyVolumePopulator");

std::string Cr(const kube::ResourceType& type, const std::string& ns, const std::string& name,
               const std::string& secret = "knobs", const std::string& source_host = "") {
  std::string labels = source_host.empty() ? "{}" : "{sourceHost: " + source_host + "}";
  std::string spec;
  if (type.kind == "OvirtVolumePopulator") {
    spec = "{engineUrl: \"https://engine\", engineSecretName: " + secret + ", diskId: d-" + name + "}";
  } else if (type.kind == "OpenstackVolumePopulator") {
    spec = "{identityUrl: \"https://keystone/v3\", secretName: " + secret + ", imageId: i-" + name + "}";
  } else {
    spec = "{vmId: vm-1, vmdkPath: \"[ds] vm/" + name + ".vmdk\", secretName: " + secret +
           ", storageVendorProduct: ontap}";
  }
  return "apiVersion: forklift.konveyor.io/v1beta1\nkind: " + type.kind + "\nmetadata: {name: " + name +
         ", namespace: " + ns + ", labels: " + labels + "}\nspec: " + spec + "\n";
}

std::string Pvc(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                const std::string& storage_class = "lab-file") {
  std::string mode = type.kind == "VSphereXcopyVolumePopulator" ? "Block" : "Filesystem";
  return "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n  storageClassName: \"" + storage_class +
         "\"\n  accessModes: [ReadWriteOnce]\n  volumeMode: " + mode +
         "\n  resources: {requests: {storage: 1Mi}}\n  dataSourceRef: {apiGroup: forklift.konveyor.io, kind: " +
         type.kind + ", name: " + name + "}\n";
}

std::string Sa(const std::string& ns) {
  return "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: populator, namespace: " + ns + "}\n";
}

struct Objects {
  json pvc, cr, pod, prime;
};
Objects Read(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
  Objects o;
  o.pvc = lab->Get(res::kPersistentVolumeClaim, ns, name);
  o.cr = lab->Get(type, ns, name);
  if (o.pvc.is_object()) {
    o.pod = lab->Get(res::kPod, ns, "populate-" + kube::Uid(o.pvc));
    o.prime = lab->Get(res::kPersistentVolumeClaim, ns, "prime-" + kube::Uid(o.pvc));
  }
  return o;
}

::testing::AssertionResult WaitState(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                                     const std::function<bool(const Objects&)>& want, seconds timeout,
                                     const std::string& what) {
  Objects o;
  if (Eventually(
          [&] {
            o = Read(type, ns, name);
            return want(o);
          },
          timeout)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "timed out waiting for " << what << " of " << ns << "/" << name
                                       << "; CR condition " << TrueCondition(o.cr) << "\n"
                                       << lab->Describe(ns);
}

bool Populated(const Objects& o) {
  return kube::pvc::Phase(o.pvc) == "Bound" && o.prime.is_null() &&
         TrueCondition(o.cr).rfind("Succeeded/", 0) == 0;
}

void ExpectPattern(const std::string& ns, const std::string& name) {
  json pvc = lab->Get(res::kPersistentVolumeClaim, ns, name);
  json pv = lab->Get(res::kPersistentVolume, "", kube::pvc::VolumeName(pvc));
  ASSERT_TRUE(pv.is_object());
  std::string why;
  EXPECT_TRUE(lab->HoldsPattern(lab->VolumeData(pv), kube::Uid(pvc), 64 * 1024, &why)) << why;
}

int Count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<int>(std::count(v.begin(), v.end(), s));
}

void PauseLabControllers(const std::string& names) {
  lab->Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hoist-lab, namespace: kube-system}\ndata:\n"
             "  paused-controllers: \"" +
             names + "\"\n");
}

// The running controller has reconciled at least as many times as there are target PVCs in the lab
// (each is queued once at start).
bool SyncedEveryTarget() {
  int targets = 0;
  for (const auto& pvc : lab->client().List(res::kPersistentVolumeClaim, "").items) {
    targets += pvc["spec"].contains("dataSourceRef") ? 1 : 0;
  }
  std::string m = lab->Metrics();
  const std::string needle = "hoist_controller_syncs_total{result=\"ok\"} ";
  auto at = m.find(needle);
  return at != std::string::npos && std::atoi(m.c_str() + at + needle.size()) >= targets;
}

const std::map<std::string, std::string> kQuick = {{"TEST_POPULATOR_BYTES", "65536"},
                                                   {"TEST_POPULATOR_STEPS", "2"},
                                                   {"TEST_POPULATOR_STEP_MS", "50"}};

TEST(ControllerFaults, FailingOvirtPodIsRecreatedThreeTimesThenReported) {
  lab->StartController();
  std::map<std::string, std::string> knobs = kQuick;
  knobs["TEST_POPULATOR_FAIL"] = "always";
  lab->Namespace("retry-ovirt", knobs);
  lab->Apply(Cr(kOvirt, "retry-ovirt", "d0") + "---\n" + Pvc(kOvirt, "retry-ovirt", "d0"));
  ASSERT_TRUE(WaitState(kOvirt, "retry-ovirt", "d0",
                        [](const Objects& o) { return TrueCondition(o.cr) == "Failed/PopulatorFailed"; }, seconds(60),
                        "the Failed condition"));
  Objects o = Read(kOvirt, "retry-ovirt", "d0");
  std::string uid = kube::Uid(o.pvc);
  EXPECT_EQ(lab->Runs(uid), 4) << "the original pod and three recreations";
  EXPECT_EQ(kube::Annotation(o.pvc, "recreations"), "3");
  EXPECT_EQ(kube::pod::Phase(o.pod), "Failed") << "the last pod is kept for its logs";
  EXPECT_TRUE(o.prime.is_object()) << "the prime PVC is kept while the population can still be retried by hand";
  EXPECT_EQ(kube::pvc::Phase(o.pvc), "Pending");
  std::vector<std::string> reasons = lab->EventReasons("retry-ovirt", "d0");
  EXPECT_EQ(Count(reasons, "PopulatorFailed"), 4) << ::testing::PrintToString(reasons);
  std::string describe = lab->Kubectl("describe pvc -n retry-ovirt d0");
  EXPECT_THAT(describe, HasSubstr("Populator failed after few (3) attempts: Please check the logs of the populator "
                                  "pod, retry-ovirt/populate-" +
                                  uid));
  std::string failed_message;
  for (const auto& c : o.cr["status"]["conditions"]) {
    if (c["type"] == "Failed") failed_message = c["message"];
  }
  EXPECT_THAT(failed_message, HasSubstr("failed 4 times; giving up"));
  EXPECT_THAT(failed_message, HasSubstr("kubectl logs -n retry-ovirt populate-" + uid));
  EXPECT_THAT(failed_message, HasSubstr("exit code 1"));
  // Nothing more happens on its own.
  EXPECT_EQ(lab->Runs(uid), 4);
}

TEST(ControllerFaults, OpenstackPodSucceedsOnItsThirdAttempt) {
  lab->StartController();
  std::map<std::string, std::string> knobs = kQuick;
  knobs["TEST_POPULATOR_FAIL"] = "first-2";
  lab->Namespace("retry-openstack", knobs);
  lab->Apply(Cr(kOpenstack, "retry-openstack", "d0") + "---\n" + Pvc(kOpenstack, "retry-openstack", "d0"));
  ASSERT_TRUE(WaitState(kOpenstack, "retry-openstack", "d0", Populated, seconds(60), "population"));
  Objects o = Read(kOpenstack, "retry-openstack", "d0");
  EXPECT_EQ(lab->Runs(kube::Uid(o.pvc)), 3);
  EXPECT_EQ(kube::Annotation(o.pvc, "recreations"), "2");
  ExpectPattern("retry-openstack", "d0");
  EXPECT_EQ(Count(lab->EventReasons("retry-openstack", "d0"), "PopulatorFailed"), 2);
}

TEST(ControllerFaults, FailingXcopyPodIsNotRetried) {
  lab->StartController();
  std::map<std::string, std::string> knobs = kQuick;
  knobs["TEST_POPULATOR_FAIL"] = "always";
  lab->Namespace("retry-xcopy", knobs);
  lab->Apply(Sa("retry-xcopy") + "---\n" + Cr(kXcopy, "retry-xcopy", "d0") + "---\n" + Pvc(kXcopy, "retry-xcopy", "d0"));
  ASSERT_TRUE(WaitState(kXcopy, "retry-xcopy", "d0",
                        [](const Objects& o) { return TrueCondition(o.cr) == "Failed/PopulatorFailed"; }, seconds(60),
                        "the Failed condition"));
  Objects o = Read(kXcopy, "retry-xcopy", "d0");
  std::string uid = kube::Uid(o.pvc);
  EXPECT_EQ(lab->Runs(uid), 1);
  EXPECT_EQ(kube::Annotation(o.pvc, "recreations"), "");
  EXPECT_EQ(o.cr["status"].value("result", ""), "failure");
  EXPECT_EQ(kube::pod::Phase(o.pod), "Failed");
  EXPECT_THAT(lab->Kubectl("describe pvc -n retry-xcopy d0"),
              HasSubstr("VSphere xcopy populator failed (no retry): Please check the logs of the populator pod, "
                        "retry-xcopy/populate-" +
                        uid));
  EXPECT_EQ(lab->Runs(uid), 1);
}

// Pods Pending or Running per sourceHost label, over time, from a watch.
class HostConcurrency {
 public:
  explicit HostConcurrency(const std::string& ns) {
    thread_ = std::jthread([this, ns](std::stop_token stop) {
      kube::WatchOptions o;
      o.resource_version = "0";
      try {
        kube::WatchWithResume(
            lab->client(), res::kPod, ns, o,
            [this](const kube::WatchEvent& e) {
              std::string host = kube::Label(e.object, "sourceHost");
              if (host.empty()) return true;
              std::string phase = kube::pod::Phase(e.object);
              bool active = e.type != kube::WatchEvent::Type::kDeleted && (phase == "Pending" || phase == "Running");
              std::lock_guard<std::mutex> l(mu_);
              auto& set = active_[host];
              if (active) {
                set.insert(kube::Name(e.object));
              } else {
                set.erase(kube::Name(e.object));
              }
              max_[host] = std::max(max_[host], set.size());
              if (active_["esx-a"].size() > 0 && active_["esx-b"].size() > 0) overlap_ = true;
              return true;
            },
            stop);
      } catch (const std::exception&) {
      }
    });
  }
  size_t Max(const std::string& host) {
    std::lock_guard<std::mutex> l(mu_);
    return max_[host];
  }
  bool Overlapped() {
    std::lock_guard<std::mutex> l(mu_);
    return overlap_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::set<std::string>> active_;
  std::map<std::string, size_t> max_;
  bool overlap_ = false;
  std::jthread thread_;
};

TEST(ControllerFaults, ThrottlesPopulatorPodsPerEsxiHost) {
  lab->StartController({}, {{"MAX_POPULATOR_INFLIGHT", "1"}});
  lab->Namespace("throttle", {{"TEST_POPULATOR_BYTES", "65536"},
                              {"TEST_POPULATOR_STEPS", "4"},
                              {"TEST_POPULATOR_STEP_MS", "250"}});
  HostConcurrency pods("throttle");
  lab->Apply(Sa("throttle") + "---\n" + Cr(kXcopy, "throttle", "a1", "knobs", "esx-a") + "---\n" +
             Cr(kXcopy, "throttle", "a2", "knobs", "esx-a") + "---\n" + Cr(kXcopy, "throttle", "b1", "knobs", "esx-b") +
             "---\n" + Pvc(kXcopy, "throttle", "a1") + "---\n" + Pvc(kXcopy, "throttle", "a2") + "---\n" +
             Pvc(kXcopy, "throttle", "b1"));
  for (const char* name : {"a1", "a2", "b1"}) {
    ASSERT_TRUE(WaitState(kXcopy, "throttle", name, Populated, seconds(60), "population"));
    ExpectPattern("throttle", name);
  }
  EXPECT_EQ(pods.Max("esx-a"), 1u) << "never more than MAX_POPULATOR_INFLIGHT pods on one host";
  EXPECT_TRUE(pods.Overlapped()) << "another host's pod is not held back";
  std::vector<std::string> throttled = lab->EventReasons("throttle", "a1");
  std::vector<std::string> a2 = lab->EventReasons("throttle", "a2");
  throttled.insert(throttled.end(), a2.begin(), a2.end());
  EXPECT_EQ(Count(throttled, "PopulatorThrottled"), 1) << "one of a1/a2 waited, and was told so once";
  EXPECT_EQ(Count(lab->EventReasons("throttle", "b1"), "PopulatorThrottled"), 0);
  EXPECT_THAT(lab->Kubectl("get events -n throttle"), HasSubstr("Waiting for available populator slot on host esx-a"));
}

TEST(ControllerFaults, KilledAndRestartedAtEveryStepPopulatesExactlyOnce) {
  const std::string ns = "restarts";
  std::map<std::string, std::string> env = {{"MAX_POPULATOR_INFLIGHT", "1"}};
  lab->Namespace(ns, {{"TEST_POPULATOR_BYTES", "65536"},
                      {"TEST_POPULATOR_STEPS", "6"},
                      {"TEST_POPULATOR_STEP_MS", "200"},
                      {"TEST_POPULATOR_SCRAPE_EACH_STEP", "1"}});
  // A pod of another migration holds the only slot on esx-k.
  lab->Apply("apiVersion: v1\nkind: Pod\nmetadata: {name: blocker, namespace: " + ns +
             ", labels: {sourceHost: esx-k}}\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 1\n"
             "  containers:\n  - {name: main, image: busybox, command: [sleep, \"300\"]}\n");
  lab->StartController({}, env);
  auto restart = [&](int sig = SIGKILL) {
    lab->StopController(sig);
    lab->StartController({}, env);
  };
  lab->Apply(Cr(kOvirt, ns, "d0", "knobs", "esx-k") + "---\n" + Pvc(kOvirt, ns, "d0"));

  // 1. Prime PVC created, pod held back by the throttle.
  ASSERT_TRUE(WaitState(kOvirt, ns, "d0",
                        [](const Objects& o) { return o.prime.is_object() && TrueCondition(o.cr) == "Pending/Throttled"; },
                        seconds(30), "prime PVC created and pod throttled"));
  std::string prime_uid = kube::Uid(Read(kOvirt, ns, "d0").prime);
  restart();
  // 2. Slot freed; provisioner paused, so the pod is created and waits for its prime claim.
  PauseLabControllers("provisioner");
  lab->Kubectl("delete pod -n " + ns + " blocker --wait=true");
  ASSERT_TRUE(WaitState(kOvirt, ns, "d0", [](const Objects& o) { return o.pod.is_object(); }, seconds(30),
                        "the populator pod"));
  std::string pod_uid = kube::Uid(Read(kOvirt, ns, "d0").pod);
  restart();
  restart();  // and once more right away, before it did anything
  // 3. Mid-copy.
  PauseLabControllers("");
  ASSERT_TRUE(WaitState(kOvirt, ns, "d0",
                        [](const Objects& o) {
                          std::string p = o.cr.is_object() && o.cr.contains("status") ? o.cr["status"].value("progress", "0") : "0";
                          return std::stoi(p) > 0 && std::stoi(p) < 100;
                        },
                        seconds(30), "progress between 0 and 100"));
  restart();
  // 4. Binder paused: the controller switches the PV's claimRef, but the prime claim cannot go Lost.
  PauseLabControllers("binder");
  std::string pv;
  ASSERT_TRUE(WaitState(kOvirt, ns, "d0",
                        [&](const Objects& o) {
                          if (!o.prime.is_object()) return false;
                          pv = kube::pvc::VolumeName(o.prime);
                          json v = lab->Get(res::kPersistentVolume, "", pv);
                          return v.is_object() && v["spec"]["claimRef"].value("name", "") == "d0";
                        },
                        seconds(30), "the claimRef switch"));
  Objects between = Read(kOvirt, ns, "d0");
  EXPECT_EQ(kube::pvc::Phase(between.prime), "Bound") << "held between the claimRef patch and the prime going Lost";
  EXPECT_EQ(kube::pvc::Phase(between.pvc), "Pending");
  restart();
  // The restarted controller has reconciled the PVC (it counts it in flight) and sent nothing new.
  ASSERT_TRUE(Eventually([&] { return lab->Metrics().find("volume_populator_operations_in_flight 1") != std::string::npos; },
                         seconds(10)));
  restart();
  // 5. With the controller down, the PV controller binds the target and marks the prime Lost.
  lab->StopController(SIGKILL);
  PauseLabControllers("");
  ASSERT_TRUE(WaitState(kOvirt, ns, "d0",
                        [](const Objects& o) { return kube::pvc::Phase(o.prime) == "Lost" && kube::pvc::Phase(o.pvc) == "Bound"; },
                        seconds(30), "prime Lost and target Bound"));
  lab->StartController({}, env);
  ASSERT_TRUE(WaitState(kOvirt, ns, "d0", Populated, seconds(30), "population"));
  // 6. And once finished, a restart changes nothing.
  restart();
  ASSERT_TRUE(Eventually([&] { return SyncedEveryTarget(); }, seconds(10)));

  Objects o = Read(kOvirt, ns, "d0");
  std::string uid = kube::Uid(o.pvc);
  EXPECT_EQ(lab->Runs(uid), 1) << "the populator ran exactly once";
  EXPECT_EQ(kube::Uid(o.pod), pod_uid) << "the populator pod was never recreated";
  EXPECT_EQ(kube::pvc::VolumeName(o.pvc), pv);
  ExpectPattern(ns, "d0");
  std::vector<std::string> reasons = lab->EventReasons(ns, "d0");
  EXPECT_EQ(Count(reasons, "PopulatorCreated"), 1) << ::testing::PrintToString(reasons);
  EXPECT_EQ(Count(reasons, "PopulatorFinished"), 1) << ::testing::PrintToString(reasons);
  EXPECT_EQ(Count(reasons, "PopulatorFailed"), 0);
  EXPECT_EQ(o.cr["status"]["progress"], "100");
  (void)prime_uid;
}

TEST(ControllerFaults, CrCreatedAfterItsPvc) {
  lab->StartController();
  lab->Namespace("late-cr", kQuick);
  lab->Apply(Pvc(kOvirt, "late-cr", "d0"));
  ASSERT_TRUE(Eventually([] { return Count(lab->EventReasons("late-cr", "d0"), "PopulatorResourceNotFound") >= 1; },
                         seconds(20)))
      << "the user is told what the PVC waits for\n"
      << lab->Describe("late-cr");
  Objects o = Read(kOvirt, "late-cr", "d0");
  EXPECT_TRUE(o.pod.is_null());
  EXPECT_TRUE(o.prime.is_null());
  EXPECT_THAT(lab->Kubectl("describe pvc -n late-cr d0"),
              HasSubstr("OvirtVolumePopulator late-cr/d0 named by spec.dataSourceRef does not exist"));
  lab->Apply(Cr(kOvirt, "late-cr", "d0"));
  ASSERT_TRUE(WaitState(kOvirt, "late-cr", "d0", Populated, seconds(30), "population"));
  ExpectPattern("late-cr", "d0");
}

TEST(ControllerFaults, MissingSecretIsReportedAndPopulationResumesOnceItExists) {
  lab->StartController();
  lab->Namespace("no-secret", kQuick);
  lab->Apply(Cr(kOvirt, "no-secret", "d0", "engine-creds") + "---\n" + Pvc(kOvirt, "no-secret", "d0"));
  ASSERT_TRUE(WaitState(kOvirt, "no-secret", "d0",
                        [](const Objects& o) { return TrueCondition(o.cr) == "Pending/CreateContainerConfigError"; },
                        seconds(30), "the CreateContainerConfigError condition"));
  Objects o = Read(kOvirt, "no-secret", "d0");
  std::string pending_message;
  for (const auto& c : o.cr["status"]["conditions"]) {
    if (c["type"] == "Pending") pending_message = c["message"];
  }
  EXPECT_THAT(pending_message, HasSubstr("engine-creds"));
  EXPECT_THAT(pending_message, HasSubstr("kubectl describe pod -n no-secret populate-"));
  EXPECT_TRUE(Eventually([] { return Count(lab->EventReasons("no-secret", "d0"), "PopulatorPodWaiting") == 1; }, seconds(10)));
  EXPECT_THAT(lab->Kubectl("describe pvc -n no-secret d0"), HasSubstr("engine-creds"));

  lab->Apply("apiVersion: v1\nkind: Secret\nmetadata: {name: engine-creds, namespace: no-secret}\nstringData:\n"
             "  TEST_POPULATOR_BYTES: \"65536\"\n  TEST_POPULATOR_RUN_LOG: \"" +
             lab->RunLog() + "\"\n");
  ASSERT_TRUE(WaitState(kOvirt, "no-secret", "d0", Populated, seconds(60), "population"));
  ExpectPattern("no-secret", "d0");
  EXPECT_EQ(Count(lab->EventReasons("no-secret", "d0"), "PopulatorPodWaiting"), 1);
}

TEST(ControllerFaults, StaticVolumeIsPopulatedInPlace) {
  lab->StartController();
  lab->Namespace("static", kQuick);
  std::string path = lab->dir() + "/static-volume";
  std::filesystem::create_directories(path);
  lab->Apply("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\n"
             "provisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: Immediate\n---\n"
             "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: static-pv-1}\nspec:\n"
             "  capacity: {storage: 2Mi}\n  accessModes: [ReadWriteOnce]\n  storageClassName: local\n"
             "  persistentVolumeReclaimPolicy: Retain\n  hostPath: {path: \"" +
             path + "\"}\n");
  lab->Apply(Cr(kOvirt, "static", "d0") + "---\n" + Pvc(kOvirt, "static", "d0", "local"));
  ASSERT_TRUE(WaitState(kOvirt, "static", "d0",
                        [](const Objects& o) { return TrueCondition(o.cr) == "Succeeded/PopulatedInPlace"; }, seconds(60),
                        "population in place"));
  Objects o = Read(kOvirt, "static", "d0");
  EXPECT_EQ(kube::pvc::VolumeName(o.pvc), "static-pv-1");
  json pv = lab->Get(res::kPersistentVolume, "", "static-pv-1");
  EXPECT_EQ(kube::Annotation(pv, "forklift.konveyor.io/populated-from"), "static/d0");
  EXPECT_EQ(o.pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "d0");
  std::string why;
  EXPECT_TRUE(lab->HoldsPattern(path + "/disk.img", kube::Uid(o.pvc), 65536, &why)) << why;
  EXPECT_EQ(lab->Runs(kube::Uid(o.pvc)), 1);
}

TEST(ControllerFaults, GracefulStopHandsTheLeaseToTheStandby) {
  // Two replicas with leader election: the standby does nothing until the leader stops.
  lab->Namespace("leader", kQuick);
  lab->StartController({"--leader-elect=true", "--leader-elect-namespace=leader", "--leader-elect-identity=one"});
  ASSERT_TRUE(Eventually([] { return lab->Get(kube::resources::kLease, "leader", "hoist-controller").is_object(); },
                         seconds(20)));
  std::vector<std::string> argv = {BinDir() + "/hoist-controller", "--kubeconfig=" + lab->kubeconfig(),
                                   "--metrics-address=127.0.0.1:0", "--scrape-interval=200ms",
                                   "--leader-elect=true", "--leader-elect-namespace=leader",
                                   "--leader-elect-identity=two"};
  ControllerProcess standby(argv,
                            {{"OVIRT_POPULATOR_IMAGE", ControllerLab::kOvirtImage}},
                            lab->dir() + "/controller-standby.log");
  net::HttpClient http;
  net::HttpRequest ready;
  ready.url = "http://" + standby.metrics_address() + "/readyz";
  EXPECT_THAT(http.Do(ready).body, HasSubstr("standby"));
  lab->Apply(Cr(kOvirt, "leader", "d0") + "---\n" + Pvc(kOvirt, "leader", "d0"));
  ASSERT_TRUE(WaitState(kOvirt, "leader", "d0", Populated, seconds(30), "population by the leader"));
  EXPECT_EQ(lab->Get(kube::resources::kLease, "leader", "hoist-controller")["spec"]["holderIdentity"], "one");

  EXPECT_EQ(lab->StopController(SIGTERM), 0) << "a graceful stop exits 0";
  ASSERT_TRUE(Eventually(
      [] { return lab->Get(kube::resources::kLease, "leader", "hoist-controller")["spec"].value("holderIdentity", "") == "two"; },
      seconds(20)))
      << "the standby takes over without waiting for the lease to expire";
  lab->Apply(Cr(kOvirt, "leader", "d1") + "---\n" + Pvc(kOvirt, "leader", "d1"));
  ASSERT_TRUE(WaitState(kOvirt, "leader", "d1", Populated, seconds(30), "population by the new leader"));
  EXPECT_EQ(standby.Stop(SIGTERM), 0);
  EXPECT_THAT(ReadFile(lab->dir() + "/controller-standby.log"), HasSubstr("became leader"));
}

// Last: it restarts the whole lab.
TEST(ControllerFaults, LabApiServerRestartedMidFlight) {
  lab->StartController();
  lab->Namespace("apiserver", {{"TEST_POPULATOR_BYTES", "65536"},
                               {"TEST_POPULATOR_STEPS", "4"},
                               {"TEST_POPULATOR_STEP_MS", "50"},
                               {"TEST_POPULATOR_HANG", "first-1"}});  // the first run is mid-copy until the restart
  lab->Apply(Cr(kOvirt, "apiserver", "d0") + "---\n" + Pvc(kOvirt, "apiserver", "d0"));
  ASSERT_TRUE(WaitState(kOvirt, "apiserver", "d0",
                        [](const Objects& o) {
                          return o.cr.is_object() && o.cr.contains("status") && o.cr["status"].value("progress", "0") == "25";
                        },
                        seconds(30), "a populator a quarter through"));
  int rc = 0;
  std::string out = Sh(BinDir() + "/hoist lab down --dir " + lab->dir(), &rc, true);
  ASSERT_EQ(rc, 0) << out;
  out = Sh(BinDir() + "/hoist lab up --detach --log-level warn --dir " + lab->dir(), &rc, true);
  ASSERT_EQ(rc, 0) << out;
  // The lab's restart is a node reboot for its pods: the populator pod fails (NodeRestart) and the
  // controller, which kept running and reconnected, recreates it.
  ASSERT_TRUE(WaitState(kOvirt, "apiserver", "d0", Populated, seconds(60), "population after the restart"));
  ASSERT_TRUE(lab->controller() != nullptr);
  EXPECT_EQ(::kill(lab->controller()->pid(), 0), 0) << "the controller survived the API server's absence";
  Objects o = Read(kOvirt, "apiserver", "d0");
  EXPECT_EQ(lab->Runs(kube::Uid(o.pvc)), 2);
  EXPECT_EQ(kube::Annotation(o.pvc, "recreations"), "1");
  ExpectPattern("apiserver", "d0");
}

}  // namespace
}  // namespace hoist::controller::testing

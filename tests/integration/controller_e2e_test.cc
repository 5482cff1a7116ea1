// hoist-controller end to end in the lab: the test populator (tests/integration/tools/test_populator.cc)
// runs as the populator pod; for Filesystem and Block claims, Immediate and WaitForFirstConsumer
// classes, and each populator kind, a user's CR and PVC (applied with kubectl) end with the PVC Bound
// to a PV holding the populator's pattern, the prime PVC gone, CR status.progress having gone 0 → 100
// through intermediate values, conditions and events as documented. One lab and one controller for
// the whole binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
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

constexpr int64_t kBytes = 256 * 1024;

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
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: lab-wffc}
provisioner: csi.trident.netapp.io
volumeBindingMode: WaitForFirstConsumer
)");
    lab->StartController();
  }
  void TearDown() override {
    delete lab;
    lab = nullptr;
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Environment);

// Records every value CR status.progress takes, from a watch.
class ProgressRecorder {
 public:
  ProgressRecorder(kube::KubeClient& client, const kube::ResourceType& type, const std::string& ns) {
    thread_ = std::jthread([this, &client, type, ns](std::stop_token stop) {
      kube::WatchOptions o;
      o.resource_version = "0";
      try {
        kube::WatchWithResume(
            client, type, ns, o,
            [this](const kube::WatchEvent& e) {
              const json* p = kube::At(e.object, {"status", "progress"});
              if (p != nullptr && p->is_string()) {
                std::lock_guard<std::mutex> l(mu_);
                if (values_.empty() || values_.back() != p->get<std::string>()) values_.push_back(*p);
              }
              return true;
            },
            stop);
      } catch (const std::exception&) {
      }
    });
  }
  std::vector<std::string> Values() {
    std::lock_guard<std::mutex> l(mu_);
    return values_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> values_;
  std::jthread thread_;
};

struct Case {
  std::string name;
  std::string kind;         // CR kind
  std::string volume_mode;  // Filesystem | Block
  bool wffc;
};

std::string CrYaml(const Case& c, const std::string& ns) {
  std::string spec;
  if (c.kind == "OvirtVolumePopulator") {
    spec = "{engineUrl: \"https://engine.example.com\", engineSecretName: knobs, diskId: 7d1e-disk}";
  } else if (c.kind == "OpenstackVolumePopulator") {
    spec = "{identityUrl: \"https://keystone.example.com:5000/v3\", secretName: knobs, imageId: img-1}";
  } else {
    spec = "{vmId: vm-42, vmdkPath: \"[ds1] vm/vm.vmdk\", secretName: knobs, storageVendorProduct: ontap}";
  }
  return "apiVersion: forklift.konveyor.io/v1beta1\nkind: " + c.kind + "\nmetadata: {name: disk-0, namespace: " + ns +
         ", labels: {migration: mig-1, vmID: vm-42}}\nspec: " + spec + "\n";
}

std::string PvcYaml(const Case& c, const std::string& ns) {
  return "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: disk-0, namespace: " + ns +
         ", labels: {migration: mig-1, vmID: vm-42}}\nspec:\n  storageClassName: " +
         (c.wffc ? "lab-wffc" : "lab-file") + "\n  accessModes: [ReadWriteOnce]\n  volumeMode: " + c.volume_mode +
         "\n  resources: {requests: {storage: 1Mi}}\n"
         "  dataSourceRef: {apiGroup: forklift.konveyor.io, kind: " +
         c.kind + ", name: disk-0}\n";
}

// What Forklift's forklift-controller adds for WaitForFirstConsumer classes: a pod using the PVC, so
// that the scheduler picks a node (volume.kubernetes.io/selected-node) for it.
std::string ConsumerYaml(const Case& c, const std::string& ns) {
  std::string use = c.volume_mode == "Block" ? "    volumeDevices: [{name: d, devicePath: /dev/disk0}]\n"
                                             : "    volumeMounts: [{name: d, mountPath: /data}]\n";
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: pvcinit, namespace: " + ns +
         "}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: busybox\n"
         "    command: [sh, -c, \"exit 0\"]\n" +
         use + "  volumes: [{name: d, persistentVolumeClaim: {claimName: disk-0}}]\n";
}

class Populate : public ::testing::TestWithParam<Case> {};

TEST_P(Populate, PvcEndsBoundToThePopulatedVolume) {
  const Case& c = GetParam();
  const std::string ns = "e2e-" + c.name;
  lab->Namespace(ns, {{"TEST_POPULATOR_STEPS", "5"},
                      {"TEST_POPULATOR_STEP_MS", "100"},
                      {"TEST_POPULATOR_SCRAPE_EACH_STEP", "1"},
                      {"TEST_POPULATOR_BYTES", std::to_string(kBytes)}});
  if (c.kind == "VSphereXcopyVolumePopulator") {
    // xcopy pods run as ServiceAccount `populator` (forklift-controller creates it per namespace).
    lab->Apply("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: populator, namespace: " + ns + "}\n");
  }
  kube::ResourceType type = PopulatorType(c.kind);
  ProgressRecorder progress(lab->client(), type, ns);
  lab->Apply(CrYaml(c, ns) + "---\n" + PvcYaml(c, ns) + (c.wffc ? "---\n" + ConsumerYaml(c, ns) : ""));

  json pvc, cr;
  bool done = Eventually(
      [&] {
        pvc = lab->Get(res::kPersistentVolumeClaim, ns, "disk-0");
        cr = lab->Get(type, ns, "disk-0");
        return kube::pvc::Phase(pvc) == "Bound" && TrueCondition(cr) == "Succeeded/Populated";
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(done) << "PVC " << kube::pvc::Phase(pvc) << ", CR " << TrueCondition(cr) << "\n" << lab->Describe(ns);
  std::string uid = kube::Uid(pvc);

  // The PVC is bound to the volume the populator wrote, and nothing of the machinery is left over.
  json pv = lab->Get(res::kPersistentVolume, "", kube::pvc::VolumeName(pvc));
  ASSERT_TRUE(pv.is_object());
  EXPECT_EQ(kube::Annotation(pv, "forklift.konveyor.io/populated-from"), ns + "/disk-0");
  EXPECT_EQ(pv["spec"]["claimRef"]["uid"], uid);
  EXPECT_EQ(pv["spec"].value("volumeMode", "Filesystem"), c.volume_mode);
  std::string why;
  EXPECT_TRUE(lab->HoldsPattern(lab->VolumeData(pv), uid, kBytes, &why)) << why;
  EXPECT_TRUE(Eventually([&] { return lab->Get(res::kPersistentVolumeClaim, ns, "prime-" + uid).is_null(); },
                         std::chrono::seconds(10)))
      << "the prime PVC is deleted";
  EXPECT_EQ(lab->Runs(uid), 1) << "one populator run";

  // Progress: written from the start, rising through the populator's steps to 100.
  ASSERT_TRUE(Eventually([&] { auto v = progress.Values(); return !v.empty() && v.back() == "100"; },
                         std::chrono::seconds(5)));
  std::vector<std::string> values = progress.Values();
  EXPECT_EQ(values.front(), "0");
  int intermediate = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    int v = std::stoi(values[i]);
    if (v > 0 && v < 100) ++intermediate;
    if (i > 0) {
      EXPECT_GE(v, std::stoi(values[i - 1])) << "progress went backwards";
    }
  }
  EXPECT_GE(intermediate, 1) << ::testing::PrintToString(values);

  // The populator pod: Forklift's arguments, kept (Succeeded) for its logs; on the selected node for WFFC.
  json pod = lab->Get(res::kPod, ns, "populate-" + uid);
  ASSERT_TRUE(pod.is_object());
  EXPECT_EQ(kube::pod::Phase(pod), "Succeeded");
  std::vector<std::string> args = pod["spec"]["containers"][0]["args"];
  EXPECT_THAT(args, Contains("--owner-uid=" + uid));
  EXPECT_THAT(args, Contains("--pvc-size=1048576"));
  EXPECT_THAT(args, Contains("--cr-name=disk-0"));
  if (c.kind != "VSphereXcopyVolumePopulator") {
    EXPECT_THAT(args, Contains(c.volume_mode == "Block" ? "--volume-path=/dev/block" : "--volume-path=/mnt/disk.img"));
  }
  EXPECT_EQ(pod["metadata"]["labels"]["migration"], "mig-1");
  if (c.wffc) {
    EXPECT_EQ(pod["spec"]["nodeName"], kube::Annotation(pvc, "volume.kubernetes.io/selected-node"));
    EXPECT_TRUE(Eventually([&] { return kube::pod::Phase(lab->Get(res::kPod, ns, "pvcinit")) == "Succeeded"; },
                           std::chrono::seconds(20)))
        << "the consumer pod runs once the PVC is bound";
  } else {
    EXPECT_FALSE(pod["spec"].contains("nodeName") && pod["metadata"].contains("annotations") &&
                 pod["metadata"]["annotations"].contains("volume.kubernetes.io/selected-node"));
  }

  // Events on the PVC and the pod, as Forklift emits them (source forklift.konveyor.io-populator).
  std::vector<std::string> reasons = lab->EventReasons(ns, "disk-0");
  EXPECT_THAT(reasons, Contains("PopulatorCreated"));
  EXPECT_THAT(reasons, Contains("PopulatorFinished"));
  EXPECT_THAT(lab->EventReasons(ns, "populate-" + uid), Contains("PopulatorProgress"));
  std::string describe = lab->Kubectl("describe pvc -n " + ns + " disk-0");
  EXPECT_THAT(describe, HasSubstr("PopulatorFinished"));
  EXPECT_THAT(describe, HasSubstr("forklift.konveyor.io-populator"));

  // Conditions: exactly one True, with a message a user can act on.
  int true_conditions = 0;
  for (const auto& cond : cr["status"]["conditions"]) true_conditions += cond["status"] == "True" ? 1 : 0;
  EXPECT_EQ(true_conditions, 1);
  EXPECT_EQ(cr["status"]["progress"], "100");
  if (c.kind == "VSphereXcopyVolumePopulator") {
    EXPECT_EQ(cr["status"].value("result", ""), "success");
    EXPECT_EQ(cr["status"].value("xcopyUsed", ""), "1");
    EXPECT_EQ(cr["status"].value("storageVendor", ""), "ontap");
    EXPECT_EQ(cr["status"].value("provisionedBytes", ""), "1048576");
    EXPECT_EQ(kube::Label(cr, "forklift.konveyor.io/offload-completed"), "true");
  }
  // kubectl shows progress and state columns.
  EXPECT_THAT(lab->Kubectl("get " + type.plural + " -n " + ns + " --no-headers"),
              ::testing::MatchesRegex("disk-0 +100 +Succeeded +[0-9]+s\\s*"));
}

INSTANTIATE_TEST_SUITE_P(Lab, Populate,
                         ::testing::Values(Case{"fs-immediate", "OvirtVolumePopulator", "Filesystem", false},
                                           Case{"block-immediate", "OpenstackVolumePopulator", "Block", false},
                                           Case{"fs-wffc", "OpenstackVolumePopulator", "Filesystem", true},
                                           Case{"block-wffc", "VSphereXcopyVolumePopulator", "Block", true}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = i.param.name;
                           for (char& ch : n) ch = ch == '-' ? '_' : ch;
                           return n;
                         });

TEST(ControllerEndpoints, MetricsAndHealth) {
  net::HttpClient http;
  net::HttpRequest req;
  req.url = "http://" + lab->controller()->metrics_address() + "/readyz";
  EXPECT_TRUE(Eventually([&] { return http.Do(req).status == 200; }, std::chrono::seconds(20)))
      << "ready once the informer caches are synced";
  req.url = "http://" + lab->controller()->metrics_address() + "/healthz";
  EXPECT_EQ(http.Do(req).status, 200);
  req.url = "http://" + lab->controller()->metrics_address() + "/nothing";
  EXPECT_EQ(http.Do(req).status, 404);
  std::string metrics = lab->Metrics();
  EXPECT_THAT(metrics, HasSubstr("# TYPE volume_populator_operation_seconds histogram"));
  EXPECT_THAT(metrics, HasSubstr("volume_populator_operations_in_flight"));
  EXPECT_THAT(metrics, HasSubstr("hoist_controller_api_requests_total{resource=\"pods\",verb=\"list\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("hoist_populator_pods_created_total{kind=\"vsphere-xcopy\"}"));
}

}  // namespace
}  // namespace hoist::controller::testing

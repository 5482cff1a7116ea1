// The reconcile state machine against an in-memory API (FakeKube) and a cache the test refreshes
// explicitly. Other cluster actors (PV binder, provisioner, kubelet) are played by the test with
// FakeKube::Mutate/Put, so each step and each stale-cache or crash window can be set up exactly.
#include "controller/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/cache.h"
#include "controller/names.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "unit/controller/fake_kube.h"

namespace hoist::controller {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace res = kube::resources;

// The progress source: readings are set by the test.
class FakeProgress : public ProgressSource {
 public:
  bool Watch(const std::string& key, const MonitorTarget& target) override {
    auto it = targets.find(key);
    bool started = it == targets.end() || it->second.pod_uid != target.pod_uid;
    targets[key] = target;
    if (started) readings.erase(key);
    return started;
  }
  void Finish(const std::string& key) override { finished.insert(key); }
  void Forget(const std::string& key) override {
    targets.erase(key);
    readings.erase(key);
  }
  std::optional<ScrapeReading> Latest(const std::string& key) const override {
    auto it = readings.find(key);
    if (it == readings.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, MonitorTarget> targets;
  std::map<std::string, ScrapeReading> readings;
  std::set<std::string> finished;
};

const kube::ResourceType kOvirt = PopulatorResource(PopulatorKind::kOvirt);
const kube::ResourceType kXcopy = PopulatorResource(PopulatorKind::kVSphereXcopy);

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddPvcIndexes(pvcs_);
    AddPodIndexes(pods_);
    kube_.ServeStatusSubresource(kOvirt.plural);
    kube_.ServeStatusSubresource(kXcopy.plural);
    settings_.images = {{PopulatorKind::kOvirt, "quay.io/kubev2v/ovirt-populator"},
                        {PopulatorKind::kOpenstack, "quay.io/kubev2v/openstack-populator"},
                        {PopulatorKind::kVSphereXcopy, "quay.io/kubev2v/vsphere-xcopy-volume-populator"}};
    settings_.max_in_flight = 20;
    NewController();
  }

  // A fresh reconciler (a restarted controller): no memory except what the cluster holds.
  void NewController() {
    reconciler_.reset();
    progress_ = std::make_unique<FakeProgress>();
    metrics_ = std::make_unique<ControllerMetrics>();
    kube::EventRecorderOptions eo;
    eo.reporting_controller = "forklift.konveyor.io-populator";
    eo.reporting_instance = "test";
    eo.core_events = true;
    events_ = std::make_unique<kube::EventRecorder>(kube_, eo);
    ReconcilerOptions o;
    o.settings = settings_;
    o.now = [this] { return now_; };
    reconciler_ = std::make_unique<Reconciler>(kube_, cache_, *progress_, *events_, *metrics_, o);
  }

  void Refresh() {
    kube_.Fill(pvcs_, res::kPersistentVolumeClaim);
    kube_.Fill(pvs_, res::kPersistentVolume);
    kube_.Fill(pods_, res::kPod);
    kube_.Fill(classes_, res::kStorageClass);
    kube_.Fill(ovirt_, kOvirt);
    kube_.Fill(xcopy_, kXcopy);
  }
  SyncOutcome Sync(const std::string& key = "mig/disk-0") {
    Refresh();
    return reconciler_->Sync(key);
  }

  void StorageClass(const std::string& name, const std::string& provisioner, const std::string& mode = "Immediate") {
    kube_.Put(res::kStorageClass, {{"metadata", {{"name", name}}},
                                   {"provisioner", provisioner},
                                   {"volumeBindingMode", mode}});
  }
  json Cr(const kube::ResourceType& type, const std::string& name = "disk-0-cr", json labels = json::object(),
          json spec = nullptr) {
    if (spec.is_null()) {
      spec = type.kind == "OvirtVolumePopulator"
                 ? json{{"engineUrl", "https://engine"}, {"engineSecretName", "engine"}, {"diskId", "d-1"}}
                 : json{{"vmId", "vm-1"},
                        {"vmdkPath", "[ds] vm/vm.vmdk"},
                        {"secretName", "s"},
                        {"storageVendorProduct", "ontap"}};
    }
    return kube_.Put(type, {{"metadata", {{"name", name}, {"namespace", "mig"}, {"labels", labels}, {"generation", 1}}},
                            {"spec", spec}});
  }
  json Pvc(const std::string& name = "disk-0", const std::string& kind = "OvirtVolumePopulator",
           const std::string& cr = "disk-0-cr", json storage_class = "lab-file", const std::string& mode = "Filesystem") {
    json spec = {{"accessModes", {"ReadWriteOnce"}},
                 {"resources", {{"requests", {{"storage", "1Gi"}}}}},
                 {"volumeMode", mode},
                 {"dataSourceRef", {{"apiGroup", "forklift.konveyor.io"}, {"kind", kind}, {"name", cr}}}};
    if (!storage_class.is_null()) spec["storageClassName"] = storage_class;
    return kube_.Put(res::kPersistentVolumeClaim,
                     {{"metadata", {{"name", name}, {"namespace", "mig"}, {"annotations", json::object()}}},
                      {"spec", spec},
                      {"status", {{"phase", "Pending"}}}});
  }
  std::string Uid(const std::string& pvc = "disk-0") {
    return kube::Uid(*kube_.Find(res::kPersistentVolumeClaim, "mig", pvc));
  }
  std::optional<json> Pod(const std::string& pvc = "disk-0") {
    return kube_.Find(res::kPod, "mig", PopulatorPodName(Uid(pvc)));
  }
  std::optional<json> Prime(const std::string& pvc = "disk-0") {
    return kube_.Find(res::kPersistentVolumeClaim, "mig", PrimePvcName(Uid(pvc)));
  }
  json CrNow(const kube::ResourceType& type = kOvirt, const std::string& name = "disk-0-cr") {
    return *kube_.Find(type, "mig", name);
  }
  std::string TrueCondition(const json& cr) {
    for (const auto& c : cr["status"]["conditions"]) {
      if (c["status"] == "True") return c["type"].get<std::string>() + "/" + c["reason"].get<std::string>();
    }
    return "";
  }
  // Event reasons about `name`, in creation order, one per Event object (repeat counts ignored).
  std::vector<std::string> Reasons(const std::string& name = "disk-0") {
    std::vector<std::string> out;
    for (const auto& e : kube_.All(res::kCoreEvent)) {
      if (e["involvedObject"]["name"] == name) out.push_back(e["reason"]);
    }
    return out;
  }
  int EventCount(const std::string& reason) {
    int n = 0;
    for (const auto& e : kube_.All(res::kCoreEvent)) {
      if (e["reason"] == reason) n += e.value("count", 1);
    }
    return n;
  }
  std::string EventNote(const std::string& reason) {
    for (const auto& e : kube_.All(res::kCoreEvent)) {
      if (e["reason"] == reason) return e["message"];
    }
    return "";
  }

  // The provisioner and binder for the prime PVC: a PV bound to it.
  std::string BindPrime(const std::string& pvc = "disk-0") {
    json prime = *Prime(pvc);
    std::string pv = "pvc-" + kube::Uid(prime);
    kube_.Put(res::kPersistentVolume,
              {{"metadata", {{"name", pv}}},
               {"spec",
                {{"capacity", {{"storage", "1Gi"}}},
                 {"accessModes", {"ReadWriteOnce"}},
                 {"storageClassName", prime["spec"].value("storageClassName", "")},
                 {"claimRef",
                  {{"kind", "PersistentVolumeClaim"},
                   {"apiVersion", "v1"},
                   {"namespace", "mig"},
                   {"name", kube::Name(prime)},
                   {"uid", kube::Uid(prime)}}}}},
               {"status", {{"phase", "Bound"}}}});
    kube_.Mutate(res::kPersistentVolumeClaim, "mig", kube::Name(prime), [&](json& p) {
      p["spec"]["volumeName"] = pv;
      p["status"]["phase"] = "Bound";
    });
    return pv;
  }
  // The kubelet.
  void PodPhase(const std::string& phase, const std::string& pvc = "disk-0", int exit_code = 0) {
    kube_.Mutate(res::kPod, "mig", PopulatorPodName(Uid(pvc)), [&](json& p) {
      p["status"]["phase"] = phase;
      if (phase != "Pending") p["status"]["podIP"] = "127.10.0.7";
      if (phase == "Failed" || phase == "Succeeded") {
        p["status"]["containerStatuses"] = json::array(
            {{{"name", "populate"},
              {"state", {{"terminated", {{"exitCode", exit_code}, {"reason", exit_code ? "Error" : "Completed"}}}}}}});
      }
    });
  }
  // The PV controller after the claimRef switch: target bound to the PV, prime Lost.
  void BinderCompletesRebind(const std::string& pvc = "disk-0") {
    json prime = *Prime(pvc);
    std::string pv = prime["spec"]["volumeName"];
    kube_.Mutate(res::kPersistentVolumeClaim, "mig", pvc, [&](json& p) {
      p["spec"]["volumeName"] = pv;
      p["status"]["phase"] = "Bound";
    });
    kube_.Mutate(res::kPersistentVolumeClaim, "mig", kube::Name(prime), [&](json& p) { p["status"]["phase"] = "Lost"; });
    kube_.Mutate(res::kPersistentVolume, "", pv, [&](json& v) { v["status"]["phase"] = "Bound"; });
  }

  // The cache the reconciler reads; `after_active_pods` runs right after it lists a host's active pods,
  // to let the informer catch up in the middle of a count.
  class HookedCache : public ClusterCache {
   public:
    explicit HookedCache(const ClusterCache& inner) : inner_(inner) {}
    std::optional<json> Pvc(std::string_view ns, std::string_view name) const override { return inner_.Pvc(ns, name); }
    std::optional<json> Pv(std::string_view name) const override { return inner_.Pv(name); }
    std::optional<json> Pod(std::string_view ns, std::string_view name) const override { return inner_.Pod(ns, name); }
    std::optional<json> StorageClass(std::string_view name) const override { return inner_.StorageClass(name); }
    std::optional<json> Populator(PopulatorKind kind, std::string_view ns, std::string_view name) const override {
      return inner_.Populator(kind, ns, name);
    }
    std::vector<json> ActivePodsOnHost(std::string_view host) const override {
      std::vector<json> pods = inner_.ActivePodsOnHost(host);
      if (after_active_pods) after_active_pods();
      return pods;
    }
    std::vector<json> Pvs() const override { return inner_.Pvs(); }
    std::function<void()> after_active_pods;

   private:
    const ClusterCache& inner_;
  };

  testing::FakeKube kube_;
  kube::Store pvcs_, pvs_, pods_, classes_, ovirt_, xcopy_;
  StoreCache store_cache_{CacheStores{&pvcs_, &pvs_, &pods_, &classes_,
                                      {{PopulatorKind::kOvirt, &ovirt_}, {PopulatorKind::kVSphereXcopy, &xcopy_}}}};
  HookedCache cache_{store_cache_};
  ControllerSettings settings_;
  std::unique_ptr<FakeProgress> progress_;
  std::unique_ptr<ControllerMetrics> metrics_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<Reconciler> reconciler_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::from_time_t(1767225600);  // 2026-01-01
};

TEST_F(ReconcilerTest, FilesystemImmediateFromStartToFinish) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  ASSERT_TRUE(Prime());
  ASSERT_TRUE(Pod());
  EXPECT_EQ((*Pod())["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], PrimePvcName(Uid()));
  EXPECT_EQ((*Pod())["spec"]["containers"][0]["volumeMounts"][0]["mountPath"], "/mnt/");
  EXPECT_FALSE((*Pod())["spec"].contains("nodeName"));
  EXPECT_EQ(CrNow()["status"]["progress"], "0");
  EXPECT_EQ(TrueCondition(CrNow()), "Pending/PodPending");
  EXPECT_THAT(CrNow()["status"]["conditions"][0]["message"].get<std::string>(),
              HasSubstr("is pending because prime PVC mig/prime-"));
  EXPECT_THAT(Reasons(), ElementsAre("PopulatorCreated"));
  EXPECT_EQ(kube_.patches.back().resource, "ovirtvolumepopulators/status");

  // The pod waits for its prime claim; nothing is created twice on a cache that lags.
  Sync();
  EXPECT_EQ(kube_.Writes("create").size(), 3u);  // prime, pod, one event
  BindPrime();
  PodPhase("Running");
  Sync();
  ASSERT_EQ(progress_->targets.count("mig/disk-0"), 1u);
  EXPECT_EQ(progress_->targets["mig/disk-0"].url, "https://127.10.0.7:8443/metrics");
  EXPECT_EQ(progress_->targets["mig/disk-0"].owner_uid, Uid());
  EXPECT_THAT(Reasons(PopulatorPodName(Uid())), ElementsAre("PopulatorProgress"));
  EXPECT_EQ(TrueCondition(CrNow()), "Running/Populating");

  progress_->readings["mig/disk-0"].progress = 42.9;
  Sync();
  EXPECT_EQ(CrNow()["status"]["progress"], "42");
  EXPECT_THAT(CrNow()["status"]["conditions"][1]["message"].get<std::string>(), HasSubstr("(42%)"));

  PodPhase("Succeeded");
  Sync();
  EXPECT_EQ(progress_->finished.count("mig/disk-0"), 1u);
  std::string pv = (*Prime())["spec"]["volumeName"];
  const testing::FakeKube::PatchRecord* pv_patch = nullptr;
  for (const auto& p : kube_.patches) {
    if (p.resource == "persistentvolumes") pv_patch = &p;
  }
  ASSERT_NE(pv_patch, nullptr);
  json rebind = pv_patch->body;
  EXPECT_EQ(pv_patch->object, "/" + pv);
  EXPECT_EQ(pv_patch->type, kube::PatchType::kStrategicMerge);
  EXPECT_EQ(rebind["spec"]["claimRef"]["name"], "disk-0");
  EXPECT_EQ(rebind["spec"]["claimRef"]["uid"], Uid());
  EXPECT_EQ(rebind["metadata"]["annotations"]["forklift.konveyor.io/populated-from"], "mig/disk-0-cr");
  EXPECT_EQ(TrueCondition(CrNow()), "Running/Rebinding");

  // Until the PV controller acts, syncing again sends no second patch (nor anything else).
  size_t writes = kube_.WriteCount();
  Sync();
  EXPECT_EQ(kube_.WriteCount(), writes);

  BinderCompletesRebind();
  json stale_cr = CrNow();
  Sync();
  EXPECT_FALSE(Prime());
  EXPECT_TRUE(Pod());  // kept, as Forklift does, for its logs (owned by the PVC)
  EXPECT_EQ(CrNow()["status"]["progress"], "100");
  EXPECT_EQ(TrueCondition(CrNow()), "Succeeded/Populated");
  EXPECT_THAT(Reasons(), ElementsAre("PopulatorCreated", "PopulatorFinished"));
  EXPECT_EQ(metrics_->InFlight(), 0u);
  EXPECT_THAT(metrics_->Expose(), HasSubstr("volume_populator_operation_seconds_count{result=\"success\"} 1"));

  // A CR cache that has not seen our last status write yet does not bring a second PopulatorFinished.
  Refresh();
  ovirt_.Upsert(stale_cr);
  reconciler_->Sync("mig/disk-0");
  EXPECT_EQ(EventCount("PopulatorFinished"), 1);

  // A finished PVC stays finished: no writes, no duplicate PopulatorFinished.
  writes = kube_.WriteCount();
  Sync();
  NewController();
  Sync();
  EXPECT_EQ(kube_.WriteCount(), writes);
  EXPECT_EQ(EventCount("PopulatorFinished"), 1);
}

TEST_F(ReconcilerTest, BlockPvcGetsDeviceAndWffcGetsTheSelectedNode) {
  StorageClass("wffc", "csi.trident.netapp.io", "WaitForFirstConsumer");
  Cr(kXcopy, "disk-0-cr", {{"sourceHost", "host-1"}});
  Pvc("disk-0", "VSphereXcopyVolumePopulator", "disk-0-cr", "wffc", "Block");
  Sync();
  EXPECT_FALSE(Pod());
  EXPECT_FALSE(Prime());
  EXPECT_EQ(TrueCondition(CrNow(kXcopy)), "Pending/WaitingForNode");

  kube_.Mutate(res::kPersistentVolumeClaim, "mig", "disk-0",
               [](json& p) { p["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] = "lab-node-2"; });
  Sync();
  ASSERT_TRUE(Pod());
  EXPECT_EQ((*Pod())["spec"]["nodeName"], "lab-node-2");
  EXPECT_EQ((*Pod())["spec"]["containers"][0]["volumeDevices"][0]["devicePath"], "/dev/block");
  EXPECT_EQ((*Pod())["spec"]["serviceAccountName"], "populator");
  EXPECT_EQ((*Pod())["metadata"]["labels"]["sourceHost"], "host-1");
  EXPECT_EQ((*Prime())["metadata"]["annotations"]["volume.kubernetes.io/selected-node"], "lab-node-2");
  EXPECT_EQ((*Prime())["spec"]["volumeMode"], "Block");
}

TEST_F(ReconcilerTest, PrimePvcIsCreatedEvenWhenItFailedAfterThePod) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  // Pod first, prime second in Forklift: here the prime goes first, so fail it and see the retry.
  kube_.FailNext("create", "persistentvolumeclaims",
                 kube::ApiError(403, kube::Reason::kForbidden, "quota exceeded", "create pvc: forbidden: quota exceeded"));
  EXPECT_THROW(Sync(), kube::ApiError);
  EXPECT_THAT(EventNote("PopulatorPVCCreationError"), HasSubstr("Failed to create populator PVC: create pvc: forbidden"));
  EXPECT_FALSE(Pod());
  Sync();
  EXPECT_TRUE(Prime());
  EXPECT_TRUE(Pod());

  // A pod without its prime claim (someone deleted it while the pod was pending) gets the claim back.
  kube_.Remove(res::kPersistentVolumeClaim, "mig", PrimePvcName(Uid()));
  Sync();
  EXPECT_TRUE(Prime());
  // prime (refused), PVCCreationError, prime, pod, PopulatorCreated, prime again
  EXPECT_EQ(kube_.Writes("create").size(), 6u);
}

TEST_F(ReconcilerTest, FailedOvirtPodIsRecreatedThreeTimesThenReported) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  BindPrime();
  std::set<std::string> pod_uids;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE(attempt);
    ASSERT_TRUE(Pod());
    pod_uids.insert(kube::Uid(*Pod()));
    PodPhase("Failed", "disk-0", 3);
    Sync();
    EXPECT_FALSE(Pod()) << "the failed pod is deleted";
    json pvc = *kube_.Find(res::kPersistentVolumeClaim, "mig", "disk-0");
    EXPECT_EQ(pvc["metadata"]["annotations"]["recreations"], std::to_string(attempt));
    EXPECT_EQ(TrueCondition(CrNow()), "Pending/Retrying");
    Sync();  // recreated, with the same prime PVC
  }
  ASSERT_TRUE(Pod());
  pod_uids.insert(kube::Uid(*Pod()));
  EXPECT_EQ(pod_uids.size(), 4u);
  PodPhase("Failed", "disk-0", 3);
  Sync();
  EXPECT_TRUE(Pod()) << "the last failed pod is kept for its logs";
  EXPECT_TRUE(Prime());
  EXPECT_EQ(TrueCondition(CrNow()), "Failed/PopulatorFailed");
  EXPECT_THAT(EventNote("PopulatorFailed"), HasSubstr("attempt 1 of 4"));
  int failed = EventCount("PopulatorFailed");
  EXPECT_EQ(failed, 4);  // three retries and the final report
  bool final_note = false;
  for (const auto& e : kube_.All(res::kCoreEvent)) {
    final_note = final_note || e["message"].get<std::string>().find("Populator failed after few (3) attempts: Please "
                                                                  "check the logs of the populator pod, mig/populate-") == 0;
  }
  EXPECT_TRUE(final_note);
  Sync();
  EXPECT_EQ(EventCount("PopulatorFailed"), 4) << "reported once";
  int pods_created = 0;
  for (const auto& w : kube_.Writes("create")) pods_created += w.rfind("pods ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(pods_created, 4);
}

TEST_F(ReconcilerTest, RestartBetweenCountingAFailureAndDeletingThePodCountsItOnce) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  BindPrime();
  PodPhase("Failed", "disk-0", 1);
  kube_.FailNext("delete", "pods", kube::ApiError(503, kube::Reason::kServiceUnavailable, "down", "delete pod: 503"));
  EXPECT_THROW(Sync(), kube::ApiError);
  NewController();
  Sync();
  json pvc = *kube_.Find(res::kPersistentVolumeClaim, "mig", "disk-0");
  EXPECT_EQ(pvc["metadata"]["annotations"]["recreations"], "1");
  EXPECT_EQ(pvc["metadata"]["annotations"]["populator.hoist.io/counted-failure"].is_string(), true);
  EXPECT_FALSE(Pod());
}

TEST_F(ReconcilerTest, FailedXcopyPodIsNotRetried) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kXcopy, "disk-0-cr", {{"migration", "m-1"}});
  Pvc("disk-0", "VSphereXcopyVolumePopulator");
  Sync();
  BindPrime();
  PodPhase("Failed", "disk-0", 1);
  Sync();
  EXPECT_TRUE(Pod());
  json pvc = *kube_.Find(res::kPersistentVolumeClaim, "mig", "disk-0");
  EXPECT_FALSE(pvc["metadata"]["annotations"].contains("recreations"));
  EXPECT_EQ(TrueCondition(CrNow(kXcopy)), "Failed/PopulatorFailed");
  EXPECT_EQ(CrNow(kXcopy)["status"]["result"], "failure");
  EXPECT_THAT(EventNote("PopulatorFailed"),
              HasSubstr("VSphere xcopy populator failed (no retry): Please check the logs of the populator pod, mig/populate-"));
  EXPECT_THAT(metrics_->Expose(), HasSubstr("mtv_vsphere_xcopy_volume_populator_copy_duration_seconds{clone_method=\"\","
                                            "migration=\"m-1\",owner_uid=\"" + Uid() + "\",result=\"failure\""));
  Sync();
  EXPECT_EQ(EventCount("PopulatorFailed"), 1);
  EXPECT_EQ(kube_.Writes("delete").size(), 0u);
  EXPECT_EQ(TrueCondition(CrNow(kXcopy)), "Failed/PopulatorFailed") << "stable once written";
}

TEST_F(ReconcilerTest, XcopyCompletionFieldsAndOffloadLabel) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kXcopy);
  Pvc("disk-0", "VSphereXcopyVolumePopulator");
  Sync();
  BindPrime();
  PodPhase("Running");
  Sync();
  ScrapeReading& r = progress_->readings["mig/disk-0"];
  r.progress = 100;
  r.xcopy_used = "1";
  r.vib_version = "0.3.3";
  r.completed = true;
  r.result = "success";
  r.copy_duration_seconds = "12.5";
  r.storage_vendor = "ontap";
  r.clone_method = "vib";
  r.storage_protocol = "iscsi";
  r.provisioned_bytes = "1073741824";
  Sync();
  json cr = CrNow(kXcopy);
  EXPECT_EQ(cr["status"]["xcopyUsed"], "1");
  EXPECT_EQ(cr["status"]["vibVersion"], "0.3.3");
  EXPECT_EQ(cr["status"]["result"], "success");
  EXPECT_EQ(cr["status"]["copyDurationSeconds"], "12.5");
  EXPECT_EQ(cr["status"]["provisionedBytes"], "1073741824");
  EXPECT_EQ(cr["metadata"]["labels"]["forklift.konveyor.io/offload-completed"], "true");
}

TEST_F(ReconcilerTest, XcopyResultFailureIsNotRebound) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kXcopy);
  Pvc("disk-0", "VSphereXcopyVolumePopulator");
  Sync();
  BindPrime();
  PodPhase("Running");
  Sync();
  ScrapeReading& r = progress_->readings["mig/disk-0"];
  r.completed = true;
  r.result = "failure";
  PodPhase("Succeeded");
  Sync();
  for (const auto& p : kube_.patches) EXPECT_NE(p.resource, "persistentvolumes");
  EXPECT_EQ(TrueCondition(CrNow(kXcopy)), "Failed/CopyFailed");
}

TEST_F(ReconcilerTest, ThrottlesPerHostCountingPodsTheCacheHasNotSeen) {
  settings_.max_in_flight = 1;
  NewController();
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kXcopy, "a", {{"sourceHost", "host-A"}});
  Cr(kXcopy, "b", {{"sourceHost", "host-A"}});
  Cr(kXcopy, "c", {{"sourceHost", "host-B"}});
  Cr(kXcopy, "d", {{"sourceHost", "host-B"}}, {{"vmId", "vm-1"},
                                              {"vmdkPath", "[ds] vm/vm.vmdk"},
                                              {"secretName", "s"},
                                              {"storageVendorProduct", "ontap"},
                                              {"migrationHost", "host-A"}});
  Pvc("pa", "VSphereXcopyVolumePopulator", "a");
  Pvc("pb", "VSphereXcopyVolumePopulator", "b");
  Pvc("pc", "VSphereXcopyVolumePopulator", "c");
  Pvc("pd", "VSphereXcopyVolumePopulator", "d");
  Refresh();
  // All four in one go, on a cache that shows none of the new pods.
  EXPECT_FALSE(reconciler_->Sync("mig/pa").requeue_after);
  SyncOutcome b = reconciler_->Sync("mig/pb");
  EXPECT_FALSE(reconciler_->Sync("mig/pc").requeue_after);
  SyncOutcome d = reconciler_->Sync("mig/pd");  // dedicated migration host A, not its source host B
  EXPECT_TRUE(Pod("pa"));
  EXPECT_FALSE(Pod("pb"));
  EXPECT_TRUE(Pod("pc"));
  EXPECT_FALSE(Pod("pd"));
  ASSERT_TRUE(b.requeue_after);
  EXPECT_EQ(*b.requeue_after, std::chrono::milliseconds(10000));
  EXPECT_TRUE(d.requeue_after);
  EXPECT_EQ((*Pod("pa"))["metadata"]["labels"]["sourceHost"], "host-A");
  EXPECT_THAT(Reasons("pb"), ElementsAre("PopulatorThrottled"));
  EXPECT_THAT(EventNote("PopulatorThrottled"), HasSubstr("host host-A"));
  EXPECT_EQ(TrueCondition(CrNow(kXcopy, "b")), "Pending/Throttled");
  EXPECT_THAT(reconciler_->ThrottledOn("host-A"), ElementsAre("mig/pb", "mig/pd"));

  // Now the cache shows pa Pending: still throttled, and the event is not repeated.
  Sync("mig/pb");
  EXPECT_FALSE(Pod("pb"));
  EXPECT_EQ(EventCount("PopulatorThrottled"), 2);  // pb and pd, once each

  // pa finishes: pb gets the slot, pd still waits for it.
  kube_.Mutate(res::kPod, "mig", PopulatorPodName(Uid("pa")), [](json& p) { p["status"]["phase"] = "Succeeded"; });
  Sync("mig/pb");
  EXPECT_TRUE(Pod("pb"));
  Sync("mig/pd");
  EXPECT_FALSE(Pod("pd"));
  EXPECT_THAT(reconciler_->ThrottledOn("host-A"), ElementsAre("mig/pd"));
}

TEST_F(ReconcilerTest, APodReachingTheCacheDuringTheCountStillCounts) {
  settings_.max_in_flight = 1;
  NewController();
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kXcopy, "a", {{"sourceHost", "host-A"}});
  Cr(kXcopy, "b", {{"sourceHost", "host-A"}});
  Pvc("pa", "VSphereXcopyVolumePopulator", "a");
  Pvc("pb", "VSphereXcopyVolumePopulator", "b");
  Refresh();
  EXPECT_FALSE(reconciler_->Sync("mig/pa").requeue_after);
  ASSERT_TRUE(Pod("pa"));
  // pb's count lists host-A's active pods from a cache that does not show pa's pod yet, and the pod
  // arrives in the cache right after: it must still be counted (one pod per host, not two).
  cache_.after_active_pods = [this] { kube_.Fill(pods_, res::kPod); };
  SyncOutcome b = reconciler_->Sync("mig/pb");
  cache_.after_active_pods = nullptr;
  EXPECT_FALSE(Pod("pb"));
  EXPECT_TRUE(b.requeue_after);
  EXPECT_EQ(TrueCondition(CrNow(kXcopy, "b")), "Pending/Throttled");
}

TEST_F(ReconcilerTest, NoThrottlingWithoutHostOrWithLimitZero) {
  settings_.max_in_flight = 0;
  NewController();
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kXcopy, "a", {{"sourceHost", "host-A"}});
  Cr(kXcopy, "b", {{"sourceHost", "host-A"}});
  Pvc("pa", "VSphereXcopyVolumePopulator", "a");
  Pvc("pb", "VSphereXcopyVolumePopulator", "b");
  Sync("mig/pa");
  Sync("mig/pb");
  EXPECT_TRUE(Pod("pa"));
  EXPECT_TRUE(Pod("pb"));
}

TEST_F(ReconcilerTest, CrCreatedAfterItsPvc) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Pvc();
  Sync();
  EXPECT_EQ(kube_.WriteCount(), 1u);
  EXPECT_THAT(EventNote("PopulatorResourceNotFound"),
              HasSubstr("OvirtVolumePopulator mig/disk-0-cr named by spec.dataSourceRef does not exist"));
  EXPECT_FALSE(Pod());
  Cr(kOvirt);
  Sync();
  EXPECT_TRUE(Pod());
  EXPECT_TRUE(Prime());
}

TEST_F(ReconcilerTest, MissingStorageClassAndInTreeProvisioner) {
  Cr(kOvirt);
  Pvc();
  Sync();
  EXPECT_EQ(TrueCondition(CrNow()), "Pending/WaitingForStorageClass");
  EXPECT_FALSE(Pod());
  StorageClass("lab-file", "kubernetes.io/aws-ebs");
  Sync();
  EXPECT_EQ(TrueCondition(CrNow()), "Failed/UnsupportedStorageClass");
  EXPECT_THAT(EventNote("PopulatorFailed"), HasSubstr("in-tree provisioner kubernetes.io/aws-ebs"));
  Sync();
  EXPECT_EQ(EventCount("PopulatorFailed"), 1);
  EXPECT_FALSE(Pod());
}

TEST_F(ReconcilerTest, CrWithoutRequiredFieldFailsWithoutAPod) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt, "disk-0-cr", json::object(), {{"engineUrl", "https://engine"}, {"engineSecretName", "engine"}});
  Pvc();
  Sync();
  EXPECT_FALSE(Pod());
  EXPECT_EQ(TrueCondition(CrNow()), "Failed/InvalidPopulatorResource");
  EXPECT_THAT(CrNow()["status"]["conditions"][3]["message"].get<std::string>(), HasSubstr("has no spec.diskId"));
  // Fixing the CR lets it proceed.
  kube_.Mutate(kOvirt, "mig", "disk-0-cr", [](json& c) { c["spec"]["diskId"] = "d-1"; });
  Sync();
  EXPECT_TRUE(Pod());
}

TEST_F(ReconcilerTest, StaticVolumeIsPopulatedInPlace) {
  StorageClass("local", "kubernetes.io/no-provisioner");
  Cr(kOvirt);
  Pvc("disk-0", "OvirtVolumePopulator", "disk-0-cr", "local");
  Sync();
  EXPECT_EQ(TrueCondition(CrNow()), "Pending/WaitingForStaticVolume");
  EXPECT_THAT(CrNow()["status"]["conditions"][0]["message"].get<std::string>(),
              HasSubstr("no Available PersistentVolume matches it yet"));
  EXPECT_FALSE(Prime());
  EXPECT_FALSE(Pod());

  kube_.Put(res::kPersistentVolume, {{"metadata", {{"name", "local-pv-1"}}},
                                     {"spec",
                                      {{"capacity", {{"storage", "2Gi"}}},
                                       {"accessModes", {"ReadWriteOnce"}},
                                       {"storageClassName", "local"}}},
                                     {"status", {{"phase", "Available"}}}});
  Sync();
  EXPECT_THAT(CrNow()["status"]["conditions"][0]["message"].get<std::string>(), HasSubstr("local-pv-1 matches"));

  // The PV controller binds the target itself: Forklift would now report an empty volume as done.
  kube_.Mutate(res::kPersistentVolume, "", "local-pv-1", [&](json& v) {
    v["spec"]["claimRef"] = {{"namespace", "mig"}, {"name", "disk-0"}, {"uid", Uid()}};
    v["status"]["phase"] = "Bound";
  });
  kube_.Mutate(res::kPersistentVolumeClaim, "mig", "disk-0", [](json& p) {
    p["spec"]["volumeName"] = "local-pv-1";
    p["status"]["phase"] = "Bound";
  });
  Sync();
  ASSERT_TRUE(Pod());
  EXPECT_FALSE(Prime());
  EXPECT_EQ((*Pod())["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "disk-0");
  EXPECT_FALSE((*Pod())["spec"].contains("nodeName"));
  EXPECT_NE(TrueCondition(CrNow()).rfind("Pending/", 0), std::string::npos);
  PodPhase("Running");
  Sync();
  EXPECT_EQ(TrueCondition(CrNow()), "Running/Populating");
  PodPhase("Succeeded");
  Sync();
  json pv = *kube_.Find(res::kPersistentVolume, "", "local-pv-1");
  EXPECT_EQ(pv["metadata"]["annotations"]["forklift.konveyor.io/populated-from"], "mig/disk-0-cr");
  EXPECT_EQ(TrueCondition(CrNow()), "Succeeded/PopulatedInPlace");
  EXPECT_EQ(CrNow()["status"]["progress"], "100");
  EXPECT_EQ(EventCount("PopulatorFinished"), 1);

  // A restart, or the pod disappearing, never starts a second population of that volume.
  kube_.Remove(res::kPod, "mig", PopulatorPodName(Uid()));
  NewController();
  Sync();
  EXPECT_FALSE(Pod());
  EXPECT_EQ(EventCount("PopulatorFinished"), 1);
  EXPECT_EQ(TrueCondition(CrNow()), "Succeeded/PopulatedInPlace");
}

TEST_F(ReconcilerTest, StaleCacheNeverStartsASecondPopulationOfAPopulatedVolume) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  std::string pv = BindPrime();
  PodPhase("Succeeded");
  Sync();
  BinderCompletesRebind();
  Sync();
  ASSERT_FALSE(Prime());
  // A restarted controller whose PV cache lags behind (no populated-from yet) and whose pod is gone.
  kube_.Remove(res::kPod, "mig", PopulatorPodName(Uid()));
  Refresh();
  json stale = *pvs_.Get("", pv);
  stale["metadata"]["annotations"].erase("forklift.konveyor.io/populated-from");
  pvs_.Upsert(stale);
  NewController();
  reconciler_->Sync("mig/disk-0");
  EXPECT_FALSE(Pod());
  EXPECT_EQ(TrueCondition(CrNow()), "Succeeded/Populated");
}

TEST_F(ReconcilerTest, TargetBoundToAnotherVolumeWhilePopulatingIsReported) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  BindPrime();
  kube_.Mutate(res::kPersistentVolumeClaim, "mig", "disk-0", [](json& p) {
    p["spec"]["volumeName"] = "someone-elses";
    p["status"]["phase"] = "Bound";
  });
  Sync();
  EXPECT_EQ(TrueCondition(CrNow()), "Failed/BoundToAnotherVolume");
  EXPECT_TRUE(Prime()) << "nothing is deleted";
}

TEST_F(ReconcilerTest, StuckPodIsReportedOnceWithWhatToFix) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  BindPrime();
  kube_.Mutate(res::kPod, "mig", PopulatorPodName(Uid()), [](json& p) {
    p["status"]["phase"] = "Pending";
    p["status"]["containerStatuses"] = json::parse(
        R"([{"name":"populate","state":{"waiting":{"reason":"CreateContainerConfigError","message":"secret \"engine\" not found"}}}])");
  });
  Sync();
  EXPECT_THAT(EventNote("PopulatorPodWaiting"), HasSubstr("secret \"engine\" not found"));
  EXPECT_EQ(TrueCondition(CrNow()), "Pending/CreateContainerConfigError");
  Sync();
  EXPECT_EQ(EventCount("PopulatorPodWaiting"), 1);
}

TEST_F(ReconcilerTest, StatusThroughTheMainResourceForForkliftsCrds) {
  testing::FakeKube plain;  // no status subresource (Forklift's CRDs)
  kube::Store pvcs, pvs, pods, classes, ovirt;
  AddPvcIndexes(pvcs);
  AddPodIndexes(pods);
  StoreCache cache(CacheStores{&pvcs, &pvs, &pods, &classes, {{PopulatorKind::kOvirt, &ovirt}}});
  FakeProgress progress;
  ControllerMetrics metrics;
  kube::EventRecorder events(plain, {"c", "i"});
  ReconcilerOptions o;
  o.settings = settings_;
  Reconciler r(plain, cache, progress, events, metrics, o);
  plain.Put(res::kStorageClass, {{"metadata", {{"name", "lab-file"}}}, {"provisioner", "lab.hoist.io/file"}});
  plain.Put(kOvirt, {{"metadata", {{"name", "disk-0-cr"}, {"namespace", "mig"}, {"generation", 1}}},
                     {"spec", {{"engineUrl", "https://e"}, {"engineSecretName", "s"}, {"diskId", "d"}}}});
  plain.Put(res::kPersistentVolumeClaim,
            {{"metadata", {{"name", "disk-0"}, {"namespace", "mig"}}},
             {"spec",
              {{"storageClassName", "lab-file"},
               {"resources", {{"requests", {{"storage", "1Gi"}}}}},
               {"dataSourceRef", {{"apiGroup", "forklift.konveyor.io"}, {"kind", "OvirtVolumePopulator"}, {"name", "disk-0-cr"}}}}}});
  auto fill = [&] {
    plain.Fill(pvcs, res::kPersistentVolumeClaim);
    plain.Fill(pods, res::kPod);
    plain.Fill(classes, res::kStorageClass);
    plain.Fill(ovirt, kOvirt);
  };
  fill();
  r.Sync("mig/disk-0");
  EXPECT_EQ(plain.patches.back().resource, "ovirtvolumepopulators");
  EXPECT_EQ((*plain.Find(kOvirt, "mig", "disk-0-cr"))["status"]["progress"], "0");
  // A main-resource write bumps the generation on a real server; observedGeneration must not chase it.
  plain.Mutate(kOvirt, "mig", "disk-0-cr", [](json& c) { c["metadata"]["generation"] = 2; });
  fill();
  size_t before = plain.patches.size();
  r.Sync("mig/disk-0");
  EXPECT_EQ(plain.patches.size(), before);
}

TEST_F(ReconcilerTest, StatusConflictIsRetriedOnTheLatestObject) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  BindPrime();
  PodPhase("Running");
  Sync();
  progress_->readings["mig/disk-0"].progress = 30;
  Refresh();
  // Someone writes the CR after our cache read: the first patch conflicts.
  kube_.Mutate(kOvirt, "mig", "disk-0-cr", [](json& c) { c["metadata"]["labels"]["touched"] = "yes"; });
  reconciler_->Sync("mig/disk-0");
  json cr = CrNow();
  EXPECT_EQ(cr["status"]["progress"], "30");
  EXPECT_EQ(cr["metadata"]["labels"]["touched"], "yes");
}

TEST_F(ReconcilerTest, AStaleCrCacheDoesNotCauseConflicts) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  BindPrime();
  PodPhase("Running");
  json before_write = CrNow();
  Sync();  // writes the Running condition
  Refresh();
  ovirt_.Upsert(before_write);  // the informer has not delivered that write yet
  progress_->readings["mig/disk-0"].progress = 60;
  reconciler_->Sync("mig/disk-0");
  EXPECT_EQ(CrNow()["status"]["progress"], "60");
  for (const auto& l : kube_.log) EXPECT_EQ(l.rfind("get ovirtvolumepopulators", 0), std::string::npos) << l;

  // Once the prime PVC is being deleted (finalizer still on), it is not deleted again.
  PodPhase("Succeeded");
  Sync();
  BinderCompletesRebind();
  Sync();
  EXPECT_EQ(kube_.Writes("delete").size(), 1u);
}

TEST_F(ReconcilerTest, DeletedPvcStopsMonitoring) {
  StorageClass("lab-file", "lab.hoist.io/file");
  Cr(kOvirt);
  Pvc();
  Sync();
  BindPrime();
  PodPhase("Running");
  Sync();
  ASSERT_EQ(progress_->targets.size(), 1u);
  kube_.Remove(res::kPersistentVolumeClaim, "mig", "disk-0");
  Sync();
  EXPECT_THAT(progress_->targets, IsEmpty());
  EXPECT_EQ(metrics_->InFlight(), 0u);
}

}  // namespace
}  // namespace hoist::controller

#include "controller/podspec.h"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/names.h"
#include "unit/controller/fixtures.h"

namespace hoist::controller {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kUid = "5b1c7a2e-0000-4c1e-9f0a-2b3c4d5e6f70";

TEST(Pod, XcopyBlockPodMatchesForklift) {
  json pvc = fixtures::TargetPvc("VSphereXcopyVolumePopulator", "Block");
  PodInputs in;
  in.kind = PopulatorKind::kVSphereXcopy;
  in.image = "quay.io/hoist/populator-xcopy:1";
  json pod = BuildPopulatorPod(in, fixtures::XcopyCr(), pvc);

  EXPECT_EQ(pod["metadata"]["name"], std::string("populate-") + kUid);
  EXPECT_EQ(pod["metadata"]["namespace"], "mig");
  EXPECT_EQ(pod["metadata"]["labels"], json::parse(R"({"pvcName":"plan-vm-disk-0","migration":"mig-uid",
      "vmID":"vm-42","plan":"plan-uid","sourceHost":"host-12"})"));
  EXPECT_FALSE(pod["metadata"].contains("annotations"));
  EXPECT_EQ(pod["metadata"]["ownerReferences"], json::parse(std::string(R"([{"apiVersion":"v1",
      "kind":"PersistentVolumeClaim","name":"plan-vm-disk-0","uid":")") +
                                                            kUid + R"("}])"));

  const json& spec = pod["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["securityContext"],
            json::parse(R"({"fsGroup":107,"seccompProfile":{"type":"RuntimeDefault"}})"));
  EXPECT_EQ(spec["serviceAccountName"], "populator");
  EXPECT_FALSE(spec.contains("nodeName"));
  EXPECT_EQ(spec["volumes"],
            json::parse(std::string(R"([{"name":"target","persistentVolumeClaim":{"claimName":"prime-)") +
                        kUid + R"("}}])"));
  ASSERT_EQ(spec["containers"].size(), 1u);
  const json& c = spec["containers"][0];
  EXPECT_EQ(c["name"], "populate");
  EXPECT_EQ(c["image"], "quay.io/hoist/populator-xcopy:1");
  EXPECT_FALSE(c.contains("command"));  // the image's entrypoint is the populator
  EXPECT_EQ(c["args"][0], "--source-vm-id=vm-42");
  EXPECT_EQ(c["ports"], json::parse(R"([{"name":"metrics","containerPort":8443}])"));
  EXPECT_EQ(c["securityContext"], json::parse(R"({"allowPrivilegeEscalation":false,"runAsNonRoot":true,
      "runAsUser":107,"capabilities":{"drop":["ALL"]}})"));
  EXPECT_EQ(c["envFrom"], json::parse(R"([{"secretRef":{"name":"plan-secret-0"}}])"));
  EXPECT_EQ(c["env"], json::parse(R"([{"name":"cacert","valueFrom":{"secretKeyRef":{"name":"plan-secret-0",
      "key":"ca.crt","optional":true}}}])"));
  EXPECT_EQ(c["resources"], json::parse(R"({"limits":{"cpu":"1000m","memory":"1Gi"},
      "requests":{"cpu":"100m","memory":"512Mi"}})"));
  EXPECT_EQ(c["volumeDevices"], json::parse(R"([{"name":"target","devicePath":"/dev/block"}])"));
  EXPECT_FALSE(c.contains("volumeMounts"));
}

TEST(Pod, OvirtFilesystemPodWithNetworkServiceAccountAndNode) {
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator", "Filesystem");
  pvc["metadata"]["annotations"]["forklift.konveyor.io/serviceAccount"] = "migrator";
  PodInputs in;
  in.kind = PopulatorKind::kOvirt;
  in.image = "ovirt-img";
  in.node_name = "worker-2";
  in.resources.limits_memory = "2Gi";
  json pod = BuildPopulatorPod(in, fixtures::OvirtCr(), pvc);
  EXPECT_EQ(pod["metadata"]["annotations"], json::parse(R"({"k8s.v1.cni.cncf.io/networks":"netns/xfer"})"));
  EXPECT_EQ(pod["metadata"]["labels"],
            json::parse(R"({"pvcName":"plan-vm-disk-0","migration":"mig-uid","vmID":"vm-42"})"));
  EXPECT_EQ(pod["spec"]["serviceAccountName"], "migrator");
  EXPECT_EQ(pod["spec"]["nodeName"], "worker-2");
  const json& c = pod["spec"]["containers"][0];
  EXPECT_EQ(c["volumeMounts"], json::parse(R"([{"name":"target","mountPath":"/mnt/"}])"));
  EXPECT_FALSE(c.contains("volumeDevices"));
  EXPECT_EQ(c["envFrom"][0]["secretRef"]["name"], "engine-secret");
  EXPECT_EQ(c["resources"]["limits"]["memory"], "2Gi");
}

TEST(Pod, LabelAndNetworkEdgeCases) {
  json pvc = fixtures::TargetPvc("OpenstackVolumePopulator", "Filesystem");
  pvc["metadata"]["name"] = std::string(70, 'p');  // a valid PVC name but too long for a label value
  json cr = fixtures::OpenstackCr();
  cr["metadata"]["labels"] = {{"migration", ""}, {"sourceHost", "bad host!"}};
  cr["spec"]["transferNetwork"] = {{"name", "xfer"}};
  PodInputs in;
  in.kind = PopulatorKind::kOpenstack;
  json pod = BuildPopulatorPod(in, cr, pvc);
  // migration is copied even when empty (as Forklift does); invalid values are left out.
  EXPECT_EQ(pod["metadata"]["labels"], json::parse(R"({"migration":""})"));
  EXPECT_EQ(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"], "xfer");
  EXPECT_FALSE(pod["spec"].contains("serviceAccountName"));
}

TEST(Pod, RuntimeHostPrefersMigrationHost) {
  json cr = fixtures::XcopyCr();
  EXPECT_EQ(RuntimeHost(cr), "host-12");
  cr["spec"]["migrationHost"] = "host-99";
  EXPECT_EQ(RuntimeHost(cr), "host-99");
  json pod = BuildPopulatorPod({PopulatorKind::kVSphereXcopy, "img", {}, "", ""}, cr,
                               fixtures::TargetPvc("VSphereXcopyVolumePopulator"));
  EXPECT_EQ(pod["metadata"]["labels"]["sourceHost"], "host-99");
  EXPECT_EQ(RuntimeHost(fixtures::OpenstackCr()), "");
}

TEST(PrimePvc, CopiesClassSizeModesAndSelectedNode) {
  json pvc = fixtures::TargetPvc("VSphereXcopyVolumePopulator", "Block");
  json prime = BuildPrimePvc(pvc, "");
  EXPECT_EQ(prime, json::parse(std::string(R"({
    "apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":"prime-)") +
                               kUid + R"(","namespace":"mig",
      "labels":{"migration":"mig-uid","plan":"plan-uid","vmID":"vm-42"},
      "ownerReferences":[{"apiVersion":"v1","kind":"PersistentVolumeClaim","name":"plan-vm-disk-0","uid":")" +
                               kUid + R"("}]},
    "spec":{"accessModes":["ReadWriteMany"],"resources":{"requests":{"storage":"10Gi"}},
            "storageClassName":"san","volumeMode":"Block"}})"));
  EXPECT_FALSE(prime["spec"].contains("dataSourceRef"));
  json wffc = BuildPrimePvc(pvc, "worker-2");
  EXPECT_EQ(wffc["metadata"]["annotations"],
            json::parse(R"({"volume.kubernetes.io/selected-node":"worker-2"})"));
  pvc["metadata"]["labels"] = {{"plan", "p"}};
  EXPECT_EQ(BuildPrimePvc(pvc, "")["metadata"]["labels"], json::parse(R"({"plan":"p"})"));
}

TEST(Binding, StorageClassRules) {
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator");
  json csi = {{"provisioner", "csi.trident.netapp.io"}, {"volumeBindingMode", "Immediate"}};
  EXPECT_EQ(DecideBinding(pvc, &csi).action, BindingAction::kPopulate);

  BindingDecision d = DecideBinding(pvc, nullptr);
  EXPECT_EQ(d.action, BindingAction::kWaitForStorageClass);
  EXPECT_THAT(d.message, HasSubstr("StorageClass \"san\""));

  json intree = {{"provisioner", "kubernetes.io/aws-ebs"}};
  EXPECT_EQ(DecideBinding(pvc, &intree).action, BindingAction::kSkipInTree);
  json migrated = pvc;
  migrated["metadata"]["annotations"]["pv.kubernetes.io/migrated-to"] = "ebs.csi.aws.com";
  EXPECT_EQ(DecideBinding(migrated, &intree).action, BindingAction::kPopulate);

  // Static volumes (Forklift skipped these too, and the PV controller then bound an empty volume).
  json local = {{"provisioner", "kubernetes.io/no-provisioner"}, {"volumeBindingMode", "WaitForFirstConsumer"}};
  d = DecideBinding(pvc, &local);
  EXPECT_EQ(d.action, BindingAction::kStaticVolume);
  EXPECT_THAT(d.message, HasSubstr("has no provisioner"));
  json empty_class = pvc;
  empty_class["spec"]["storageClassName"] = "";
  EXPECT_EQ(DecideBinding(empty_class, nullptr).action, BindingAction::kStaticVolume);

  json wffc = {{"provisioner", "csi.example.com"}, {"volumeBindingMode", "WaitForFirstConsumer"}};
  d = DecideBinding(pvc, &wffc);
  EXPECT_EQ(d.action, BindingAction::kWaitForNode);
  EXPECT_THAT(d.message, HasSubstr("volume.kubernetes.io/selected-node"));
  pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] = "worker-3";
  d = DecideBinding(pvc, &wffc);
  EXPECT_EQ(d.action, BindingAction::kPopulate);
  EXPECT_EQ(d.node_name, "worker-3");

  json no_class = fixtures::TargetPvc("OvirtVolumePopulator");
  no_class["spec"].erase("storageClassName");
  EXPECT_EQ(DecideBinding(no_class, nullptr).action, BindingAction::kPopulate);
}

TEST(Rebind, PatchAndNeed) {
  json pvc = fixtures::TargetPvc("VSphereXcopyVolumePopulator");
  EXPECT_EQ(BuildPvRebindPatch("pvc-123", pvc), json::parse(std::string(R"({
    "metadata":{"name":"pvc-123","annotations":{"forklift.konveyor.io/populated-from":"mig/disk-0-cr"}},
    "spec":{"claimRef":{"namespace":"mig","name":"plan-vm-disk-0","uid":")") +
                                                            kUid + R"(",
                        "resourceVersion":"4711"}}})"));
  json pv = {{"metadata", {{"name", "pvc-123"}}},
             {"spec",
              {{"claimRef",
                {{"kind", "PersistentVolumeClaim"},
                 {"namespace", "mig"},
                 {"name", std::string("prime-") + kUid},
                 {"uid", "prime-uid"}}}}}};
  EXPECT_TRUE(NeedsRebind(pv, pvc));
  pv["spec"]["claimRef"]["name"] = "plan-vm-disk-0";
  pv["spec"]["claimRef"]["uid"] = kUid;
  EXPECT_FALSE(NeedsRebind(pv, pvc));
  pv["spec"].erase("claimRef");  // Forklift dereferenced a nil claimRef here
  EXPECT_TRUE(NeedsRebind(pv, pvc));
}

TEST(Resources, FromSettingsWithFallback) {
  std::map<std::string, std::string> env = {{"POPULATOR_CONTAINER_LIMITS_CPU", "2"},
                                            {"POPULATOR_CONTAINER_REQUESTS_MEMORY", "lots"}};
  std::vector<std::string> warnings;
  PopulatorResources r = ResourcesFromSettings(
      [&](std::string_view k) -> std::optional<std::string> {
        auto it = env.find(std::string(k));
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      &warnings);
  EXPECT_EQ(r.limits_cpu, "2");
  EXPECT_EQ(r.limits_memory, "1Gi");
  EXPECT_EQ(r.requests_cpu, "100m");
  EXPECT_EQ(r.requests_memory, "512Mi");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("POPULATOR_CONTAINER_REQUESTS_MEMORY=\"lots\""));
}

}  // namespace
}  // namespace hoist::controller

// The per-disk objects: what forklift-controller's vSphere builder creates, field by field.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "net/tls.h"
#include "planner/builders.h"
#include "unit/planner/fixtures.h"

namespace hoist::planner {
namespace {

using nlohmann::json;

struct Disk0 {
  Plan plan = ParsePlan(fixtures::PlanObject());
  StorageMap map = ParseStorageMap(fixtures::StorageMapObject());
  SourceVm vm = fixtures::TwoDiskVm();
  DiskRef ref(int i) {
    return DiskRef{&plan, &vm, &vm.disks[i], i, map.Find(vm.disks[i].datastore_id, vm.disks[i].datastore_name)};
  }
};

TEST(PlannerBuilders, TargetPvcIsBlockWithTheDiskCapacityAndPointsAtTheCr) {
  Disk0 f;
  json pvc = BuildTargetPvc(f.ref(0));
  EXPECT_EQ(pvc["apiVersion"], "v1");
  EXPECT_EQ(pvc["kind"], "PersistentVolumeClaim");
  EXPECT_EQ(pvc["metadata"]["name"], "wave-1-vm1-disk-0-986a0e1a");
  EXPECT_EQ(pvc["metadata"]["namespace"], "vms");
  EXPECT_EQ(pvc["spec"]["volumeMode"], "Block");
  EXPECT_EQ(pvc["spec"]["accessModes"], json::array({"ReadWriteMany"}));  // Forklift's default
  EXPECT_EQ(pvc["spec"]["storageClassName"], "ontap-san");
  EXPECT_EQ(pvc["spec"]["resources"]["requests"]["storage"], std::to_string(4ll << 30));
  EXPECT_EQ(pvc["spec"]["dataSourceRef"],
            json({{"apiGroup", "forklift.konveyor.io"}, {"kind", "VSphereXcopyVolumePopulator"},
                  {"name", "wave-1-vm1-disk-0-986a0e1a"}}));
  const json& l = pvc["metadata"]["labels"];
  EXPECT_EQ(l["migration"], "mig-uid-1");
  EXPECT_EQ(l["plan"], "mig-uid-1");
  EXPECT_EQ(l["vmID"], "vm-20");
  EXPECT_EQ(l["vmdkKey"], "2000");
  EXPECT_EQ(l["sourceHost"], "host-17");
  EXPECT_EQ(l["volume.csi.k8s.io/affinity-source-naa"], "naa.600a098038314d2d4c244a6f6b6b6f31");
  const json& a = pvc["metadata"]["annotations"];
  EXPECT_EQ(a["forklift.konveyor.io/disk-source"], "[san-ds1] vm1/vm1.vmdk");
  EXPECT_EQ(a["copy-offload"], "[san-ds1] vm1/vm1.vmdk");
  EXPECT_EQ(a["planner.hoist.io/plan"], "mtv/wave-1");
  EXPECT_EQ(a["planner.hoist.io/vm-name"], "vm1");
  EXPECT_FALSE(a.contains("forklift.konveyor.io/serviceAccount"));

  json second = BuildTargetPvc(f.ref(1));
  EXPECT_EQ(second["spec"]["accessModes"], json::array({"ReadWriteOnce"}));
  EXPECT_NE(second["metadata"]["name"], pvc["metadata"]["name"]);
}

TEST(PlannerBuilders, InvalidLabelValuesAreLeftOut) {
  Disk0 f;
  f.vm.host_id = "host with spaces";
  f.vm.disks[0].datastore_naa.clear();
  json l = BuildTargetPvc(f.ref(0))["metadata"]["labels"];
  EXPECT_FALSE(l.contains("sourceHost"));
  EXPECT_FALSE(l.contains("volume.csi.k8s.io/affinity-source-naa"));
  EXPECT_EQ(l.size(), 4u);
}

TEST(PlannerBuilders, CrAndSecretAreOwnedByThePvcAndShareItsName) {
  Disk0 f;
  json pvc = BuildTargetPvc(f.ref(1));
  pvc["metadata"]["uid"] = "pvc-uid-1";
  json cr = BuildPopulatorCr(f.ref(1), pvc);
  EXPECT_EQ(cr["apiVersion"], "forklift.konveyor.io/v1beta1");
  EXPECT_EQ(cr["kind"], "VSphereXcopyVolumePopulator");
  EXPECT_EQ(cr["metadata"]["name"], pvc["metadata"]["name"]);
  EXPECT_EQ(cr["metadata"]["labels"], pvc["metadata"]["labels"]);
  EXPECT_EQ(cr["metadata"]["ownerReferences"][0]["uid"], "pvc-uid-1");
  EXPECT_EQ(cr["metadata"]["ownerReferences"][0]["kind"], "PersistentVolumeClaim");
  EXPECT_EQ(cr["spec"]["vmId"], "vm-20");
  EXPECT_EQ(cr["spec"]["vmdkPath"], "[san-ds2] vm1/vm1_1.vmdk");
  EXPECT_EQ(cr["spec"]["secretName"], pvc["metadata"]["name"]);
  EXPECT_EQ(cr["spec"]["storageVendorProduct"], "ontap");
  EXPECT_FALSE(cr["spec"].contains("migrationHost"));  // map[1] has no dedicated hosts

  json secret = BuildDiskSecret(f.ref(1), pvc, {{"GOVMOMI_PASSWORD", "pw"}});
  EXPECT_EQ(secret["kind"], "Secret");
  EXPECT_EQ(secret["metadata"]["name"], pvc["metadata"]["name"]);
  EXPECT_EQ(secret["metadata"]["ownerReferences"][0]["uid"], "pvc-uid-1");
  EXPECT_EQ(secret["metadata"]["labels"]["vmID"], "vm-20");
  EXPECT_EQ(net::Base64Decode(secret["data"]["GOVMOMI_PASSWORD"].get<std::string>()), "pw");
}

TEST(PlannerBuilders, DedicatedMigrationHostIsStableAndSpreads) {
  Disk0 f;
  std::set<std::string> chosen;
  for (int key = 2000; key < 2016; ++key) {
    f.vm.disks[0].key = key;
    std::string h = MigrationHost(f.ref(0));
    EXPECT_EQ(h, MigrationHost(f.ref(0)));
    EXPECT_TRUE(h == "host-31" || h == "host-32") << h;
    chosen.insert(h);
    EXPECT_EQ(BuildPopulatorCr(f.ref(0), json::object())["spec"]["migrationHost"], h);
  }
  EXPECT_EQ(chosen.size(), 2u);
}

TEST(PlannerBuilders, ServiceAccountAnnotationFromThePlan) {
  Disk0 f;
  f.plan.service_account = "migrator";
  EXPECT_EQ(BuildTargetPvc(f.ref(0))["metadata"]["annotations"]["forklift.konveyor.io/serviceAccount"], "migrator");
}

TEST(PlannerBuilders, PopulatorRbacGrantsWhatThePodNeeds) {
  auto objs = PopulatorRbac("vms", "openshift-mtv");
  std::vector<std::string> got;
  for (const auto& [type, o] : objs) {
    got.push_back(type.kind + " " + o["metadata"].value("namespace", std::string("-")) + "/" +
                  o["metadata"]["name"].get<std::string>());
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "ServiceAccount vms/populator",
                     "Role vms/populator-pvc-reader",
                     "RoleBinding vms/populator-pvc-reader-binding",
                     "Role openshift-mtv/populator-lease-reader",
                     "RoleBinding openshift-mtv/populator-lease-reader-binding-vms",
                     "Secret openshift-mtv/storage-array-secret",
                     "ClusterRole -/populator-pv-reader",
                     "ClusterRoleBinding -/populator-pv-reader-binding-vms",
                 }));
  const json& pvc_role = objs[1].second;
  ASSERT_EQ(pvc_role["rules"].size(), 2u);
  EXPECT_EQ(pvc_role["rules"][0]["resources"], json::array({"persistentvolumeclaims"}));
  EXPECT_EQ(pvc_role["rules"][0]["verbs"], json::array({"get", "list", "watch"}));
  EXPECT_EQ(pvc_role["rules"][1]["apiGroups"], json::array({"coordination.k8s.io"}));
  const json& lease_role = objs[3].second;
  EXPECT_EQ(lease_role["rules"][1]["resourceNames"], json::array({"storage-array-secret"}));
  const json& pv_role = objs[6].second;
  ASSERT_TRUE(pv_role["rules"].is_array());
  ASSERT_EQ(pv_role["rules"].size(), 1u);
  EXPECT_EQ(pv_role["rules"][0]["verbs"], json::array({"get"}));
  for (size_t i : {2u, 4u, 7u}) {
    EXPECT_EQ(objs[i].second["subjects"],
              json::array({{{"kind", "ServiceAccount"}, {"name", "populator"}, {"namespace", "vms"}}}));
  }
}

}  // namespace
}  // namespace hoist::planner

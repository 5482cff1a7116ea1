// Handle shapes of the imitated CSI drivers, and the provisioner on an in-memory store.
#include "lab/provisioner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "lab/binder.h"
#include "lab/cluster_objects.h"

namespace hoist::lab {
namespace {

VolumeRequest Request() {
  VolumeRequest r;
  r.pv_name = "pvc-0a1b2c3d-0000-1111-2222-333344445555";
  r.driver = "csi.trident.netapp.io";
  r.class_name = "ontap-san";
  r.size_bytes = 1 << 20;
  return r;
}

TEST(HandleShape, TridentNamesTheLunAfterThePv) {
  HandleShape h = MakeHandle("trident", Request());
  EXPECT_EQ(h.volume_handle, "pvc-0a1b2c3d-0000-1111-2222-333344445555");
  EXPECT_EQ(h.volume_attributes["internalName"], "trident_pvc_0a1b2c3d_0000_1111_2222_333344445555");
  EXPECT_EQ(h.volume_attributes["protocol"], "block");
  EXPECT_TRUE(h.volume_attributes.count("backendUUID"));
  EXPECT_TRUE(h.volume_attributes.count("storage.kubernetes.io/csiProvisionerIdentity"));
}

TEST(HandleShape, OtherDriversLookLikeTheirs) {
  EXPECT_EQ(DefaultShapeForDriver("pure-csi"), "pure");
  EXPECT_EQ(DefaultShapeForDriver("csi.hpe.com"), "hpe");
  EXPECT_EQ(DefaultShapeForDriver("lab.hoist.io/file"), "file");
  EXPECT_EQ(MakeHandle("flashsystem", Request()).volume_handle.rfind("SVC:5;", 0), 0u);
  EXPECT_EQ(MakeHandle("hpe", Request()).volume_handle, Request().pv_name);
  std::string vantara = MakeHandle("vantara", Request()).volume_handle;
  EXPECT_EQ(vantara.rfind("01--iscsi--", 0), 0u);
  // Deterministic: a repeated Create gives the same handle.
  EXPECT_EQ(MakeHandle("pure", Request()).volume_handle, MakeHandle("pure", Request()).volume_handle);
}

TEST(Provisioner, ProvisionsBlockAndFilesystemVolumesAndDeletesThem) {
  char dir[] = "/tmp/hoist-prov-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  Store store{StoreOptions{}};
  ClusterTypes t = ClusterTypes::From(store);
  Binder binder(store);
  Provisioner prov(store, std::string(dir) + "/volumes");
  auto settle = [&] {
    for (int i = 0; i < 100; ++i)
      if (!(binder.Sync() | prov.Sync())) break;
  };
  store.Create(t.classes, "",
               {{"apiVersion", "storage.k8s.io/v1"},
                {"kind", "StorageClass"},
                {"metadata", {{"name", "san"}}},
                {"provisioner", "csi.trident.netapp.io"},
                {"reclaimPolicy", "Delete"},
                {"parameters", {{"csi.storage.k8s.io/fstype", "xfs"}}}});
  auto claim = [&](const std::string& name, const std::string& mode) {
    return store.Create(t.pvcs, "default",
                        {{"apiVersion", "v1"},
                         {"kind", "PersistentVolumeClaim"},
                         {"metadata", {{"name", name}}},
                         {"spec",
                          {{"accessModes", {"ReadWriteOnce"}},
                           {"storageClassName", "san"},
                           {"volumeMode", mode},
                           {"resources", {{"requests", {{"storage", "64Mi"}}}}}}}});
  };
  Json blk = claim("blk", "Block");
  Json fsc = claim("fs", "Filesystem");
  settle();
  Json pvc = store.Get(t.pvcs, "default", "blk");
  EXPECT_EQ(pvc["status"]["phase"], "Bound");
  EXPECT_EQ(pvc["metadata"]["annotations"][kAnnStorageProvisioner], "csi.trident.netapp.io");
  EXPECT_EQ(pvc["metadata"]["annotations"][kAnnBetaStorageProvisioner], "csi.trident.netapp.io");
  std::string pv_name = "pvc-" + blk["metadata"]["uid"].get<std::string>();
  EXPECT_EQ(pvc["spec"]["volumeName"], pv_name);
  Json pv = store.Get(t.pvs, "", pv_name);
  EXPECT_EQ(pv["spec"]["csi"]["driver"], "csi.trident.netapp.io");
  EXPECT_EQ(pv["spec"]["csi"]["volumeHandle"], pv_name);
  EXPECT_FALSE(pv["spec"]["csi"].contains("fsType"));
  EXPECT_EQ(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
  EXPECT_EQ(pv["metadata"]["annotations"][kAnnProvisionedBy], "csi.trident.netapp.io");
  std::string path = pv["metadata"]["annotations"][kAnnDataPath];
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 64 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);  // sparse

  Json fpv = store.Get(t.pvs, "", "pvc-" + fsc["metadata"]["uid"].get<std::string>());
  EXPECT_EQ(fpv["spec"]["csi"]["fsType"], "xfs");
  EXPECT_TRUE(std::filesystem::is_directory(fpv["metadata"]["annotations"][kAnnDataPath].get<std::string>()));

  store.Delete(t.pvcs, "default", "blk");
  settle();
  EXPECT_FALSE(store.TryGet(t.pvs, "", pv_name));
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

TEST(Provisioner, WaitForFirstConsumerWaitsForTheSelectedNode) {
  char dir[] = "/tmp/hoist-prov-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  Store store{StoreOptions{}};
  ClusterTypes t = ClusterTypes::From(store);
  Binder binder(store);
  Provisioner prov(store, std::string(dir) + "/volumes");
  auto settle = [&] {
    for (int i = 0; i < 100; ++i)
      if (!(binder.Sync() | prov.Sync())) break;
  };
  store.Create(t.classes, "",
               {{"apiVersion", "storage.k8s.io/v1"},
                {"kind", "StorageClass"},
                {"metadata", {{"name", "wffc"}}},
                {"provisioner", "lab.hoist.io/file"},
                {"volumeBindingMode", "WaitForFirstConsumer"}});
  store.Create(t.pvcs, "default",
               {{"apiVersion", "v1"},
                {"kind", "PersistentVolumeClaim"},
                {"metadata", {{"name", "c"}}},
                {"spec",
                 {{"accessModes", {"ReadWriteOnce"}},
                  {"storageClassName", "wffc"},
                  {"resources", {{"requests", {{"storage", "1Mi"}}}}}}}});
  settle();
  EXPECT_EQ(store.Get(t.pvcs, "default", "c")["status"]["phase"], "Pending");
  EXPECT_TRUE(store.List(t.pvs, "").items.empty());
  store.Patch(t.pvcs, "default", "c", PatchType::kMerge,
              {{"metadata", {{"annotations", {{kAnnSelectedNode, "lab-node-2"}}}}}});
  settle();
  EXPECT_EQ(store.Get(t.pvcs, "default", "c")["status"]["phase"], "Bound");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hoist::lab

#pragma once
// The lab's dynamic provisioner: plays the CSI external-provisioner + CSI driver for StorageClasses whose
// provisioner is one of the lab's drivers. Volumes are file-backed under DIR/volumes/ (Filesystem: a
// directory; Block: a sparse file of the requested size) unless a class names another backend.
//
// It provisions claims the PV binder annotated with `volume.kubernetes.io/storage-provisioner: <driver>`
// (Immediate classes at once, WaitForFirstConsumer classes once `volume.kubernetes.io/selected-node` is
// set), creating PV `pvc-<claim uid>` pre-bound to the claim (claimRef with uid) with `spec.csi`
// {driver, volumeHandle, volumeAttributes, fsType}, the class's reclaimPolicy and mountOptions,
// annotation `pv.kubernetes.io/provisioned-by`, and `lab.hoist.io/data-path` (where the bytes live, for
// the kubelet). It deletes Released volumes of reclaim policy Delete that it provisioned.
// Claims with a `dataSourceRef` to a custom resource are left to their volume populator, as the
// external-provisioner does.
//
// Handle shapes: what `spec.csi` looks like depends on the driver the class imitates, so that code
// reading PVs (the xcopy populator maps volumeHandle/volumeAttributes to an array LUN) sees what the
// real driver would produce. A VolumeBackend decides it; backends are chosen per class.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lab/store.h"

namespace hoist::lab {

struct VolumeRequest {
  std::string pv_name;  // "pvc-<claim uid>"
  std::string driver;   // the class's provisioner
  std::string class_name;
  std::map<std::string, std::string> parameters;  // the class's parameters
  int64_t size_bytes = 0;
  bool block = false;         // volumeMode Block
  std::string selected_node;  // WaitForFirstConsumer: the node the scheduler picked; else empty
  std::string claim_namespace, claim_name, claim_uid;
};

struct ProvisionedVolume {
  std::string volume_handle;
  std::map<std::string, std::string> volume_attributes;
  std::string fs_type;    // Filesystem volumes; empty for Block
  std::string data_path;  // the local file (Block) or directory (Filesystem) holding the bytes
  Json node_affinity;     // a v1.VolumeNodeAffinity, or null
};

// Creates and deletes the storage behind a class's volumes. Implementations must be idempotent per
// pv_name (a crash between creating the storage and the PV object repeats the call).
class VolumeBackend {
 public:
  virtual ~VolumeBackend() = default;
  virtual ProvisionedVolume Create(const VolumeRequest& request) = 0;
  // `pv` is the PersistentVolume being deleted.
  virtual void Delete(const Json& pv) = 0;
};

// volumeHandle and volumeAttributes in the style of a real driver, from the PV name and request.
// Shapes: "file" (lab.hoist.io/file), "trident" (csi.trident.netapp.io), "pure" (pure-csi),
// "hpe" (csi.hpe.com), "powerstore", "powermax", "powerflex", "flashsystem", "infinibox", "vantara".
struct HandleShape {
  std::string volume_handle;
  std::map<std::string, std::string> volume_attributes;
};
HandleShape MakeHandle(const std::string& shape, const VolumeRequest& request);
// The default shape for a driver name ("csi.trident.netapp.io" → "trident"; unknown → "file").
std::string DefaultShapeForDriver(const std::string& driver);

// Files under `volumes_dir`, with handles of the given shape (class parameter `lab.hoist.io/handle-shape`
// overrides it per class). Optional class parameter `lab.hoist.io/node-local: "true"` gives the PV a
// nodeAffinity for the selected node (kubernetes.io/hostname).
class FileVolumeBackend : public VolumeBackend {
 public:
  explicit FileVolumeBackend(std::string volumes_dir);
  ProvisionedVolume Create(const VolumeRequest& request) override;
  void Delete(const Json& pv) override;

 private:
  std::string dir_;
};

class Provisioner {
 public:
  // `volumes_dir` backs the default file backend.
  Provisioner(Store& store, std::string volumes_dir);
  // Drivers (StorageClass.provisioner values) this provisioner serves. Defaults: lab.hoist.io/file and
  // the imitated CSI drivers listed in provisioner.cc.
  void AddDriver(const std::string& driver);
  const std::vector<std::string>& drivers() const { return drivers_; }
  // A named backend; a class selects it with parameter `lab.hoist.io/backend: <name>`. "file" is built in.
  void RegisterBackend(const std::string& name, std::shared_ptr<VolumeBackend> backend);
  // One pass; stops after the first write and returns true.
  bool Sync();

 private:
  bool Provision(const Json& claim, const Json& sc);
  bool DeleteVolume(const Json& pv);
  std::shared_ptr<VolumeBackend> BackendFor(const std::map<std::string, std::string>& params);
  bool Serves(const std::string& driver) const;

  Store& store_;
  ResourceType pvcs_, pvs_, classes_;
  std::vector<std::string> drivers_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<VolumeBackend>> backends_;
  std::map<std::string, std::string> failed_;  // claim uid → last error (events once)
};

}  // namespace hoist::lab

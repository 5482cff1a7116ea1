#pragma once
// Typed views of the vSphere inventory that copy offload needs: a VM's disks and host, a host's storage
// adapters / LUNs / paths, a datastore's backing LUN, plus the few methods that act on them (SearchIndex
// lookups, HBA rescans, task waiting). Decoders take the XML property values; the Inventory class
// fetches them through a Client.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vsphere/client.h"
#include "vsphere/property.h"
#include "vsphere/xml.h"

namespace hoist::vsphere {

// ---- VM disks (config.hardware.device) ----

enum class DiskBacking { kFlat, kRdm, kVvol, kOther };
std::string_view DiskBackingName(DiskBacking b);  // "vmdk", "rdm", "vvol", "other"

struct VirtualDisk {
  int32_t key = 0;
  std::string label;
  int64_t capacity_bytes = 0;  // capacityInBytes, or capacityInKB × 1024
  std::string backing_type;    // xsi:type, e.g. "VirtualDiskFlatVer2BackingInfo"
  DiskBacking backing = DiskBacking::kOther;
  std::string file_name;  // "[ds1] vm/vm.vmdk"
  ManagedObjectReference datastore;
  std::string disk_mode;  // "persistent", "independent_persistent", …
  std::string uuid;
  bool thin = false;
  std::string backing_object_id;          // VVol: FlatVer2 backing with backingObjectId
  std::string lun_uuid;                   // RDM
  std::string device_name;                // RDM: "/vmfs/devices/disks/naa.…" or vml name
  std::string compatibility_mode;         // RDM: "physicalMode" / "virtualMode"
  std::vector<std::string> parent_files;  // backing parent chain, nearest first
};

// Decodes an ArrayOfVirtualDevice value, keeping the VirtualDisk entries.
std::vector<VirtualDisk> DecodeVirtualDisks(const XmlNode& devices);

// The disk whose backing (or a parent in its chain — warm migrations name the base disk) is `vmdk_path`
// ("[ds] dir/file.vmdk"). Matching ignores case and brackets, as Forklift does. nullptr when none.
const VirtualDisk* FindDiskByPath(const std::vector<VirtualDisk>& disks, std::string_view vmdk_path);

// ---- host storage (config.storageDevice) ----

struct ScsiLun {
  std::string key;             // "key-vim.host.ScsiDisk-0200…"
  std::string canonical_name;  // "naa.600a0980…"
  std::string uuid;
  std::string device_name;  // "/vmfs/devices/disks/naa.…"
  std::string display_name;
  std::string lun_type;  // "disk", "cdrom"
  std::string vendor;
  std::string model;
  std::string type;  // "HostScsiDisk", "ScsiLun"
  std::vector<std::string> operational_state;
  bool local = false;
};

struct HostBusAdapter {
  std::string key;     // "key-vim.host.InternetScsiHba-vmhba65"
  std::string device;  // "vmhba65"
  std::string driver;
  std::string model;
  std::string status;
  std::string type;        // "HostInternetScsiHba", "HostFibreChannelHba", "HostSerialAttachedHba", …
  std::string iscsi_name;  // IQN
  uint64_t node_wwn = 0;   // FC / SAS
  uint64_t port_wwn = 0;

  // The initiator id arrays know this adapter by, as Forklift forms it: the IQN for iSCSI,
  // "fc.<node wwn>:<port wwn>" (16 lower-case hex digits each) for FC, the node WWN for SAS,
  // otherwise the device name.
  std::string InitiatorId() const;
  bool is_iscsi() const { return type == "HostInternetScsiHba"; }
  bool is_fc() const { return type == "HostFibreChannelHba" || type == "HostFibreChannelOverEthernetHba"; }
};

struct MultipathPath {
  std::string key;
  std::string name;
  std::string path_state;  // "active", "standby", "dead", …
  std::string state;
  std::string adapter;  // HostBusAdapter key
};

struct MultipathLun {
  std::string key;
  std::string id;
  std::string lun;  // ScsiLun key
  std::vector<MultipathPath> paths;
};

struct StorageDeviceInfo {
  std::vector<ScsiLun> luns;
  std::vector<HostBusAdapter> adapters;
  std::vector<MultipathLun> multipath;

  const ScsiLun* FindLun(std::string_view canonical_name) const;
  const HostBusAdapter* FindAdapter(std::string_view key) const;
  // The adapters with an active path to the LUN named `canonical_name` (deduplicated, in path order).
  std::vector<const HostBusAdapter*> ActiveAdapters(std::string_view canonical_name) const;
};

// Decodes a HostStorageDeviceInfo value.
StorageDeviceInfo DecodeStorageDevice(const XmlNode& info);

// ---- datastores ----

struct DatastoreInfo {
  ManagedObjectReference ref;
  std::string name;
  std::string
      info_type;    // "VmfsDatastoreInfo", "NasDatastoreInfo", "LocalDatastoreInfo", "VvolDatastoreInfo"
  std::string url;  // "ds:///vmfs/volumes/<uuid>/"
  std::string vmfs_uuid;
  std::vector<std::string> extents;  // VMFS extent disk names ("naa.…"), in order
  std::string type;                  // summary.type: "VMFS", "NFS", "vsan", "VVOL"
  int64_t capacity = 0;
  int64_t free_space = 0;
  bool accessible = false;
};

// Decodes `name`, `info` and `summary` of a Datastore.
DatastoreInfo DecodeDatastore(const ObjectContent& oc);

// ---- tasks ----

struct TaskInfo {
  std::string state;  // "queued", "running", "success", "error"
  int progress = -1;
  std::string description_id;
  XmlNode result;  // info.result when present
};

// ---- fetched views ----

struct VmInfo {
  ManagedObjectReference ref;
  std::string name;
  std::string instance_uuid;
  std::string bios_uuid;
  ManagedObjectReference host;  // runtime.host
  std::vector<VirtualDisk> disks;
};

struct HostInfo {
  ManagedObjectReference ref;
  std::string name;
  std::string connection_state;           // runtime.connectionState
  ManagedObjectReference storage_system;  // configManager.storageSystem
  std::vector<ManagedObjectReference> datastores;
  StorageDeviceInfo storage;
};

class Inventory {
 public:
  explicit Inventory(Client& client) : client_(client) {}

  // Resolves a VM id as Forklift passes it: a moref value ("vm-123"), or an instance / BIOS UUID.
  ManagedObjectReference ResolveVm(std::string_view id);
  VmInfo GetVm(const ManagedObjectReference& vm);
  HostInfo GetHost(const ManagedObjectReference& host);
  DatastoreInfo GetDatastore(const ManagedObjectReference& ds);
  std::vector<DatastoreInfo> GetDatastores(const std::vector<ManagedObjectReference>& refs);
  // The datastore called `name` among the host's datastores; nullopt when the host has none by that name.
  std::optional<DatastoreInfo> FindHostDatastore(const HostInfo& host, std::string_view name);

  // SearchIndex.FindByUuid (VMs only). `instance_uuid` false searches BIOS UUIDs.
  std::optional<ManagedObjectReference> FindVmByUuid(std::string_view uuid, bool instance_uuid);
  // SearchIndex.FindByInventoryPath ("DC0/vm/my-vm").
  std::optional<ManagedObjectReference> FindByInventoryPath(std::string_view path);

  // HostStorageSystem.RescanAllHba / RescanVmfs on the host's storage system.
  void RescanAllHba(const ManagedObjectReference& host);
  void RescanVmfs(const ManagedObjectReference& host);

  TaskInfo GetTaskInfo(const ManagedObjectReference& task);
  // Polls info.state until success (returns the info) or error (throws the task's fault), or throws
  // kTransient after `timeout`.
  TaskInfo WaitForTask(const ManagedObjectReference& task,
                       std::chrono::milliseconds timeout = std::chrono::minutes(30));

 private:
  ManagedObjectReference StorageSystemOf(const ManagedObjectReference& host);
  Client& client_;
};

}  // namespace hoist::vsphere

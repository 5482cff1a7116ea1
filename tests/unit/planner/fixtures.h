#pragma once
// Plans, StorageMaps, Providers and source VMs as a user and vCenter would have them, for the planner's
// unit tests.
#include <nlohmann/json.hpp>

#include "planner/api.h"
#include "planner/source.h"

namespace hoist::planner::fixtures {

inline nlohmann::json PlanObject() {
  return nlohmann::json::parse(R"({
    "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan",
    "metadata": {"name": "wave-1", "namespace": "mtv", "uid": "mig-uid-1", "generation": 2},
    "spec": {
      "provider": {"source": {"name": "vcenter"}, "destination": {"name": "host", "namespace": "mtv"}},
      "map": {"storage": {"name": "san"}, "network": {"name": "net"}},
      "targetNamespace": "vms",
      "vms": [{"id": "vm-20"}, {"name": "db01"}]
    }
  })");
}

inline nlohmann::json StorageMapObject() {
  return nlohmann::json::parse(R"({
    "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "StorageMap",
    "metadata": {"name": "san", "namespace": "mtv", "uid": "map-uid"},
    "spec": {"map": [
      {"source": {"id": "datastore-11"}, "destination": {"storageClass": "ontap-san"},
       "offloadPlugin": {"vsphereXcopyConfig": {"secretRef": "ontap-creds", "storageVendorProduct": "ontap",
                                                "dedicatedMigrationHosts": ["host-31", "host-32"]}}},
      {"source": {"name": "san-ds2"}, "destination": {"storageClass": "ontap-san", "accessMode": "ReadWriteOnce"},
       "offloadPlugin": {"vsphereXcopyConfig": {"secretRef": "ontap-creds", "storageVendorProduct": "ontap"}}},
      {"source": {"name": "nfs-ds"}, "destination": {"storageClass": "nfs"}}
    ]}
  })");
}

inline Provider VsphereProvider() {
  return ParseProvider(nlohmann::json::parse(R"({
    "metadata": {"name": "vcenter", "namespace": "mtv", "uid": "prov-uid"},
    "spec": {"type": "vsphere", "url": "https://vc.example.com/sdk", "secret": {"name": "vcenter-creds", "namespace": "mtv"}}
  })"));
}

inline SourceDisk Disk(int32_t key, const std::string& file, const std::string& ds_id, const std::string& ds_name,
                       int64_t capacity = 4ll << 30) {
  SourceDisk d;
  d.key = key;
  d.file = file;
  d.capacity_bytes = capacity;
  d.backing = "vmdk";
  d.datastore_id = ds_id;
  d.datastore_name = ds_name;
  d.datastore_naa = "naa.600a098038314d2d4c244a6f6b6b6f31";
  return d;
}

// vm1: two disks on the two offload-mapped datastores.
inline SourceVm TwoDiskVm() {
  SourceVm vm;
  vm.id = "vm-20";
  vm.name = "vm1";
  vm.host_id = "host-17";
  vm.disks = {Disk(2000, "[san-ds1] vm1/vm1.vmdk", "datastore-11", "san-ds1"),
              Disk(2001, "[san-ds2] vm1/vm1_1.vmdk", "datastore-12", "san-ds2", 1ll << 30)};
  return vm;
}

}  // namespace hoist::planner::fixtures

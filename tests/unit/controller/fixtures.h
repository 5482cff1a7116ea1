#pragma once
// Objects as the API server returns them, shaped like the ones forklift-controller creates.
#include <nlohmann/json.hpp>

namespace hoist::controller::fixtures {

inline nlohmann::json TargetPvc(const std::string& kind, const std::string& volume_mode = "Block") {
  return nlohmann::json::parse(R"({
    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
    "metadata": {
      "name": "plan-vm-disk-0", "namespace": "mig", "uid": "5b1c7a2e-0000-4c1e-9f0a-2b3c4d5e6f70",
      "resourceVersion": "4711",
      "labels": {"migration": "mig-uid", "plan": "plan-uid", "vmID": "vm-42", "other": "x"},
      "annotations": {"forklift.konveyor.io/disk-source": "[ds1] vm/vm.vmdk"}
    },
    "spec": {
      "accessModes": ["ReadWriteMany"],
      "resources": {"requests": {"storage": "10Gi"}},
      "storageClassName": "san",
      "volumeMode": ")" + volume_mode +
                               R"(",
      "dataSourceRef": {"apiGroup": "forklift.konveyor.io", "kind": ")" +
                               kind + R"(", "name": "disk-0-cr"}
    },
    "status": {"phase": "Pending"}
  })");
}

inline nlohmann::json XcopyCr() {
  return nlohmann::json::parse(R"({
    "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "VSphereXcopyVolumePopulator",
    "metadata": {"name": "disk-0-cr", "namespace": "mig", "generation": 3,
                 "labels": {"migration": "mig-uid", "plan": "plan-uid", "vmID": "vm-42", "sourceHost": "host-12"}},
    "spec": {"vmId": "vm-42", "vmdkPath": "[ds1] vm/vm.vmdk", "secretName": "plan-secret-0",
             "storageVendorProduct": "ontap"}
  })");
}

inline nlohmann::json OvirtCr() {
  return nlohmann::json::parse(R"({
    "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "OvirtVolumePopulator",
    "metadata": {"name": "disk-0-cr", "namespace": "mig", "labels": {"migration": "mig-uid", "vmID": "vm-42"}},
    "spec": {"engineUrl": "https://engine.example.com", "engineSecretName": "engine-secret",
             "diskId": "d1f0c6a4-7d1e-4b43-8f67-0f6b9e1c2a11",
             "transferNetwork": {"namespace": "netns", "name": "xfer"}}
  })");
}

inline nlohmann::json OpenstackCr() {
  return nlohmann::json::parse(R"({
    "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "OpenstackVolumePopulator",
    "metadata": {"name": "disk-0-cr", "namespace": "mig"},
    "spec": {"identityUrl": "https://keystone:5000/v3", "secretName": "os-secret", "imageId": "img-1"}
  })");
}

}  // namespace hoist::controller::fixtures

#pragma once
// The objects the planner creates for one disk on an offload-mapped datastore, as pure functions of
// the Plan, the VM, the disk and its StorageMap entry (Forklift's vSphere builder, reference
// forklift-populator-controller.md §5.5):
//
//   target PVC   <name>   Block, disk capacity, access mode, dataSourceRef → the CR
//   Secret       <name>   merged credentials (secret.h), ownerReference → the PVC
//   CR           <name>   VSphereXcopyVolumePopulator {vmId, vmdkPath, secretName, vendor, host},
//                         ownerReference → the PVC
//
// all in the Plan's target namespace with the labels migration/plan/vmID/vmdkKey[/sourceHost]
// [/volume.csi.k8s.io/affinity-source-naa]. Plus, once per target namespace, what populator pods run
// as (ServiceAccount `populator`, Roles, bindings).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kube/resource.h"
#include "planner/api.h"
#include "planner/source.h"

namespace hoist::planner {

struct DiskRef {
  const Plan* plan = nullptr;
  const SourceVm* vm = nullptr;
  const SourceDisk* disk = nullptr;
  int index = 0;  // position of the disk in the VM (device-key order)
  const StoragePair* pair = nullptr;
};

// The migration UID the objects carry in label `migration`. hoist has no Migration kind: a Plan is
// one migration, so this is the Plan's UID.
std::string MigrationUid(const Plan& plan);

// DiskObjectName for this disk.
std::string DiskName(const DiskRef& d);

// Labels shared by the PVC, the CR and the Secret. sourceHost and the NAA affinity label are left out
// when their values are not valid label values (as Forklift does).
std::map<std::string, std::string> DiskLabels(const DiskRef& d);

// The ESXi host to clone on: one of dedicatedMigrationHosts, chosen by a hash of the VM and disk so that
// repeated passes choose the same one and disks spread over the hosts (Forklift picks at random); ""
// when the entry has none (the populator then uses the VM's host).
std::string MigrationHost(const DiskRef& d);

// spec.accessModes[0]: the entry's accessMode, ReadWriteMany when unset (Forklift's copy-offload default).
std::string AccessMode(const StoragePair& pair);

nlohmann::json BuildTargetPvc(const DiskRef& d);
// `pvc` is the created target PVC (its uid names the owner).
nlohmann::json BuildPopulatorCr(const DiskRef& d, const nlohmann::json& pvc);
nlohmann::json BuildDiskSecret(const DiskRef& d, const nlohmann::json& pvc,
                               const std::map<std::string, std::string>& data);
// An ownerReference to `obj` (controller: false, blockOwnerDeletion: true).
nlohmann::json OwnerReference(const nlohmann::json& obj);

// Everything populator pods in `target_namespace` need, in creation order: ServiceAccount `populator`,
// Role + RoleBinding populator-pvc-reader (PVCs read; Leases), Role populator-lease-reader in the lease
// namespace (Leases; the FlashSystem token cache Secret storage-array-secret) + a binding for this
// namespace, the empty storage-array-secret, ClusterRole populator-pv-reader (PVs get) + a
// ClusterRoleBinding for this namespace.
std::vector<std::pair<kube::ResourceType, nlohmann::json>> PopulatorRbac(const std::string& target_namespace,
                                                                          const std::string& lease_namespace);

}  // namespace hoist::planner

#pragma once
// NetApp ONTAP as a StorageArray, over ONTAP's REST API (/api/storage/luns, /api/protocols/san/igroups,
// /api/protocols/san/lun-maps), for LUNs provisioned by Trident's ontap-san and ontap-san-economy drivers.
#include <string>
#include <vector>

#include "storage/array.h"
#include "storage/config.h"
#include "storage/ontap/rest.h"

namespace hoist::storage {
class VendorRegistry;
}

namespace hoist::storage::ontap {

// NetApp's NAA prefix: naa.600a0980 + hex of the LUN's 12-character ASCII serial.
inline constexpr std::string_view kNaaPrefix = "600a0980";
std::string NaaFromSerial(std::string_view serial);

// The LUN path of a Trident volume: volumeAttributes.internalID `/svm/<svm>/flexvol/<fv>/lun/<lun>` →
// `/vol/<fv>/<lun>`; else internalName → `/vol/<internalName>/lun0`. kPrecondition when neither is usable.
std::string LunPathFromVolume(const VolumeRef& volume);

// ONTAP's igroup protocol for ESXi initiator ids: "iscsi", "fcp" or "mixed".
std::string IgroupProtocol(const std::vector<std::string>& initiator_ids);

class OntapArray : public StorageArray {
 public:
  explicit OntapArray(const ArrayConfig& config, Tuning tuning = {});

  std::string Describe() const override;
  Capabilities capabilities() const override { return {}; }
  Lun ResolveVolume(const VolumeRef& volume) override;
  // The igroup on the array is named `<name>-<iscsi|fcp|mixed>` (one per host and protocol, so LUN ids
  // are never reused across hosts); the returned group carries that name.
  InitiatorGroup EnsureInitiatorGroup(const std::string& name,
                                      const std::vector<std::string>& initiators) override;
  std::vector<std::string> ListMappings(const Lun& lun) override;
  Lun Map(const Lun& lun, const std::string& group) override;
  void Unmap(const Lun& lun, const std::string& group) override;

  // The SVM the array works in (ONTAP_SVM, or the only SVM the user can see).
  std::string svm_uuid();

 private:
  Lun LookupLun(const std::string& path);

  std::string svm_name_;  // ONTAP_SVM, may be empty
  RestClient rest_;
  common::CachedValue svm_uuid_;
};

// Registers "ontap" in the registry.
void RegisterVendor(VendorRegistry& registry);

}  // namespace hoist::storage::ontap

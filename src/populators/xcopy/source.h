#pragma once
// The source side of one copy, decided from what vCenter reports: the VMDK path as ESXi sees it, the
// disk's backing kind, the ESXi host's object names, and the adapters through which the source
// datastore's LUN is reached (whose initiators the array must know).
#include <string>
#include <string_view>
#include <vector>

#include "storage/array.h"
#include "vsphere/inventory.h"

namespace hoist::populators::xcopy {

// `[datastore] vm-dir/disk.vmdk` (reference §3.0): the datastore name may contain spaces and brackets
// are not nested; the rest must be exactly `<dir>/<file>.vmdk`.
struct VmdkPath {
  std::string datastore;
  std::string dir;
  std::string file;
  // `/vmfs/volumes/<datastore>/<dir>/<file>`.
  std::string EsxiPath() const;
  // `[datastore] dir/file`.
  std::string ToString() const;
};
// Throws kPrecondition with Forklift's wording for a path of another shape.
VmdkPath ParseVmdkPath(std::string_view path);

// What the clone runs over on the host.
struct CloneAdapters {
  std::vector<vsphere::HostBusAdapter> adapters;  // whose initiators go into the array's group
  std::vector<std::string> initiator_ids;         // adapters[i].InitiatorId() (or the SDC GUID)
  storage::Protocol protocol = storage::Protocol::kUnknown;  // for metrics: iscsi / fc / sdc
  bool fallback = false;  // the datastore has no SAN path; the host's first FC/iSCSI adapter is used
  std::string note;       // why the fallback was taken (for the log)
};

// The adapters with an active path to the datastore's device `naa` (reference §3.3). When none of them
// is iSCSI or FC (a local or NFS-backed datastore, another protocol), Forklift falls back to the host's
// first FC adapter, else its first iSCSI adapter, so that a host copy to the target array still works
// (xcopy unused). `sdc_guid` non-empty: the array attaches hosts through PowerFlex's SDC (the `scini`
// module) — adapters of driver scini carry that GUID as their initiator.
// Throws kPrecondition when the host has no usable adapter at all.
CloneAdapters SelectCloneAdapters(const vsphere::StorageDeviceInfo& storage, std::string_view naa,
                                  std::string_view sdc_guid = "");

// The storage protocol label for metrics ("iscsi", "fc", "sdc", "n/a").
std::string ProtocolLabel(storage::Protocol p);

// The SDC GUID in the `scini` kernel module's option string (`IoctlIniGuidStr=<guid> …`, key
// case-insensitive); empty when absent.
std::string SdcGuidFromModuleOptions(std::string_view options);

}  // namespace hoist::populators::xcopy

#pragma once
// The storage-array interface every vendor implements (ONTAP, Pure, Primera/3PAR, Vantara, PowerFlex…).
// The xcopy flow uses it to find the LUN behind a PersistentVolume, give an ESXi host's initiators an
// initiator group, present the LUN to that group for the clone and restore the original mappings after.
// All calls may block on the network and throw hoist::Error (class decided by the implementation).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::storage {

// How a LUN reaches a host.
enum class Protocol { kUnknown, kIscsi, kFc, kMixed, kNvme, kSdc };
std::string_view ProtocolName(Protocol p);  // "iscsi", "fc", "mixed", "nvme", "sdc", "unknown"

// The parts of a PV's `.spec.csi` a vendor needs to find its object.
struct VolumeRef {
  std::string pv_name;
  std::string driver;         // CSI driver name, e.g. csi.trident.netapp.io
  std::string volume_handle;  // .spec.csi.volumeHandle
  std::map<std::string, std::string> volume_attributes;
};

// A block device on the array.
struct Lun {
  std::string name;    // the array's name for it (ONTAP: /vol/<flexvol>/<lun>)
  std::string id;      // the array's own id (ONTAP: the LUN uuid); may be empty
  std::string serial;  // the array's serial number, as the array prints it
  std::string naa;     // the ESXi device name: naa.… or eui.…, lower case; may be filled by Map
  uint64_t size_bytes = 0;
  Protocol protocol = Protocol::kUnknown;
  // Filled by Map: the LUN number the group's hosts see the LUN at (the highest when its paths
  // differ); -1 when the array does not say. ESXi ignores LUN numbers at or above Disk.MaxLUN.
  int host_lun_id = -1;
};

// A set of host initiators the array presents LUNs to (ONTAP igroup, Pure host, 3PAR host set…).
struct InitiatorGroup {
  std::string name;  // the name on the array, which may differ from the name asked for (suffixes)
  Protocol protocol = Protocol::kUnknown;
  std::vector<std::string> initiators;  // as the array stores them
};

struct Capabilities {
  bool xcopy = true;            // the array offloads VAAI XCOPY between its LUNs
  bool scsi_initiators = true;  // false: hosts attach through an SDC (PowerFlex), not IQNs/WWPNs
};

class StorageArray {
 public:
  virtual ~StorageArray() = default;

  // "ONTAP 10.0.0.5": names the array in messages and logs.
  virtual std::string Describe() const = 0;
  virtual Capabilities capabilities() const = 0;

  // Finds the array object behind a CSI volume. kPrecondition when it does not exist.
  virtual Lun ResolveVolume(const VolumeRef& volume) = 0;

  // Creates (or finds) the initiator group `name` and makes sure it holds every initiator in
  // `initiators` (ESXi forms: `iqn.…`, `fc.<wwnn>:<wwpn>`). Idempotent.
  virtual InitiatorGroup EnsureInitiatorGroup(const std::string& name,
                                              const std::vector<std::string>& initiators) = 0;

  // Names of the initiator groups the LUN is mapped to now.
  virtual std::vector<std::string> ListMappings(const Lun& lun) = 0;

  // Presents the LUN to the group; already mapped is success. Returns the LUN, with `naa` filled in
  // for vendors that only know it after mapping, and `host_lun_id` where the array tells it.
  virtual Lun Map(const Lun& lun, const std::string& group) = 0;

  // Removes the mapping; not mapped is success.
  virtual void Unmap(const Lun& lun, const std::string& group) = 0;
};

}  // namespace hoist::storage

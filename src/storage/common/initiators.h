#pragma once
// ESXi initiator ids for the vendors that present LUNs to ESXi over SCSI only (FC and iSCSI), since
// XCOPY is a SCSI command: the ids split by transport, anything else refused with the reason.
#include <string>
#include <string_view>
#include <vector>

#include "storage/array.h"

namespace hoist::storage::common {

struct ScsiInitiators {
  std::vector<std::string> wwpns;        // FC ports: the WWPN, 16 hex digits, upper case
  std::vector<std::string> iqns;         // iSCSI names as given
  Protocol protocol() const;             // kFc, kIscsi or kMixed
  std::vector<std::string> all() const;  // WWPNs, then iSCSI names
};

// Splits the ids of initiator group `group`. An NVMe or other id is kPrecondition: "initiator <id> of
// <group>: <how>" — `how` says how the array presents LUNs ("Vantara presents LDEVs to ESXi over FC or
// iSCSI here"). Ids that are not initiator ids at all are kPrecondition from ParseInitiator.
ScsiInitiators SplitScsiInitiators(const std::vector<std::string>& ids, const std::string& group,
                                   std::string_view how);

}  // namespace hoist::storage::common

#include "storage/common/initiators.h"

#include "core/error.h"
#include "storage/identifiers.h"

namespace hoist::storage::common {

Protocol ScsiInitiators::protocol() const {
  return wwpns.empty() ? Protocol::kIscsi : iqns.empty() ? Protocol::kFc : Protocol::kMixed;
}

std::vector<std::string> ScsiInitiators::all() const {
  std::vector<std::string> out = wwpns;
  out.insert(out.end(), iqns.begin(), iqns.end());
  return out;
}

ScsiInitiators SplitScsiInitiators(const std::vector<std::string>& ids, const std::string& group,
                                   std::string_view how) {
  ScsiInitiators out;
  for (const auto& id : ids) {
    Initiator i = ParseInitiator(id);
    if (i.protocol == Protocol::kFc) {
      out.wwpns.push_back(i.name);
    } else if (i.protocol == Protocol::kIscsi) {
      out.iqns.push_back(i.name);
    } else {
      throw PreconditionError("initiator " + id + " of " + group + ": " + std::string(how) +
                              " (XCOPY needs SCSI)");
    }
  }
  return out;
}

}  // namespace hoist::storage::common

#pragma once
// Device identifiers and initiator names: how a vendor's LUN serial or WWN becomes the device name
// ESXi shows (naa.…/eui.…), and how ESXi's initiator names (iqn.…, fc.<wwnn>:<wwpn>) map to what
// arrays store. See the reference "Identifier conventions" table.
#include <string>
#include <string_view>
#include <vector>

#include "storage/array.h"

namespace hoist::storage {

// naa.<prefix><hex of each byte of the ASCII serial> — NetApp: prefix 600a0980 and a 12-character
// serial give 32 hex digits. Throws kBug on an empty serial or a non-hex prefix.
std::string NaaFromAsciiSerial(std::string_view prefix_hex, std::string_view serial);

// naa.<prefix><serial in lower case> — Pure: prefix 624a9370 and the 24-hex-digit serial.
std::string NaaFromHexSerial(std::string_view prefix_hex, std::string_view serial_hex);

// naa.<wwn in lower case>, accepting a WWN with or without `naa.`, colons or dashes (3PAR, PowerMax,
// PowerStore, FlashSystem).
std::string NaaFromWwn(std::string_view wwn);

// eui.<system id><volume id> in lower case (PowerFlex).
std::string EuiFromIds(std::string_view system_id, std::string_view volume_id);

// True for `naa.` or `eui.` followed by an even number (≥ 16) of hex digits.
bool IsDeviceName(std::string_view name);

// A WWN without separators, upper case: "20:00:00:25:b5:00:00:0f" → "20000025B500000F".
// Throws kPrecondition when the result is not 16 hex digits.
std::string NormalizeWwn(std::string_view wwn);
// "20000025B500000F" → "20:00:00:25:B5:00:00:0F".
std::string WwnWithColons(std::string_view wwn);

struct Initiator {
  Protocol protocol = Protocol::kUnknown;  // kIscsi (iqn./eui. names), kFc, kNvme (nqn.)
  std::string name;                        // iSCSI/NVMe name as given; FC: the normalized WWPN
  std::string wwnn;                        // FC only, normalized
};

// Parses an ESXi initiator id: `iqn.…`, `eui.…`, `nqn.…`, `fc.<wwnn>:<wwpn>` or a bare WWPN.
// Throws kPrecondition naming the id when it is none of these.
Initiator ParseInitiator(std::string_view id);

// The protocol of a set of ESXi initiator ids: all FC → kFc, all iSCSI → kIscsi, both → kMixed.
Protocol ProtocolOfInitiators(const std::vector<std::string>& ids);

}  // namespace hoist::storage

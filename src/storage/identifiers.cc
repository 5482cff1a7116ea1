#include "storage/identifiers.h"

#include <cctype>

#include "core/error.h"
#include "core/text.h"

namespace hoist::storage {
namespace {

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && AsciiLower(s.substr(0, prefix.size())) == prefix;
}

void CheckHex(std::string_view what, std::string_view hex) {
  for (char c : hex) {
    if (!IsHex(c)) throw BugError(std::string(what) + " \"" + std::string(hex) + "\" is not hexadecimal");
  }
}

}  // namespace

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kIscsi:
      return "iscsi";
    case Protocol::kFc:
      return "fc";
    case Protocol::kMixed:
      return "mixed";
    case Protocol::kNvme:
      return "nvme";
    case Protocol::kSdc:
      return "sdc";
    case Protocol::kUnknown:
      break;
  }
  return "unknown";
}

std::string NaaFromAsciiSerial(std::string_view prefix_hex, std::string_view serial) {
  CheckHex("NAA prefix", prefix_hex);
  if (serial.empty()) throw BugError("cannot derive a NAA device name from an empty LUN serial number");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string naa = "naa." + AsciiLower(prefix_hex);
  for (unsigned char c : serial) {
    naa += kDigits[c >> 4];
    naa += kDigits[c & 0xf];
  }
  return naa;
}

std::string NaaFromHexSerial(std::string_view prefix_hex, std::string_view serial_hex) {
  CheckHex("NAA prefix", prefix_hex);
  if (serial_hex.empty()) throw BugError("cannot derive a NAA device name from an empty serial number");
  CheckHex("serial number", serial_hex);
  return "naa." + AsciiLower(prefix_hex) + AsciiLower(serial_hex);
}

std::string NaaFromWwn(std::string_view wwn) {
  if (StartsWithIgnoreCase(wwn, "naa.")) wwn.remove_prefix(4);
  std::string hex;
  for (char c : wwn) {
    if (c == ':' || c == '-' || c == ' ') continue;
    hex += c;
  }
  if (hex.empty()) throw BugError("cannot derive a NAA device name from an empty WWN");
  CheckHex("WWN", hex);
  return "naa." + AsciiLower(hex);
}

std::string EuiFromIds(std::string_view system_id, std::string_view volume_id) {
  if (system_id.empty() || volume_id.empty()) {
    throw BugError("cannot derive an EUI device name without both a system id and a volume id");
  }
  CheckHex("system id", system_id);
  CheckHex("volume id", volume_id);
  return "eui." + AsciiLower(system_id) + AsciiLower(volume_id);
}

bool IsDeviceName(std::string_view name) {
  if (!StartsWithIgnoreCase(name, "naa.") && !StartsWithIgnoreCase(name, "eui.")) return false;
  std::string_view hex = name.substr(4);
  if (hex.size() < 16 || hex.size() % 2 != 0) return false;
  for (char c : hex) {
    if (!IsHex(c)) return false;
  }
  return true;
}

std::string NormalizeWwn(std::string_view wwn) {
  std::string out;
  for (char c : wwn) {
    if (c == ':' || c == '-' || c == ' ') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  bool ok = out.size() == 16;
  for (char c : out) ok = ok && IsHex(c);
  if (!ok) throw PreconditionError("\"" + std::string(wwn) + "\" is not a Fibre Channel WWN (16 hex digits)");
  return out;
}

std::string WwnWithColons(std::string_view wwn) {
  std::string hex = NormalizeWwn(wwn);
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

Initiator ParseInitiator(std::string_view id) {
  Initiator init;
  if (StartsWithIgnoreCase(id, "iqn.") || StartsWithIgnoreCase(id, "eui.")) {
    init.protocol = Protocol::kIscsi;
    init.name = std::string(id);
    return init;
  }
  if (StartsWithIgnoreCase(id, "nqn.")) {
    init.protocol = Protocol::kNvme;
    init.name = std::string(id);
    return init;
  }
  if (StartsWithIgnoreCase(id, "fc.")) {
    std::string_view rest = id.substr(3);
    size_t colon = rest.find(':');
    // ESXi writes fc.<wwnn>:<wwpn> with 16 hex digits each and no inner colons.
    if (colon == std::string_view::npos || colon != 16 || rest.size() != 33) {
      throw PreconditionError("initiator \"" + std::string(id) +
                              "\" is not an ESXi Fibre Channel id (fc.<16 hex WWNN>:<16 hex WWPN>)");
    }
    init.protocol = Protocol::kFc;
    init.wwnn = NormalizeWwn(rest.substr(0, colon));
    init.name = NormalizeWwn(rest.substr(colon + 1));
    return init;
  }
  try {
    init.name = NormalizeWwn(id);
    init.protocol = Protocol::kFc;
    return init;
  } catch (const Error&) {
  }
  throw PreconditionError("initiator \"" + std::string(id) +
                          "\" is neither an iSCSI name (iqn./eui.), an NVMe name (nqn.) nor a Fibre Channel "
                          "port (fc.<wwnn>:<wwpn> or a WWPN)");
}

Protocol ProtocolOfInitiators(const std::vector<std::string>& ids) {
  bool fc = false, iscsi = false, nvme = false;
  for (const auto& id : ids) {
    switch (ParseInitiator(id).protocol) {
      case Protocol::kFc:
        fc = true;
        break;
      case Protocol::kIscsi:
        iscsi = true;
        break;
      case Protocol::kNvme:
        nvme = true;
        break;
      default:
        break;
    }
  }
  if (static_cast<int>(fc) + static_cast<int>(iscsi) + static_cast<int>(nvme) > 1) return Protocol::kMixed;
  if (fc) return Protocol::kFc;
  if (iscsi) return Protocol::kIscsi;
  if (nvme) return Protocol::kNvme;
  return Protocol::kUnknown;
}

}  // namespace hoist::storage

#include "populators/xcopy/source.h"

#include <cctype>

#include "core/error.h"
#include "core/text.h"

namespace hoist::populators::xcopy {
namespace {}  // namespace

std::string VmdkPath::EsxiPath() const { return "/vmfs/volumes/" + datastore + "/" + dir + "/" + file; }
std::string VmdkPath::ToString() const { return "[" + datastore + "] " + dir + "/" + file; }

VmdkPath ParseVmdkPath(std::string_view path) {
  auto bad = [&]() {
    return PreconditionError("Invalid vmdkPath \"" + std::string(path) +
                             "\", should be '[datastore] vmname/xyz.vmdk' — check the "
                             "VSphereXcopyVolumePopulator's spec.vmdkPath");
  };
  size_t close = path.find("] ");
  if (path.empty() || path[0] != '[' || close == std::string_view::npos || close < 2) throw bad();
  VmdkPath p;
  p.datastore = std::string(path.substr(1, close - 1));
  std::string_view rest = path.substr(close + 2);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size() ||
      rest.find('/', slash + 1) != std::string_view::npos) {
    throw bad();
  }
  p.dir = std::string(rest.substr(0, slash));
  p.file = std::string(rest.substr(slash + 1));
  if (p.dir == "." || p.dir == ".." || p.file == "." || p.file == "..") throw bad();
  return p;
}

std::string ProtocolLabel(storage::Protocol p) {
  switch (p) {
    case storage::Protocol::kIscsi:
      return "iscsi";
    case storage::Protocol::kFc:
      return "fc";
    case storage::Protocol::kSdc:
      return "sdc";
    case storage::Protocol::kMixed:
      return "mixed";
    case storage::Protocol::kNvme:
      return "nvme";
    default:
      return "n/a";
  }
}

std::string SdcGuidFromModuleOptions(std::string_view options) {
  size_t i = 0;
  while (i < options.size()) {
    while (i < options.size() && std::isspace(static_cast<unsigned char>(options[i]))) ++i;
    size_t end = i;
    while (end < options.size() && !std::isspace(static_cast<unsigned char>(options[end]))) ++end;
    std::string_view kv = options.substr(i, end - i);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos && AsciiLower(kv.substr(0, eq)) == "ioctliniguidstr") {
      return std::string(kv.substr(eq + 1));
    }
    i = end;
  }
  return "";
}

CloneAdapters SelectCloneAdapters(const vsphere::StorageDeviceInfo& storage, std::string_view naa,
                                  std::string_view sdc_guid) {
  CloneAdapters out;
  bool sdc = !sdc_guid.empty();
  auto id_of = [&](const vsphere::HostBusAdapter& a) {
    if (sdc && a.driver == "scini") return std::string(sdc_guid);
    return a.InitiatorId();
  };
  auto usable = [&](const vsphere::HostBusAdapter& a) {
    return a.is_iscsi() || a.is_fc() || (sdc && a.driver == "scini");
  };
  auto add = [&](const vsphere::HostBusAdapter& a) {
    out.adapters.push_back(a);
    out.initiator_ids.push_back(id_of(a));
  };

  std::vector<const vsphere::HostBusAdapter*> active = storage.ActiveAdapters(naa);
  bool any_usable = false;
  for (const auto* a : active) any_usable = any_usable || usable(*a);
  if (any_usable) {
    for (const auto* a : active) {
      if (usable(*a)) add(*a);
    }
  } else {
    // Fallback (reference §3.3 step 7): first FC adapter, else first iSCSI, else scini.
    const vsphere::HostBusAdapter* pick = nullptr;
    for (const auto& a : storage.adapters) {
      if (sdc && a.driver == "scini") {
        pick = &a;
        break;
      }
    }
    if (pick == nullptr) {
      for (const auto& a : storage.adapters) {
        if (a.is_fc()) {
          pick = &a;
          break;
        }
      }
    }
    if (pick == nullptr) {
      for (const auto& a : storage.adapters) {
        if (a.is_iscsi()) {
          pick = &a;
          break;
        }
      }
    }
    if (pick == nullptr) {
      throw PreconditionError(
          "the ESXi host has no iSCSI or Fibre Channel adapter" +
          std::string(sdc ? " and no scini (SDC) adapter" : "") +
          " through which the target array could present the volume, and the datastore's device " +
          std::string(naa) + " has no SAN path — configure a software iSCSI adapter or FC HBA on the host");
    }
    add(*pick);
    out.fallback = true;
    out.note = active.empty() ? "the datastore's device has no active path"
                              : "the datastore's device is reached only through " + active.front()->device;
  }
  const auto& first = out.adapters.front();
  if (sdc && first.driver == "scini") {
    out.protocol = storage::Protocol::kSdc;
  } else if (first.is_fc()) {
    out.protocol = storage::Protocol::kFc;
  } else {
    out.protocol = storage::Protocol::kIscsi;
  }
  return out;
}

}  // namespace hoist::populators::xcopy

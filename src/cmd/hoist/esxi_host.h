#pragma once
// Finding an ESXi host in vCenter by the name an administrator gives (`hoist esxi vib install`,
// `hoist esxi check`).
#include <string>
#include <utility>

#include "core/error.h"
#include "vsphere/client.h"
#include "vsphere/property.h"

namespace hoist::cli {

// The ESXi host named `name` (its name in vCenter, or a moref value such as host-12).
inline std::pair<vsphere::ManagedObjectReference, std::string> FindHost(vsphere::Client& client, const std::string& name) {
  vsphere::ObjectSpec root{client.service_content().root_folder, false, vsphere::InventoryTraversal()};
  std::string known;
  for (const auto& oc : vsphere::RetrieveProperties(client, {{"HostSystem", {"name"}, false}}, {root})) {
    std::string n = oc.GetText("name");
    if (n == name || oc.obj.value == name) return {oc.obj, n};
    known += (known.empty() ? "" : ", ") + n;
  }
  throw PreconditionError("vCenter " + client.endpoint() + " has no ESXi host named " + name +
                          (known.empty() ? std::string(" (it has none)") : " (it has: " + known + ")"));
}

}  // namespace hoist::cli

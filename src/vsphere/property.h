#pragma once
// PropertyCollector: read properties of managed objects in one call.
//
// RetrieveProperties pages through RetrievePropertiesEx / ContinueRetrievePropertiesEx. Each property
// value comes back as the `val` element, with its xsi:type resolved (see xml.h), and is decoded by the
// typed helpers in inventory.h.
#include <string>
#include <utility>
#include <vector>

#include "vsphere/client.h"
#include "vsphere/xml.h"

namespace hoist::vsphere {

// A TraversalSpec: from objects of `type`, follow property `path`, then apply the named selections.
struct TraversalSpec {
  std::string name;
  std::string type;
  std::string path;
  bool skip = false;
  std::vector<std::string> select_set;  // names of other TraversalSpecs
};

struct ObjectSpec {
  ManagedObjectReference obj;
  bool skip = false;
  std::vector<TraversalSpec> select_set;
};

struct PropertySpec {
  std::string type;                // "VirtualMachine"
  std::vector<std::string> paths;  // "config.hardware.device"
  bool all = false;
};

struct MissingProperty {
  std::string path;
  std::string fault_type;
  std::string message;
};

struct ObjectContent {
  ManagedObjectReference obj;
  std::vector<std::pair<std::string, XmlNode>> props;  // path → `val` element
  std::vector<MissingProperty> missing;

  const XmlNode* Get(std::string_view path) const;
  std::string GetText(std::string_view path, std::string_view fallback = "") const;
};

// The PropertyFilterSpec XML (`<specSet>…</specSet>`); public for tests.
std::string BuildFilterSpecXml(const std::vector<PropertySpec>& props,
                               const std::vector<ObjectSpec>& objects);

// Decodes the `returnval` of RetrievePropertiesEx / ContinueRetrievePropertiesEx: objects and the token.
std::vector<ObjectContent> DecodeRetrieveResult(const XmlNode& returnval, std::string* token);

// All matching objects, following continuation tokens. `page_size` 0 lets the server choose.
std::vector<ObjectContent> RetrieveProperties(Client& client, const std::vector<PropertySpec>& props,
                                              const std::vector<ObjectSpec>& objects, int page_size = 0);

// The given properties of one object. A deleted object throws Fault(ManagedObjectNotFound).
ObjectContent RetrieveObject(Client& client, const ManagedObjectReference& obj,
                             const std::vector<std::string>& paths);

// The traversal from a folder down through datacenters, folders, clusters and hosts to VMs, hosts and
// datastores: use with an ObjectSpec on the root folder to enumerate the inventory.
std::vector<TraversalSpec> InventoryTraversal();

}  // namespace hoist::vsphere

#include "vsphere/property.h"

#include "core/error.h"
#include "vsphere/fault.h"

namespace hoist::vsphere {
namespace {

std::string TraversalXml(const TraversalSpec& t) {
  std::string out = "<selectSet xsi:type=\"TraversalSpec\">";
  out += TextXml("name", t.name) + TextXml("type", t.type) + TextXml("path", t.path);
  out += TextXml("skip", t.skip ? "true" : "false");
  for (const auto& s : t.select_set) out += "<selectSet>" + TextXml("name", s) + "</selectSet>";
  out += "</selectSet>";
  return out;
}

}  // namespace

const XmlNode* ObjectContent::Get(std::string_view path) const {
  for (const auto& [p, v] : props) {
    if (p == path) return &v;
  }
  return nullptr;
}

std::string ObjectContent::GetText(std::string_view path, std::string_view fallback) const {
  const XmlNode* v = Get(path);
  return v ? v->text : std::string(fallback);
}

std::string BuildFilterSpecXml(const std::vector<PropertySpec>& props,
                               const std::vector<ObjectSpec>& objects) {
  std::string out = "<specSet>";
  for (const auto& p : props) {
    out += "<propSet>" + TextXml("type", p.type);
    if (p.all) out += "<all>true</all>";
    for (const auto& path : p.paths) out += TextXml("pathSet", path);
    out += "</propSet>";
  }
  for (const auto& o : objects) {
    out += "<objectSet>" + MorefXml("obj", o.obj);
    if (o.skip) out += "<skip>true</skip>";
    for (const auto& t : o.select_set) out += TraversalXml(t);
    out += "</objectSet>";
  }
  out += "</specSet>";
  return out;
}

std::vector<ObjectContent> DecodeRetrieveResult(const XmlNode& returnval, std::string* token) {
  std::vector<ObjectContent> out;
  if (token != nullptr) *token = returnval.ChildText("token");
  for (const XmlNode* o : returnval.Children("objects")) {
    ObjectContent oc;
    if (const XmlNode* obj = o->Child("obj")) oc.obj = ParseMoref(*obj);
    for (const XmlNode* ps : o->Children("propSet")) {
      const XmlNode* val = ps->Child("val");
      oc.props.emplace_back(ps->ChildText("name"), val ? *val : XmlNode{});
    }
    for (const XmlNode* m : o->Children("missingSet")) {
      MissingProperty mp;
      mp.path = m->ChildText("path");
      if (const XmlNode* f = m->Child("fault")) {
        FaultInfo info = ParseMethodFault(*f);
        mp.fault_type = info.type;
        mp.message = info.message;
      }
      oc.missing.push_back(std::move(mp));
    }
    out.push_back(std::move(oc));
  }
  return out;
}

namespace {

bool LostSession(const std::vector<ObjectContent>& all) {
  for (const auto& oc : all) {
    for (const auto& m : oc.missing) {
      if (m.fault_type == "NotAuthenticated") return true;
    }
  }
  return false;
}

std::vector<ObjectContent> RetrieveAllPages(Client& client, const std::vector<PropertySpec>& props,
                                            const std::vector<ObjectSpec>& objects, int page_size) {
  const ManagedObjectReference& pc = client.service_content().property_collector;
  std::string options = "<options>";
  if (page_size > 0) options += "<maxObjects>" + std::to_string(page_size) + "</maxObjects>";
  options += "</options>";
  XmlNode r = client.Call("RetrievePropertiesEx", pc, BuildFilterSpecXml(props, objects) + options);
  std::vector<ObjectContent> out;
  const XmlNode* rv = r.Child("returnval");
  std::string token;
  while (rv != nullptr) {
    auto page = DecodeRetrieveResult(*rv, &token);
    for (auto& oc : page) out.push_back(std::move(oc));
    if (token.empty()) break;
    r = client.Call("ContinueRetrievePropertiesEx", pc, TextXml("token", token));
    rv = r.Child("returnval");
  }
  return out;
}

}  // namespace

std::vector<ObjectContent> RetrieveProperties(Client& client, const std::vector<PropertySpec>& props,
                                              const std::vector<ObjectSpec>& objects, int page_size) {
  uint64_t generation = client.session_generation();
  auto out = RetrieveAllPages(client, props, objects, page_size);
  if (!LostSession(out) || !client.logged_in()) return out;
  // Some servers (vcsim among them) answer a lost session with per-property NotAuthenticated faults
  // instead of a SOAP fault: log in again once, as for the fault.
  client.Relogin(generation);
  out = RetrieveAllPages(client, props, objects, page_size);
  if (LostSession(out)) {
    throw Fault(ErrorClass::kTransient,
                "vSphere RetrievePropertiesEx at " + client.endpoint() +
                    ": NotAuthenticated even after logging in again",
                "NotAuthenticated", "");
  }
  return out;
}

ObjectContent RetrieveObject(Client& client, const ManagedObjectReference& obj,
                             const std::vector<std::string>& paths) {
  auto all = RetrieveProperties(client, {PropertySpec{obj.type, paths, false}}, {ObjectSpec{obj, false, {}}});
  for (auto& oc : all) {
    if (oc.obj != obj) continue;
    for (const auto& m : oc.missing) {
      if (m.fault_type.empty()) continue;
      FaultInfo info{m.fault_type, m.message, "property " + m.path};
      throw MakeFault("vSphere reading " + m.path + " of " + obj.ToString() + " at " + client.endpoint(),
                      info);
    }
    return std::move(oc);
  }
  // vCenter answers an unknown object with a ManagedObjectNotFound fault; an empty answer means the
  // session cannot see it.
  throw Fault(ErrorClass::kPrecondition,
              "vSphere: " + obj.ToString() +
                  " is not visible to this vCenter user — check that it exists and "
                  "that the user has read access to it",
              "ManagedObjectNotFound", "");
}

std::vector<TraversalSpec> InventoryTraversal() {
  return {
      {"folderTraversal",
       "Folder",
       "childEntity",
       false,
       {"folderTraversal", "dcToVmFolder", "dcToHostFolder", "dcToDatastore", "crToHost"}},
      {"dcToVmFolder", "Datacenter", "vmFolder", false, {"folderTraversal"}},
      {"dcToHostFolder", "Datacenter", "hostFolder", false, {"folderTraversal"}},
      {"dcToDatastore", "Datacenter", "datastore", false, {}},
      {"crToHost", "ComputeResource", "host", false, {}},
  };
}

}  // namespace hoist::vsphere

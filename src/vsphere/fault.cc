#include "vsphere/fault.h"

#include <array>
#include <utility>

namespace hoist::vsphere {
namespace {

std::string StripFaultSuffix(std::string_view name) {
  constexpr std::string_view kSuffix = "Fault";
  // "NotAuthenticatedFault" → "NotAuthenticated"; keep names that are only "Fault" or end in "CLIFault"
  // as vSphere spells them (VimEsxCLICLIFault is the type's real name).
  if (name.size() > kSuffix.size() && name.ends_with(kSuffix) && !name.ends_with("CLIFault")) {
    name.remove_suffix(kSuffix.size());
  }
  return std::string(name);
}

// A few facts from a fault object worth showing to an administrator.
std::string DetailFacts(const XmlNode& fault) {
  std::string out;
  auto add = [&](std::string_view label, const std::string& v) {
    if (v.empty()) return;
    if (!out.empty()) out += ", ";
    out += std::string(label) + " " + v;
  };
  for (const char* ref_name : {"obj", "object", "entity"}) {
    if (const XmlNode* o = fault.Child(ref_name)) {
      const std::string* t = o->Attribute("type");
      add("object", (t ? *t + ":" : std::string()) + o->text);
    }
  }
  add("privilege", fault.ChildText("privilegeId"));
  add("property", fault.ChildText("invalidProperty"));
  add("reason", fault.ChildText("reason"));
  return out;
}

std::string_view Hint(std::string_view type) {
  if (type == "InvalidLogin") {
    return "check the vCenter user and password in the secret (GOVMOMI_USERNAME / GOVMOMI_PASSWORD)";
  }
  if (type == "NoPermission" || type == "NotAuthorized") {
    return "grant the vCenter user the privilege named above on that object";
  }
  if (type == "ManagedObjectNotFound") {
    return "the object was deleted or the id is wrong; check the VM/host id in vCenter";
  }
  if (type == "NotAuthenticated") return "the vCenter session expired or was terminated";
  if (type == "NotFound") {
    return "for an esxcli plugin command: check that the VIB is installed and hostd was restarted";
  }
  if (type == "HostNotConnected" || type == "HostCommunication" || type == "HostNotReachable") {
    return "check that the ESXi host is connected to vCenter";
  }
  return "";
}

}  // namespace

ErrorClass ClassifyFault(std::string_view type) {
  static constexpr std::array<std::string_view, 16> kPrecondition = {
      "InvalidLogin",      "NoPermission",      "NotAuthorized",        "ManagedObjectNotFound",
      "NotFound",          "NotSupported",      "InvalidArgument",      "InvalidName",
      "FileNotFound",      "InvalidDatastore",  "InvalidDatastorePath", "VimEsxCLICLIFault",
      "LicenseRestricted", "InvalidPowerState", "AlreadyExists",        "PlatformConfigFault"};
  static constexpr std::array<std::string_view, 4> kBug = {"InvalidRequest", "MethodNotFound", "InvalidType",
                                                           "SecurityError"};
  for (auto t : kPrecondition) {
    if (t == type) return ErrorClass::kPrecondition;
  }
  for (auto t : kBug) {
    if (t == type) return ErrorClass::kBug;
  }
  // NotAuthenticated, SystemError, RuntimeFault, TaskInProgress, HostCommunication, RequestCanceled and
  // anything unknown: the operation may succeed when tried again.
  return ErrorClass::kTransient;
}

FaultInfo ParseSoapFault(const XmlNode& fault) {
  FaultInfo info;
  info.message = fault.ChildText("faultstring");
  if (const XmlNode* detail = fault.Child("detail"); detail && !detail->children.empty()) {
    const XmlNode& obj = detail->children.front();
    info.type = !obj.type.empty() ? obj.type : StripFaultSuffix(obj.name);
    info.detail = DetailFacts(obj);
  }
  return info;
}

FaultInfo ParseMethodFault(const XmlNode& node) {
  FaultInfo info;
  const XmlNode* fault = node.Child("fault");
  if (fault != nullptr) {
    info.type = StripFaultSuffix(fault->type.empty() ? fault->name : fault->type);
    info.message = node.ChildText("localizedMessage");
    info.detail = DetailFacts(*fault);
  } else {
    info.type = StripFaultSuffix(node.type.empty() ? node.name : node.type);
    info.detail = DetailFacts(node);
  }
  if (info.type == "LocalizedMethodFault") info.type.clear();
  if (fault != nullptr && !fault->Children("errMsg").empty()) {
    // CLI faults carry their text in errMsg (repeated); their localizedMessage is the untranslated
    // key "EsxCLI.CLIFault.summary".
    std::string errors;
    for (const XmlNode* m : fault->Children("errMsg")) {
      if (!errors.empty()) errors += "; ";
      errors += m->text;
    }
    if (info.message.empty() || info.message == "EsxCLI.CLIFault.summary") info.message = errors;
  }
  return info;
}

Fault MakeFault(std::string_view what, const FaultInfo& info) {
  std::string type = info.type.empty() ? "RuntimeFault" : info.type;
  std::string msg = std::string(what) + ": " + type;
  if (!info.message.empty()) msg += " \"" + info.message + "\"";
  if (!info.detail.empty()) msg += " (" + info.detail + ")";
  if (auto hint = Hint(type); !hint.empty()) msg += " — " + std::string(hint);
  return Fault(ClassifyFault(type), std::move(msg), type, info.message);
}

}  // namespace hoist::vsphere

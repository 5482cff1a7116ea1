#pragma once
// vSphere faults as hoist errors. A SOAP fault from vCenter names its type in `detail` (the element's
// xsi:type, e.g. `NotAuthenticated`, or the element name `NotAuthenticatedFault`); the type decides the
// error class: NotAuthenticated is transient (the client re-logs in once by itself), InvalidLogin and
// NoPermission need the administrator, SystemError and host-communication faults are worth a retry.
#include <string>
#include <string_view>

#include "core/error.h"
#include "vsphere/xml.h"

namespace hoist::vsphere {

class Fault : public Error {
 public:
  Fault(ErrorClass cls, std::string message, std::string fault_type, std::string fault_string)
      : Error(cls, std::move(message)),
        fault_type_(std::move(fault_type)),
        fault_string_(std::move(fault_string)) {}
  // The vim25 fault type without a `Fault` suffix ("NotAuthenticated", "VimEsxCLICLIFault" stays as is).
  const std::string& fault_type() const { return fault_type_; }
  // What the server said (faultstring, or the esxcli error message).
  const std::string& fault_string() const { return fault_string_; }

 private:
  std::string fault_type_;
  std::string fault_string_;
};

// The class a fault type belongs to.
ErrorClass ClassifyFault(std::string_view fault_type);

// What a fault looks like on the wire, before it becomes a Fault.
struct FaultInfo {
  std::string type;     // e.g. "ManagedObjectNotFound"; "" when the detail names none
  std::string message;  // faultstring / localizedMessage / errMsg
  std::string detail;   // a few facts from the detail worth showing (object, privilege), may be empty
};

// Reads a `<soapenv:Fault>` element (faultcode, faultstring, detail).
FaultInfo ParseSoapFault(const XmlNode& fault);
// Reads a vim25 `LocalizedMethodFault`-shaped element (`fault` child with xsi:type, `localizedMessage`),
// or a bare fault object (its own xsi:type), as found in task errors and esxcli faultDetail.
FaultInfo ParseMethodFault(const XmlNode& node);

// Builds the error for `what` ("RetrievePropertiesEx on PropertyCollector:propertyCollector at vc.example"):
// "<what>: <type> "<message>" (<detail>) — <hint>".
Fault MakeFault(std::string_view what, const FaultInfo& info);

}  // namespace hoist::vsphere

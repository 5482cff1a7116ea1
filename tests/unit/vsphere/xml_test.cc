#include "vsphere/xml.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "vsphere/fault.h"

namespace hoist::vsphere {
namespace {

// A property value as real vCenter writes it: xsi declared on the envelope.
constexpr char kVcenterStyle[] =
    R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" )"
    R"(xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
    R"(<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects>)"
    R"(<obj type="VirtualMachine">vm-42</obj>)"
    R"(<propSet><name>name</name><val xsi:type="xsd:string">db-01</val></propSet>)"
    R"(<propSet><name>runtime.host</name><val type="HostSystem" xsi:type="ManagedObjectReference">host-9</val></propSet>)"
    R"(</objects></returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>)";

// The same as vcsim writes it: its own prefix for the XML Schema instance namespace, declared on `val`.
constexpr char kVcsimStyle[] =
    R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" )"
    R"(xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
    R"(<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects>)"
    R"(<obj type="VirtualMachine">vm-42</obj>)"
    R"(<propSet><name>name</name><val xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" )"
    R"(XMLSchema-instance:type="xsd:string">db-01</val></propSet>)"
    R"(<propSet><name>runtime.host</name><val xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" )"
    R"(XMLSchema-instance:type="ManagedObjectReference" type="HostSystem">host-9</val></propSet>)"
    R"(</objects></returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>)";

void ExpectTypedValues(const XmlNode& env) {
  const XmlNode* objects = env.Find("Body/RetrievePropertiesExResponse/returnval/objects");
  ASSERT_NE(objects, nullptr);
  auto props = objects->Children("propSet");
  ASSERT_EQ(props.size(), 2u);
  const XmlNode* name = props[0]->Child("val");
  EXPECT_EQ(name->type, "string");
  EXPECT_EQ(name->type_ns, kXsdNs);
  EXPECT_EQ(name->text, "db-01");
  const XmlNode* host = props[1]->Child("val");
  EXPECT_EQ(host->type, "ManagedObjectReference");
  EXPECT_EQ(host->type_ns, kVim25Ns);  // unprefixed QName: the default namespace in scope
  ASSERT_NE(host->Attribute("type"), nullptr);
  EXPECT_EQ(*host->Attribute("type"), "HostSystem");
  EXPECT_EQ(host->ns, kVim25Ns);
}

TEST(Xml, ResolvesXsiTypeWrittenWithTheXsiPrefix) { ExpectTypedValues(ParseXml(kVcenterStyle)); }

TEST(Xml, ResolvesXsiTypeWrittenWithVcsimsPrefix) { ExpectTypedValues(ParseXml(kVcsimStyle)); }

TEST(Xml, IgnoresATypeAttributeInAnotherNamespace) {
  XmlNode n = ParseXml(R"(<a xmlns:x="urn:other" x:type="Nope" type="Folder">group-d1</a>)");
  EXPECT_TRUE(n.type.empty());
  EXPECT_EQ(*n.Attribute("type"), "Folder");
  EXPECT_EQ(*n.Attribute("type", "urn:other"), "Nope");
}

TEST(Xml, AnyPrefixBoundToTheSchemaInstanceNamespaceCounts) {
  XmlNode n = ParseXml(
      R"(<a xmlns:q="http://www.w3.org/2001/XMLSchema-instance" xmlns:t="urn:vim25" q:type="t:HostScsiDisk"/>)");
  EXPECT_EQ(n.type, "HostScsiDisk");
  EXPECT_EQ(n.type_ns, kVim25Ns);
}

TEST(Xml, DecodesEntitiesInText) {
  XmlNode n = ParseXml("<a>&lt;device&gt;naa.1&amp;2&lt;/device&gt;</a>");
  EXPECT_EQ(n.text, "<device>naa.1&2</device>");
}

TEST(Xml, RefusesDoctype) {
  try {
    ParseXml(R"(<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>)");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("DOCTYPE"), std::string::npos) << e.what();
  }
}

TEST(Xml, MalformedIsTransient) {
  try {
    ParseXml("<a><b></a>");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
  }
}

TEST(Xml, EscapeRoundTrips) {
  std::string s = "a<b>&\"c'";
  XmlNode n = ParseXml("<x a=\"" + XmlEscape(s) + "\">" + XmlEscape(s) + "</x>");
  EXPECT_EQ(n.text, s);
  EXPECT_EQ(*n.Attribute("a"), s);
}

TEST(Xml, ParseIntRejectsGarbage) {
  EXPECT_EQ(ParseXmlInt("-42", "x"), -42);
  EXPECT_THROW(ParseXmlInt("12abc", "x"), Error);
}

// Faults in both prefix styles.
TEST(Fault, ParsesTypeFromXsiTypeAndElementName) {
  XmlNode f1 = ParseXml(
      R"(<soapenv:Fault xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
      R"(<faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted or has not been completely created</faultstring>)"
      R"(<detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="VirtualMachine">vm-9</obj>)"
      R"(</ManagedObjectNotFoundFault></detail></soapenv:Fault>)");
  FaultInfo i1 = ParseSoapFault(f1);
  EXPECT_EQ(i1.type, "ManagedObjectNotFound");
  EXPECT_EQ(i1.detail, "object VirtualMachine:vm-9");

  XmlNode f2 = ParseXml(
      R"(<soapenv:Fault xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>ServerFaultCode</faultcode>)"
      R"(<faultstring>Permission to perform this operation was denied.</faultstring><detail><NoPermissionFault xmlns="urn:vim25">)"
      R"(<object type="Folder">group-d1</object><privilegeId>Host.Config.Storage</privilegeId></NoPermissionFault></detail></soapenv:Fault>)");
  FaultInfo i2 = ParseSoapFault(f2);
  EXPECT_EQ(i2.type, "NoPermission");  // no xsi:type: the element name without "Fault"
  Fault f = MakeFault("vSphere RescanAllHba on HostStorageSystem:storageSystem-9 at vc", i2);
  EXPECT_EQ(f.error_class(), ErrorClass::kPrecondition);
  EXPECT_NE(std::string(f.what()).find("Host.Config.Storage"), std::string::npos) << f.what();
}

TEST(Fault, Classes) {
  EXPECT_EQ(ClassifyFault("NotAuthenticated"), ErrorClass::kTransient);
  EXPECT_EQ(ClassifyFault("InvalidLogin"), ErrorClass::kPrecondition);
  EXPECT_EQ(ClassifyFault("ManagedObjectNotFound"), ErrorClass::kPrecondition);
  EXPECT_EQ(ClassifyFault("InvalidArgument"), ErrorClass::kPrecondition);
  EXPECT_EQ(ClassifyFault("SystemError"), ErrorClass::kTransient);
  EXPECT_EQ(ClassifyFault("RuntimeFault"), ErrorClass::kTransient);
  EXPECT_EQ(ClassifyFault("TaskInProgress"), ErrorClass::kTransient);
  EXPECT_EQ(ClassifyFault("InvalidRequest"), ErrorClass::kBug);
}

TEST(Fault, TaskErrorLocalizedMethodFault) {
  XmlNode e = ParseXml(
      R"(<error xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><fault xsi:type="FileNotFound">)"
      R"(<file>[ds1] vm/missing.vmdk</file></fault><localizedMessage>File [ds1] vm/missing.vmdk was not found</localizedMessage></error>)");
  FaultInfo i = ParseMethodFault(e);
  EXPECT_EQ(i.type, "FileNotFound");
  EXPECT_EQ(i.message, "File [ds1] vm/missing.vmdk was not found");
}

}  // namespace
}  // namespace hoist::vsphere

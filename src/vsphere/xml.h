#pragma once
// A small namespace-resolved XML tree for vim25 SOAP messages.
//
// vSphere types polymorphic values with the XML Schema instance attribute `type`. Real vCenter writes it
// as `xsi:type="xsd:string"`; VMware's simulator (vcsim) writes `XMLSchema-instance:type="xsd:string"`
// with its own prefix declaration. Both mean the same thing, so the parser resolves the attribute by its
// namespace URI and resolves the prefix inside its value against the declarations in scope. Nothing
// here matches a literal prefix. The parser behind this header is not exposed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"

namespace hoist::vsphere {

inline constexpr std::string_view kSoapEnvNs = "http://schemas.xmlsoap.org/soap/envelope/";
inline constexpr std::string_view kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";
inline constexpr std::string_view kXsdNs = "http://www.w3.org/2001/XMLSchema";
inline constexpr std::string_view kVim25Ns = "urn:vim25";

struct XmlAttribute {
  std::string ns;  // namespace URI; empty for unqualified attributes
  std::string name;
  std::string value;
};

struct XmlNode {
  std::string ns;                        // namespace URI of the element
  std::string name;                      // local name
  std::vector<XmlAttribute> attributes;  // namespace declarations are not kept here
  std::string text;                      // character data directly inside this element
  std::vector<XmlNode> children;

  // The element's xsi:type, resolved: local name and namespace URI (empty when the element has none).
  std::string type;
  std::string type_ns;

  // First child with this local name, or nullptr.
  const XmlNode* Child(std::string_view local_name) const;
  // All children with this local name, in document order.
  std::vector<const XmlNode*> Children(std::string_view local_name) const;
  // Text of the first child with this local name, or `fallback` when there is none.
  std::string ChildText(std::string_view local_name, std::string_view fallback = "") const;
  // Follows a path of local names ("backing/fileName"); nullptr when a step is missing.
  const XmlNode* Find(std::string_view path) const;
  // Value of an attribute by namespace URI and local name, or nullptr.
  const std::string* Attribute(std::string_view local_name, std::string_view ns = "") const;
};

// Parses a whole document. DOCTYPE declarations are refused (no entity expansion). Throws
// hoist::Error(kTransient) on malformed input: a truncated or garbled reply is worth another try.
XmlNode ParseXml(std::string_view document);

// Escapes text for element content and attribute values.
using ::hoist::XmlEscape;

// Number parsing for vim25 scalar values; throw hoist::Error(kBug) when the peer sent something that
// is not a number where the schema says number.
int64_t ParseXmlInt(std::string_view text, std::string_view what);
bool ParseXmlBool(std::string_view text);

}  // namespace hoist::vsphere

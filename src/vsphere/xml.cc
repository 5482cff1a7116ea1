#include "vsphere/xml.h"

#include <expat.h>

#include <charconv>
#include <map>

#include "core/error.h"

namespace hoist::vsphere {
namespace {

constexpr char kSep = '\x01';  // separates namespace URI and local name in expat's names

void SplitName(const char* qualified, std::string* ns, std::string* local) {
  std::string_view q(qualified);
  auto pos = q.find(kSep);
  if (pos == std::string_view::npos) {
    ns->clear();
    local->assign(q);
  } else {
    ns->assign(q.substr(0, pos));
    local->assign(q.substr(pos + 1));
  }
}

struct Builder {
  XML_Parser parser = nullptr;
  XmlNode root;
  bool have_root = false;
  std::vector<XmlNode*> stack;
  std::map<std::string, std::vector<std::string>> prefixes;  // prefix ("" = default) → URIs in scope
  std::string error;

  std::string Resolve(const std::string& prefix) const {
    auto it = prefixes.find(prefix);
    if (it == prefixes.end() || it->second.empty()) return "";
    return it->second.back();
  }

  static void OnStart(void* user, const XML_Char* name, const XML_Char** attrs) {
    auto* b = static_cast<Builder*>(user);
    XmlNode* node;
    if (b->stack.empty()) {
      if (b->have_root) return;  // expat rejects a second root itself
      b->have_root = true;
      node = &b->root;
    } else {
      b->stack.back()->children.emplace_back();
      node = &b->stack.back()->children.back();
    }
    SplitName(name, &node->ns, &node->name);
    for (int i = 0; attrs[i] != nullptr; i += 2) {
      XmlAttribute a;
      SplitName(attrs[i], &a.ns, &a.name);
      a.value = attrs[i + 1];
      if (a.ns == kXsiNs && a.name == "type") {
        std::string_view v(a.value);
        auto colon = v.find(':');
        std::string prefix = colon == std::string_view::npos ? "" : std::string(v.substr(0, colon));
        node->type = colon == std::string_view::npos ? std::string(v) : std::string(v.substr(colon + 1));
        node->type_ns = b->Resolve(prefix);
      }
      node->attributes.push_back(std::move(a));
    }
    b->stack.push_back(node);
  }

  static void OnEnd(void* user, const XML_Char*) {
    auto* b = static_cast<Builder*>(user);
    if (!b->stack.empty()) b->stack.pop_back();
  }

  static void OnText(void* user, const XML_Char* s, int len) {
    auto* b = static_cast<Builder*>(user);
    if (!b->stack.empty()) b->stack.back()->text.append(s, static_cast<size_t>(len));
  }

  static void OnNsStart(void* user, const XML_Char* prefix, const XML_Char* uri) {
    auto* b = static_cast<Builder*>(user);
    b->prefixes[prefix ? prefix : ""].push_back(uri ? uri : "");
  }

  static void OnNsEnd(void* user, const XML_Char* prefix) {
    auto* b = static_cast<Builder*>(user);
    auto it = b->prefixes.find(prefix ? prefix : "");
    if (it != b->prefixes.end() && !it->second.empty()) it->second.pop_back();
  }

  static void OnDoctype(void* user, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    auto* b = static_cast<Builder*>(user);
    b->error = "DOCTYPE declarations are not accepted in SOAP messages";
    XML_StopParser(b->parser, XML_FALSE);
  }
};

}  // namespace

const XmlNode* XmlNode::Child(std::string_view local_name) const {
  for (const auto& c : children) {
    if (c.name == local_name) return &c;
  }
  return nullptr;
}

std::vector<const XmlNode*> XmlNode::Children(std::string_view local_name) const {
  std::vector<const XmlNode*> out;
  for (const auto& c : children) {
    if (c.name == local_name) out.push_back(&c);
  }
  return out;
}

std::string XmlNode::ChildText(std::string_view local_name, std::string_view fallback) const {
  const XmlNode* c = Child(local_name);
  return c ? c->text : std::string(fallback);
}

const XmlNode* XmlNode::Find(std::string_view path) const {
  const XmlNode* cur = this;
  while (cur && !path.empty()) {
    auto slash = path.find('/');
    std::string_view step = path.substr(0, slash);
    cur = cur->Child(step);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return cur;
}

const std::string* XmlNode::Attribute(std::string_view local_name, std::string_view ns) const {
  for (const auto& a : attributes) {
    if (a.name == local_name && a.ns == ns) return &a.value;
  }
  return nullptr;
}

XmlNode ParseXml(std::string_view document) {
  Builder b;
  b.parser = XML_ParserCreateNS("UTF-8", kSep);
  if (b.parser == nullptr) throw BugError("cannot create an XML parser (out of memory)");
  XML_SetUserData(b.parser, &b);
  XML_SetElementHandler(b.parser, &Builder::OnStart, &Builder::OnEnd);
  XML_SetCharacterDataHandler(b.parser, &Builder::OnText);
  XML_SetNamespaceDeclHandler(b.parser, &Builder::OnNsStart, &Builder::OnNsEnd);
  XML_SetStartDoctypeDeclHandler(b.parser, &Builder::OnDoctype);
  XML_Status st = XML_Parse(b.parser, document.data(), static_cast<int>(document.size()), XML_TRUE);
  std::string message;
  if (st != XML_STATUS_OK) {
    message = !b.error.empty() ? b.error
                               : std::string(XML_ErrorString(XML_GetErrorCode(b.parser))) + " at line " +
                                     std::to_string(XML_GetCurrentLineNumber(b.parser));
  }
  XML_ParserFree(b.parser);
  if (!message.empty()) throw TransientError("malformed XML from the vSphere endpoint: " + message);
  if (!b.have_root) throw TransientError("malformed XML from the vSphere endpoint: empty document");
  return std::move(b.root);
}

int64_t ParseXmlInt(std::string_view text, std::string_view what) {
  int64_t v = 0;
  auto first = text.data();
  auto last = text.data() + text.size();
  while (first < last && (*first == ' ' || *first == '\n' || *first == '\t' || *first == '\r')) ++first;
  auto [p, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || p != last) {
    throw BugError("vSphere sent \"" + std::string(text) + "\" for " + std::string(what) +
                   ", expected a number");
  }
  return v;
}

bool ParseXmlBool(std::string_view text) { return text == "true" || text == "1"; }

}  // namespace hoist::vsphere

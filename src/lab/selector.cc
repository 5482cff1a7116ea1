#include "lab/selector.h"

#include <algorithm>
#include <map>
#include <cctype>

#include "lab/store.h"

namespace hoist::lab {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits on commas that are not inside parentheses.
std::vector<std::string_view> SplitTop(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      auto part = Trim(text.substr(start, i - start));
      if (!part.empty()) out.push_back(part);
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  return out;
}

}  // namespace

LabelSelector LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  try {
    sel.selector_ = kube::LabelSelector::Parse(text);
  } catch (const hoist::Error& e) {
    throw StatusError::BadRequest(std::string("unable to parse label selector: ") + e.what());
  }
  return sel;
}

LabelSelector LabelSelector::FromJson(const nlohmann::json& selector) {
  LabelSelector sel;
  try {
    sel.selector_ = kube::LabelSelector::FromJson(selector);
  } catch (const std::exception& e) {  // hoist::Error, or a JSON type error for non-string values
    throw StatusError::BadRequest(std::string("invalid label selector: ") + e.what());
  }
  return sel;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  if (selector_.Empty()) return true;
  std::map<std::string, std::string> values;
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) values.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  return selector_.Matches(values);
}

FieldSelector FieldSelector::Parse(std::string_view text) {
  FieldSelector sel;
  for (auto part : SplitTop(text)) {
    Requirement r;
    size_t pos;
    if ((pos = part.find("!=")) != std::string_view::npos) {
      r.equal = false;
      r.path = std::string(Trim(part.substr(0, pos)));
      r.value = std::string(Trim(part.substr(pos + 2)));
    } else if ((pos = part.find("==")) != std::string_view::npos) {
      r.equal = true;
      r.path = std::string(Trim(part.substr(0, pos)));
      r.value = std::string(Trim(part.substr(pos + 2)));
    } else if ((pos = part.find('=')) != std::string_view::npos) {
      r.equal = true;
      r.path = std::string(Trim(part.substr(0, pos)));
      r.value = std::string(Trim(part.substr(pos + 1)));
    } else {
      throw StatusError::BadRequest("invalid field selector: \"" + std::string(part) +
                                    "\": expected an operator (=, ==, !=)");
    }
    if (r.path.empty()) throw StatusError::BadRequest("invalid field selector: empty field in \"" + std::string(part) + "\"");
    for (char c : r.path) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
        throw StatusError::BadRequest("field label not supported: " + r.path);
      }
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::Matches(const nlohmann::json& object) const {
  for (const auto& r : reqs_) {
    bool eq = FieldValue(object, r.path) == r.value;
    if (eq != r.equal) return false;
  }
  return true;
}

const std::string* FieldSelector::EqualityValue(std::string_view path) const {
  for (const auto& r : reqs_) {
    if (r.equal && r.path == path) return &r.value;
  }
  return nullptr;
}

std::string FieldValue(const nlohmann::json& object, std::string_view path) {
  const nlohmann::json* cur = &object;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_null()) return "";
  // Events: `source` selects source.component.
  if (cur->is_object() && path == "source") return cur->value("component", "");
  return cur->dump();
}

}  // namespace hoist::lab

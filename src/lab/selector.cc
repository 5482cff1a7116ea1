#include "lab/selector.h"

#include <algorithm>
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

bool ValidLabelKey(std::string_view k) {
  if (k.empty() || k.size() > 253 + 1 + 63) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/')) return false;
  }
  return true;
}

std::string LabelValue(const nlohmann::json& labels, const std::string& key, bool* present) {
  *present = false;
  if (!labels.is_object()) return "";
  auto it = labels.find(key);
  if (it == labels.end()) return "";
  *present = true;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

LabelSelector LabelSelector::Parse(std::string_view text) {
  LabelSelector sel;
  for (auto part : SplitTop(text)) {
    Requirement r;
    auto bad = [&](const char* why) {
      return StatusError::BadRequest("unable to parse requirement: " + std::string(part) + ": " + why);
    };
    if (part.front() == '!') {
      r.key = std::string(Trim(part.substr(1)));
      r.op = Op::kNotExists;
      if (!ValidLabelKey(r.key)) throw bad("invalid label key");
      sel.reqs_.push_back(std::move(r));
      continue;
    }
    // Set-based: key in (a,b) / key notin (a,b)
    auto paren = part.find('(');
    if (paren != std::string_view::npos) {
      auto close = part.rfind(')');
      if (close == std::string_view::npos || close < paren) throw bad("missing ')'");
      auto head = Trim(part.substr(0, paren));
      auto sp = head.find_last_of(" \t");
      if (sp == std::string_view::npos) throw bad("expected 'in' or 'notin'");
      auto op = Trim(head.substr(sp + 1));
      r.key = std::string(Trim(head.substr(0, sp)));
      if (op == "in") {
        r.op = Op::kIn;
      } else if (op == "notin") {
        r.op = Op::kNotIn;
      } else {
        throw bad("expected 'in' or 'notin'");
      }
      if (!ValidLabelKey(r.key)) throw bad("invalid label key");
      auto inner = part.substr(paren + 1, close - paren - 1);
      size_t start = 0;
      for (size_t i = 0; i <= inner.size(); ++i) {
        if (i == inner.size() || inner[i] == ',') {
          auto v = Trim(inner.substr(start, i - start));
          r.values.emplace_back(v);
          start = i + 1;
        }
      }
      sel.reqs_.push_back(std::move(r));
      continue;
    }
    size_t pos;
    if ((pos = part.find("!=")) != std::string_view::npos) {
      r.op = Op::kNotEq;
      r.key = std::string(Trim(part.substr(0, pos)));
      r.values.emplace_back(Trim(part.substr(pos + 2)));
    } else if ((pos = part.find("==")) != std::string_view::npos) {
      r.op = Op::kEq;
      r.key = std::string(Trim(part.substr(0, pos)));
      r.values.emplace_back(Trim(part.substr(pos + 2)));
    } else if ((pos = part.find('=')) != std::string_view::npos) {
      r.op = Op::kEq;
      r.key = std::string(Trim(part.substr(0, pos)));
      r.values.emplace_back(Trim(part.substr(pos + 1)));
    } else {
      r.op = Op::kExists;
      r.key = std::string(part);
    }
    if (!ValidLabelKey(r.key)) throw bad("invalid label key");
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

LabelSelector LabelSelector::FromJson(const nlohmann::json& selector) {
  LabelSelector sel;
  if (!selector.is_object()) return sel;
  if (auto ml = selector.find("matchLabels"); ml != selector.end() && ml->is_object()) {
    for (auto& [k, v] : ml->items()) {
      sel.reqs_.push_back({k, Op::kEq, {v.is_string() ? v.get<std::string>() : v.dump()}});
    }
  }
  if (auto me = selector.find("matchExpressions"); me != selector.end() && me->is_array()) {
    for (auto& e : *me) {
      Requirement r;
      r.key = e.value("key", "");
      std::string op = e.value("operator", "");
      if (op == "In") {
        r.op = Op::kIn;
      } else if (op == "NotIn") {
        r.op = Op::kNotIn;
      } else if (op == "Exists") {
        r.op = Op::kExists;
      } else if (op == "DoesNotExist") {
        r.op = Op::kNotExists;
      } else {
        throw StatusError::BadRequest("unknown label selector operator \"" + op + "\"");
      }
      if (auto vals = e.find("values"); vals != e.end() && vals->is_array()) {
        for (auto& v : *vals) r.values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
      sel.reqs_.push_back(std::move(r));
    }
  }
  return sel;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  for (const auto& r : reqs_) {
    bool present;
    std::string v = LabelValue(labels, r.key, &present);
    bool in = std::find(r.values.begin(), r.values.end(), v) != r.values.end();
    switch (r.op) {
      case Op::kEq:
        if (!present || v != r.values[0]) return false;
        break;
      case Op::kNotEq:
        if (present && v == r.values[0]) return false;
        break;
      case Op::kIn:
        if (!present || !in) return false;
        break;
      case Op::kNotIn:
        if (present && in) return false;
        break;
      case Op::kExists:
        if (!present) return false;
        break;
      case Op::kNotExists:
        if (present) return false;
        break;
    }
  }
  return true;
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

#include "kube/selectors.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hoist::kube {

namespace {

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A DNS-1123-ish label value or key name: ≤ 63 chars, [A-Za-z0-9-_.], alphanumeric at both ends.
bool ValidName(std::string_view s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  if (s.size() > 63) return false;
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool ValidDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void BadSelector(std::string_view text, std::string_view why) {
  throw PreconditionError("label selector \"" + std::string(text) + "\": " + std::string(why));
}

}  // namespace

void ValidateLabelKey(std::string_view key) {
  std::string_view name = key;
  auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!ValidDnsSubdomain(prefix)) {
      throw PreconditionError("label key \"" + std::string(key) + "\": prefix must be a DNS subdomain");
    }
  }
  if (!ValidName(name, false)) {
    throw PreconditionError("label key \"" + std::string(key) +
                            "\": name must be 1-63 characters of [A-Za-z0-9-_.], alphanumeric at both ends");
  }
}

void ValidateLabelValue(std::string_view value) {
  if (!ValidName(value, true)) {
    throw PreconditionError("label value \"" + std::string(value) +
                            "\": must be at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends");
  }
}

LabelSelector& LabelSelector::Add(std::string key, Op op, std::vector<std::string> values) {
  ValidateLabelKey(key);
  for (const auto& v : values) ValidateLabelValue(v);
  requirements_.push_back(Requirement{std::move(key), op, std::move(values)});
  return *this;
}

LabelSelector& LabelSelector::Equals(std::string key, std::string value) {
  return Add(std::move(key), Op::kEquals, {std::move(value)});
}
LabelSelector& LabelSelector::NotEquals(std::string key, std::string value) {
  return Add(std::move(key), Op::kNotEquals, {std::move(value)});
}
LabelSelector& LabelSelector::In(std::string key, std::vector<std::string> values) {
  if (values.empty())
    throw PreconditionError("label selector: \"in\" for " + key + " needs at least one value");
  return Add(std::move(key), Op::kIn, std::move(values));
}
LabelSelector& LabelSelector::NotIn(std::string key, std::vector<std::string> values) {
  if (values.empty())
    throw PreconditionError("label selector: \"notin\" for " + key + " needs at least one value");
  return Add(std::move(key), Op::kNotIn, std::move(values));
}
LabelSelector& LabelSelector::Exists(std::string key) { return Add(std::move(key), Op::kExists, {}); }
LabelSelector& LabelSelector::DoesNotExist(std::string key) {
  return Add(std::move(key), Op::kDoesNotExist, {});
}

std::string LabelSelector::String() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ",";
    switch (r.op) {
      case Op::kEquals:
        out += r.key + "=" + r.values[0];
        break;
      case Op::kNotEquals:
        out += r.key + "!=" + r.values[0];
        break;
      case Op::kIn:
      case Op::kNotIn: {
        out += r.key + (r.op == Op::kIn ? " in (" : " notin (");
        for (size_t i = 0; i < r.values.size(); ++i) {
          if (i > 0) out += ",";
          out += r.values[i];
        }
        out += ")";
        break;
      }
      case Op::kExists:
        out += r.key;
        break;
      case Op::kDoesNotExist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : requirements_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    auto in_values = [&] {
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    };
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in_values()) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (in_values()) return false;  // an absent label satisfies != and notin
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

LabelSelector LabelSelector::FromJson(const nlohmann::json& selector) {
  LabelSelector out;
  if (!selector.is_object()) return out;
  if (auto it = selector.find("matchLabels"); it != selector.end() && it->is_object()) {
    for (auto kv = it->begin(); kv != it->end(); ++kv) out.Equals(kv.key(), kv.value().get<std::string>());
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && it->is_array()) {
    for (const auto& expr : *it) {
      std::string key = expr.value("key", "");
      std::string op = expr.value("operator", "");
      std::vector<std::string> values;
      if (expr.contains("values") && expr["values"].is_array()) {
        for (const auto& v : expr["values"]) values.push_back(v.get<std::string>());
      }
      if (op == "In") {
        out.In(key, values);
      } else if (op == "NotIn") {
        out.NotIn(key, values);
      } else if (op == "Exists") {
        out.Exists(key);
      } else if (op == "DoesNotExist") {
        out.DoesNotExist(key);
      } else {
        throw PreconditionError("label selector: unknown matchExpressions operator \"" + op + "\" for key " +
                                key);
      }
    }
  }
  return out;
}

LabelSelector LabelSelector::Parse(std::string_view text) {
  LabelSelector out;
  // Split on commas outside parentheses.
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      std::string_view part = Trim(text.substr(start, i - start));
      if (!part.empty()) parts.push_back(part);
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      if (--depth < 0) BadSelector(text, "unbalanced parenthesis");
    }
  }
  if (depth != 0) BadSelector(text, "unbalanced parenthesis");
  for (std::string_view part : parts) {
    if (part.front() == '!' && part.find_first_of("=(") == std::string_view::npos) {
      out.DoesNotExist(std::string(Trim(part.substr(1))));
      continue;
    }
    if (auto pos = part.find("!="); pos != std::string_view::npos) {
      out.NotEquals(std::string(Trim(part.substr(0, pos))), std::string(Trim(part.substr(pos + 2))));
      continue;
    }
    if (auto pos = part.find("=="); pos != std::string_view::npos) {
      out.Equals(std::string(Trim(part.substr(0, pos))), std::string(Trim(part.substr(pos + 2))));
      continue;
    }
    if (auto pos = part.find('='); pos != std::string_view::npos) {
      out.Equals(std::string(Trim(part.substr(0, pos))), std::string(Trim(part.substr(pos + 1))));
      continue;
    }
    if (auto open = part.find('('); open != std::string_view::npos) {
      if (part.back() != ')') BadSelector(text, "expected ')' at the end of a set");
      std::string_view head = Trim(part.substr(0, open));
      auto space = head.find_last_of(" \t");
      if (space == std::string_view::npos)
        BadSelector(text, "expected \"<key> in (...)\" or \"<key> notin (...)\"");
      std::string key(Trim(head.substr(0, space)));
      std::string_view op = head.substr(space + 1);
      std::vector<std::string> values;
      std::string_view inner = part.substr(open + 1, part.size() - open - 2);
      size_t s = 0;
      for (size_t i = 0; i <= inner.size(); ++i) {
        if (i == inner.size() || inner[i] == ',') {
          std::string_view v = Trim(inner.substr(s, i - s));
          values.emplace_back(v);
          s = i + 1;
        }
      }
      if (op == "in") {
        out.In(key, values);
      } else if (op == "notin") {
        out.NotIn(key, values);
      } else {
        BadSelector(text, "unknown set operator \"" + std::string(op) + "\"");
      }
      continue;
    }
    out.Exists(std::string(part));
  }
  return out;
}

std::string EscapeFieldValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == ',' || c == '=') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

FieldSelector& FieldSelector::Equals(std::string field, std::string value) {
  terms_.push_back(field + "=" + EscapeFieldValue(value));
  return *this;
}

FieldSelector& FieldSelector::NotEquals(std::string field, std::string value) {
  terms_.push_back(field + "!=" + EscapeFieldValue(value));
  return *this;
}

std::string FieldSelector::String() const {
  std::string out;
  for (const auto& t : terms_) {
    if (!out.empty()) out += ",";
    out += t;
  }
  return out;
}

}  // namespace hoist::kube

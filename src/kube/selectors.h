#pragma once
// Label and field selectors, built in code and encoded the way the API server parses them
// (`app=x,tier!=db,env in (a,b),!legacy`), plus local matching of label selectors (informer
// filtering, fakes). Label keys and values are validated; field selector values are escaped.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hoist::kube {

class LabelSelector {
 public:
  LabelSelector() = default;
  // A metav1.LabelSelector object ({"matchLabels":{...},"matchExpressions":[...]}).
  static LabelSelector FromJson(const nlohmann::json& selector);
  // Parses the string form (equality, set-based and existence requirements).
  static LabelSelector Parse(std::string_view text);

  LabelSelector& Equals(std::string key, std::string value);
  LabelSelector& NotEquals(std::string key, std::string value);
  LabelSelector& In(std::string key, std::vector<std::string> values);
  LabelSelector& NotIn(std::string key, std::vector<std::string> values);
  LabelSelector& Exists(std::string key);
  LabelSelector& DoesNotExist(std::string key);

  bool Empty() const { return requirements_.empty(); }
  // The query-string form, requirements in the order added.
  std::string String() const;
  bool Matches(const std::map<std::string, std::string>& labels) const;

 private:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  LabelSelector& Add(std::string key, Op op, std::vector<std::string> values);
  std::vector<Requirement> requirements_;
};

class FieldSelector {
 public:
  FieldSelector& Equals(std::string field, std::string value);
  FieldSelector& NotEquals(std::string field, std::string value);
  bool Empty() const { return terms_.empty(); }
  std::string String() const;

 private:
  std::vector<std::string> terms_;
};

// Escapes a field selector value: `\` `,` `=` get a backslash (fields.EscapeValue).
std::string EscapeFieldValue(std::string_view value);
// Throws PreconditionError naming the problem when `key` is not a valid label key
// ([prefix/]name, name ≤ 63 chars of [A-Za-z0-9-_.] starting and ending alphanumeric).
void ValidateLabelKey(std::string_view key);
void ValidateLabelValue(std::string_view value);

}  // namespace hoist::kube

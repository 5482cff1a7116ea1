#pragma once
// Kubernetes label and field selectors, parsed once and matched against JSON objects.
// Label selector grammar (as kubectl sends it, parsed by kube::LabelSelector): comma-separated
// requirements key=value, key==value, key!=value, key in (a,b), key notin (a,b), key, !key
// Field selectors: comma-separated path=value, path==value, path!=value where path is a dotted JSON
// path into the object (metadata.name, status.phase, involvedObject.kind, ...).
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/selectors.h"

namespace hoist::lab {

// The server side of kube::LabelSelector: the same grammar and matching, with parse errors reported as
// a BadRequest Status and labels read from an object's metadata.labels JSON.
class LabelSelector {
 public:
  // Throws StatusError BadRequest on a malformed selector.
  static LabelSelector Parse(std::string_view text);
  // From a metav1.LabelSelector object ({matchLabels, matchExpressions}).
  static LabelSelector FromJson(const nlohmann::json& selector);
  bool Matches(const nlohmann::json& labels) const;  // labels: object (or null)
  bool empty() const { return selector_.Empty(); }

 private:
  kube::LabelSelector selector_;
};

class FieldSelector {
 public:
  // Throws StatusError BadRequest on a malformed selector.
  static FieldSelector Parse(std::string_view text);
  bool Matches(const nlohmann::json& object) const;
  bool empty() const { return reqs_.empty(); }
  // The value required by `path=value`, if the selector has one (used to narrow by name/namespace).
  const std::string* EqualityValue(std::string_view path) const;

 private:
  struct Requirement {
    std::string path;
    bool equal;
    std::string value;
  };
  std::vector<Requirement> reqs_;
};

// The value at a dotted path as a field selector sees it: strings as-is, numbers and bools in their JSON
// text, missing → "".
std::string FieldValue(const nlohmann::json& object, std::string_view path);

}  // namespace hoist::lab

#include "lab/patch.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "lab/store.h"

namespace hoist::lab {
namespace {

using nlohmann::json;

// The patch merge key of list field `field` whose elements live in a map that itself is an element of
// (or the value of) `parent`. Empty: the list is replaced (no merge strategy).
std::string MergeKey(std::string_view parent, std::string_view field) {
  if (field == "containers" || field == "initContainers" || field == "ephemeralContainers") return "name";
  if (field == "env" || field == "volumes" || field == "imagePullSecrets" || field == "resourceClaims") {
    return "name";
  }
  if (field == "volumeMounts") return "mountPath";
  if (field == "volumeDevices") return "devicePath";
  if (field == "ports") {
    if (parent == "containers" || parent == "initContainers" || parent == "ephemeralContainers") {
      return "containerPort";
    }
    return "port";
  }
  if (field == "conditions") return "type";
  if (field == "ownerReferences") return "uid";
  if (field == "hostAliases") return "ip";
  if (field == "topologySpreadConstraints") return "topologyKey";
  if (field == "taints") return "key";
  if (field == "addresses" && parent == "status") return "type";
  return "";
}

// Primitive lists merged as sets.
bool PrimitiveMergeList(std::string_view field) { return field == "finalizers"; }

bool IsDirective(const std::string& key) { return !key.empty() && key[0] == '$'; }

json MergeMap(const json& original, const json& patch, std::string_view parent);

bool SameKey(const json& a, const json& b, const std::string& key) {
  if (!a.is_object() || !b.is_object()) return false;
  auto ia = a.find(key);
  auto ib = b.find(key);
  if (ia == a.end() || ib == b.end()) return false;
  return *ia == *ib;
}

json MergeList(const json& original, const json& patch, std::string_view field, std::string_view parent) {
  if (!original.is_array()) {
    // Nothing to merge into: the patch list minus directive elements.
    json out = json::array();
    for (const auto& e : patch) {
      if (e.is_object() && e.contains("$patch")) continue;
      out.push_back(e.is_object() ? MergeMap(json::object(), e, field) : e);
    }
    return out;
  }
  // `{"$patch": "replace"}` as an element: the list becomes the patch's other elements.
  for (const auto& e : patch) {
    if (e.is_object() && e.size() == 1 && e.value("$patch", "") == "replace") {
      json out = json::array();
      for (const auto& x : patch) {
        if (!(x.is_object() && x.contains("$patch"))) out.push_back(x);
      }
      return out;
    }
  }
  if (PrimitiveMergeList(field)) {
    json out = original;
    for (const auto& e : patch) {
      if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
    }
    return out;
  }
  std::string key = MergeKey(parent, field);
  if (key.empty()) return patch;  // replace strategy
  json out = original;
  for (const auto& e : patch) {
    if (!e.is_object()) {
      throw StatusError::BadRequest("strategic merge patch: element of list \"" + std::string(field) +
                                    "\" is not an object");
    }
    if (!e.contains(key)) {
      if (e.value("$patch", "") == "delete") continue;
      throw StatusError::BadRequest("strategic merge patch: element of list \"" + std::string(field) +
                                    "\" has no merge key \"" + key + "\"");
    }
    auto it = std::find_if(out.begin(), out.end(), [&](const json& o) { return SameKey(o, e, key); });
    if (e.value("$patch", "") == "delete") {
      out.erase(std::remove_if(out.begin(), out.end(), [&](const json& o) { return SameKey(o, e, key); }),
                out.end());
      continue;
    }
    if (it != out.end()) {
      *it = MergeMap(*it, e, field);
    } else {
      out.push_back(MergeMap(json::object(), e, field));
    }
  }
  return out;
}

// Merges `patch` into `original`; `parent` names the field holding `original` (for merge keys).
json MergeMap(const json& original, const json& patch, std::string_view parent) {
  if (!patch.is_object()) return patch;
  std::string directive = patch.value("$patch", "");
  if (directive == "replace") {
    json out = patch;
    out.erase("$patch");
    return out;
  }
  json out = original.is_object() ? original : json::object();
  if (auto rk = patch.find("$retainKeys"); rk != patch.end() && rk->is_array()) {
    for (auto it = out.begin(); it != out.end();) {
      if (std::find(rk->begin(), rk->end(), json(it.key())) == rk->end()) {
        it = out.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& [k, v] : patch.items()) {
    static constexpr std::string_view kDel = "$deleteFromPrimitiveList/";
    if (k.rfind(kDel, 0) == 0) {
      std::string field = k.substr(kDel.size());
      auto it = out.find(field);
      if (it != out.end() && it->is_array() && v.is_array()) {
        json kept = json::array();
        for (const auto& e : *it) {
          if (std::find(v.begin(), v.end(), e) == v.end()) kept.push_back(e);
        }
        *it = kept;
      }
      continue;
    }
    if (IsDirective(k)) continue;  // $patch, $retainKeys, $setElementOrder/...
    if (v.is_null()) {
      out.erase(k);
      continue;
    }
    if (v.is_object()) {
      if (v.value("$patch", "") == "delete") {
        out.erase(k);
        continue;
      }
      auto it = out.find(k);
      out[k] = MergeMap(it != out.end() ? *it : json::object(), v, k);
      continue;
    }
    if (v.is_array()) {
      auto it = out.find(k);
      out[k] = MergeList(it != out.end() ? *it : json(), v, k, parent);
      continue;
    }
    out[k] = v;
  }
  return out;
}

}  // namespace

json ApplyJsonPatch(const json& doc, const json& patch) {
  if (!patch.is_array()) throw StatusError::BadRequest("json patch must be an array of operations");
  try {
    return doc.patch(patch);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann prefixes "[json.exception.<kind>.<id>] "; the rest names the failing operation.
    std::string what = e.what();
    if (auto close = what.find("] "); what.rfind("[json.exception", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    throw StatusError(422, "Invalid", "the server rejected our request due to an error in our request: " + what);
  }
}

json ApplyMergePatch(const json& doc, const json& patch) {
  json out = doc;
  out.merge_patch(patch);
  return out;
}

json ApplyStrategicMergePatch(const json& doc, const json& patch) {
  if (!patch.is_object()) throw StatusError::BadRequest("strategic merge patch must be a JSON object");
  return MergeMap(doc, patch, "");
}

}  // namespace hoist::lab

#include "controller/names.h"

#include <nlohmann/json.hpp>

namespace hoist::controller {

std::string PrimePvcName(std::string_view target_pvc_uid) {
  return std::string(kPrimePvcPrefix) + std::string(target_pvc_uid);
}

std::string PopulatorPodName(std::string_view target_pvc_uid) {
  return std::string(kPopulatorPodPrefix) + std::string(target_pvc_uid);
}

bool IsValidLabelValue(std::string_view value) {
  if (value.empty()) return true;
  if (value.size() > 63) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(value.front()) || !alnum(value.back())) return false;
  for (char c : value) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

const nlohmann::json* At(const nlohmann::json& obj, std::initializer_list<std::string_view> path) {
  const nlohmann::json* cur = &obj;
  for (std::string_view step : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(step);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

std::string StringField(const nlohmann::json& obj, std::initializer_list<std::string_view> path) {
  const nlohmann::json* v = At(obj, path);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::string LabelOf(const nlohmann::json& obj, std::string_view key) {
  return StringField(obj, {"metadata", "labels", key});
}

std::string AnnotationOf(const nlohmann::json& obj, std::string_view key) {
  return StringField(obj, {"metadata", "annotations", key});
}

bool HasLabel(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = At(obj, {"metadata", "labels", key});
  return v != nullptr && v->is_string();
}

std::string NamespacedName(const nlohmann::json& obj) {
  std::string ns = StringField(obj, {"metadata", "namespace"});
  std::string name = StringField(obj, {"metadata", "name"});
  return ns.empty() ? name : ns + "/" + name;
}

}  // namespace hoist::controller

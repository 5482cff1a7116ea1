#include "controller/names.h"

#include <nlohmann/json.hpp>

#include "kube/objects.h"

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

bool HasLabel(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = kube::At(obj, {"metadata", "labels", key});
  return v != nullptr && v->is_string();
}

}  // namespace hoist::controller

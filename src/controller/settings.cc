#include "controller/settings.h"

#include <cctype>
#include <cstdlib>

#include "core/error.h"

namespace hoist::controller {

std::string ControllerSettings::EnabledKindsText() const {
  std::string out;
  for (const auto& [kind, image] : images) {
    if (!out.empty()) out += ", ";
    out += std::string(Info(kind).key);
  }
  return out.empty() ? "none" : out;
}

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

ControllerSettings SettingsFromEnvironment(const EnvLookup& lookup, std::vector<std::string>* warnings) {
  ControllerSettings s;
  auto warn = [&](std::string w) {
    if (warnings != nullptr) warnings->push_back(std::move(w));
  };
  for (const KindInfo& k : AllKinds()) {
    std::optional<std::string> image = lookup(k.image_env);
    if (image && !image->empty()) {
      s.images[k.kind] = *image;
    } else {
      warn(std::string(k.image_env) + " is not set; " + std::string(k.kind_name) + " resources are not handled");
    }
  }
  if (std::optional<std::string> v = lookup("MAX_POPULATOR_INFLIGHT"); v && !v->empty()) {
    bool ok = v->size() <= 9;
    for (char c : *v) ok = ok && std::isdigit(static_cast<unsigned char>(c));
    if (ok) {
      s.max_in_flight = std::stoi(*v);
    } else {
      warn("MAX_POPULATOR_INFLIGHT=\"" + *v + "\" is not a non-negative integer; using " +
           std::to_string(kDefaultMaxInFlight));
    }
  }
  s.resources = ResourcesFromSettings(lookup, warnings);
  return s;
}

}  // namespace hoist::controller

#pragma once
// JSON <-> YAML for the API server: kubectl may send YAML bodies (application/yaml,
// application/apply-patch+yaml) and ask for YAML responses (Accept: application/yaml).
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hoist::lab {

// Parses one YAML document (JSON is YAML too). Untagged plain scalars become null / bool / int / float
// when they read as such (YAML 1.2 core schema), otherwise strings. Throws StatusError BadRequest.
nlohmann::json YamlToJson(std::string_view text);
// Block-style YAML; strings that would read back as another type are quoted.
std::string JsonToYaml(const nlohmann::json& value);

}  // namespace hoist::lab

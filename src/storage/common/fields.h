#pragma once
// Reading the vendors' JSON answers without trusting their shape: a field that is missing, null or of
// another type reads as empty, so one odd record never aborts a whole lookup.
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace hoist::storage::common {

// j[key] as text: a string as it is, a number printed ("23"); "" otherwise.
std::string Str(const nlohmann::json& j, const char* key);
// j[key] when it is an array, else an empty array (WSAPI `members`, Configuration Manager `data`…).
const nlohmann::json& ArrayAt(const nlohmann::json& j, const char* key);

}  // namespace hoist::storage::common

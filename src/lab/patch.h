#pragma once
// The three Kubernetes patch formats applied to JSON objects:
//   - JSON patch (RFC 6902) and JSON merge patch (RFC 7386), from nlohmann::json, with errors mapped to
//     Kubernetes Status errors;
//   - strategic merge patch for the built-in types: lists with a patch merge key (containers by name,
//     env by name, volumeMounts by mountPath, ports by containerPort/port, conditions by type,
//     ownerReferences by uid, ...) are merged element by element; primitive lists with the merge
//     strategy (finalizers) are unions; other lists are replaced. Directives: `$patch: replace|delete|merge`
//     (on maps and as list elements), `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
//     `$setElementOrder/<field>` (accepted; the merged order follows the original then the additions).
#include <nlohmann/json.hpp>

namespace hoist::lab {

nlohmann::json ApplyJsonPatch(const nlohmann::json& doc, const nlohmann::json& patch);
nlohmann::json ApplyMergePatch(const nlohmann::json& doc, const nlohmann::json& patch);
nlohmann::json ApplyStrategicMergePatch(const nlohmann::json& doc, const nlohmann::json& patch);

}  // namespace hoist::lab

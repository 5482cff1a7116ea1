#pragma once
// Server-side printing: meta.k8s.io/v1 Table responses for `kubectl get` (Accept: ...;as=Table),
// with the columns kube-apiserver prints for the built-in kinds, a CRD's additionalPrinterColumns,
// and NAME/AGE otherwise.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/store.h"

namespace hoist::lab {

// includeObject: "None", "Metadata" (default) or "Object".
nlohmann::json MakeTable(const ResourceType& type, const std::vector<nlohmann::json>& items, int64_t now,
                         const std::string& include_object, bool with_column_definitions = true);

// "5s", "3m2s", "4h", "2d3h" — kubectl's HumanDuration of now - timestamp.
std::string AgeSince(const std::string& rfc3339, int64_t now);

}  // namespace hoist::lab

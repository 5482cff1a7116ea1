#pragma once
// Discovery documents built from the store's types: /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>.
// kubectl 1.32 first asks for aggregated discovery (apidiscovery.k8s.io/v2); the lab answers with the
// legacy documents (Content-Type application/json), from which kubectl falls back by itself.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/store.h"

namespace hoist::lab {

nlohmann::json CoreApiVersions(const std::string& server_address);
nlohmann::json ApiGroupList(const std::vector<ResourceType>& types);
std::optional<nlohmann::json> ApiGroup(const std::vector<ResourceType>& types, const std::string& group);
// Nullopt when the group/version is not served.
std::optional<nlohmann::json> ApiResourceList(const std::vector<ResourceType>& types, const std::string& group,
                                              const std::string& version);

// A minimal OpenAPI v3 surface: the root index (/openapi/v3) and, per group/version, one PATCH operation
// per resource carrying x-kubernetes-group-version-kind and the fieldValidation query parameter. That
// is what kubectl looks for to decide that the server validates fields itself, so `kubectl create -f`
// and `kubectl apply -f` work without --validate=false. There are no schemas.
nlohmann::json OpenApiV3Root(const std::vector<ResourceType>& types);
std::optional<nlohmann::json> OpenApiV3GroupVersion(const std::vector<ResourceType>& types, const std::string& group,
                                                    const std::string& version);

}  // namespace hoist::lab

#include "lab/discovery.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

namespace hoist::lab {
namespace {

using nlohmann::json;

std::vector<std::string> Versions(const ResourceType& t) {
  return t.served_versions.empty() ? std::vector<std::string>{t.version} : t.served_versions;
}

// Groups in a stable order: the built-in ones first as kube-apiserver lists them, then the rest.
std::vector<std::string> GroupOrder(const std::vector<ResourceType>& types) {
  std::vector<std::string> order = {"apiextensions.k8s.io", "coordination.k8s.io", "events.k8s.io",
                                    "storage.k8s.io"};
  std::vector<std::string> out;
  for (const auto& g : order) {
    if (std::any_of(types.begin(), types.end(), [&](const ResourceType& t) { return t.group == g; })) out.push_back(g);
  }
  std::vector<std::string> rest;
  for (const auto& t : types) {
    if (t.group.empty()) continue;
    if (std::find(out.begin(), out.end(), t.group) == out.end() &&
        std::find(rest.begin(), rest.end(), t.group) == rest.end()) {
      rest.push_back(t.group);
    }
  }
  std::sort(rest.begin(), rest.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

json GroupJson(const std::vector<ResourceType>& types, const std::string& group) {
  std::vector<std::string> versions;
  std::string preferred;
  for (const auto& t : types) {
    if (t.group != group) continue;
    for (const auto& v : Versions(t)) {
      if (std::find(versions.begin(), versions.end(), v) == versions.end()) versions.push_back(v);
    }
    if (preferred.empty()) preferred = t.version;
  }
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  return {{"name", group},
          {"versions", vs},
          {"preferredVersion", {{"groupVersion", group + "/" + preferred}, {"version", preferred}}}};
}

}  // namespace

json CoreApiVersions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}})}};
}

json ApiGroupList(const std::vector<ResourceType>& types) {
  json groups = json::array();
  for (const auto& g : GroupOrder(types)) groups.push_back(GroupJson(types, g));
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<json> ApiGroup(const std::vector<ResourceType>& types, const std::string& group) {
  if (!std::any_of(types.begin(), types.end(), [&](const ResourceType& t) { return t.group == group; })) {
    return std::nullopt;
  }
  json g = GroupJson(types, group);
  g["kind"] = "APIGroup";
  g["apiVersion"] = "v1";
  return g;
}

std::optional<json> ApiResourceList(const std::vector<ResourceType>& types, const std::string& group,
                                    const std::string& version) {
  json resources = json::array();
  bool any = false;
  std::vector<const ResourceType*> sorted;
  for (const auto& t : types) {
    if (t.group == group && t.Serves(version)) sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const ResourceType* a, const ResourceType* b) { return a->resource < b->resource; });
  for (const ResourceType* tp : sorted) {
    const ResourceType& t = *tp;
    any = true;
    json r = {{"name", t.resource},
              {"singularName", t.singular},
              {"namespaced", t.namespaced},
              {"kind", t.kind},
              {"verbs", {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}}};
    if (!t.short_names.empty()) r["shortNames"] = t.short_names;
    if (!t.categories.empty()) r["categories"] = t.categories;
    resources.push_back(r);
    if (t.has_status) {
      resources.push_back({{"name", t.resource + "/status"},
                           {"singularName", ""},
                           {"namespaced", t.namespaced},
                           {"kind", t.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
    if (t.group.empty() && t.resource == "pods") {
      resources.push_back({{"name", "pods/log"},
                           {"singularName", ""},
                           {"namespaced", true},
                           {"kind", "Pod"},
                           {"verbs", {"get"}}});
    }
  }
  if (!any) return std::nullopt;
  return json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", group.empty() ? version : group + "/" + version},
              {"resources", resources}};
}

namespace {
std::string GvPath(const std::string& group, const std::string& version) {
  return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
}
}  // namespace

json OpenApiV3Root(const std::vector<ResourceType>& types) {
  std::map<std::string, size_t> gvs;  // path → hash of what it lists
  for (const auto& t : types) {
    for (const auto& v : Versions(t)) {
      size_t& h = gvs[GvPath(t.group, v)];
      h = h * 31 + std::hash<std::string>()(t.resource + "/" + t.kind + (t.namespaced ? "n" : "c"));
    }
  }
  json paths = json::object();
  for (const auto& [path, hash] : gvs) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016zX", hash);
    paths[path] = {{"serverRelativeURL", "/openapi/v3/" + path + "?hash=" + buf}};
  }
  return {{"paths", paths}};
}

std::optional<json> OpenApiV3GroupVersion(const std::vector<ResourceType>& types, const std::string& group,
                                          const std::string& version) {
  json paths = json::object();
  bool any = false;
  for (const auto& t : types) {
    if (t.group != group || !t.Serves(version)) continue;
    any = true;
    std::string base = "/" + GvPath(group, version) + (t.namespaced ? "/namespaces/{namespace}/" : "/") + t.resource;
    json gvk = {{"group", group}, {"version", version}, {"kind", t.kind}};
    json params = json::array({{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                               {{"name", "dryRun"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                               {{"name", "fieldManager"}, {"in", "query"}, {"schema", {{"type", "string"}}}}});
    json op = {{"operationId", "patch" + t.kind},
               {"x-kubernetes-group-version-kind", gvk},
               {"x-kubernetes-action", "patch"},
               {"parameters", params},
               {"responses", {{"200", {{"description", "OK"}}}}}};
    paths[base + "/{name}"] = {{"patch", op}};
    json post = op;
    post["operationId"] = "create" + t.kind;
    post["x-kubernetes-action"] = "post";
    paths[base] = {{"post", post}};
  }
  if (!any) return std::nullopt;
  return json{{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
              {"paths", paths},
              {"components", {{"schemas", json::object()}}}};
}

}  // namespace hoist::lab

#include "kube/resource.h"

#include "net/http.h"

namespace hoist::kube {

std::string ResourceType::ApiVersion() const { return group.empty() ? version : group + "/" + version; }

std::string ResourceType::Name() const { return group.empty() ? plural : plural + "." + group; }

std::string ResourceType::GroupVersionPath() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string ResourceType::CollectionPath(std::string_view ns) const {
  std::string path = GroupVersionPath();
  if (namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += net::UrlEncode(ns);
  }
  path += "/";
  path += plural;
  return path;
}

std::string ResourceType::ObjectPath(std::string_view ns, std::string_view name,
                                     std::string_view subresource) const {
  std::string path = CollectionPath(ns);
  path += "/";
  path += net::UrlEncode(name);
  if (!subresource.empty()) {
    path += "/";
    path += subresource;
  }
  return path;
}

}  // namespace hoist::kube

#include "controller/instrumented_client.h"

namespace hoist::controller {

void InstrumentedClient::Count(std::string_view verb, const kube::ResourceType& type, std::string_view sub) {
  ++total_;
  std::string resource = type.Name();
  if (!sub.empty()) resource += "/" + std::string(sub);
  metrics_.api_requests().WithLabels({std::string(verb), resource}).Inc();
}

kube::Json InstrumentedClient::Get(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                                   std::string_view subresource) {
  Count("get", type, subresource);
  return inner_.Get(type, ns, name, subresource);
}

kube::ListResult InstrumentedClient::List(const kube::ResourceType& type, std::string_view ns,
                                          const kube::ListOptions& options) {
  Count("list", type);
  return inner_.List(type, ns, options);
}

kube::Json InstrumentedClient::Create(const kube::ResourceType& type, std::string_view ns, const kube::Json& object) {
  Count("create", type);
  return inner_.Create(type, ns, object);
}

kube::Json InstrumentedClient::Update(const kube::ResourceType& type, const kube::Json& object) {
  Count("update", type);
  return inner_.Update(type, object);
}

kube::Json InstrumentedClient::UpdateStatus(const kube::ResourceType& type, const kube::Json& object) {
  Count("update", type, "status");
  return inner_.UpdateStatus(type, object);
}

kube::Json InstrumentedClient::Patch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                                     kube::PatchType patch_type, const kube::Json& patch,
                                     std::string_view subresource) {
  Count("patch", type, subresource);
  return inner_.Patch(type, ns, name, patch_type, patch, subresource);
}

kube::Json InstrumentedClient::Delete(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                                      const kube::DeleteOptions& options) {
  Count("delete", type);
  return inner_.Delete(type, ns, name, options);
}

void InstrumentedClient::WatchStream(const kube::ResourceType& type, std::string_view ns,
                                     const kube::WatchOptions& options, const kube::WatchHandler& handler,
                                     std::stop_token stop) {
  Count("watch", type);
  inner_.WatchStream(type, ns, options, handler, stop);
}

bool InstrumentedClient::Serves(const kube::ResourceType& type) { return inner_.Serves(type); }

}  // namespace hoist::controller

#pragma once
// The KubeClient that talks HTTPS to an API server: bearer token / client certificate auth, client-side
// rate limiting (token bucket, RestConfig::qps/burst), Retry-After on 429/503, Status → ApiError.
#include <map>
#include <memory>
#include <mutex>

#include "kube/config.h"
#include "kube/kube_client.h"
#include "kube/rate_limiter.h"
#include "net/http_client.h"

namespace hoist::kube {

class Client : public KubeClient {
 public:
  explicit Client(RestConfig config);
  ~Client() override;

  Json Get(const ResourceType& type, std::string_view ns, std::string_view name,
           std::string_view subresource = "") override;
  ListResult List(const ResourceType& type, std::string_view ns, const ListOptions& options = {}) override;
  Json Create(const ResourceType& type, std::string_view ns, const Json& object) override;
  Json Update(const ResourceType& type, const Json& object) override;
  Json UpdateStatus(const ResourceType& type, const Json& object) override;
  Json Patch(const ResourceType& type, std::string_view ns, std::string_view name, PatchType patch_type,
             const Json& patch, std::string_view subresource = "") override;
  Json Delete(const ResourceType& type, std::string_view ns, std::string_view name,
              const DeleteOptions& options = {}) override;
  void WatchStream(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                   const WatchHandler& handler, std::stop_token stop) override;
  bool Serves(const ResourceType& type) override;

  // A raw request to `path` (with query) for what the verbs above don't cover; returns the parsed
  // body of a 2xx answer, throws ApiError otherwise.
  Json Request(std::string_view method, const std::string& path_and_query, const std::string& body = "",
               std::string_view content_type = "application/json");

  const RestConfig& config() const { return config_; }
  // The namespace of the kubeconfig context or service account.
  const std::string& default_namespace() const { return config_.ns; }
  // Stops every watch in progress and makes rate-limit waits return (shutdown).
  void CancelWatches();

  // How many times Retry-After made a request wait (for tests and metrics).
  int retry_after_waits() const;

 private:
  net::HttpRequest NewRequest(std::string_view method, const std::string& path_and_query) const;
  net::HttpResponse Send(net::HttpRequest request, std::string_view action);

  RestConfig config_;
  net::HttpClientOptions http_options_;
  std::unique_ptr<net::HttpClient> http_;
  TokenBucket limiter_;
  mutable std::mutex mu_;
  std::map<std::string, bool> served_;  // group/version/plural → served
  int retry_after_waits_ = 0;
  std::stop_source shutdown_;
};

}  // namespace hoist::kube

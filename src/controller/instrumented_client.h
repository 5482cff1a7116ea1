#pragma once
// A KubeClient that counts the requests it forwards, by verb and resource, into
// hoist_controller_api_requests_total (ControllerMetrics::api_requests) and a running total. The
// controller's benchmark reads it to report API requests per PVC.
#include <atomic>
#include <cstdint>

#include "controller/metrics.h"
#include "kube/kube_client.h"

namespace hoist::controller {

class InstrumentedClient : public kube::KubeClient {
 public:
  InstrumentedClient(kube::KubeClient& inner, ControllerMetrics& metrics) : inner_(inner), metrics_(metrics) {}

  kube::Json Get(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                 std::string_view subresource = "") override;
  kube::ListResult List(const kube::ResourceType& type, std::string_view ns,
                        const kube::ListOptions& options = {}) override;
  kube::Json Create(const kube::ResourceType& type, std::string_view ns, const kube::Json& object) override;
  kube::Json Update(const kube::ResourceType& type, const kube::Json& object) override;
  kube::Json UpdateStatus(const kube::ResourceType& type, const kube::Json& object) override;
  kube::Json Patch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                   kube::PatchType patch_type, const kube::Json& patch, std::string_view subresource = "") override;
  kube::Json Delete(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                    const kube::DeleteOptions& options = {}) override;
  void WatchStream(const kube::ResourceType& type, std::string_view ns, const kube::WatchOptions& options,
                   const kube::WatchHandler& handler, std::stop_token stop) override;
  bool Serves(const kube::ResourceType& type) override;

  uint64_t total() const { return total_.load(); }

 private:
  void Count(std::string_view verb, const kube::ResourceType& type, std::string_view subresource = "");
  kube::KubeClient& inner_;
  ControllerMetrics& metrics_;
  std::atomic<uint64_t> total_{0};
};

}  // namespace hoist::controller

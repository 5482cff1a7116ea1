#pragma once
// The populators' metrics endpoint: what Forklift's populator controller (and hoist's) scrapes at
// https://<podIP>:8443/metrics. Forklift's populators serve their Prometheus registry over HTTPS with a
// self-signed certificate generated at start; the controller does not verify it.
//
// Where it listens: on the pod's own address — the address the pod's hostname resolves to (the
// kubelet-managed /etc/hosts maps it to the pod IP) — port 8443. That is the address the controller
// scrapes in any cluster, and it lets populators that share one network namespace (the lab's pods do)
// each have their own endpoint. When the hostname does not resolve, or its address cannot be bound,
// it listens on all interfaces as Forklift does. An explicit `listen` ("host:port") overrides both.
//
// The final scrape: a populator that has finished sets its last values, then calls WaitForScrape so
// the controller reads them (completion fields, progress 100) before the process exits and the
// endpoint disappears. Forklift's xcopy populator waits up to 10 s for that one more request.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace hoist::prom {
class Registry;
}

namespace hoist::populators {

inline constexpr uint16_t kMetricsPort = 8443;
inline constexpr const char* kMetricsPath = "/metrics";
inline constexpr std::chrono::seconds kFinalScrapeWait{10};

struct MetricsEndpointOptions {
  // "host:port" ("0.0.0.0:8443", "127.0.0.1:0"); empty: the pod's own address, port `port`.
  std::string listen;
  uint16_t port = kMetricsPort;
  std::string path = kMetricsPath;
};

// The IPv4 address this host's name resolves to ("" when it does not resolve): the pod IP inside a pod.
std::string PodAddress();

class MetricsEndpoint {
 public:
  MetricsEndpoint(const prom::Registry& registry, MetricsEndpointOptions options = {});
  ~MetricsEndpoint();  // stops
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Generates the certificate and starts serving. Throws hoist::Error (kPrecondition) when the
  // address cannot be bound (port in use), naming it.
  void Start();
  void Stop();

  // Where it listens ("127.10.0.7"), and the bound port (useful with port 0).
  const std::string& address() const;
  uint16_t port() const;
  // "https://<address>:<port><path>".
  std::string url() const;
  // The certificate clients may pin (tests verify it rather than skipping verification).
  const std::string& certificate_pem() const;

  // Metrics requests answered so far.
  uint64_t scrapes() const;
  // Waits until a metrics request that arrived after this call has been answered (so it carried
  // everything set before the call), or `timeout` passed. True when one was answered.
  bool WaitForScrape(std::chrono::milliseconds timeout = kFinalScrapeWait);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::populators

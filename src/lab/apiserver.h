#pragma once
// The lab's Kubernetes-compatible API server: HTTPS + bearer token in front of a lab::Store.
// Serves discovery (/version, /api, /apis, aggregated discovery), the REST verbs on every type the
// store knows (built-in and CRD-defined), watch streams, pods/log through a PodLogSource, Table
// output for `kubectl get`, JSON and YAML. Real kubectl is the conformance referee.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lab/store.h"

namespace hoist::lab {

// Where `GET /api/v1/namespaces/<ns>/pods/<name>/log` reads from. The lab's kubelet implements it.
class PodLogSource {
 public:
  struct Options {
    std::string container{};  // empty: the pod's only container (the server resolves it when it can)
    bool follow = false;
    int64_t tail_lines = -1;   // -1: all
    int64_t limit_bytes = -1;  // -1: no limit
    int64_t since_seconds = -1;
    bool timestamps = false;
    bool previous = false;
  };
  virtual ~PodLogSource() = default;
  // Writes the log of `container` of pod ns/name to `sink` in pieces. With follow, keeps writing until
  // the container ends, `sink` returns false (client gone) or `cancelled()` returns true (server
  // stopping); poll `cancelled()` at least once a second while waiting. Throw StatusError (e.g.
  // BadRequest "container x is not valid for pod y", NotFound) when there is no such log.
  virtual void StreamLog(const std::string& ns, const std::string& pod, const Options& options,
                         const std::function<bool(std::string_view)>& sink,
                         const std::function<bool()>& cancelled) = 0;
};

struct ApiServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0: pick
  // Bearer token every request must carry; empty: no authentication.
  std::string token{};
  // TLS: both set → HTTPS.
  std::string tls_cert_pem{};
  std::string tls_key_pem{};
  std::string git_version = "v1.32.0-hoist";  // /version
};

class ApiServer {
 public:
  ApiServer(Store& store, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  void Start();
  void Stop();
  uint16_t port() const;
  // "https://127.0.0.1:PORT"
  std::string url() const;
  // May be set at any time; null: pods/log answers 404 "no log source".
  void SetPodLogSource(std::shared_ptr<PodLogSource> source);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A kubeconfig (YAML) for `server` with the CA (PEM) embedded and a bearer token.
std::string MakeKubeconfig(const std::string& server, const std::string& ca_pem, const std::string& token,
                           const std::string& name = "hoist-lab");

}  // namespace hoist::lab

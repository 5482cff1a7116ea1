#pragma once
// A small in-memory Kubernetes API server on net::HttpServer (HTTPS + bearer token) for the kube
// client's unit tests: CRUD with resourceVersion conflicts, merge patches, list pagination, label
// selectors, watch streams from a resourceVersion (410 Gone below the compaction point), discovery,
// and injected failures. Real behaviour is tested against the lab API server in tests/integration.
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/config.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace hoist::kube::testing {

class FakeApiServer {
 public:
  static constexpr const char* kToken = "s3cret-t0ken-value";
  FakeApiServer();
  ~FakeApiServer();

  std::string url() const;
  // A RestConfig that trusts the fake's CA and carries its token; no client-side throttling.
  RestConfig Config() const;
  const std::string& ca_pem() const { return pki_.ca.cert_pem; }

  // The next `count` requests (only watches when `watches`, else all but watches) get `status`/`body`.
  void FailNext(int count, int status, std::string body, std::string retry_after = "", bool watches = false);
  void SetServesEventsV1(bool served);
  // Watches from a resourceVersion below `rv` get 410 Gone (as after etcd compaction); so does a list
  // continuation token from before it.
  void CompactTo(int64_t rv);
  // Ends every open watch stream (as an API server restart would).
  void CloseWatches();
  int64_t current_rv() const;

  // Direct access to the stored objects (keyed "group/version/plural/ns/name").
  nlohmann::json Object(const std::string& gvr_path, const std::string& ns, const std::string& name) const;
  size_t CountObjects(const std::string& plural) const;
  std::vector<std::string> RequestLog() const;                          // "METHOD target"
  std::vector<nlohmann::json> Bodies(const std::string& method) const;  // request bodies seen
  std::vector<std::string> ContentTypes() const;
  int open_watches() const;

 private:
  struct Event {
    int64_t rv;
    std::string type;
    std::string collection;  // group/version/plural
    std::string ns;
    nlohmann::json object;
  };
  void Handle(const net::ServerRequest& req, net::ResponseWriter& w);
  void Watch(const net::ServerRequest& req, net::ResponseWriter& w, const std::string& collection,
             const std::string& ns);

  net::CaAndServer pki_;
  std::unique_ptr<net::HttpServer> server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, nlohmann::json> objects_;  // collection/ns/name
  std::vector<Event> history_;
  int64_t rv_ = 100;
  int64_t compacted_ = 0;
  uint64_t watch_generation_ = 0;
  int open_watches_ = 0;
  bool serves_events_v1_ = true;
  int fail_count_ = 0;
  int fail_status_ = 0;
  std::string fail_body_;
  std::string fail_retry_after_;
  bool fail_watches_ = false;
  std::vector<std::string> log_;
  std::vector<std::pair<std::string, nlohmann::json>> bodies_;
  std::vector<std::string> content_types_;
};

}  // namespace hoist::kube::testing

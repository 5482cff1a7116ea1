#include "populators/common/metrics_endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <climits>
#include <condition_variable>
#include <mutex>

#include "core/error.h"
#include "core/log.h"
#include "net/http_server.h"
#include "net/tls.h"
#include "prom/metrics.h"

namespace hoist::populators {
namespace {

net::Headers OneHeader(std::string name, std::string value) {
  net::Headers h;
  h.Add(std::move(name), std::move(value));
  return h;
}

}  // namespace

std::string PodAddress() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host, nullptr, &hints, &res) != 0 || res == nullptr) return "";
  char text[INET_ADDRSTRLEN] = {};
  const auto* sin = reinterpret_cast<const sockaddr_in*>(res->ai_addr);
  std::string out = ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text) ? text : "";
  ::freeaddrinfo(res);
  return out;
}

struct MetricsEndpoint::Impl {
  const prom::Registry& registry;
  MetricsEndpointOptions options;
  std::unique_ptr<net::HttpServer> server;
  std::string address;
  std::string cert_pem;
  std::string key_pem;

  mutable std::mutex mu;
  std::condition_variable answered_cv;
  uint64_t arrivals = 0;       // metrics requests received
  uint64_t last_answered = 0;  // arrival number of the latest answered request
  uint64_t answered = 0;

  Impl(const prom::Registry& r, MetricsEndpointOptions o) : registry(r), options(std::move(o)) {}

  void Handle(const net::ServerRequest& req, net::ResponseWriter& w) {
    if (req.path != options.path) {
      w.Send(404, OneHeader("Content-Type", "text/plain"), "not found; metrics are at " + options.path + "\n");
      return;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      w.Send(405, OneHeader("Allow", "GET, HEAD"), "");
      return;
    }
    uint64_t arrival;
    {
      std::lock_guard<std::mutex> lock(mu);
      arrival = ++arrivals;
    }
    // Rendered after the arrival was counted: everything set before a WaitForScrape that saw a
    // smaller arrival count is in this body.
    std::string body = registry.Expose();
    w.Send(200, OneHeader("Content-Type", std::string(prom::kContentType)), req.method == "HEAD" ? "" : body);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++answered;
      if (arrival > last_answered) last_answered = arrival;
    }
    answered_cv.notify_all();
  }

  void StartOn(const std::string& host, uint16_t port) {
    net::HttpServerOptions so;
    so.bind_address = host;
    so.port = port;
    so.tls_cert_pem = cert_pem;
    so.tls_key_pem = key_pem;
    auto s = std::make_unique<net::HttpServer>(so, [this](const net::ServerRequest& r, net::ResponseWriter& w) {
      Handle(r, w);
    });
    s->Start();
    server = std::move(s);
    address = host;
  }
};

MetricsEndpoint::MetricsEndpoint(const prom::Registry& registry, MetricsEndpointOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(options))) {}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

void MetricsEndpoint::Start() {
  Impl& im = *impl_;
  if (im.server) throw BugError("MetricsEndpoint::Start called twice");
  std::string host;
  uint16_t port = im.options.port;
  bool explicit_address = !im.options.listen.empty();
  if (explicit_address) {
    const std::string& l = im.options.listen;
    auto colon = l.rfind(':');
    if (colon == std::string::npos) throw PreconditionError("metrics listen address \"" + l + "\" is not host:port");
    host = l.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    try {
      int p = std::stoi(l.substr(colon + 1));
      if (p < 0 || p > 65535) throw std::out_of_range("port");
      port = static_cast<uint16_t>(p);
    } catch (const std::exception&) {
      throw PreconditionError("metrics listen address \"" + l + "\" has no valid port");
    }
    if (host.empty()) host = "0.0.0.0";
  } else {
    host = PodAddress();
  }

  std::vector<std::string> ips;
  if (!host.empty() && host != "0.0.0.0" && host != "::") ips.push_back(host);
  char name[HOST_NAME_MAX + 1] = {};
  ::gethostname(name, sizeof name - 1);
  std::string cn = name[0] ? name : "hoist-populator";
  net::CertAndKey ck = net::GenerateSelfSigned(cn, {cn}, ips);
  im.cert_pem = ck.cert_pem;
  im.key_pem = ck.key_pem;

  if (explicit_address) {
    im.StartOn(host, port);
  } else if (host.empty()) {
    im.StartOn("0.0.0.0", port);
  } else {
    try {
      im.StartOn(host, port);
    } catch (const Error& e) {
      if (e.error_class() == ErrorClass::kPrecondition) throw;  // in use: falling back would clash too
      log::Warn("populator.metrics", "cannot listen on the pod address; listening on all interfaces",
                {{"address", host}, {"error", e.what()}});
      im.StartOn("0.0.0.0", port);
    }
  }
  log::Info("populator.metrics", "serving metrics", {{"url", url()}});
}

void MetricsEndpoint::Stop() {
  if (impl_ && impl_->server) {
    impl_->server->Stop();
    impl_->server.reset();
  }
}

const std::string& MetricsEndpoint::address() const { return impl_->address; }
uint16_t MetricsEndpoint::port() const { return impl_->server ? impl_->server->port() : 0; }
std::string MetricsEndpoint::url() const {
  const std::string& a = impl_->address;
  std::string host = a.find(':') != std::string::npos ? "[" + a + "]" : a;
  return "https://" + host + ":" + std::to_string(port()) + impl_->options.path;
}
const std::string& MetricsEndpoint::certificate_pem() const { return impl_->cert_pem; }

uint64_t MetricsEndpoint::scrapes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->answered;
}

bool MetricsEndpoint::WaitForScrape(std::chrono::milliseconds timeout) {
  Impl& im = *impl_;
  std::unique_lock<std::mutex> lock(im.mu);
  const uint64_t seen = im.arrivals;
  bool ok = im.answered_cv.wait_for(lock, timeout, [&] { return im.last_answered > seen; });
  if (!ok)
    log::Info("populator.metrics", "no final scrape arrived; exiting anyway",
              {{"waitedSeconds", std::chrono::duration<double>(timeout).count()}});
  return ok;
}

}  // namespace hoist::populators

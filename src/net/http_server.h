#pragma once
// A small threaded HTTP/1.1 server, with optional TLS. One thread per connection (keep-alive
// supported), which suits the lab API server's long watch streams and the populators' metrics
// endpoints. Responses may be whole or chunked (streamed).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "net/http.h"

namespace hoist::net {

struct ServerRequest {
  std::string method;
  std::string target;  // as sent: path plus optional ?query
  std::string path;    // percent-decoded path
  std::string raw_path;
  std::multimap<std::string, std::string> query;  // decoded
  Headers headers;
  std::string body;
  std::string remote_address;

  // First query value of `name`, or `fallback`.
  std::string Query(std::string_view name, std::string fallback = "") const;
  bool HasQuery(std::string_view name) const;
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends a whole response with Content-Length.
  virtual void Send(int status, const Headers& headers, std::string_view body) = 0;
  // Starts a chunked response; then WriteChunk any number of times and Finish.
  virtual void StartChunked(int status, const Headers& headers) = 0;
  // Starts a response of exactly `length` body bytes (Content-Length), streamed with WriteChunk as
  // for a chunked one; Finish with fewer bytes written closes the connection, which the client sees
  // as a cut response. Suits large bodies of known size (disk image ranges).
  virtual void StartFixedLength(int status, const Headers& headers, uint64_t length) = 0;
  // Returns false once the client has gone away; the handler should then return. In a fixed-length
  // response, writing more than the announced length is a BugError.
  virtual bool WriteChunk(std::string_view data) = 0;
  virtual void Finish() = 0;
  // True when the peer closed the connection (checked without blocking).
  virtual bool ClientGone() = 0;
  // True once the server is stopping; long-running handlers (watches) should end.
  virtual bool ServerStopping() const = 0;
};

using Handler = std::function<void(const ServerRequest&, ResponseWriter&)>;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;         // 0: pick a free port; see HttpServer::port()
  std::string tls_cert_pem;  // TLS when both are set
  std::string tls_key_pem;
  size_t max_body_bytes = 64 << 20;
  std::chrono::milliseconds idle_timeout{120000};  // keep-alive connections idle longer are closed
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting in background threads. Throws hoist::Error when the port can't be bound.
  void Start();
  // Stops accepting, tells streaming handlers to end, waits for connection threads.
  void Stop();
  uint16_t port() const;
  bool tls() const;

  // Called by Stop() (before it waits for connection threads) so that handlers blocked on something
  // other than the connection — a watch waiting for events — can be woken up. Set before Start().
  void SetOnStopping(std::function<void()> callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::net

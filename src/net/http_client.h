#pragma once
// HTTP(S) client over libcurl. Thread-safe: each call takes an easy handle from a small pool so that
// connections are reused. TLS is verified unless `insecure_skip_verify` is set.
#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "net/http.h"

namespace hoist::net {

struct TlsClientOptions {
  std::string ca_pem;   // trust these PEM certificates (in addition to nothing else when set)
  std::string ca_file;  // or a CA bundle file
  bool insecure_skip_verify = false;
  std::string client_cert_pem;  // mutual TLS
  std::string client_key_pem;
};

struct HttpClientOptions {
  TlsClientOptions tls;
  std::chrono::milliseconds connect_timeout{10000};
  std::string user_agent = "hoist/0.1";
  int max_pooled_connections = 8;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  // Whole-request timeout; zero means none (watches). Streaming calls also stop after
  // `idle_timeout` without data when set.
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds idle_timeout{0};
  // Streaming calls: the size of the pieces handed to `on_data` (libcurl's receive buffer, at most
  // 10 MiB). Zero: libcurl's default (16 KiB). Bulk downloads go faster with a few hundred KiB.
  size_t receive_buffer_bytes = 0;
  // When a stop is requested (before or during the call), Do/Stream throw kCancelled. Unlike
  // CancelStreams, this cannot miss a call that is just starting.
  std::stop_token cancel;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs the request and returns the whole response. Transport failures (connect refused, TLS
  // failure, timeout) throw hoist::Error of class kTransient, except TLS verification failures which are
  // kPrecondition and say which CA to check. HTTP error statuses are returned, not thrown.
  HttpResponse Do(const HttpRequest& request);

  // Streams the response body: `on_data` is called for each piece as it arrives; returning false stops
  // the transfer (not an error). `on_headers` (optional) is called once with status and headers before
  // any data. The returned response has status and headers, and an empty body.
  HttpResponse Stream(const HttpRequest& request, const std::function<bool(std::string_view)>& on_data,
                      const std::function<void(int status, const Headers&)>& on_headers = nullptr);

  // Aborts every Stream() in progress on this client (used at shutdown). Later calls work normally.
  void CancelStreams();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::net

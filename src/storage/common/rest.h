#pragma once
// The REST transport the session-based vendors share (Primera/3PAR, Vantara, PowerFlex): JSON over
// HTTPS with TLS options from the storage secret, bounded retries with backoff for transport failures
// and answers the vendor calls transient, and one re-login when the vendor says the session expired
// (arrays drop idle sessions; a populator may wait minutes for ESXi between two calls).
// The vendor supplies what differs: how a request is authenticated, what an expired session looks
// like, how the array's error body reads.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.h"
#include "net/http_client.h"

namespace hoist::storage {
struct ArrayConfig;
}

namespace hoist::storage::common {

// Retry knobs (tests shorten them).
struct Tuning {
  int max_attempts = 4;                     // per call, for transient failures
  std::chrono::milliseconds backoff{1000};  // doubled after each failed attempt
};

struct RestOptions {
  std::string vendor;    // how messages name the array: "<what> on <vendor> <host>: …"
  std::string base_url;  // https://host[:port], no trailing slash
  net::TlsClientOptions tls;
  std::chrono::milliseconds timeout{60000};
  Tuning tuning;
};
// TLS (verified unless STORAGE_SKIP_SSL_VERIFICATION; STORAGE_CA_CERT replaces the system trust) and
// timeout from the secret; `base_url` from STORAGE_HOSTNAME.
RestOptions RestOptionsFromConfig(const ArrayConfig& config, std::string vendor, const Tuning& tuning);

struct Request {
  std::string method = "GET";
  std::string path;  // below the base URL, with an encoded query
  std::string body;  // JSON text; empty: none
  bool has_body = false;
  bool authenticated = true;  // false for the login call itself
  bool retry = true;          // false: one attempt (best-effort calls such as logging out)
  std::vector<std::pair<std::string, std::string>> headers;
};
Request Get(std::string path);
Request Delete(std::string path);
Request Post(std::string path, const nlohmann::json& body);
Request Put(std::string path, const nlohmann::json& body);

struct Response {
  int status = 0;
  net::Headers headers;
  std::string body;
};

// A failed call: the vendor's error with the HTTP status and the array's own code, so callers can
// tell "already exists" from "not found" without matching text.
class CallError : public Error {
 public:
  CallError(ErrorClass cls, std::string message, int status, std::string code)
      : Error(cls, std::move(message)), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }  // the array's error code ("23", "KART30013-E")

 private:
  int status_;
  std::string code_;
};

// The vendor's side of the transport.
class RestVendor {
 public:
  virtual ~RestVendor() = default;
  // Adds the session's credentials to an authenticated request (logging in first when there is no
  // session yet).
  virtual void Authorize(net::HttpRequest& request) = 0;
  // True when the answer says the session is gone; the transport then calls Relogin and retries once.
  virtual bool SessionExpired(const Response& response) = 0;
  virtual void Relogin() = 0;
  // The error for a non-2xx answer to `what`, classified (401/403 → kPrecondition naming the secret
  // keys, 5xx → kTransient…), with the array's words in the message.
  virtual CallError ErrorFor(std::string_view what, const Response& response) = 0;
  // Whether a non-2xx answer is worth sending again (default: 429 and 5xx).
  virtual bool Retryable(const Response& response);
};

class RestClient {
 public:
  RestClient(RestOptions options, RestVendor& vendor);
  ~RestClient();

  // Sends the request; returns a 2xx answer, throws CallError for others (after retries of transient
  // ones) and hoist::Error for transport failures, with `what` and the array in the message.
  Response Call(const Request& request, std::string_view what);
  // Call, with the body parsed as JSON (an empty body is an empty object).
  nlohmann::json CallJson(const Request& request, std::string_view what);

  const std::string& host() const { return host_; }  // "10.0.0.5:8080", for messages
  const std::string& vendor() const { return options_.vendor; }

 private:
  RestOptions options_;
  RestVendor& vendor_;
  std::string host_;
  std::unique_ptr<net::HttpClient> http_;
};

// `name=value&…` with values percent-encoded.
std::string Query(std::initializer_list<std::pair<std::string_view, std::string_view>> params);
// The first 200 characters of a body on one line, for messages.
std::string Snippet(std::string_view body);
// The `Authorization` value of HTTP Basic.
std::string BasicAuth(std::string_view user, std::string_view password);
// "host:port" of a URL, for messages.
std::string HostOf(std::string_view url);

// The message of a refused call, the same for every vendor: "<what> on <array>: HTTP <status> <the
// array's words>[ — <hint>]", `array` being "<vendor> <host>"; without words (a body not in the
// vendor's error shape), the body's first characters stand in for them.
std::string RefusalMessage(std::string_view what, std::string_view array, int status, std::string_view body,
                           std::string_view array_words, std::string_view hint);
// How a refusal is classed unless the vendor knows better: 409 (a conflict that may clear), 429 and
// 5xx are kTransient; other answers (401, 403, 404, bad input) kPrecondition.
ErrorClass RefusalClass(int status);
// The hint of a 401.
inline constexpr std::string_view kCheckCredentials =
    "check STORAGE_USERNAME and STORAGE_PASSWORD in the storage secret";

// A value looked up on the array once and kept (the SVM, the storage system id). Thread-safe; a
// lookup that throws leaves it unset, so the next call tries again.
class CachedValue {
 public:
  std::string Get(const std::function<std::string()>& lookup);

 private:
  std::mutex mu_;
  std::string value_;
};

}  // namespace hoist::storage::common

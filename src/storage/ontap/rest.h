#pragma once
// ONTAP REST transport: HTTP Basic on every call, JSON bodies, `_links.next` pagination, ONTAP's
// error body {"error":{"code","message","target"}} turned into hoist::Error, and bounded retries of
// transient failures (5xx, 429, transport errors, timeouts).
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.h"
#include "net/http_client.h"

namespace hoist::storage::ontap {

// What ONTAP said in an error response. Fields are empty when the body is not ONTAP's error shape.
struct ApiError {
  int status = 0;
  std::string code;     // ONTAP's numeric error code, as a string ("4", "5374922")
  std::string message;  // "entry doesn't exist"
  std::string target;   // the field the error is about, when ONTAP names one
};
ApiError ParseApiError(int status, std::string_view body);

// ONTAP error code for an object that already exists ("duplicate entry").
inline constexpr std::string_view kDuplicateEntryCode = "1";

// A failed ONTAP call. `what` is the operation as the message shows it ("creating igroup x").
class CallError : public Error {
 public:
  CallError(ErrorClass cls, std::string message, ApiError api)
      : Error(cls, std::move(message)), api_(std::move(api)) {}
  const ApiError& api() const { return api_; }
  // 409, or ONTAP's duplicate-entry code: the object is already there.
  bool already_exists() const;
  bool not_found() const { return api_.status == 404; }

 private:
  ApiError api_;
};

// The hoist::Error for a non-2xx answer: 401/403 and other 4xx are kPrecondition, 409/429/5xx
// kTransient. The message names the operation, the ONTAP host and what ONTAP said, with a hint.
CallError ErrorFromResponse(std::string_view what, std::string_view host, int status, std::string_view body);

struct RestOptions {
  std::string base_url;  // https://host[:port]
  std::string username;
  std::string password;
  net::TlsClientOptions tls;
  std::chrono::milliseconds timeout{60000};
  int max_attempts = 4;                     // per call, for transient failures
  std::chrono::milliseconds backoff{1000};  // doubled after each failed attempt
};

class RestClient {
 public:
  explicit RestClient(RestOptions options);
  ~RestClient();

  // `path` starts with /api and carries an encoded query. `what` describes the operation for messages.
  nlohmann::json Get(const std::string& path, std::string_view what);
  // Every record of a collection, following `_links.next`.
  std::vector<nlohmann::json> GetRecords(const std::string& path, std::string_view what);
  nlohmann::json Post(const std::string& path, const nlohmann::json& body, std::string_view what);
  void Delete(const std::string& path, std::string_view what);

  // The host part of the base URL, for messages ("10.0.0.5", "127.0.0.1:4443").
  const std::string& host() const { return host_; }

 private:
  nlohmann::json Call(const std::string& method, const std::string& path, const std::string* body,
                      std::string_view what);

  RestOptions options_;
  std::string host_;
  std::string auth_header_;
  std::unique_ptr<net::HttpClient> http_;
};

// `name=value&…` with values percent-encoded.
std::string Query(std::initializer_list<std::pair<std::string_view, std::string_view>> params);

}  // namespace hoist::storage::ontap

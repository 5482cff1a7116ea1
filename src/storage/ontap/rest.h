#pragma once
// ONTAP's REST transport on the shared one (storage/common/rest.h: TLS from the secret, retries of
// 429/5xx and transport failures, JSON answers): HTTP Basic on every call (ONTAP keeps no session),
// collections read to the end through `_links.next`, and ONTAP's error body
// {"error":{"code","message","target"}} in the error's message and code.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "storage/common/rest.h"

namespace hoist::storage {
struct ArrayConfig;
}

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

// A failed ONTAP call: the HTTP status and ONTAP's code.
using CallError = common::CallError;
// 409, or ONTAP's duplicate-entry code: the object is already there.
bool AlreadyExists(const CallError& e);

// The error for a non-2xx answer: 401/403 and other 4xx are kPrecondition, 409/429/5xx kTransient.
// The message names the operation, the ONTAP host and what ONTAP said, with a hint.
CallError ErrorFromResponse(std::string_view what, std::string_view host, int status, std::string_view body);

// Retry knobs (tests shorten them).
using Tuning = common::Tuning;
using common::Query;

class RestClient : private common::RestVendor {
 public:
  RestClient(const ArrayConfig& config, const Tuning& tuning);

  // `path` starts with /api and carries an encoded query. `what` describes the operation for messages.
  nlohmann::json Get(const std::string& path, std::string_view what);
  // Every record of a collection, following `_links.next`.
  std::vector<nlohmann::json> GetRecords(const std::string& path, std::string_view what);
  nlohmann::json Post(const std::string& path, const nlohmann::json& body, std::string_view what);
  void Delete(const std::string& path, std::string_view what);

  // The host part of the base URL, for messages ("10.0.0.5", "127.0.0.1:4443").
  const std::string& host() const { return rest_.host(); }

 private:
  // RestVendor: the same credentials on every call; 401 means they are wrong, not that a session ended.
  void Authorize(net::HttpRequest& request) override;
  bool SessionExpired(const common::Response&) override { return false; }
  void Relogin() override {}
  common::CallError ErrorFor(std::string_view what, const common::Response& response) override;

  std::string authorization_;
  common::RestClient rest_;
};

}  // namespace hoist::storage::ontap

#pragma once
// Typed Kubernetes API errors. The API server answers failures with a `Status` object
// ({"kind":"Status","code":409,"reason":"Conflict","message":...}); ApiError carries its HTTP code,
// reason and message, and a retry class decided from them:
//   Conflict, TooManyRequests, 5xx, ServerTimeout/Timeout   → kTransient
//   NotFound, AlreadyExists, Invalid, Forbidden, Unauthorized,
//   BadRequest, Gone, MethodNotAllowed, ...                   → kPrecondition
// A Conflict is only worth retrying after re-reading the object: use RetryOnConflict.
// Messages never contain credentials: they are built from the request line and the Status only.
#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace hoist::kube {

enum class Reason {
  kUnknown,
  kBadRequest,
  kUnauthorized,
  kForbidden,
  kNotFound,
  kMethodNotAllowed,
  kAlreadyExists,
  kConflict,
  kGone,
  kExpired,
  kInvalid,
  kRequestEntityTooLarge,
  kUnsupportedMediaType,
  kNotAcceptable,
  kTooManyRequests,
  kInternalError,
  kServerTimeout,
  kTimeout,
  kServiceUnavailable,
};

// The StatusReason spelling ("NotFound", ...); "Unknown" for kUnknown.
std::string_view ReasonName(Reason reason);
// Parses a StatusReason; unknown strings give kUnknown.
Reason ParseReason(std::string_view name);
// The reason Kubernetes implies for an HTTP code when a Status does not name one.
Reason ReasonForCode(int http_code);
// The retry class for a code/reason pair (see the table above).
ErrorClass ClassifyApiError(int http_code, Reason reason);

class ApiError : public Error {
 public:
  // `what` is the full message; `status_message` is the API server's own message.
  ApiError(int code, Reason reason, std::string status_message, std::string what,
           std::chrono::milliseconds retry_after = std::chrono::milliseconds(0));
  int code() const { return code_; }
  Reason reason() const { return reason_; }
  const std::string& status_message() const { return status_message_; }
  // From the Retry-After header or Status details.retryAfterSeconds; zero when absent.
  std::chrono::milliseconds retry_after() const { return retry_after_; }

 private:
  int code_;
  Reason reason_;
  std::string status_message_;
  std::chrono::milliseconds retry_after_;
};

// Builds the error for a failed request. `action` names what was done ("get persistentvolumeclaims
// ns1/pvc-a"); `body` is the response body (a Status object or anything else); `retry_after_header` is
// the Retry-After header value (seconds), if any.
ApiError ErrorFromResponse(std::string_view action, int http_code, std::string_view body,
                           std::string_view retry_after_header = "");
// Builds the error for a Status object received inside a watch stream (an ERROR event).
ApiError ErrorFromStatusJson(std::string_view action, std::string_view status_json);

// Classification helpers; false for anything that is not an ApiError.
const ApiError* AsApiError(const std::exception& e);
bool IsNotFound(const std::exception& e);
bool IsAlreadyExists(const std::exception& e);
bool IsConflict(const std::exception& e);
bool IsGone(const std::exception& e);  // Gone or Expired (resourceVersion too old)
bool IsForbidden(const std::exception& e);
bool IsUnauthorized(const std::exception& e);
bool IsInvalid(const std::exception& e);
bool IsBadRequest(const std::exception& e);
bool IsTooManyRequests(const std::exception& e);
bool IsServerError(const std::exception& e);  // 5xx, ServerTimeout, Timeout

struct ConflictRetry {
  int attempts = 5;  // client-go's retry.DefaultRetry
  std::chrono::milliseconds delay{10};
};

// Runs `fn` (which must re-read the object it updates) until it does not throw a Conflict, at most
// `retry.attempts` times; the last Conflict is rethrown. Other errors propagate at once.
void RetryOnConflict(const std::function<void()>& fn, ConflictRetry retry = {});

}  // namespace hoist::kube

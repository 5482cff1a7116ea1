#include "kube/errors.h"

#include <charconv>
#include <thread>

#include <nlohmann/json.hpp>

namespace hoist::kube {

namespace {

struct ReasonEntry {
  Reason reason;
  std::string_view name;
};

constexpr ReasonEntry kReasons[] = {
    {Reason::kUnknown, "Unknown"},
    {Reason::kBadRequest, "BadRequest"},
    {Reason::kUnauthorized, "Unauthorized"},
    {Reason::kForbidden, "Forbidden"},
    {Reason::kNotFound, "NotFound"},
    {Reason::kMethodNotAllowed, "MethodNotAllowed"},
    {Reason::kAlreadyExists, "AlreadyExists"},
    {Reason::kConflict, "Conflict"},
    {Reason::kGone, "Gone"},
    {Reason::kExpired, "Expired"},
    {Reason::kInvalid, "Invalid"},
    {Reason::kRequestEntityTooLarge, "RequestEntityTooLarge"},
    {Reason::kUnsupportedMediaType, "UnsupportedMediaType"},
    {Reason::kNotAcceptable, "NotAcceptable"},
    {Reason::kTooManyRequests, "TooManyRequests"},
    {Reason::kInternalError, "InternalError"},
    {Reason::kServerTimeout, "ServerTimeout"},
    {Reason::kTimeout, "Timeout"},
    {Reason::kServiceUnavailable, "ServiceUnavailable"},
};

// What an administrator should look at, per reason.
std::string_view Hint(Reason reason) {
  switch (reason) {
    case Reason::kUnauthorized:
      return " — check the credentials (token, client certificate) of the kubeconfig user or service account";
    case Reason::kForbidden:
      return " — check the RBAC Role/ClusterRole bound to this user or service account";
    case Reason::kTooManyRequests:
      return " — the API server is throttling requests (API Priority and Fairness)";
    case Reason::kServiceUnavailable:
    case Reason::kServerTimeout:
    case Reason::kTimeout:
    case Reason::kInternalError:
      return " — the API server is unhealthy or overloaded; the request will be retried";
    default:
      return "";
  }
}

std::chrono::milliseconds ParseRetryAfter(std::string_view header) {
  int seconds = 0;
  auto [ptr, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (ec != std::errc() || seconds < 0) return std::chrono::milliseconds(0);
  return std::chrono::seconds(seconds);
}

ApiError Build(std::string_view action, int code, Reason reason, std::string message,
               std::chrono::milliseconds retry_after) {
  std::string what = "kubernetes: ";
  what.append(action);
  what.append(": ");
  what.append(std::to_string(code));
  what.append(" ");
  what.append(ReasonName(reason));
  if (!message.empty()) {
    what.append(": ");
    what.append(message);
  }
  what.append(Hint(reason));
  return ApiError(code, reason, std::move(message), std::move(what), retry_after);
}

// Fills code/reason/message/retry from a Status object; returns false when `body` is not one.
bool ParseStatus(std::string_view body, int* code, Reason* reason, std::string* message,
                 std::chrono::milliseconds* retry_after) {
  nlohmann::json status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object() || status.value("kind", "") != "Status") return false;
  if (status.contains("code") && status["code"].is_number_integer()) {
    int c = status["code"].get<int>();
    if (c != 0) *code = c;
  }
  *reason = ParseReason(status.value("reason", ""));
  *message = status.value("message", "");
  if (status.contains("details") && status["details"].is_object()) {
    const auto& details = status["details"];
    if (details.contains("retryAfterSeconds") && details["retryAfterSeconds"].is_number_integer()) {
      *retry_after = std::chrono::seconds(details["retryAfterSeconds"].get<int>());
    }
  }
  return true;
}

}  // namespace

std::string_view ReasonName(Reason reason) {
  for (const auto& e : kReasons) {
    if (e.reason == reason) return e.name;
  }
  return "Unknown";
}

Reason ParseReason(std::string_view name) {
  for (const auto& e : kReasons) {
    if (e.name == name) return e.reason;
  }
  return Reason::kUnknown;
}

Reason ReasonForCode(int code) {
  switch (code) {
    case 400:
      return Reason::kBadRequest;
    case 401:
      return Reason::kUnauthorized;
    case 403:
      return Reason::kForbidden;
    case 404:
      return Reason::kNotFound;
    case 405:
      return Reason::kMethodNotAllowed;
    case 406:
      return Reason::kNotAcceptable;
    case 409:
      return Reason::kConflict;
    case 410:
      return Reason::kGone;
    case 413:
      return Reason::kRequestEntityTooLarge;
    case 415:
      return Reason::kUnsupportedMediaType;
    case 422:
      return Reason::kInvalid;
    case 429:
      return Reason::kTooManyRequests;
    case 500:
      return Reason::kInternalError;
    case 503:
      return Reason::kServiceUnavailable;
    case 504:
      return Reason::kTimeout;
    default:
      return Reason::kUnknown;
  }
}

ErrorClass ClassifyApiError(int code, Reason reason) {
  switch (reason) {
    case Reason::kConflict:
    case Reason::kTooManyRequests:
    case Reason::kInternalError:
    case Reason::kServerTimeout:
    case Reason::kTimeout:
    case Reason::kServiceUnavailable:
      return ErrorClass::kTransient;
    case Reason::kUnknown:
      break;
    default:
      return ErrorClass::kPrecondition;
  }
  if (code >= 500 || code == 429 || code == 409) return ErrorClass::kTransient;
  return ErrorClass::kPrecondition;
}

ApiError::ApiError(int code, Reason reason, std::string status_message, std::string what,
                   std::chrono::milliseconds retry_after)
    : Error(ClassifyApiError(code, reason), std::move(what)),
      code_(code),
      reason_(reason),
      status_message_(std::move(status_message)),
      retry_after_(retry_after) {}

ApiError ErrorFromResponse(std::string_view action, int http_code, std::string_view body,
                           std::string_view retry_after_header) {
  int code = http_code;
  Reason reason = Reason::kUnknown;
  std::string message;
  std::chrono::milliseconds retry_after = ParseRetryAfter(retry_after_header);
  std::chrono::milliseconds status_retry(0);
  if (!ParseStatus(body, &code, &reason, &message, &status_retry)) {
    // Not a Status (a proxy's HTML page, "404 page not found" for an API group that is not served):
    // keep a short, printable excerpt.
    std::string excerpt(body.substr(0, 200));
    for (char& c : excerpt) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    while (!excerpt.empty() && excerpt.back() == ' ') excerpt.pop_back();
    message = excerpt;
  }
  if (reason == Reason::kUnknown) reason = ReasonForCode(code);
  if (retry_after.count() == 0) retry_after = status_retry;
  return Build(action, code, reason, std::move(message), retry_after);
}

ApiError ErrorFromStatusJson(std::string_view action, std::string_view status_json) {
  int code = 500;
  Reason reason = Reason::kUnknown;
  std::string message;
  std::chrono::milliseconds retry_after(0);
  if (!ParseStatus(status_json, &code, &reason, &message, &retry_after)) {
    message = "watch ERROR event without a Status object";
  }
  if (reason == Reason::kUnknown) reason = ReasonForCode(code);
  return Build(action, code, reason, std::move(message), retry_after);
}

const ApiError* AsApiError(const std::exception& e) { return dynamic_cast<const ApiError*>(&e); }

namespace {
bool HasReason(const std::exception& e, Reason reason) {
  const ApiError* api = AsApiError(e);
  return api != nullptr && api->reason() == reason;
}
}  // namespace

bool IsNotFound(const std::exception& e) { return HasReason(e, Reason::kNotFound); }
bool IsAlreadyExists(const std::exception& e) { return HasReason(e, Reason::kAlreadyExists); }
bool IsConflict(const std::exception& e) { return HasReason(e, Reason::kConflict); }
bool IsGone(const std::exception& e) { return HasReason(e, Reason::kGone) || HasReason(e, Reason::kExpired); }
bool IsForbidden(const std::exception& e) { return HasReason(e, Reason::kForbidden); }
bool IsUnauthorized(const std::exception& e) { return HasReason(e, Reason::kUnauthorized); }
bool IsInvalid(const std::exception& e) { return HasReason(e, Reason::kInvalid); }
bool IsBadRequest(const std::exception& e) { return HasReason(e, Reason::kBadRequest); }
bool IsTooManyRequests(const std::exception& e) { return HasReason(e, Reason::kTooManyRequests); }
bool IsServerError(const std::exception& e) {
  const ApiError* api = AsApiError(e);
  if (api == nullptr) return false;
  return api->code() >= 500 || api->reason() == Reason::kServerTimeout || api->reason() == Reason::kTimeout ||
         api->reason() == Reason::kInternalError || api->reason() == Reason::kServiceUnavailable;
}

void RetryOnConflict(const std::function<void()>& fn, ConflictRetry retry) {
  for (int attempt = 1;; ++attempt) {
    try {
      fn();
      return;
    } catch (const ApiError& e) {
      if (e.reason() != Reason::kConflict || attempt >= retry.attempts) throw;
    }
    std::this_thread::sleep_for(retry.delay);
  }
}

}  // namespace hoist::kube

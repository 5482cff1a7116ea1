#pragma once
// hoist's one error mechanism: exceptions that carry a class decided where the failure happens.
// The class drives what callers do (see ../shared/design/style.md "Errors"):
//   kTransient    — network trouble, 5xx, 409 conflict, "try again": retry with backoff.
//   kPrecondition — the user must fix something (missing secret key, VAAI off): do not retry.
//   kBug          — an impossible state: fail loudly.
//   kCancelled    — the operation was stopped (shutdown, SIGTERM).
#include <stdexcept>
#include <string>
#include <string_view>

namespace hoist {

enum class ErrorClass { kTransient, kPrecondition, kBug, kCancelled };

std::string_view ErrorClassName(ErrorClass c);

class Error : public std::runtime_error {
 public:
  Error(ErrorClass cls, std::string message) : std::runtime_error(std::move(message)), class_(cls) {}
  ErrorClass error_class() const { return class_; }
  bool retryable() const { return class_ == ErrorClass::kTransient; }

 private:
  ErrorClass class_;
};

// Shorthands that read well at the throw site: `throw TransientError("...")`.
inline Error TransientError(std::string m) { return Error(ErrorClass::kTransient, std::move(m)); }
inline Error PreconditionError(std::string m) { return Error(ErrorClass::kPrecondition, std::move(m)); }
inline Error BugError(std::string m) { return Error(ErrorClass::kBug, std::move(m)); }
inline Error CancelledError(std::string m) { return Error(ErrorClass::kCancelled, std::move(m)); }

}  // namespace hoist

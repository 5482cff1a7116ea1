#include "core/error.h"

namespace hoist {

std::string_view ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kTransient:
      return "transient";
    case ErrorClass::kPrecondition:
      return "precondition";
    case ErrorClass::kBug:
      return "bug";
    case ErrorClass::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace hoist

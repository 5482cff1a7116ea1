#pragma once
// Small text helpers shared by every layer.
#include <string>
#include <string_view>

namespace hoist {

// Escapes text for XML element content and attribute values (&, <, >, ", ').
std::string XmlEscape(std::string_view text);

}  // namespace hoist

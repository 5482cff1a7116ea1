#pragma once
// Small text helpers shared by every layer.
#include <string>
#include <string_view>
#include <vector>

namespace hoist {

// Escapes text for XML element content and attribute values (&, <, >, ", ').
std::string XmlEscape(std::string_view text);

// ASCII lower case (names, ids, header values; not locale text).
std::string AsciiLower(std::string_view s);

// The parts with `sep` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view sep = ", ");

}  // namespace hoist

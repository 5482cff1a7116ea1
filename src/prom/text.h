#pragma once
// Pieces of the Prometheus text exposition format 0.0.4 shared by the exposition and the parser:
// value formatting, escaping, name validation.
#include <optional>
#include <string>
#include <string_view>

namespace hoist::prom {

// A sample value as Prometheus writes and reads it: "NaN", "+Inf", "-Inf"; integral values below
// 2^53 without exponent or fraction ("1048576"); anything else in the shortest form that parses back
// to the same double ("0.25", "1e-05", "1.8446744073709552e+19").
std::string FormatValue(double value);

// Parses a sample value: decimal or exponent notation with optional sign, "NaN", "Inf", "+Inf",
// "-Inf" (case-insensitive, as Go's strconv.ParseFloat). nullopt when malformed.
std::optional<double> ParseValue(std::string_view text);

// Label value escaping: backslash, double quote and line feed become \\, \" and \n.
std::string EscapeLabelValue(std::string_view value);
// HELP text escaping: backslash and line feed become \\ and \n.
std::string EscapeHelp(std::string_view help);

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]* (the registry additionally refuses names starting with "__", which
// Prometheus reserves for itself).
bool IsValidLabelName(std::string_view name);

}  // namespace hoist::prom

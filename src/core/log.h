#pragma once
// Structured logging: one line per record, `time level message key=value ...` (text) or one JSON
// object per line (json). Values are quoted when they contain spaces. Never log a secret: callers pass
// only names of secrets, never their values.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace hoist::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <typename N, typename = std::enable_if_t<std::is_arithmetic_v<N>>>
  Field(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

void SetLevel(Level level);
void SetFormat(Format format);
Level ParseLevel(std::string_view name);  // "debug", "info", "warn", "error"; unknown → info
bool Enabled(Level level);

void Write(Level level, std::string_view component, std::string_view message, std::initializer_list<Field> fields);

inline void Debug(std::string_view component, std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, component, msg, f);
}
inline void Info(std::string_view component, std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, component, msg, f);
}
inline void Warn(std::string_view component, std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, component, msg, f);
}
inline void Error(std::string_view component, std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kError)) Write(Level::kError, component, msg, f);
}

}  // namespace hoist::log

#pragma once
// Types shared by hoist's HTTP client and server.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hoist::net {

// Header names compare case-insensitively; order is kept.
class Headers {
 public:
  void Add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  void Set(std::string_view name, std::string value);
  // First value of `name`, or empty when absent.
  std::string Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Percent-decoding and encoding of URL components.
std::string UrlDecode(std::string_view s, bool plus_as_space = true);
std::string UrlEncode(std::string_view s);

std::string_view StatusText(int status);

}  // namespace hoist::net

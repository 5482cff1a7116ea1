#include "storage/config.h"

#include <cctype>

#include "core/error.h"

namespace hoist::storage {
namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lookup(const std::map<std::string, std::string>& data, const std::string& key,
                   const char* alias) {
  auto it = data.find(key);
  if (it != data.end()) return Trim(it->second);
  if (alias != nullptr) {
    it = data.find(alias);
    if (it != data.end()) return Trim(it->second);
  }
  return "";
}

bool ParseBool(const std::string& key, const std::string& value) {
  std::string v;
  for (char c : value) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v.empty() || v == "false" || v == "0" || v == "no") return false;
  if (v == "true" || v == "1" || v == "yes") return true;
  throw PreconditionError("storage secret key " + key + " must be true or false, not \"" + value + "\"");
}

}  // namespace

std::string ArrayConfig::BaseUrl() const {
  std::string host = hostname;
  while (!host.empty() && host.back() == '/') host.pop_back();
  if (host.rfind("https://", 0) == 0 || host.rfind("http://", 0) == 0) return host;
  return "https://" + host;
}

std::string ArrayConfig::Get(const std::string& key, const std::string& fallback) const {
  auto it = values.find(key);
  if (it == values.end() || Trim(it->second).empty()) return fallback;
  return Trim(it->second);
}

ArrayConfig ArrayConfigFromSecret(const std::map<std::string, std::string>& data) {
  ArrayConfig c;
  c.values = data;
  c.hostname = Lookup(data, "STORAGE_HOSTNAME", "management_address");
  c.username = Lookup(data, "STORAGE_USERNAME", "username");
  c.password = Lookup(data, "STORAGE_PASSWORD", "password");
  c.token = Lookup(data, "STORAGE_TOKEN", nullptr);
  c.skip_tls_verify =
      ParseBool("STORAGE_SKIP_SSL_VERIFICATION", Lookup(data, "STORAGE_SKIP_SSL_VERIFICATION", nullptr));
  c.ca_pem = Lookup(data, "STORAGE_CA_CERT", nullptr);
  std::string timeout = Lookup(data, "STORAGE_HTTP_TIMEOUT_SECONDS", nullptr);
  if (!timeout.empty()) {
    size_t used = 0;
    long seconds = 0;
    try {
      seconds = std::stol(timeout, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != timeout.size() || seconds <= 0) {
      throw PreconditionError(
          "storage secret key STORAGE_HTTP_TIMEOUT_SECONDS must be a positive number of "
          "seconds, not \"" +
          timeout + "\"");
    }
    c.http_timeout = std::chrono::seconds(seconds);
  }
  if (c.hostname.empty()) {
    throw PreconditionError(
        "the storage secret has no STORAGE_HOSTNAME: set it to the array's management "
        "address");
  }
  if (c.token.empty() && (c.username.empty() || c.password.empty())) {
    throw PreconditionError(std::string("the storage secret has no ") +
                            (c.username.empty() ? "STORAGE_USERNAME" : "STORAGE_PASSWORD") +
                            ": set the array user's name and password (or STORAGE_TOKEN for arrays that use "
                            "API tokens)");
  }
  return c;
}

}  // namespace hoist::storage

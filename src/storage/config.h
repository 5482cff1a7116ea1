#pragma once
// Array connection settings, read from the vendor secret the user names in the StorageMap.
#include <chrono>
#include <map>
#include <string>

namespace hoist::storage {

struct ArrayConfig {
  std::string
      hostname;  // STORAGE_HOSTNAME (alias management_address): host, host:port or https://host[:port]
  std::string username;          // STORAGE_USERNAME (alias username)
  std::string password;          // STORAGE_PASSWORD (alias password); never logged or put in a message
  std::string token;             // STORAGE_TOKEN (Pure API token); a secret too
  bool skip_tls_verify = false;  // STORAGE_SKIP_SSL_VERIFICATION=true|1|yes
  std::string ca_pem;            // STORAGE_CA_CERT: PEM certificates to trust instead of the system's
  std::chrono::milliseconds http_timeout{60000};  // STORAGE_HTTP_TIMEOUT_SECONDS
  // Every key of the secret, for vendor keys (ONTAP_SVM, STORAGE_PORT, STORAGE_ID, HOSTGROUP_ID_LIST,
  // POWERFLEX_SYSTEM_ID…).
  std::map<std::string, std::string> values;

  // The base URL `https://<hostname>` (a scheme in `hostname` is kept).
  std::string BaseUrl() const;
  // Value of a vendor key, or `fallback`.
  std::string Get(const std::string& key, const std::string& fallback = "") const;
};

// Reads the secret's data (already base64-decoded). Keys may appear under their aliases; values are
// trimmed of surrounding whitespace. Missing STORAGE_HOSTNAME, or neither a user name and password nor a
// token, is kPrecondition naming the missing key (never a value).
ArrayConfig ArrayConfigFromSecret(const std::map<std::string, std::string>& data);

}  // namespace hoist::storage

#include "planner/secret.h"

#include "net/tls.h"

namespace hoist::planner {

namespace {

bool NonEmpty(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it != m.end() && !it->second.empty();
}

}  // namespace

std::string VsphereHostname(std::string_view url) {
  std::string_view rest = url;
  std::string_view scheme = "https";
  if (auto p = rest.find("://"); p != std::string_view::npos) {
    scheme = rest.substr(0, p);
    rest = rest.substr(p + 3);
  }
  std::string_view hostport = rest, path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    path = rest.substr(slash);
  }
  if (auto at = hostport.rfind('@'); at != std::string_view::npos) hostport = hostport.substr(at + 1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (scheme != "https" || !(path.empty() || path == "/sdk")) {
    // Keep what the default would lose, without credentials in the URL.
    return std::string(scheme) + "://" + std::string(hostport) + (path.empty() ? "/sdk" : std::string(path));
  }
  if (hostport.size() > 4 && hostport.substr(hostport.size() - 4) == ":443") hostport.remove_suffix(4);
  return std::string(hostport);
}

std::map<std::string, std::string> MergeDiskSecret(const DiskSecretInputs& in) {
  std::map<std::string, std::string> out = in.storage_secret;
  auto alias = [&](const char* target, const char* from) {
    if (!NonEmpty(out, target) && NonEmpty(in.storage_secret, from)) out[target] = in.storage_secret.at(from);
  };
  alias("STORAGE_HOSTNAME", "management_address");
  alias("STORAGE_USERNAME", "username");
  alias("STORAGE_PASSWORD", "password");

  auto from_provider = [&](const char* target, const char* from) {
    auto it = in.provider_secret.find(from);
    if (it != in.provider_secret.end()) out[target] = it->second;
  };
  from_provider("GOVMOMI_USERNAME", "user");
  from_provider("GOVMOMI_PASSWORD", "password");
  from_provider("GOVMOMI_INSECURE", "insecureSkipVerify");
  from_provider("cacert", "cacert");
  out["GOVMOMI_HOSTNAME"] = VsphereHostname(in.provider_url);

  out["ESXI_CLONE_METHOD"] = in.clone_method.empty() ? "vib" : in.clone_method;
  if (!in.lease_namespace.empty()) out["HOST_LEASE_NAMESPACE"] = in.lease_namespace;
  if (in.lease_duration_seconds > 0) out["HOST_LEASE_DURATION_SECONDS"] = std::to_string(in.lease_duration_seconds);
  if (in.ssh_private_key) out["SSH_PRIVATE_KEY"] = net::Base64Encode(*in.ssh_private_key);
  if (in.ssh_public_key) out["SSH_PUBLIC_KEY"] = net::Base64Encode(*in.ssh_public_key);
  return out;
}

std::vector<std::string> MissingStorageKeys(const std::map<std::string, std::string>& s) {
  std::vector<std::string> missing;
  if (!NonEmpty(s, "STORAGE_HOSTNAME") && !NonEmpty(s, "management_address")) {
    missing.push_back("STORAGE_HOSTNAME (or management_address)");
  }
  if (!NonEmpty(s, "STORAGE_TOKEN")) {
    if (!NonEmpty(s, "STORAGE_USERNAME") && !NonEmpty(s, "username")) missing.push_back("STORAGE_USERNAME (or username)");
    if (!NonEmpty(s, "STORAGE_PASSWORD") && !NonEmpty(s, "password")) missing.push_back("STORAGE_PASSWORD (or password)");
  }
  return missing;
}

std::vector<std::string> MissingProviderKeys(const std::map<std::string, std::string>& p) {
  std::vector<std::string> missing;
  if (!NonEmpty(p, "user")) missing.push_back("user");
  if (!NonEmpty(p, "password")) missing.push_back("password");
  return missing;
}

}  // namespace hoist::planner

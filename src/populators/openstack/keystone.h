#pragma once
// Keystone v3 authentication and the service catalog, as Forklift's OpenStack populator reads its
// secret (gophercloud's AuthOptions): password, token or application-credential authentication;
// user, project and domain by name or id (with domainName/domainID and defaultDomain as fallbacks);
// project, domain or system scope; endpoint selection by service type, interface and region.
#include <mutex>
#include <string>
#include <vector>

namespace hoist::net {
class HttpClient;
}

namespace hoist::populators::openstack {

// The secret's keys (environment variables of the populator pod).
struct Credentials {
  std::string auth_type;  // "" or "password", "token", "applicationcredential"
  std::string username, user_id, password;
  std::string application_credential_id, application_credential_name, application_credential_secret;
  std::string token;
  std::string system_scope;  // "all" for a system-scoped token
  std::string project_name, project_id;
  std::string user_domain_name, user_domain_id;
  std::string project_domain_name, project_domain_id;
  std::string domain_name, domain_id;
  std::string default_domain;
  std::string region_name;
  std::string availability;  // endpoint interface: public (default), internal, admin

  static Credentials FromEnvironment();
};

// The JSON body of POST /v3/auth/tokens. Throws PreconditionError naming the missing secret keys.
std::string AuthRequestBody(const Credentials& credentials);

struct Endpoint {
  std::string interface;
  std::string region;  // region_id (or the older `region`)
  std::string url;
};
struct CatalogService {
  std::string type;
  std::string name;
  std::vector<Endpoint> endpoints;
};
// Parses `token.catalog` of a token response.
std::vector<CatalogService> ParseCatalog(const std::string& token_response);
// The URL of `type`'s endpoint with `interface` in `region` ("" = any region). Throws
// PreconditionError listing the endpoints the catalog has.
std::string SelectEndpoint(const std::vector<CatalogService>& catalog, const std::string& type,
                           const std::string& interface, const std::string& region);

// `…/v3` of an identity URL given with or without the version (`https://keystone:5000[/v3][/]`).
std::string IdentityV3Url(const std::string& identity_url);

class Keystone {
 public:
  Keystone(net::HttpClient& client, std::string identity_url, Credentials credentials);

  // Obtains a token and the catalog. Throws PreconditionError when Keystone refuses the credentials,
  // TransientError when it cannot be reached or answers 5xx.
  void Authenticate();
  // Authenticates again unless another caller already replaced `failed_token`; true when a new token
  // may help (with a fixed `token` credential it cannot).
  bool Reauthenticate(const std::string& failed_token);

  std::string token() const;
  std::vector<CatalogService> catalog() const;
  std::string EndpointFor(const std::string& type) const;
  const std::string& v3_url() const { return v3_url_; }

 private:
  net::HttpClient& client_;
  std::string v3_url_;
  Credentials credentials_;
  mutable std::mutex mu_;
  std::string token_;
  std::vector<CatalogService> catalog_;
};

}  // namespace hoist::populators::openstack

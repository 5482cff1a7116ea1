#include "populators/openstack/keystone.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "net/http_client.h"
#include "populators/common/options.h"

namespace hoist::populators::openstack {
namespace {

using nlohmann::json;

// {"id": …} or {"name": …} of a domain, following gophercloud: the specific keys first, then
// domainID/domainName, then defaultDomain (an id).
json DomainRef(const std::string& id, const std::string& name, const Credentials& c) {
  if (!id.empty()) return {{"id", id}};
  if (!name.empty()) return {{"name", name}};
  if (!c.domain_id.empty()) return {{"id", c.domain_id}};
  if (!c.domain_name.empty()) return {{"name", c.domain_name}};
  if (!c.default_domain.empty()) return {{"id", c.default_domain}};
  return nullptr;
}

json UserRef(const Credentials& c, const char* method) {
  if (!c.user_id.empty()) return {{"id", c.user_id}};
  if (c.username.empty()) {
    throw PreconditionError(std::string("Keystone ") + method +
                            " authentication needs the secret key userID, or username with a domain "
                            "(userDomainName, userDomainID, domainName, domainID or defaultDomain)");
  }
  json domain = DomainRef(c.user_domain_id, c.user_domain_name, c);
  if (domain.is_null()) {
    throw PreconditionError(std::string("Keystone ") + method + " authentication of user '" + c.username +
                            "' needs the user's domain: set userDomainName, userDomainID, domainName, "
                            "domainID or defaultDomain in the secret");
  }
  return {{"name", c.username}, {"domain", domain}};
}

json Scope(const Credentials& c) {
  if (!c.system_scope.empty()) return {{"system", {{AsciiLower(c.system_scope), true}}}};
  if (!c.project_id.empty()) return {{"project", {{"id", c.project_id}}}};
  if (!c.project_name.empty()) {
    json domain = DomainRef(c.project_domain_id, c.project_domain_name, c);
    if (domain.is_null()) {
      throw PreconditionError("Keystone project scope '" + c.project_name +
                              "' needs the project's domain: set projectDomainName, projectDomainID, "
                              "domainName, domainID or defaultDomain in the secret");
    }
    return {{"project", {{"name", c.project_name}, {"domain", domain}}}};
  }
  // No project: a domain-scoped token when a domain is named, else unscoped.
  if (!c.domain_id.empty()) return {{"domain", {{"id", c.domain_id}}}};
  if (!c.domain_name.empty()) return {{"domain", {{"name", c.domain_name}}}};
  return nullptr;
}

std::string KeystoneMessage(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.contains("error") && j["error"].is_object()) return j["error"].value("message", "");
  } catch (...) {
  }
  return body.substr(0, 200);
}

}  // namespace

Credentials Credentials::FromEnvironment() {
  Credentials c;
  c.auth_type = Env("authType");
  c.username = Env("username");
  c.user_id = Env("userID");
  c.password = Env("password");
  c.application_credential_id = Env("applicationCredentialID");
  c.application_credential_name = Env("applicationCredentialName");
  c.application_credential_secret = Env("applicationCredentialSecret");
  c.token = Env("token");
  c.system_scope = Env("systemScope");
  c.project_name = Env("projectName");
  c.project_id = Env("projectID");
  c.user_domain_name = Env("userDomainName");
  c.user_domain_id = Env("userDomainID");
  c.project_domain_name = Env("projectDomainName");
  c.project_domain_id = Env("projectDomainID");
  c.domain_name = Env("domainName");
  c.domain_id = Env("domainID");
  c.default_domain = Env("defaultDomain");
  c.region_name = Env("regionName");
  c.availability = Env("availability");
  return c;
}

std::string AuthRequestBody(const Credentials& c) {
  std::string type = AsciiLower(c.auth_type);
  json identity;
  bool scoped = true;
  if (type.empty() || type == "password") {
    if (c.password.empty())
      throw PreconditionError("Keystone password authentication needs the secret key password");
    identity = {{"methods", {"password"}}, {"password", {{"user", UserRef(c, "password")}}}};
    identity["password"]["user"]["password"] = c.password;
  } else if (type == "token") {
    if (c.token.empty()) throw PreconditionError("Keystone token authentication needs the secret key token");
    identity = {{"methods", {"token"}}, {"token", {{"id", c.token}}}};
  } else if (type == "applicationcredential" || type == "v3applicationcredential") {
    if (c.application_credential_secret.empty()) {
      throw PreconditionError(
          "Keystone application-credential authentication needs the secret key applicationCredentialSecret");
    }
    json cred = {{"secret", c.application_credential_secret}};
    if (!c.application_credential_id.empty()) {
      cred["id"] = c.application_credential_id;
    } else if (!c.application_credential_name.empty()) {
      cred["name"] = c.application_credential_name;
      cred["user"] = UserRef(c, "application-credential");
    } else {
      throw PreconditionError(
          "Keystone application-credential authentication needs applicationCredentialID, or "
          "applicationCredentialName with the user, in the secret");
    }
    identity = {{"methods", {"application_credential"}}, {"application_credential", cred}};
    scoped = false;  // an application credential carries its own scope; Keystone refuses another
  } else {
    throw PreconditionError("unsupported authType '" + c.auth_type +
                            "' in the secret (use password, token or applicationcredential)");
  }
  json auth = {{"identity", identity}};
  if (scoped) {
    json scope = Scope(c);
    if (!scope.is_null()) auth["scope"] = scope;
  }
  return json{{"auth", auth}}.dump();
}

std::vector<CatalogService> ParseCatalog(const std::string& token_response) {
  std::vector<CatalogService> out;
  auto j = json::parse(token_response);
  const json& token = j.at("token");
  if (!token.contains("catalog") || !token["catalog"].is_array()) return out;
  for (const auto& s : token["catalog"]) {
    CatalogService svc;
    svc.type = s.value("type", "");
    svc.name = s.value("name", "");
    if (s.contains("endpoints") && s["endpoints"].is_array()) {
      for (const auto& e : s["endpoints"]) {
        Endpoint ep;
        ep.interface = e.value("interface", "");
        ep.region = e.contains("region_id") && e["region_id"].is_string() ? e["region_id"].get<std::string>()
                                                                          : e.value("region", "");
        ep.url = e.value("url", "");
        svc.endpoints.push_back(ep);
      }
    }
    out.push_back(std::move(svc));
  }
  return out;
}

std::string SelectEndpoint(const std::vector<CatalogService>& catalog, const std::string& type,
                           const std::string& interface, const std::string& region) {
  std::string iface = interface.empty() ? "public" : AsciiLower(interface);
  if (iface.size() > 3 && iface.substr(iface.size() - 3) == "url")
    iface.resize(iface.size() - 3);  // publicURL
  std::string seen;
  for (const auto& s : catalog) {
    if (s.type != type) continue;
    for (const auto& e : s.endpoints) {
      seen += (seen.empty() ? "" : ", ") + e.interface + "@" + (e.region.empty() ? "(no region)" : e.region);
      if (AsciiLower(e.interface) != iface) continue;
      if (!region.empty() && e.region != region) continue;
      return e.url;
    }
  }
  throw PreconditionError("the Keystone catalog has no '" + type + "' endpoint with interface " + iface +
                          (region.empty() ? "" : " in region " + region) +
                          (seen.empty() ? " (no such service at all)" : " (it has: " + seen + ")") +
                          " — check regionName and availability in the secret");
}

std::string IdentityV3Url(const std::string& identity_url) {
  std::string u = identity_url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (u.size() >= 3 && u.substr(u.size() - 3) == "/v3") return u;
  return u + "/v3";
}

Keystone::Keystone(net::HttpClient& client, std::string identity_url, Credentials credentials)
    : client_(client), v3_url_(IdentityV3Url(identity_url)), credentials_(std::move(credentials)) {}

void Keystone::Authenticate() {
  net::HttpRequest req;
  req.url = v3_url_ + "/auth/tokens";
  req.headers.Set("Accept", "application/json");
  const Credentials& c = credentials_;
  bool use_token_as_is = AsciiLower(c.auth_type) == "token" && c.system_scope.empty() &&
                         c.project_id.empty() && c.project_name.empty() && c.domain_id.empty() &&
                         c.domain_name.empty();
  if (use_token_as_is) {
    // A token without a scope to change: Keystone would trade it for an unscoped one (no catalog);
    // validating it returns its own catalog, and it is used as it is.
    if (c.token.empty()) throw PreconditionError("Keystone token authentication needs the secret key token");
    req.method = "GET";
    req.headers.Set("X-Auth-Token", c.token);
    req.headers.Set("X-Subject-Token", c.token);
  } else {
    req.method = "POST";
    req.headers.Set("Content-Type", "application/json");
    req.body = AuthRequestBody(credentials_);
  }
  net::HttpResponse resp;
  try {
    resp = client_.Do(req);
  } catch (const Error& e) {
    throw Error(e.error_class(), std::string("authenticating to Keystone: ") + e.what());
  }
  if (resp.status == 401 || resp.status == 403 || resp.status == 404 || resp.status == 400) {
    throw PreconditionError(
        "Keystone at " + v3_url_ + " refused the authentication (HTTP " + std::to_string(resp.status) + ": " +
        KeystoneMessage(resp.body) +
        ") — check the user, password or token, the project and the domains in the secret");
  }
  if (resp.status != 201 && resp.status != 200) {
    std::string what = "Keystone at " + v3_url_ + " answered the authentication with HTTP " +
                       std::to_string(resp.status) + ": " + KeystoneMessage(resp.body);
    if (resp.status >= 500 || resp.status == 429) throw TransientError(what);
    throw PreconditionError(what);
  }
  std::string token = resp.headers.Get("X-Subject-Token");
  if (token.empty()) throw TransientError("Keystone at " + v3_url_ + " returned no X-Subject-Token header");
  std::vector<CatalogService> catalog;
  try {
    catalog = ParseCatalog(resp.body);
  } catch (const std::exception& e) {
    throw TransientError("Keystone at " + v3_url_ + " returned an unreadable token: " + e.what());
  }
  std::lock_guard lock(mu_);
  token_ = token;
  catalog_ = std::move(catalog);
  log::Info("openstack", "authenticated to Keystone", {{"url", v3_url_}, {"services", catalog_.size()}});
}

bool Keystone::Reauthenticate(const std::string& failed_token) {
  {
    std::lock_guard lock(mu_);
    if (token_ != failed_token) return true;  // someone else already did
  }
  log::Info("openstack", "token rejected (401); authenticating again", {{"url", v3_url_}});
  Authenticate();
  return true;
}

std::string Keystone::token() const {
  std::lock_guard lock(mu_);
  return token_;
}

std::vector<CatalogService> Keystone::catalog() const {
  std::lock_guard lock(mu_);
  return catalog_;
}

std::string Keystone::EndpointFor(const std::string& type) const {
  return SelectEndpoint(catalog(), type, credentials_.availability, credentials_.region_name);
}

}  // namespace hoist::populators::openstack

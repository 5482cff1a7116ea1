// Keystone v3 request bodies for each way Forklift's secret can authenticate, catalog parsing and
// endpoint selection, and Glance's image record.
#include "populators/openstack/keystone.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "populators/openstack/glance.h"

namespace hoist::populators::openstack {
namespace {

using nlohmann::json;

json Body(const Credentials& c) { return json::parse(AuthRequestBody(c))["auth"]; }

TEST(KeystoneAuth, PasswordWithUserAndProjectByNameInNamedDomains) {
  Credentials c;
  c.username = "mover";
  c.password = "pw";
  c.user_domain_name = "Users";
  c.project_name = "migrations";
  c.project_domain_name = "Projects";
  json a = Body(c);
  EXPECT_EQ(a["identity"]["methods"], json::array({"password"}));
  EXPECT_EQ(a["identity"]["password"]["user"],
            json({{"name", "mover"}, {"domain", {{"name", "Users"}}}, {"password", "pw"}}));
  EXPECT_EQ(a["scope"], json({{"project", {{"name", "migrations"}, {"domain", {{"name", "Projects"}}}}}}));
}

TEST(KeystoneAuth, DomainKeysAndDefaultDomainAreFallbacksForUserAndProject) {
  Credentials c;
  c.username = "mover";
  c.password = "pw";
  c.domain_name = "Shared";
  c.project_name = "p";
  json a = Body(c);
  EXPECT_EQ(a["identity"]["password"]["user"]["domain"], json({{"name", "Shared"}}));
  EXPECT_EQ(a["scope"]["project"]["domain"], json({{"name", "Shared"}}));
  Credentials d;
  d.username = "mover";
  d.password = "pw";
  d.default_domain = "default";
  d.project_name = "p";
  json b = Body(d);
  EXPECT_EQ(b["identity"]["password"]["user"]["domain"], json({{"id", "default"}}));
  EXPECT_EQ(b["scope"]["project"]["domain"], json({{"id", "default"}}));
}

TEST(KeystoneAuth, UserAndProjectByIdNeedNoDomain) {
  Credentials c;
  c.user_id = "u-1";
  c.password = "pw";
  c.project_id = "p-1";
  json a = Body(c);
  EXPECT_EQ(a["identity"]["password"]["user"], json({{"id", "u-1"}, {"password", "pw"}}));
  EXPECT_EQ(a["scope"], json({{"project", {{"id", "p-1"}}}}));
}

TEST(KeystoneAuth, SystemScopeAndDomainScope) {
  Credentials c;
  c.user_id = "u";
  c.password = "pw";
  c.system_scope = "all";
  EXPECT_EQ(Body(c)["scope"], json({{"system", {{"all", true}}}}));
  Credentials d;
  d.user_id = "u";
  d.password = "pw";
  d.domain_id = "dom";
  EXPECT_EQ(Body(d)["scope"], json({{"domain", {{"id", "dom"}}}}));
}

TEST(KeystoneAuth, TokenAndApplicationCredentials) {
  Credentials t;
  t.auth_type = "token";
  t.token = "tok";
  t.project_id = "p";
  json a = Body(t);
  EXPECT_EQ(a["identity"], json({{"methods", {"token"}}, {"token", {{"id", "tok"}}}}));
  EXPECT_EQ(a["scope"]["project"]["id"], "p");

  Credentials ac;
  ac.auth_type = "applicationcredential";
  ac.application_credential_id = "ac-1";
  ac.application_credential_secret = "s";
  ac.project_name = "ignored";
  json b = Body(ac);
  EXPECT_EQ(b["identity"]["application_credential"], json({{"id", "ac-1"}, {"secret", "s"}}));
  EXPECT_FALSE(b.contains("scope")) << "an application credential carries its own scope";

  Credentials an;
  an.auth_type = "applicationcredential";
  an.application_credential_name = "hoist";
  an.application_credential_secret = "s";
  an.username = "mover";
  an.user_domain_id = "default";
  EXPECT_EQ(Body(an)["identity"]["application_credential"]["user"],
            json({{"name", "mover"}, {"domain", {{"id", "default"}}}}));
}

TEST(KeystoneAuth, MissingKeysNameWhatToSet) {
  auto message = [](const Credentials& c) {
    try {
      AuthRequestBody(c);
    } catch (const Error& e) {
      EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Credentials c;
  c.username = "mover";
  EXPECT_NE(message(c).find("password"), std::string::npos);
  c.password = "secret-value";
  EXPECT_NE(message(c).find("userDomainName"), std::string::npos) << "a user by name needs a domain";
  EXPECT_EQ(message(c).find("secret-value"), std::string::npos) << "never the password itself";
  Credentials t;
  t.auth_type = "kerberos";
  EXPECT_NE(message(t).find("unsupported authType"), std::string::npos);
}

const char* kToken = R"({"token": {"catalog": [
  {"type": "identity", "name": "keystone", "endpoints": [{"interface": "public", "region_id": "RegionOne", "url": "http://ks/v3"}]},
  {"type": "image", "name": "glance", "endpoints": [
     {"interface": "internal", "region_id": "RegionOne", "url": "http://glance-internal:9292"},
     {"interface": "public", "region_id": "RegionTwo", "url": "http://glance-two:9292"},
     {"interface": "public", "region": "RegionOne", "url": "http://glance:9292/v2/"}]}]}})";

TEST(KeystoneCatalog, SelectsByInterfaceAndRegion) {
  auto catalog = ParseCatalog(kToken);
  ASSERT_EQ(catalog.size(), 2u);
  EXPECT_EQ(SelectEndpoint(catalog, "image", "", "RegionOne"), "http://glance:9292/v2/")
      << "public by default";
  EXPECT_EQ(SelectEndpoint(catalog, "image", "internal", ""), "http://glance-internal:9292");
  EXPECT_EQ(SelectEndpoint(catalog, "image", "publicURL", "RegionTwo"), "http://glance-two:9292");
  try {
    SelectEndpoint(catalog, "image", "admin", "RegionOne");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("internal@RegionOne"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ImageUrl("http://glance:9292/v2/", "id-1"), "http://glance:9292/v2/images/id-1");
  EXPECT_EQ(ImageUrl("http://glance:9292", "id-1"), "http://glance:9292/v2/images/id-1");
  EXPECT_EQ(IdentityV3Url("https://ks:5000/"), "https://ks:5000/v3");
  EXPECT_EQ(IdentityV3Url("https://ks:5000/v3/"), "https://ks:5000/v3");
}

TEST(Glance, ImageRecordAndReadiness) {
  ImageInfo i = ParseImage(R"({"id": "x", "name": "rhel", "status": "active", "size": 1073741824,
    "virtual_size": null, "os_hash_algo": "sha512", "os_hash_value": "ab", "checksum": "cd", "disk_format": "raw"})");
  EXPECT_EQ(i.size, 1073741824u);
  EXPECT_FALSE(i.virtual_size.has_value());
  EXPECT_EQ(i.os_hash_algo, "sha512");
  EXPECT_EQ(ReadinessOf("active"), ImageReadiness::kReady);
  EXPECT_EQ(ReadinessOf("importing"), ImageReadiness::kWait);
  EXPECT_EQ(ReadinessOf("saving"), ImageReadiness::kWait);
  EXPECT_EQ(ReadinessOf("deactivated"), ImageReadiness::kUnusable);
  EXPECT_EQ(ReadinessOf("killed"), ImageReadiness::kUnusable);
}

}  // namespace
}  // namespace hoist::populators::openstack

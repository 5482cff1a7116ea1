#include "storage/config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "storage/registry.h"

namespace hoist::storage {
namespace {

TEST(ArrayConfig, ReadsTheSecretKeys) {
  ArrayConfig c = ArrayConfigFromSecret({{"STORAGE_HOSTNAME", " 10.0.0.5 \n"},
                                         {"STORAGE_USERNAME", "admin"},
                                         {"STORAGE_PASSWORD", "s3cret"},
                                         {"ONTAP_SVM", "svm1"},
                                         {"STORAGE_HTTP_TIMEOUT_SECONDS", "15"}});
  EXPECT_EQ(c.hostname, "10.0.0.5");
  EXPECT_EQ(c.BaseUrl(), "https://10.0.0.5");
  EXPECT_EQ(c.username, "admin");
  EXPECT_EQ(c.password, "s3cret");
  EXPECT_FALSE(c.skip_tls_verify);  // verification is on unless asked otherwise
  EXPECT_EQ(c.http_timeout, std::chrono::seconds(15));
  EXPECT_EQ(c.Get("ONTAP_SVM"), "svm1");
  EXPECT_EQ(c.Get("PURE_CLUSTER_PREFIX", "none"), "none");
}

TEST(ArrayConfig, AliasesAndSkipVerification) {
  ArrayConfig c = ArrayConfigFromSecret({{"management_address", "https://array.example:8443/"},
                                         {"username", "u"},
                                         {"password", "p"},
                                         {"STORAGE_SKIP_SSL_VERIFICATION", "true"}});
  EXPECT_EQ(c.BaseUrl(), "https://array.example:8443");
  EXPECT_TRUE(c.skip_tls_verify);
}

TEST(ArrayConfig, MissingKeysArePreconditionsWithoutValues) {
  try {
    ArrayConfigFromSecret({{"STORAGE_USERNAME", "u"}, {"STORAGE_PASSWORD", "hunter2"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("STORAGE_HOSTNAME"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
  try {
    ArrayConfigFromSecret({{"STORAGE_HOSTNAME", "h"}, {"STORAGE_USERNAME", "u"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("STORAGE_PASSWORD"), std::string::npos);
  }
  EXPECT_THROW(
      ArrayConfigFromSecret(
          {{"STORAGE_HOSTNAME", "h"}, {"STORAGE_TOKEN", "t"}, {"STORAGE_SKIP_SSL_VERIFICATION", "maybe"}}),
      Error);
  EXPECT_THROW(
      ArrayConfigFromSecret(
          {{"STORAGE_HOSTNAME", "h"}, {"STORAGE_TOKEN", "t"}, {"STORAGE_HTTP_TIMEOUT_SECONDS", "ten"}}),
      Error);
}

class FakeArray : public StorageArray {
 public:
  explicit FakeArray(std::string host) : host_(std::move(host)) {}
  std::string Describe() const override { return "fake " + host_; }
  Capabilities capabilities() const override { return {}; }
  Lun ResolveVolume(const VolumeRef&) override { return {}; }
  InitiatorGroup EnsureInitiatorGroup(const std::string& n, const std::vector<std::string>&) override {
    InitiatorGroup g;
    g.name = n;
    return g;
  }
  std::vector<std::string> ListMappings(const Lun&) override { return {}; }
  Lun Map(const Lun& l, const std::string&) override { return l; }
  void Unmap(const Lun&, const std::string&) override {}

 private:
  std::string host_;
};

TEST(VendorRegistry, CreatesByProductAndNamesTheKnownOnes) {
  VendorRegistry r;
  r.Register("fake", [](const ArrayConfig& c) { return std::make_unique<FakeArray>(c.hostname); });
  ArrayConfig c;
  c.hostname = "h1";
  EXPECT_EQ(r.Create("fake", c)->Describe(), "fake h1");
  EXPECT_TRUE(r.Has("fake"));
  EXPECT_THROW(r.Register("fake", nullptr), Error);
  try {
    r.Create("pureFlashArray", c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("pureFlashArray"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("fake"), std::string::npos);
  }
}

}  // namespace
}  // namespace hoist::storage

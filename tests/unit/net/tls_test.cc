#include "net/tls.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "core/error.h"

namespace hoist::net {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr ParseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return X509Ptr(x);
}

bool KeyMatches(X509* cert, const std::string& key_pem) {
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  bool ok =
      X509_check_private_key(cert, key) == 1 && EVP_PKEY_get_bits(key) == 256 && EVP_PKEY_is_a(key, "EC");
  EVP_PKEY_free(key);
  return ok;
}

// Verifies `leaf` for TLS server use against `root`, as a TLS client would.
int Verify(X509* root, X509* leaf, const char* host, const char* ip) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (host != nullptr) X509_VERIFY_PARAM_set1_host(param, host, 0);
  if (ip != nullptr) X509_VERIFY_PARAM_set1_ip_asc(param, ip);
  int ok = X509_verify_cert(ctx);
  int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

TEST(NetTls, SelfSignedIsItsOwnTrustAnchor) {
  CertAndKey ck = GenerateSelfSigned("metrics", {"populator.example", "localhost"}, {"127.0.0.1", "::1"}, 30);
  X509Ptr cert = ParseCert(ck.cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_TRUE(KeyMatches(cert.get(), ck.key_pem));
  EXPECT_NE(ck.key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(Verify(cert.get(), cert.get(), "populator.example", nullptr), X509_V_OK);
  EXPECT_EQ(Verify(cert.get(), cert.get(), "localhost", nullptr), X509_V_OK);
  EXPECT_EQ(Verify(cert.get(), cert.get(), nullptr, "127.0.0.1"), X509_V_OK);
  EXPECT_EQ(Verify(cert.get(), cert.get(), nullptr, "::1"), X509_V_OK);
  EXPECT_EQ(Verify(cert.get(), cert.get(), "other.example", nullptr), X509_V_ERR_HOSTNAME_MISMATCH);
  EXPECT_EQ(Verify(cert.get(), cert.get(), nullptr, "10.0.0.1"), X509_V_ERR_IP_ADDRESS_MISMATCH);

  // Valid for about `days`, starting slightly in the past.
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert.get())), 1);
  EXPECT_TRUE(days == 29 || days == 30) << days;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(cert.get())), 1);
  EXPECT_LT(days * 86400 + secs, 0);
}

TEST(NetTls, SerialsArePositiveAndRandom) {
  CertAndKey a = GenerateSelfSigned("a", {"a"}, {});
  CertAndKey b = GenerateSelfSigned("a", {"a"}, {});
  X509Ptr ca = ParseCert(a.cert_pem), cb = ParseCert(b.cert_pem);
  const ASN1_INTEGER* sa = X509_get0_serialNumber(ca.get());
  const ASN1_INTEGER* sb = X509_get0_serialNumber(cb.get());
  EXPECT_NE(ASN1_INTEGER_cmp(sa, sb), 0);
  BIGNUM* bn = ASN1_INTEGER_to_BN(sa, nullptr);
  EXPECT_FALSE(BN_is_negative(bn));
  EXPECT_FALSE(BN_is_zero(bn));
  EXPECT_LE(BN_num_bytes(bn), 20);  // RFC 5280 4.1.2.2
  BN_free(bn);
}

TEST(NetTls, CaSignsServerCertificate) {
  CaAndServer pki =
      GenerateCaAndServer("hoist-lab-ca", "hoist-lab", {"localhost", "lab.local"}, {"127.0.0.1"});
  X509Ptr ca = ParseCert(pki.ca.cert_pem);
  X509Ptr server = ParseCert(pki.server.cert_pem);
  ASSERT_TRUE(ca && server);
  EXPECT_TRUE(KeyMatches(ca.get(), pki.ca.key_pem));
  EXPECT_TRUE(KeyMatches(server.get(), pki.server.key_pem));

  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(X509_check_ca(server.get()), 0);
  EXPECT_TRUE(X509_get_extended_key_usage(server.get()) & XKU_SSL_SERVER);
  EXPECT_EQ(X509_check_issued(ca.get(), server.get()), X509_V_OK);
  // Key identifiers chain the two (Go and OpenSSL use them to pick the issuer).
  EXPECT_EQ(
      ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(ca.get()), X509_get0_authority_key_id(server.get())), 0);

  EXPECT_EQ(Verify(ca.get(), server.get(), "lab.local", nullptr), X509_V_OK);
  EXPECT_EQ(Verify(ca.get(), server.get(), nullptr, "127.0.0.1"), X509_V_OK);
  EXPECT_EQ(Verify(ca.get(), server.get(), "evil.example", nullptr), X509_V_ERR_HOSTNAME_MISMATCH);

  // A server certificate from another CA does not verify.
  CaAndServer other = GenerateCaAndServer("other-ca", "x", {"lab.local"}, {});
  X509Ptr other_server = ParseCert(other.server.cert_pem);
  EXPECT_NE(Verify(ca.get(), other_server.get(), "lab.local", nullptr), X509_V_OK);
}

TEST(NetTls, RejectsBadIpAddress) {
  try {
    GenerateSelfSigned("x", {}, {"not-an-ip"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("not-an-ip"), std::string::npos);
  }
}

TEST(NetBase64, Vectors) {
  // RFC 4648 section 10.
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy\n"), "foobar");
  EXPECT_EQ(Base64Decode("Zm8"), "fo");  // unpadded input is accepted
  std::string all;
  for (int i = 0; i < 1000; ++i) all.push_back(static_cast<char>(i * 7));
  EXPECT_EQ(Base64Decode(Base64Encode(all)), all);
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(NetBase64, RejectsGarbage) {
  for (const char* bad : {"Zm9v!", "Z", "Zm9vY===", "Zg==Zg==", "Zm9-"}) {
    try {
      Base64Decode(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << bad;
    }
  }
}

}  // namespace
}  // namespace hoist::net

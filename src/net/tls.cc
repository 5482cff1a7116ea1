#include "net/tls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "core/error.h"

namespace hoist::net {

namespace {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error recorded";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// Certificate generation only fails when OpenSSL itself is broken or out of memory.
[[noreturn]] void Fail(const std::string& what) {
  throw BugError("generating TLS material: " + what + ": " + OpenSslError());
}

void Check(int ok, const char* what) {
  if (ok != 1) Fail(what);
}

PkeyPtr NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) Fail("ECDSA P-256 key generation");
  return key;
}

std::string PemOf(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), cert), "writing certificate PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string PemOf(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PKCS#8 ("BEGIN PRIVATE KEY"), which Go, libcurl and OpenSSL all read.
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "writing key PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

template <typename T>
void AddExtension(X509* cert, int nid, T* value, bool critical) {
  Check(X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE),
        "adding certificate extension");
}

void AddBasicConstraints(X509* cert, bool ca) {
  BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
  bc->ca = ca ? 0xFF : 0;
  AddExtension(cert, NID_basic_constraints, bc, true);
  BASIC_CONSTRAINTS_free(bc);
}

void AddKeyUsage(X509* cert, std::initializer_list<int> bits) {
  ASN1_BIT_STRING* ku = ASN1_BIT_STRING_new();
  for (int bit : bits) Check(ASN1_BIT_STRING_set_bit(ku, bit, 1), "setting key usage");
  AddExtension(cert, NID_key_usage, ku, true);
  ASN1_BIT_STRING_free(ku);
}
// Bit numbers of the KeyUsage BIT STRING (RFC 5280 4.2.1.3).
constexpr int kDigitalSignature = 0;
constexpr int kKeyCertSign = 5;
constexpr int kCrlSign = 6;

void AddExtendedKeyUsage(X509* cert, std::initializer_list<int> nids) {
  EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
  for (int nid : nids) sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(nid));
  AddExtension(cert, NID_ext_key_usage, eku, false);
  sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

void AddSubjectAltNames(X509* cert, const std::vector<std::string>& dns_names,
                        const std::vector<std::string>& ip_addresses) {
  if (dns_names.empty() && ip_addresses.empty()) return;
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  for (const auto& dns : dns_names) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) != 1) Fail("setting DNS name");
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    sk_GENERAL_NAME_push(names, gn);
  }
  for (const auto& ip : ip_addresses) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (octets == nullptr) {
      GENERAL_NAMES_free(names);
      ERR_clear_error();
      throw PreconditionError("generating a TLS certificate: \"" + ip +
                              "\" is not an IPv4 or IPv6 address; list host names as DNS names");
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(gn, GEN_IPADD, octets);
    sk_GENERAL_NAME_push(names, gn);
  }
  AddExtension(cert, NID_subject_alt_name, names, false);
  GENERAL_NAMES_free(names);
}

// Key identifiers as RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING.
std::string KeyId(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  Check(X509_pubkey_digest(cert, EVP_sha1(), md, &len), "computing key identifier");
  return std::string(reinterpret_cast<char*>(md), len);
}

void AddKeyIdentifiers(X509* cert, const std::string& subject_key_id, const std::string& authority_key_id) {
  ASN1_OCTET_STRING* skid = ASN1_OCTET_STRING_new();
  Check(ASN1_OCTET_STRING_set(skid, reinterpret_cast<const unsigned char*>(subject_key_id.data()),
                              static_cast<int>(subject_key_id.size())),
        "setting subject key identifier");
  AddExtension(cert, NID_subject_key_identifier, skid, false);
  ASN1_OCTET_STRING_free(skid);

  AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
  akid->keyid = ASN1_OCTET_STRING_new();
  Check(ASN1_OCTET_STRING_set(akid->keyid, reinterpret_cast<const unsigned char*>(authority_key_id.data()),
                              static_cast<int>(authority_key_id.size())),
        "setting authority key identifier");
  AddExtension(cert, NID_authority_key_identifier, akid, false);
  AUTHORITY_KEYID_free(akid);
}

// A certificate with subject CN=`common_name`, a random positive 127-bit serial, and a validity that
// starts an hour ago (tolerates clock skew between the lab and its clients).
X509Ptr NewCertificate(const std::string& common_name, EVP_PKEY* subject_key, int days) {
  X509Ptr cert(X509_new());
  if (!cert) Fail("allocating certificate");
  Check(X509_set_version(cert.get(), 2), "setting version");  // v3

  BIGNUM* bn = BN_new();
  do {
    Check(BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "generating serial number");
  } while (BN_is_zero(bn));
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  BN_free(bn);
  if (serial == nullptr) Fail("encoding serial number");
  Check(X509_set_serialNumber(cert.get(), serial), "setting serial number");
  ASN1_INTEGER_free(serial);

  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr) Fail("setting notBefore");
  if (X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr) Fail("setting notAfter");

  X509_NAME* name = X509_get_subject_name(cert.get());
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0),
        "setting common name");
  Check(X509_set_pubkey(cert.get(), subject_key), "setting public key");
  return cert;
}

}  // namespace

CertAndKey GenerateSelfSigned(const std::string& common_name, const std::vector<std::string>& dns_names,
                              const std::vector<std::string>& ip_addresses, int days) {
  PkeyPtr key = NewP256Key();
  X509Ptr cert = NewCertificate(common_name, key.get(), days);
  Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "setting issuer");
  // CA:TRUE with keyCertSign makes the certificate its own trust anchor: OpenSSL (libcurl, curl
  // --cacert) only treats a certificate as self-signed when it may sign certificates; Go accepts it
  // either way.
  AddBasicConstraints(cert.get(), true);
  AddKeyUsage(cert.get(), {kDigitalSignature, kKeyCertSign});
  AddExtendedKeyUsage(cert.get(), {NID_server_auth, NID_client_auth});
  AddSubjectAltNames(cert.get(), dns_names, ip_addresses);
  std::string kid = KeyId(cert.get());
  AddKeyIdentifiers(cert.get(), kid, kid);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) Fail("signing certificate");
  return CertAndKey{PemOf(cert.get()), PemOf(key.get())};
}

CaAndServer GenerateCaAndServer(const std::string& ca_name, const std::string& server_name,
                                const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses, int days) {
  PkeyPtr ca_key = NewP256Key();
  X509Ptr ca = NewCertificate(ca_name, ca_key.get(), days);
  Check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())), "setting issuer");
  AddBasicConstraints(ca.get(), true);
  AddKeyUsage(ca.get(), {kDigitalSignature, kKeyCertSign, kCrlSign});
  std::string ca_kid = KeyId(ca.get());
  AddKeyIdentifiers(ca.get(), ca_kid, ca_kid);
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) Fail("signing CA certificate");

  PkeyPtr server_key = NewP256Key();
  X509Ptr server = NewCertificate(server_name, server_key.get(), days);
  Check(X509_set_issuer_name(server.get(), X509_get_subject_name(ca.get())), "setting issuer");
  AddBasicConstraints(server.get(), false);
  AddKeyUsage(server.get(), {kDigitalSignature});
  AddExtendedKeyUsage(server.get(), {NID_server_auth});
  AddSubjectAltNames(server.get(), dns_names, ip_addresses);
  AddKeyIdentifiers(server.get(), KeyId(server.get()), ca_kid);
  if (X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0) Fail("signing server certificate");

  return CaAndServer{CertAndKey{PemOf(ca.get()), PemOf(ca_key.get())},
                     CertAndKey{PemOf(server.get()), PemOf(server_key.get())}};
}

std::string Base64Encode(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v =
        (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8) | uint8_t(data[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    uint32_t v = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::string Base64Decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  auto bad = [](const std::string& why) {
    return PreconditionError("decoding base64 data: " + why +
                             " — the value must be standard base64 (as `base64 -w0` writes it)");
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;  // wrapped PEM-style input
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) throw bad("data after '=' padding");
    int v = value(c);
    if (v < 0) throw bad("invalid character '" + std::string(1, c) + "'");
    ++symbols;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (symbols % 4 == 1) throw bad("truncated input");
  if (padding > 2 || (padding > 0 && (symbols + padding) % 4 != 0)) throw bad("wrong '=' padding");
  return out;
}

}  // namespace hoist::net

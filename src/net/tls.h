#pragma once
// TLS material: self-signed certificates for metrics endpoints, and a small CA for the lab.
#include <string>
#include <string_view>
#include <vector>

namespace hoist::net {

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed certificate (ECDSA P-256) for `common_name`, valid for the given DNS names and IP
// addresses (subjectAltName), for `days` days.
CertAndKey GenerateSelfSigned(const std::string& common_name, const std::vector<std::string>& dns_names,
                              const std::vector<std::string>& ip_addresses, int days = 365);

// A certificate authority and a server certificate signed by it. Clients trust `ca.cert_pem`.
struct CaAndServer {
  CertAndKey ca;
  CertAndKey server;
};
CaAndServer GenerateCaAndServer(const std::string& ca_name, const std::string& server_name,
                                const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses, int days = 3650);

// Base64 (standard alphabet, padded) as used by kubeconfig's *-data fields.
std::string Base64Encode(std::string_view data);
std::string Base64Decode(std::string_view text);  // throws hoist::Error(kPrecondition) on bad input

}  // namespace hoist::net

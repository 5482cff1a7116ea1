// MakeKubeconfig (declared in apiserver.h): the kubeconfig `hoist lab apiserver` writes for kubectl and
// for hoist's own client — one cluster with the lab CA embedded, one user with a bearer token.
#include "lab/apiserver.h"
#include "lab/apiserver_yaml.h"
#include "net/tls.h"

namespace hoist::lab {

std::string MakeKubeconfig(const std::string& server, const std::string& ca_pem, const std::string& token,
                           const std::string& name) {
  nlohmann::json cluster = {{"server", server}};
  if (!ca_pem.empty()) cluster["certificate-authority-data"] = net::Base64Encode(ca_pem);
  nlohmann::json config = {
      {"apiVersion", "v1"},
      {"kind", "Config"},
      {"clusters", nlohmann::json::array({{{"name", name}, {"cluster", cluster}}})},
      {"users", nlohmann::json::array({{{"name", name}, {"user", {{"token", token}}}}})},
      {"contexts", nlohmann::json::array({{{"name", name},
                                           {"context", {{"cluster", name}, {"user", name}, {"namespace", "default"}}}}})},
      {"current-context", name},
      {"preferences", nlohmann::json::object()},
  };
  return JsonToYaml(config);
}

}  // namespace hoist::lab

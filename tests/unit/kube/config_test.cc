#include "kube/config.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include "core/error.h"
#include "net/tls.h"
#include "unit/kube/test_util.h"

namespace hoist::kube {
namespace {

using testing::TempDir;

std::string ExpectPrecondition(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~EnvGuard() {
    if (had_)
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(KubeconfigTest, TokenCaDataAndContextNamespace) {
  std::string ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  std::string yaml = R"(apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: lab-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: )" +
                     net::Base64Encode(ca) + R"(
contexts:
- name: lab
  context: {cluster: lab-cluster, user: admin, namespace: migrations}
users:
- name: admin
  user:
    token: abc.def
)";
  RestConfig c = LoadKubeconfigFromString(yaml, "/nonexistent");
  EXPECT_EQ(c.server, "https://127.0.0.1:6443");
  EXPECT_EQ(c.tls.ca_pem, ca);
  EXPECT_FALSE(c.tls.insecure_skip_verify);
  EXPECT_EQ(c.token, "abc.def");
  EXPECT_EQ(c.ns, "migrations");
  EXPECT_NE(c.source.find("context lab"), std::string::npos);
}

TEST(KubeconfigTest, ClientCertificateFilesResolveAgainstTheKubeconfigDirectory) {
  TempDir dir;
  dir.Write("certs/client.crt", "CERT");
  dir.Write("certs/ca.crt", "CA");
  std::string path = dir.Write("conf/config", R"(
current-context: c
clusters:
- name: k
  cluster: {server: "https://k:6443", certificate-authority: ../certs/ca.crt}
contexts:
- name: c
  context: {cluster: k, user: u}
users:
- name: u
  user:
    client-certificate: ../certs/client.crt
    client-key-data: )" + net::Base64Encode("KEY") +
                                                  "\n");
  RestConfig c = LoadKubeconfig({path, ""});
  EXPECT_EQ(c.tls.client_cert_pem, "CERT");
  EXPECT_EQ(c.tls.client_key_pem, "KEY");
  EXPECT_EQ(c.tls.ca_pem, "CA");
  EXPECT_EQ(c.ns, "default");
  EXPECT_TRUE(c.token.empty());
}

TEST(KubeconfigTest, TokenFileIsReadRelativeAndRereadWhenItChanges) {
  TempDir dir;
  dir.Write("token", "first-token\n");
  std::string path = dir.Write("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k", insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {tokenFile: token}}]
)");
  RestConfig c = LoadKubeconfig({path, ""});
  EXPECT_TRUE(c.tls.insecure_skip_verify);
  ASSERT_TRUE(c.token_file);
  EXPECT_EQ(c.token_file->path(), dir.path() + "/token");
  EXPECT_EQ(c.token_file->Token(), "first-token");
  dir.Write("token", "second-token-longer");
  EXPECT_EQ(c.token_file->Token(), "second-token-longer");
}

TEST(KubeconfigTest, ContextOverrideAndUnknownNames) {
  std::string yaml = R"(
current-context: a
clusters: [{name: ka, cluster: {server: "https://a"}}, {name: kb, cluster: {server: "https://b"}}]
contexts: [{name: a, context: {cluster: ka, user: u}}, {name: b, context: {cluster: kb, user: u}},
           {name: broken, context: {cluster: nope, user: u}}]
users: [{name: u, user: {username: admin, password: pw}}]
)";
  EXPECT_EQ(LoadKubeconfigFromString(yaml, "/", "").server, "https://a");
  RestConfig b = LoadKubeconfigFromString(yaml, "/", "b");
  EXPECT_EQ(b.server, "https://b");
  EXPECT_EQ(b.username, "admin");
  EXPECT_EQ(b.password, "pw");
  std::string msg = ExpectPrecondition([&] { LoadKubeconfigFromString(yaml, "/", "missing"); });
  EXPECT_NE(msg.find("context \"missing\" is not defined"), std::string::npos) << msg;
  msg = ExpectPrecondition([&] { LoadKubeconfigFromString(yaml, "/", "broken"); });
  EXPECT_NE(msg.find("cluster \"nope\""), std::string::npos) << msg;
}

TEST(KubeconfigTest, ExecPluginsAndBrokenFilesAreRefusedClearly) {
  std::string yaml = R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}}}]
)";
  std::string msg = ExpectPrecondition([&] { LoadKubeconfigFromString(yaml, "/"); });
  EXPECT_NE(msg.find("exec"), std::string::npos) << msg;
  msg = ExpectPrecondition([&] { LoadKubeconfigFromString("clusters: [", "/"); });
  EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
  msg = ExpectPrecondition([&] { LoadKubeconfig({"/nonexistent/kubeconfig", ""}); });
  EXPECT_NE(msg.find("/nonexistent/kubeconfig"), std::string::npos) << msg;
}

TEST(KubeconfigTest, KubeconfigEnvMergesFilesFirstDefinitionWins) {
  TempDir dir;
  std::string first = dir.Write("one/config", R"(
current-context: shared
contexts: [{name: shared, context: {cluster: k, user: u, namespace: first-ns}}]
users: [{name: u, user: {token: from-first}}]
)");
  std::string second = dir.Write("two/config", R"(
current-context: ignored
clusters: [{name: k, cluster: {server: "https://second", certificate-authority: ca.pem}}]
contexts: [{name: shared, context: {cluster: other, user: other}}]
users: [{name: u, user: {token: from-second}}]
)");
  dir.Write("two/ca.pem", "SECOND-CA");
  EnvGuard env("KUBECONFIG", dir.path() + "/missing:" + first + ":" + second);
  RestConfig c = LoadKubeconfig();
  EXPECT_EQ(c.server, "https://second");
  EXPECT_EQ(c.tls.ca_pem, "SECOND-CA");  // relative to the file that defined the cluster
  EXPECT_EQ(c.token, "from-first");
  EXPECT_EQ(c.ns, "first-ns");
  // LoadDefaultConfig honours KUBECONFIG before anything else.
  EXPECT_EQ(LoadDefaultConfig().server, "https://second");
}

TEST(InClusterConfigTest, ReadsServiceAccountDirectoryAndRotatesToken) {
  TempDir dir;
  dir.Write("token", "sa-token-1");
  dir.Write("ca.crt", "CA");
  dir.Write("namespace", "hoist-system\n");
  InClusterOptions options;
  options.service_account_dir = dir.path();
  options.host = "10.96.0.1";
  options.port = "443";
  EXPECT_TRUE(InClusterAvailable(options));
  RestConfig c = LoadInClusterConfig(options);
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.tls.ca_file, dir.path() + "/ca.crt");
  EXPECT_EQ(c.ns, "hoist-system");
  ASSERT_TRUE(c.token_file);
  EXPECT_EQ(c.token_file->Token(), "sa-token-1");
  dir.Write("token", "sa-token-2-rotated");
  EXPECT_EQ(c.token_file->Token(), "sa-token-2-rotated");

  options.host = "fd00::1";
  EXPECT_EQ(LoadInClusterConfig(options).server, "https://[fd00::1]:443");
}

TEST(InClusterConfigTest, MissingEnvironmentOrTokenIsAPrecondition) {
  TempDir dir;
  InClusterOptions options;
  options.service_account_dir = dir.path();
  options.host = "10.0.0.1";
  options.port = "443";
  EXPECT_FALSE(InClusterAvailable(options));
  std::string msg = ExpectPrecondition([&] { LoadInClusterConfig(options); });
  EXPECT_NE(msg.find(dir.path() + "/token"), std::string::npos) << msg;
}

}  // namespace
}  // namespace hoist::kube

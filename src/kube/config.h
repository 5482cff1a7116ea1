#pragma once
// Where the client connects and how it authenticates: from a kubeconfig file (as kubectl reads it) or
// from the pod's service account (in-cluster).
//
// Kubeconfig: `KUBECONFIG` may list several files (':'-separated); they are merged as kubectl does —
// the first file that sets current-context wins, and for clusters/contexts/users the first file that
// defines a name wins. Relative file paths in a file resolve against that file's directory.
// Supported user auth: token, tokenFile, client-certificate(-data) + client-key(-data), username +
// password. exec and auth-provider plugins are refused with a clear message.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "kube/rate_limiter.h"
#include "net/http_client.h"

namespace hoist::kube {

// A bearer token read from a file and re-read whenever the file changes (projected service-account
// tokens are rotated by the kubelet). Thread-safe.
class TokenFile {
 public:
  explicit TokenFile(std::string path);
  // The current token; throws PreconditionError naming the file when it can't be read.
  std::string Token();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
  std::string token_;
  long long mtime_ns_ = -1;
  long long size_ = -1;
};

struct RestConfig {
  std::string server;  // "https://10.0.0.1:6443" (no trailing slash)
  net::TlsClientOptions tls;
  std::string token;                      // static bearer token
  std::shared_ptr<TokenFile> token_file;  // or one read from a file (takes precedence when set)
  std::string username;                   // basic auth (rare)
  std::string password;
  std::string ns = "default";  // the namespace of the context / service account
  double qps = kDefaultQps;
  int burst = kDefaultBurst;
  std::chrono::milliseconds timeout{30000};  // per request (not watches)
  std::string user_agent = "hoist/0.1";
  std::string source;  // for messages: "kubeconfig /root/.kube/config context lab" or "in-cluster"
};

struct KubeconfigOptions {
  std::string path;     // --kubeconfig; empty: $KUBECONFIG, then ~/.kube/config
  std::string context;  // --context; empty: current-context
};

// Loads a kubeconfig. Throws PreconditionError (naming the file, context, cluster or user) when it is
// missing, malformed, or asks for something unsupported.
RestConfig LoadKubeconfig(const KubeconfigOptions& options = {});
// Parses one kubeconfig document; relative paths resolve against `base_dir`.
RestConfig LoadKubeconfigFromString(std::string_view yaml, std::string_view base_dir,
                                    std::string_view context = "", std::string_view source = "kubeconfig");

struct InClusterOptions {
  // Where the kubelet mounts the service account; overridable for tests.
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  // Empty: read KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT.
  std::string host;
  std::string port;
};

bool InClusterAvailable(const InClusterOptions& options = {});
RestConfig LoadInClusterConfig(const InClusterOptions& options = {});

// What a hoist program uses: an explicit --kubeconfig, else $KUBECONFIG, else the in-cluster service
// account when running in a pod, else ~/.kube/config (controller-runtime's order).
RestConfig LoadDefaultConfig(const KubeconfigOptions& options = {});

}  // namespace hoist::kube

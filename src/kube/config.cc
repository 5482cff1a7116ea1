#include "kube/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "net/tls.h"

namespace hoist::kube {

namespace {

bool FileExists(const std::string& path) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw PreconditionError(std::string(what) + ": cannot read " + path + " — check that the file exists");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string ResolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty() || path[0] == '/') return path;
  if (path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (home != nullptr) return std::string(home) + path.substr(1);
  }
  return base_dir + "/" + path;
}

std::string TrimSpace(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  return s.substr(start);
}

std::string Str(const YAML::Node& node, const char* key) {
  const YAML::Node v = node[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

bool Bool(const YAML::Node& node, const char* key) {
  const YAML::Node v = node[key];
  if (!v || !v.IsScalar()) return false;
  return v.as<bool>(false);
}

// One named entry (cluster, context or user) and the directory of the file it came from.
struct Entry {
  YAML::Node body;
  std::string base_dir;
  std::string file;
};

struct Merged {
  std::string current_context;
  std::map<std::string, Entry> clusters, contexts, users;
};

void MergeDocument(const YAML::Node& doc, const std::string& base_dir, const std::string& file, Merged* out) {
  if (!doc.IsMap()) throw PreconditionError("kubeconfig " + file + ": not a YAML mapping");
  if (out->current_context.empty()) out->current_context = Str(doc, "current-context");
  auto take = [&](const char* list_key, const char* body_key, std::map<std::string, Entry>* into) {
    const YAML::Node list = doc[list_key];
    if (!list) return;
    if (!list.IsSequence())
      throw PreconditionError("kubeconfig " + file + ": " + list_key + " must be a list");
    for (const auto& item : list) {
      std::string name = Str(item, "name");
      if (name.empty() || into->count(name) > 0) continue;  // first definition wins
      YAML::Node body = item[body_key];
      into->emplace(name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), base_dir, file});
    }
  };
  take("clusters", "cluster", &out->clusters);
  take("contexts", "context", &out->contexts);
  take("users", "user", &out->users);
}

YAML::Node ParseYaml(std::string_view text, const std::string& file) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw PreconditionError("kubeconfig " + file + ": invalid YAML: " + e.what());
  }
}

std::string DecodeData(const std::string& data, const std::string& what) {
  try {
    return net::Base64Decode(data);
  } catch (const Error& e) {
    throw PreconditionError(what + " is not valid base64");
  }
}

RestConfig Resolve(const Merged& merged, std::string_view context_override, const std::string& source) {
  std::string context_name =
      context_override.empty() ? merged.current_context : std::string(context_override);
  if (context_name.empty()) {
    throw PreconditionError(source + ": no current-context is set and no --context was given");
  }
  auto ctx_it = merged.contexts.find(context_name);
  if (ctx_it == merged.contexts.end()) {
    throw PreconditionError(source + ": context \"" + context_name + "\" is not defined");
  }
  const YAML::Node& ctx = ctx_it->second.body;
  std::string cluster_name = Str(ctx, "cluster");
  std::string user_name = Str(ctx, "user");

  RestConfig config;
  config.source = source + " context " + context_name;
  std::string ns = Str(ctx, "namespace");
  if (!ns.empty()) config.ns = ns;

  auto cl_it = merged.clusters.find(cluster_name);
  if (cl_it == merged.clusters.end()) {
    throw PreconditionError(source + ": cluster \"" + cluster_name + "\" of context \"" + context_name +
                            "\" is not defined");
  }
  const YAML::Node& cluster = cl_it->second.body;
  const std::string what_cluster = source + ": cluster \"" + cluster_name + "\"";
  config.server = Str(cluster, "server");
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (config.server.empty()) throw PreconditionError(what_cluster + " has no server");
  config.tls.insecure_skip_verify = Bool(cluster, "insecure-skip-tls-verify");
  if (std::string data = Str(cluster, "certificate-authority-data"); !data.empty()) {
    config.tls.ca_pem = DecodeData(data, what_cluster + " certificate-authority-data");
  } else if (std::string file = Str(cluster, "certificate-authority"); !file.empty()) {
    config.tls.ca_pem =
        ReadFile(ResolvePath(file, cl_it->second.base_dir), what_cluster + " certificate-authority");
  }

  if (user_name.empty()) return config;  // anonymous
  auto user_it = merged.users.find(user_name);
  if (user_it == merged.users.end()) {
    throw PreconditionError(source + ": user \"" + user_name + "\" of context \"" + context_name +
                            "\" is not defined");
  }
  const YAML::Node& user = user_it->second.body;
  const std::string& user_dir = user_it->second.base_dir;
  const std::string what_user = source + ": user \"" + user_name + "\"";
  if (user["exec"] || user["auth-provider"]) {
    throw PreconditionError(
        what_user +
        " uses an exec or auth-provider credential plugin, which hoist does not run — use "
        "a service-account token or a client certificate");
  }
  if (std::string data = Str(user, "client-certificate-data"); !data.empty()) {
    config.tls.client_cert_pem = DecodeData(data, what_user + " client-certificate-data");
  } else if (std::string file = Str(user, "client-certificate"); !file.empty()) {
    config.tls.client_cert_pem = ReadFile(ResolvePath(file, user_dir), what_user + " client-certificate");
  }
  if (std::string data = Str(user, "client-key-data"); !data.empty()) {
    config.tls.client_key_pem = DecodeData(data, what_user + " client-key-data");
  } else if (std::string file = Str(user, "client-key"); !file.empty()) {
    config.tls.client_key_pem = ReadFile(ResolvePath(file, user_dir), what_user + " client-key");
  }
  if (config.tls.client_cert_pem.empty() != config.tls.client_key_pem.empty()) {
    throw PreconditionError(what_user +
                            " has a client certificate without a key, or a key without a certificate");
  }
  config.token = Str(user, "token");
  if (std::string file = Str(user, "tokenFile"); !file.empty() && config.token.empty()) {
    config.token_file = std::make_shared<TokenFile>(ResolvePath(file, user_dir));
    config.token_file->Token();  // fail early, naming the file
  }
  config.username = Str(user, "username");
  config.password = Str(user, "password");
  return config;
}

std::vector<std::string> SplitPathList(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i == list.size() || list[i] == ':') {
      if (i > start) out.push_back(list.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string HomeKubeconfig() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.kube/config";
}

}  // namespace

TokenFile::TokenFile(std::string path) : path_(std::move(path)) {}

std::string TokenFile::Token() {
  std::lock_guard<std::mutex> l(mu_);
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (!token_.empty()) return token_;  // keep the last token while the kubelet swaps the file
    throw PreconditionError("bearer token file " + path_ +
                            " cannot be read — check the service account mount");
  }
  long long mtime = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  if (mtime != mtime_ns_ || static_cast<long long>(st.st_size) != size_) {
    std::string token = TrimSpace(ReadFile(path_, "bearer token file"));
    if (token.empty()) throw PreconditionError("bearer token file " + path_ + " is empty");
    token_ = std::move(token);
    mtime_ns_ = mtime;
    size_ = st.st_size;
  }
  return token_;
}

RestConfig LoadKubeconfigFromString(std::string_view yaml, std::string_view base_dir,
                                    std::string_view context, std::string_view source) {
  Merged merged;
  MergeDocument(ParseYaml(yaml, std::string(source)), std::string(base_dir), std::string(source), &merged);
  return Resolve(merged, context, std::string(source));
}

RestConfig LoadKubeconfig(const KubeconfigOptions& options) {
  std::vector<std::string> files;
  if (!options.path.empty()) {
    files.push_back(options.path);
  } else if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    for (const auto& f : SplitPathList(env)) {
      if (FileExists(f)) files.push_back(f);
    }
    if (files.empty()) {
      throw PreconditionError(std::string("KUBECONFIG=") + env + ": none of the listed files exists");
    }
  } else {
    files.push_back(HomeKubeconfig());
  }
  Merged merged;
  for (const auto& file : files) {
    std::string text = ReadFile(file, "kubeconfig");
    MergeDocument(ParseYaml(text, file), DirName(file), file, &merged);
  }
  std::string source = "kubeconfig " + files[0];
  for (size_t i = 1; i < files.size(); ++i) source += ":" + files[i];
  return Resolve(merged, options.context, source);
}

bool InClusterAvailable(const InClusterOptions& options) {
  std::string host = options.host;
  if (host.empty()) {
    const char* h = std::getenv("KUBERNETES_SERVICE_HOST");
    host = h != nullptr ? h : "";
  }
  return !host.empty() && FileExists(options.service_account_dir + "/token");
}

RestConfig LoadInClusterConfig(const InClusterOptions& options) {
  std::string host = options.host;
  std::string port = options.port;
  if (host.empty()) {
    const char* h = std::getenv("KUBERNETES_SERVICE_HOST");
    host = h != nullptr ? h : "";
  }
  if (port.empty()) {
    const char* p = std::getenv("KUBERNETES_SERVICE_PORT");
    port = p != nullptr ? p : "";
  }
  if (host.empty() || port.empty()) {
    throw PreconditionError(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set — not running in "
        "a "
        "pod? pass --kubeconfig");
  }
  RestConfig config;
  config.source = "in-cluster service account " + options.service_account_dir;
  // IPv6 addresses need brackets in a URL.
  config.server = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  config.token_file = std::make_shared<TokenFile>(options.service_account_dir + "/token");
  config.token_file->Token();
  std::string ca = options.service_account_dir + "/ca.crt";
  if (FileExists(ca)) config.tls.ca_file = ca;
  std::string ns_file = options.service_account_dir + "/namespace";
  if (FileExists(ns_file)) {
    std::string ns = TrimSpace(ReadFile(ns_file, "service account namespace"));
    if (!ns.empty()) config.ns = ns;
  }
  return config;
}

RestConfig LoadDefaultConfig(const KubeconfigOptions& options) {
  if (!options.path.empty()) return LoadKubeconfig(options);
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0')
    return LoadKubeconfig(options);
  if (InClusterAvailable()) return LoadInClusterConfig();
  return LoadKubeconfig(options);
}

}  // namespace hoist::kube

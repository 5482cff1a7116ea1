#include "populators/xcopy/options.h"

#include <unistd.h>

#include <cctype>
#include <memory>

#include "core/error.h"
#include "core/flags.h"
#include "core/text.h"
#include "net/tls.h"

extern char** environ;

namespace hoist::populators::xcopy {
namespace {

std::string Trim(std::string s) {
  auto sp = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && sp(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && sp(s[i])) ++i;
  return s.substr(i);
}

std::string DecodeKey(const std::string& name, const std::string& value) {
  std::string t = Trim(value);
  if (t.empty()) return "";
  // Forklift passes the keys base64-encoded; key text pasted as it is works too.
  if (t.find_first_of(" \t\n") != std::string::npos) return t;
  try {
    return net::Base64Decode(t);
  } catch (const std::exception&) {
    throw PreconditionError(name +
                            " is neither base64 nor key text — check the provider's offload SSH key secrets");
  }
}

// SSH_HOST_KEY_FINGERPRINTS: "SHA256:…" separated by commas, spaces or new lines.
std::vector<std::string> ParseFingerprints(const std::string& value) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    if (!cur.starts_with("SHA256:") || cur.size() <= 7) {
      throw PreconditionError("SSH_HOST_KEY_FINGERPRINTS: \"" + cur +
                              "\" is not a SHA256 fingerprint — give SHA256:… as `ssh-keygen -lf "
                              "/etc/ssh/ssh_host_rsa_key.pub` prints it on the host");
    }
    out.push_back(cur);
    cur.clear();
  };
  for (char c : value) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

SshHostKeyMode ParseHostKeyMode(const std::string& value) {
  std::string v = AsciiLower(Trim(value));
  if (v.empty() || v == "pinned") return SshHostKeyMode::kPinned;
  if (v == "accept-new") return SshHostKeyMode::kAcceptNew;
  if (v == "off") return SshHostKeyMode::kOff;
  throw PreconditionError("SSH_HOST_KEY_CHECK: \"" + v +
                          "\" is not a host key check; use pinned (the default), accept-new (trust the first "
                          "key seen) or off (no check)");
}

// Every flag of the populator, on one FlagSet.
struct Flags {
  FlagSet set{"hoist-populator xcopy"};
  // Forklift's flags (reference §1.5).
  TypedFlag<std::string>& source_vm_id = set.String("source-vm-id", "", "vSphere VM id (vm-123)");
  TypedFlag<std::string>& source_vmdk = set.String("source-vmdk", "", "[datastore] vm-dir/disk.vmdk");
  TypedFlag<std::string>& target_namespace =
      set.String("target-namespace", "", "namespace of the target PVC");
  TypedFlag<std::string>& cr_name =
      set.String("cr-name", "", "the VSphereXcopyVolumePopulator (informational)");
  TypedFlag<std::string>& cr_namespace = set.String("cr-namespace", "", "its namespace (informational)");
  TypedFlag<std::string>& owner_name = set.String("owner-name", "", "the target PVC");
  TypedFlag<std::string>& owner_uid = set.String("owner-uid", "", "the target PVC's UID (metrics label)");
  TypedFlag<std::string>& secret_name = set.String("secret-name", "", "the per-disk Secret (informational)");
  TypedFlag<std::string>& pvc_size = set.String("pvc-size", "", "the PVC's size (informational)");
  TypedFlag<std::string>& vendor =
      set.String("storage-vendor-product", "", "ontap, primera3par, vantara, powerflex, …")
          .Env("STORAGE_VENDOR");
  TypedFlag<std::string>& storage_hostname =
      set.String("storage-hostname", "", "array management address").Env("STORAGE_HOSTNAME");
  TypedFlag<std::string>& storage_username =
      set.String("storage-username", "", "array user").Env("STORAGE_USERNAME");
  TypedFlag<std::string>& storage_password =
      set.String("storage-password", "", "array password").Env("STORAGE_PASSWORD").Secret();
  TypedFlag<std::string>& storage_token =
      set.String("storage-token", "", "array API token (Pure)").Env("STORAGE_TOKEN").Secret();
  TypedFlag<std::string>& storage_skip_tls =
      set.String("storage-skip-ssl-verification", "", "true: do not verify the array's certificate")
          .Env("STORAGE_SKIP_SSL_VERIFICATION");
  TypedFlag<std::string>& storage_timeout =
      set.String("storage-http-timeout-seconds", "", "array HTTP timeout")
          .Env("STORAGE_HTTP_TIMEOUT_SECONDS");
  TypedFlag<std::string>& vsphere_hostname =
      set.String("vsphere-hostname", "", "vCenter address").Env("GOVMOMI_HOSTNAME");
  TypedFlag<std::string>& vsphere_username =
      set.String("vsphere-username", "", "vCenter user").Env("GOVMOMI_USERNAME");
  TypedFlag<std::string>& vsphere_password =
      set.String("vsphere-password", "", "vCenter password").Env("GOVMOMI_PASSWORD").Secret();
  TypedFlag<bool>& vsphere_insecure =
      set.Bool("vsphere-insecure", false, "do not verify vCenter's certificate").Env("GOVMOMI_INSECURE");
  TypedFlag<std::string>& vsphere_ca_file =
      set.String("vsphere-ca-file", "", "PEM bundle vCenter's certificate chains to").Env("GOVMOMI_CA_FILE");
  TypedFlag<std::string>& method =
      set.String("esxi-clone-method", "vib", "vib or ssh").Env("ESXI_CLONE_METHOD");
  TypedFlag<std::string>& migration_host =
      set.String("migration-host", "", "ESXi host id (host-123); default: the VM's host");
  TypedFlag<std::string>& kubeconfig = set.String("kubeconfig", "", "kubeconfig for out-of-cluster runs");
  TypedFlag<std::string>& master = set.String("master", "", "API server URL (overrides the kubeconfig's)");
  TypedFlag<std::string>& http_endpoint = set.String("http-endpoint", "", "ignored (Forklift compatibility)");
  TypedFlag<std::string>& metrics_path = set.String("metrics-path", "", "ignored (Forklift compatibility)");
  TypedFlag<bool>& version = set.Bool("version", false, "print the version and exit");
  // hoist's additions; the controller passes only Forklift's flags, so each also reads a variable the
  // per-disk Secret may set.
  TypedFlag<std::string>& metrics_listen =
      set.String("metrics-listen", "",
                 "host:port of the HTTPS /metrics endpoint (default: pod address, 8443)")
          .Env("HOIST_XCOPY_METRICS_LISTEN");
  TypedFlag<int64_t>& task_poll = set.Duration("task-poll-interval", 5000, "clone task poll interval")
                                      .Env("HOIST_XCOPY_TASK_POLL_INTERVAL");
  TypedFlag<int64_t>& rescan_interval = set.Duration("rescan-interval", 5000, "pause between device rescans")
                                            .Env("HOIST_XCOPY_RESCAN_INTERVAL");
  TypedFlag<int64_t>& rescan_attempts =
      set.Int("rescan-attempts", 5, "rescans before the device must show").Env("HOIST_XCOPY_RESCAN_ATTEMPTS");
  TypedFlag<int64_t>& cleanup_settle =
      set.Duration("cleanup-settle", 5000, "pause before the dead-path rescan")
          .Env("HOIST_XCOPY_CLEANUP_SETTLE");
  TypedFlag<int64_t>& scrape_wait =
      set.Duration("scrape-wait", 10000, "final wait for the metrics scrape").Env("HOIST_XCOPY_SCRAPE_WAIT");
  TypedFlag<int64_t>& clone_timeout =
      set.Duration("clone-timeout", 48LL * 3600 * 1000, "give up on a clone after this")
          .Env("HOIST_XCOPY_CLONE_TIMEOUT");
  TypedFlag<int64_t>& task_get_retries =
      set.Int("task-get-retries", 5,
              "failed status polls in a row tolerated (after the executor's own retries)")
          .Env("HOIST_XCOPY_TASK_GET_RETRIES");
};

std::unique_ptr<Flags> Parse(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  auto f = std::make_unique<Flags>();
  f->set.SetEnvLookupForTest([&env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  f->set.Parse(args);
  if (f->set.help_requested()) throw PreconditionError(f->set.Usage());
  if (!f->set.positional().empty()) {
    throw PreconditionError("unexpected argument \"" + f->set.positional().front() +
                            "\" (flags look like --name=value)");
  }
  return f;
}

}  // namespace

std::string_view CloneMethodName(CloneMethod m) { return m == CloneMethod::kSsh ? "ssh" : "vib"; }

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

std::map<std::string, std::string> DescribeOptions(const std::vector<std::string>& args,
                                                   const std::map<std::string, std::string>& env) {
  return Parse(args, env)->set.Describe();
}

Options ParseOptions(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::unique_ptr<Flags> fp = Parse(args, env);
  Flags& f = *fp;
  auto envv = [&](const std::string& k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  Options o;
  o.version = *f.version;
  if (o.version) return o;
  o.source_vm_id = Trim(*f.source_vm_id);
  o.source_vmdk = *f.source_vmdk;
  o.target_namespace = Trim(*f.target_namespace);
  o.cr_name = *f.cr_name;
  o.cr_namespace = *f.cr_namespace;
  o.owner_name = Trim(*f.owner_name);
  o.owner_uid = Trim(*f.owner_uid);
  o.secret_name = *f.secret_name;
  o.pvc_size = *f.pvc_size;
  o.storage_vendor_product = Trim(*f.vendor);
  o.migration_host = Trim(*f.migration_host);
  o.kubeconfig = *f.kubeconfig;
  o.master = *f.master;
  o.vsphere_hostname = Trim(*f.vsphere_hostname);
  o.vsphere_username = *f.vsphere_username;
  o.vsphere_password = *f.vsphere_password;
  o.vsphere_insecure = *f.vsphere_insecure;
  o.vsphere_ca_file = Trim(*f.vsphere_ca_file);
  o.vsphere_ca_pem = envv("cacert");
  if (o.vsphere_ca_pem.empty()) o.vsphere_ca_pem = envv("ca.crt");
  o.metrics_listen = Trim(*f.metrics_listen);
  o.tuning.task_poll_interval = std::chrono::milliseconds(*f.task_poll);
  o.tuning.rescan_interval = std::chrono::milliseconds(*f.rescan_interval);
  o.tuning.rescan_attempts = static_cast<int>(std::max<int64_t>(1, *f.rescan_attempts));
  o.tuning.cleanup_settle = std::chrono::milliseconds(*f.cleanup_settle);
  o.tuning.scrape_wait = std::chrono::milliseconds(*f.scrape_wait);
  o.tuning.clone_timeout = std::chrono::milliseconds(*f.clone_timeout);
  o.tuning.task_get_retries = static_cast<int>(std::max<int64_t>(0, *f.task_get_retries));

  // The array's settings: the Secret's keys, with the flags winning (storage::ArrayConfigFromSecret).
  o.array_secret = env;
  auto put = [&](const char* key, const Flag& flag, const std::string& v) {
    if (flag.set()) o.array_secret[key] = v;
  };
  put("STORAGE_HOSTNAME", f.storage_hostname, *f.storage_hostname);
  put("STORAGE_USERNAME", f.storage_username, *f.storage_username);
  put("STORAGE_PASSWORD", f.storage_password, *f.storage_password);
  put("STORAGE_TOKEN", f.storage_token, *f.storage_token);
  put("STORAGE_SKIP_SSL_VERIFICATION", f.storage_skip_tls, *f.storage_skip_tls);
  put("STORAGE_HTTP_TIMEOUT_SECONDS", f.storage_timeout, *f.storage_timeout);

  std::string method = AsciiLower(Trim(*f.method));
  if (method.empty() || method == "vib") {
    o.method = CloneMethod::kVib;
  } else if (method == "ssh") {
    o.method = CloneMethod::kSsh;
  } else {
    throw PreconditionError("--esxi-clone-method (ESXI_CLONE_METHOD): \"" + method +
                            "\" is not a clone method; use vib or ssh");
  }

  if (std::string ns = Trim(envv("HOST_LEASE_NAMESPACE")); !ns.empty()) o.host_lease_namespace = ns;
  if (std::string d = Trim(envv("HOST_LEASE_DURATION_SECONDS")); !d.empty()) {
    auto secs = ParseDurationMs(d);
    if (!secs || *secs < 1000) {
      throw PreconditionError("HOST_LEASE_DURATION_SECONDS: \"" + d +
                              "\" is not a number of seconds (at least 1)");
    }
    o.host_lease_duration = std::chrono::seconds(*secs / 1000);
  }
  auto env_bool = [&](const char* k) {
    std::string v = Trim(envv(k));
    if (v.empty()) return false;
    auto b = ParseGoBool(v);
    if (!b) throw PreconditionError(std::string(k) + ": \"" + v + "\" is not true or false");
    return *b;
  };
  o.disable_vvol = env_bool("DISABLE_VVOL_METHOD");
  o.disable_rdm = env_bool("DISABLE_RDM_METHOD");

  // Required settings: every name Forklift meant to check (its list misspells two of them, §9.4 #8).
  std::vector<std::string> missing;
  auto need = [&](bool present, const std::string& what) {
    if (!present) missing.push_back(what);
  };
  auto secret = [&](const char* k) {
    auto it = o.array_secret.find(k);
    return it != o.array_secret.end() && !Trim(it->second).empty();
  };
  need(!o.source_vm_id.empty(), "--source-vm-id");
  need(!o.source_vmdk.empty(), "--source-vmdk");
  need(!o.owner_name.empty(), "--owner-name");
  need(!o.target_namespace.empty(), "--target-namespace");
  need(!o.storage_vendor_product.empty(), "--storage-vendor-product (STORAGE_VENDOR)");
  need(secret("STORAGE_HOSTNAME") || secret("management_address"), "--storage-hostname (STORAGE_HOSTNAME)");
  need(!o.vsphere_hostname.empty(), "--vsphere-hostname (GOVMOMI_HOSTNAME)");
  need(!o.vsphere_username.empty(), "--vsphere-username (GOVMOMI_USERNAME)");
  need(!o.vsphere_password.empty(), "--vsphere-password (GOVMOMI_PASSWORD)");
  if (!missing.empty()) {
    std::string m = "missing required settings:";
    for (const auto& s : missing) m += " " + s;
    throw PreconditionError(m + " — the per-disk Secret (envFrom) or the pod's arguments must provide them");
  }
  bool token = secret("STORAGE_TOKEN");
  bool user = secret("STORAGE_USERNAME") || secret("username");
  bool pass = secret("STORAGE_PASSWORD") || secret("password");
  if (!token && !(user && pass)) {
    throw PreconditionError(
        "either STORAGE_TOKEN or both STORAGE_USERNAME and STORAGE_PASSWORD must be provided (the storage "
        "vendor secret named in the StorageMap)");
  }
  if (o.method == CloneMethod::kSsh) {
    o.ssh_private_key = DecodeKey("SSH_PRIVATE_KEY", envv("SSH_PRIVATE_KEY"));
    o.ssh_public_key = DecodeKey("SSH_PUBLIC_KEY", envv("SSH_PUBLIC_KEY"));
    if (o.ssh_private_key.empty() || o.ssh_public_key.empty()) {
      throw PreconditionError(
          "the ssh clone method needs SSH_PRIVATE_KEY and SSH_PUBLIC_KEY (base64) — check the provider's "
          "offload-ssh-keys-<provider>-private/-public secrets");
    }
    if (std::string kh = envv("SSH_KNOWN_HOSTS"); !kh.empty())
      o.ssh_known_hosts = DecodeKey("SSH_KNOWN_HOSTS", kh);
    o.ssh_host_key_fingerprints = ParseFingerprints(envv("SSH_HOST_KEY_FINGERPRINTS"));
    o.ssh_host_key_check = ParseHostKeyMode(envv("SSH_HOST_KEY_CHECK"));
    bool pins = !o.ssh_known_hosts.empty() || !o.ssh_host_key_fingerprints.empty();
    switch (o.ssh_host_key_check) {
      case SshHostKeyMode::kPinned:
        if (!o.ssh_known_hosts.empty() && !o.ssh_host_key_fingerprints.empty()) {
          throw PreconditionError(
              "SSH_KNOWN_HOSTS and SSH_HOST_KEY_FINGERPRINTS are both set — pin the ESXi hosts' keys "
              "with one of them");
        }
        if (!pins) {
          throw PreconditionError(
              "the ssh clone method checks the ESXi hosts' SSH keys: set SSH_KNOWN_HOSTS (known_hosts lines, "
              "e.g. from ssh-keyscan checked against /etc/ssh/ssh_host_*_key.pub on the host) or "
              "SSH_HOST_KEY_FINGERPRINTS (SHA256:… from ssh-keygen -lf on the host); to trust the first key "
              "seen set SSH_HOST_KEY_CHECK=accept-new, to skip the check SSH_HOST_KEY_CHECK=off");
        }
        break;
      case SshHostKeyMode::kAcceptNew:
      case SshHostKeyMode::kOff:
        if (pins) {
          throw PreconditionError(
              std::string("SSH_HOST_KEY_CHECK=") +
              (o.ssh_host_key_check == SshHostKeyMode::kOff ? "off" : "accept-new") +
              " would ignore the pinned keys in SSH_KNOWN_HOSTS / SSH_HOST_KEY_FINGERPRINTS "
              "— remove the setting to check them, or the pins");
        }
        break;
    }
  }
  if (o.owner_uid.empty()) o.owner_uid = "unknown";
  return o;
}

}  // namespace hoist::populators::xcopy

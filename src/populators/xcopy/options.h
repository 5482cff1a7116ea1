#pragma once
// The xcopy populator's command line and environment, as Forklift's populator controller passes them
// (reference §1.4–1.5): `--source-vm-id=… --source-vmdk=… --owner-uid=…`, with the array and vCenter
// credentials from the per-disk Secret in the environment (STORAGE_*, GOVMOMI_*, ESXI_CLONE_METHOD,
// SSH_*, HOST_LEASE_*). Every flag has Forklift's name; hoist adds a few tuning flags (intervals,
// TLS material) that Forklift's controller never passes, so their defaults are production values.
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace hoist::populators::xcopy {

// Exit codes, as Forklift's populator uses them: 0 success, 2 bad arguments, 255 a failed populate.
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 255;

enum class CloneMethod { kVib, kSsh };
std::string_view CloneMethodName(CloneMethod m);  // "vib", "ssh"

// How the SSH method checks the ESXi hosts' keys (SSH_HOST_KEY_CHECK).
enum class SshHostKeyMode {
  kPinned,     // "pinned" (default): SSH_KNOWN_HOSTS lines or SSH_HOST_KEY_FINGERPRINTS, one of them required
  kAcceptNew,  // "accept-new": trust the first key the run sees, require it for the rest of the run
  kOff,        // "off": no check (what Forklift does)
};

struct Tuning {
  std::chrono::milliseconds task_poll_interval{5000};  // taskGet cadence (Forklift: 5 s)
  std::chrono::milliseconds rescan_interval{5000};     // wait between rescans until the device shows
  int rescan_attempts = 5;
  std::chrono::milliseconds cleanup_settle{5000};  // before the dead-path rescan after unmapping
  std::chrono::milliseconds scrape_wait{10000};    // final wait for the controller's scrape
  int task_get_retries = 5;                        // consecutive transient taskGet failures tolerated
  std::chrono::milliseconds clone_timeout{std::chrono::hours(48)};
};

struct Options {
  // Forklift's flags.
  std::string source_vm_id;
  std::string source_vmdk;
  std::string target_namespace;
  std::string cr_name, cr_namespace;
  std::string owner_name;  // the target PVC
  std::string owner_uid;   // its UID: the metrics' owner_uid label
  std::string secret_name;
  std::string pvc_size;
  std::string storage_vendor_product;
  std::string migration_host;
  std::string kubeconfig;
  std::string master;
  CloneMethod method = CloneMethod::kVib;

  // From flags or the environment (the per-disk Secret).
  std::string vsphere_hostname, vsphere_username, vsphere_password;
  bool vsphere_insecure = false;  // GOVMOMI_INSECURE
  std::string vsphere_ca_file;    // --vsphere-ca-file / GOVMOMI_CA_FILE; else `cacert` (PEM)
  std::string vsphere_ca_pem;
  std::string ssh_private_key;  // decoded PEM (SSH_PRIVATE_KEY is base64)
  std::string ssh_public_key;
  std::string ssh_known_hosts;  // SSH_KNOWN_HOSTS (decoded): pins ESXi host keys when set
  std::vector<std::string> ssh_host_key_fingerprints;           // SSH_HOST_KEY_FINGERPRINTS: "SHA256:…"
  SshHostKeyMode ssh_host_key_check = SshHostKeyMode::kPinned;  // SSH_HOST_KEY_CHECK
  std::string host_lease_namespace = "openshift-mtv";
  std::chrono::seconds host_lease_duration{10};
  int host_lease_slots = 2;
  // DISABLE_VVOL_METHOD / DISABLE_RDM_METHOD: accepted for Forklift's Secrets; hoist copies VMDKs
  // only and refuses vVol and RDM disks whatever they say.
  bool disable_vvol = false, disable_rdm = false;

  // The whole environment and the array's keys (STORAGE_*, vendor keys) for storage::ArrayConfig.
  std::map<std::string, std::string> array_secret;

  // Metrics endpoint (Forklift: always :8443; hoist binds the pod's own address).
  std::string metrics_listen;  // --metrics-listen host:port; empty: the pod's address, port 8443

  Tuning tuning;
  bool version = false;
};

// Parses `args` (without the subcommand) and the environment `env` (the process environment in
// production). Flags take `--name=value`, `--name value`, or a single dash, as Go's flag package
// does (core/flags.h). Throws hoist::Error(kPrecondition) for unknown flags, bad values and missing
// required settings, naming the flag and the environment variable that feeds it (never a value of
// a secret); callers exit with kExitUsage. `--help` throws kPrecondition with the usage text.
Options ParseOptions(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);

// The process environment as a map.
std::map<std::string, std::string> ProcessEnvironment();

// The effective settings for the start-up log line (secrets redacted).
std::map<std::string, std::string> DescribeOptions(const std::vector<std::string>& args,
                                                   const std::map<std::string, std::string>& env);

}  // namespace hoist::populators::xcopy

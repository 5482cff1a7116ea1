#pragma once
// The per-disk Secret the xcopy populator pod takes its environment from (envFrom), merged from the
// vSphere Provider's Secret, the StorageMap entry's storage Secret and the planner's settings —
// Forklift's mergeSecrets (reference forklift-xcopy-populator.md §1.3), with two fixes noted below.
// Pure: values in, values out; nothing here logs.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::planner {

struct DiskSecretInputs {
  std::map<std::string, std::string> provider_secret;  // decoded: user, password, cacert, insecureSkipVerify
  std::map<std::string, std::string> storage_secret;   // decoded: STORAGE_* / aliases / vendor keys
  std::string provider_url;                            // Provider spec.url
  std::string clone_method = "vib";                    // ESXI_CLONE_METHOD
  std::string lease_namespace;                         // HOST_LEASE_NAMESPACE ("" leaves it out)
  int lease_duration_seconds = 0;                      // HOST_LEASE_DURATION_SECONDS (0 leaves it out)
  std::optional<std::string> ssh_private_key;  // contents of offload-ssh-keys-<provider>-private (private-key)
  std::optional<std::string> ssh_public_key;   // contents of offload-ssh-keys-<provider>-public (public-key)
};

// The Secret's data (not yet base64-encoded):
//   every key of the storage Secret, and the aliases management_address → STORAGE_HOSTNAME,
//   username → STORAGE_USERNAME, password → STORAGE_PASSWORD (an explicit STORAGE_* key wins);
//   GOVMOMI_USERNAME ← user, GOVMOMI_PASSWORD ← password, GOVMOMI_INSECURE ← insecureSkipVerify and
//   cacert from the Provider Secret; GOVMOMI_HOSTNAME from the Provider URL (VsphereHostname);
//   ESXI_CLONE_METHOD, HOST_LEASE_NAMESPACE, HOST_LEASE_DURATION_SECONDS; SSH_PRIVATE_KEY and
//   SSH_PUBLIC_KEY as base64 of the key files.
// Fixes: Forklift copies the Provider Secret verbatim, so its `user`/`password` (vCenter's) sit under
// the same names the storage aliases use and leak into the array login when the storage Secret uses
// STORAGE_* keys; here the Provider's credentials appear only as GOVMOMI_*. And GOVMOMI_HOSTNAME keeps
// a non-default port or scheme, which Forklift's URL hostname dropped.
std::map<std::string, std::string> MergeDiskSecret(const DiskSecretInputs& in);

// GOVMOMI_HOSTNAME for a Provider URL: "vc.example.com" for https://vc.example.com/sdk, with the port
// when it is not 443 ("vc:8443"), and the whole URL when the scheme or path is not the default (the
// populators accept a URL there too: govmomi's soap.ParseURL and vsphere::NormalizeSdkUrl).
std::string VsphereHostname(std::string_view provider_url);

// What a storage Secret lacks for the populator to log in to the array: "STORAGE_HOSTNAME (or
// management_address)", "STORAGE_USERNAME (or username)", "STORAGE_PASSWORD (or password)" — user and
// password are not needed when STORAGE_TOKEN is set (Pure FlashArray). Empty when complete.
std::vector<std::string> MissingStorageKeys(const std::map<std::string, std::string>& storage_secret);
// What a vSphere Provider Secret lacks: "user", "password".
std::vector<std::string> MissingProviderKeys(const std::map<std::string, std::string>& provider_secret);

}  // namespace hoist::planner

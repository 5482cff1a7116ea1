#pragma once
// The SSH clone method: root's restricted key on the host (`hoist esxi ssh-key-line` prints the
// authorized_keys line) whose forced command only runs
// `sh /vmfs/volumes/<datastore>/secure-vmkfstools-wrapper`. Every request is one SSH session
// with the command `DS=<datastore>;CMD=<wrapper arguments>`; `DS=;CMD=…` answers `SSH_OK`.
//
// hoist runs Debian's OpenSSH client (`ssh`, `ssh-keyscan`) as subprocesses: no libssh, and the
// host key is checked by OpenSSH itself against a known_hosts file the executor writes from the
// pin it is given. The private key is written to a private temporary directory (0700/0600) and
// removed with the executor; it never reaches a command line, a log or an error.
//
// Host keys (SshHostKeyCheck):
//   kKnownHosts   known_hosts lines for the host (`ssh-keyscan -p 22 <host>`, or the host's
//                 /etc/ssh/ssh_host_*_key.pub); OpenSSH refuses any other key.
//   kFingerprint  "SHA256:…" fingerprints (`ssh-keygen -lf /etc/ssh/ssh_host_rsa_key.pub` on the
//                 host); the executor fetches the offered keys with ssh-keyscan, keeps only those
//                 whose fingerprint matches, and connects with exactly those keys pinned.
//   kAcceptNew    trust on first use, only when asked for: the first key seen is recorded in
//                 `known_hosts_file` and required from then on.
//   kInsecure     no check (what Forklift does); only when asked for, and logged as a warning.
// The default (kKnownHosts with nothing pinned) refuses to connect and says how to pin the key.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "esxi/clone_executor.h"

namespace hoist::esxi {

// Puts a file on a datastore (vCenter's datastore file HTTP, `PUT /folder/<path>?dsName=…`). The
// SSH executor uses it to install its wrapper; the flow passes a vSphere-backed one.
class DatastoreUploader {
 public:
  virtual ~DatastoreUploader() = default;
  // `path` is relative to the datastore root ("secure-vmkfstools-wrapper"). Throws hoist::Error.
  virtual void Upload(std::string_view datastore, std::string_view path, std::string_view content) = 0;
};

enum class SshHostKeyCheck { kKnownHosts, kFingerprint, kAcceptNew, kInsecure };

struct SshExecutorOptions {
  std::string address;  // the host's management address (name or IP)
  int port = 22;
  std::string user = "root";
  std::string host_name;    // for messages, e.g. "esx1.example.com (HostSystem:host-12)"; default: address
  std::string private_key;  // OpenSSH or PEM private key text (a secret)
  // The datastore holding the wrapper: the source VMDK's datastore.
  std::string datastore;

  SshHostKeyCheck host_key_check = SshHostKeyCheck::kKnownHosts;
  std::string known_hosts;                // kKnownHosts: known_hosts lines (host names in them are ignored)
  std::vector<std::string> fingerprints;  // kFingerprint: "SHA256:…"
  std::string known_hosts_file;           // kAcceptNew: where the first-seen key is kept

  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds command_timeout{std::chrono::seconds(60)};  // per request

  // Upload hoist's wrapper (`wrapper_script`, default: the one compiled in) to
  // /vmfs/volumes/<datastore>/secure-vmkfstools-wrapper when the host has none or an older one.
  // Needs `uploader`. A newer wrapper, or hoist's of the same version, is left alone.
  bool upload_wrapper = true;
  std::string wrapper_script;

  // Keep one SSH connection open and run each request as a session on it (OpenSSH connection
  // multiplexing, ControlPersist 60 s): one key exchange and authentication per executor instead of
  // one per poll. The connection is closed with the executor.
  bool multiplex = true;

  ExecutorRetry retry;
  std::string ssh_program = "ssh";  // tests may point these elsewhere
  std::string keyscan_program = "ssh-keyscan";
};

// `uploader` may be null when upload_wrapper is false; it must outlive the executor. Throws
// kPrecondition for unusable options (no key, no address, bad datastore name, no pin).
std::unique_ptr<CloneExecutor> MakeSshExecutor(SshExecutorOptions options, DatastoreUploader* uploader);

// The fingerprint of a public key line ("ssh-ed25519 AAAA… comment" or a known_hosts line) as
// `ssh-keygen -l` prints it: "SHA256:" + unpadded base64 of the SHA-256 of the key blob.
// Throws kPrecondition for text that holds no key.
std::string SshKeyFingerprint(std::string_view key_line);

}  // namespace hoist::esxi

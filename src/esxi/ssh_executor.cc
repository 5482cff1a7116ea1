#include "esxi/ssh_executor.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "esxi/retry.h"
#include "esxi/vib.h"
#include "esxi/wrapper_executor.h"

namespace hoist::esxi {
namespace {

namespace fs = std::filesystem;

// The name under which pinned keys are written and looked up (HostKeyAlias), so that the address
// the host is reached by does not matter.
constexpr std::string_view kPinnedAlias = "hoist-pinned-esxi-host";

bool IsKeyType(std::string_view t) {
  return t.starts_with("ssh-") || t.starts_with("ecdsa-sha2-") || t.starts_with("sk-ssh-") ||
         t.starts_with("sk-ecdsa-") || t.starts_with("rsa-sha2-");
}

std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

struct PublicKey {
  std::string type, blob;  // "ssh-ed25519", base64
};

// Keys in known_hosts lines, authorized_keys-style lines ("ssh-rsa AAAA… comment") or ssh-keyscan
// output. Marker lines (@cert-authority, @revoked) and comments are skipped.
std::vector<PublicKey> ParseKeyLines(std::string_view text) {
  std::vector<PublicKey> keys;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto words = Words(line);
    if (words.empty() || words[0][0] == '#' || words[0][0] == '@') continue;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
      if (IsKeyType(words[i])) {
        keys.push_back({words[i], words[i + 1]});
        break;
      }
    }
  }
  return keys;
}

std::string Base64Decode(std::string_view in) {
  std::string out((in.size() / 4 + 1) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return "";
  std::size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it) ++pad;
  out.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(pad, static_cast<std::size_t>(n)));
  return out;
}

std::string Fingerprint(const PublicKey& key) {
  std::string blob = Base64Decode(key.blob);
  if (blob.empty()) throw PreconditionError("host key of type " + key.type + " is not valid base64");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(blob.data(), blob.size(), digest, &len, EVP_sha256(), nullptr);
  std::string b64(((len + 2) / 3) * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), digest, static_cast<int>(len));
  b64.resize(static_cast<std::size_t>(n));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

void WritePrivateFile(const fs::path& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw PreconditionError("cannot write " + path.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw PreconditionError("cannot write " + path.string() + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

// The last meaningful line of ssh's stderr (it may print warnings first).
std::string SshComplaint(std::string_view err) {
  std::string last;
  std::istringstream in{std::string(err)};
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last = line;
  }
  if (last.size() > 300) last = last.substr(0, 300) + "…";
  return last;
}

bool Contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

class SshExecutor final : public WrapperExecutor {
 public:
  SshExecutor(SshExecutorOptions options, DatastoreUploader* uploader)
      : WrapperExecutor(options.retry), options_(std::move(options)), uploader_(uploader) {
    if (options_.address.empty())
      throw PreconditionError("SSH clone method: the ESXi host's address is empty");
    if (options_.private_key.find("PRIVATE KEY") == std::string::npos) {
      throw PreconditionError(
          "SSH clone method for " + host() +
          ": the private key (SSH_PRIVATE_KEY) is empty or not a PEM/OpenSSH private key");
    }
    if (options_.upload_wrapper && uploader_ == nullptr) {
      throw BugError("SSH executor: upload_wrapper needs a DatastoreUploader");
    }
    // The datastore must be one the forced command can carry (checked by SshRequest).
    SshRequest(options_.datastore, VersionArgs(), {});
    if (options_.wrapper_script.empty()) options_.wrapper_script = std::string(EmbeddedWrapperScript());

    std::string tmpl = (fs::temp_directory_path() / "hoist-ssh.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw PreconditionError("cannot create a private temporary directory: " +
                              std::string(std::strerror(errno)));
    dir_ = tmpl;
    try {
      std::string key = options_.private_key;
      if (key.back() != '\n') key += '\n';  // OpenSSH refuses a key file without its final newline
      WritePrivateFile(dir_ / "id", key);
      WritePrivateFile(dir_ / "known_hosts", "");
    } catch (...) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      throw;
    }
  }

  ~SshExecutor() override {
    if (Multiplexing() && fs::exists(dir_ / "cm")) {
      // Close the shared connection (its master process is detached and would otherwise linger
      // until ControlPersist ends it).
      try {
        RunProcess(
            {options_.ssh_program, "-F", "/dev/null", "-o", "ControlPath=" + (dir_ / "cm").string(), "-O",
             "exit", "-p", std::to_string(options_.port), "-l", options_.user, "--", options_.address},
            ChildOptions(std::chrono::seconds(5), {}));
      } catch (const Error& e) {
        log::Warn("esxi", "closing the SSH connection failed", {{"host", host()}, {"error", e.what()}});
      }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string_view method() const override { return "ssh"; }
  std::string host() const override {
    std::string name = options_.host_name.empty() ? options_.address : options_.host_name;
    return name + " over SSH (" + options_.user + "@" + options_.address + ":" +
           std::to_string(options_.port) + ")";
  }

  WrapperVersion Prepare(std::stop_token stop) override {
    std::lock_guard<std::mutex> l(prepare_mu_);
    if (prepared()) return version_;
    PinHostKey(stop);
    Probe(stop);
    std::optional<WrapperVersion> v = ReadVersion(stop);
    const std::string ours = ScriptVersion(options_.wrapper_script);
    std::string wrapper_path = "/vmfs/volumes/" + options_.datastore + "/" + std::string(kSshWrapperFileName);
    bool older = !v || (!ours.empty() && CompareVersions(v->version, ours) < 0);
    if (older && options_.upload_wrapper) {
      log::Info(
          "esxi", "uploading the vmkfstools-wrapper to the datastore",
          {{"host", host()}, {"path", wrapper_path}, {"found", v ? v->version : "none"}, {"version", ours}});
      uploader_->Upload(options_.datastore, kSshWrapperFileName, options_.wrapper_script);
      v = ReadVersion(stop);
      if (!v || CompareVersions(v->version, ours) != 0) {
        throw PreconditionError("uploaded the vmkfstools-wrapper " + ours + " to " + wrapper_path + " but " +
                                host() + " reports " +
                                (v ? "version " + v->version : std::string("no wrapper")) +
                                " — check that the datastore is mounted on the host and writable");
      }
    } else if (!v) {
      throw PreconditionError("there is no vmkfstools-wrapper at " + wrapper_path + " on " + host() +
                              " and uploading it is turned off — copy it there (hoist esxi vib build "
                              "carries it) or allow the upload");
    }
    log::Info("esxi", "vmkfstools-wrapper found",
              {{"host", host()},
               {"method", "ssh"},
               {"version", v->version},
               {"implementation", v->implementation.empty() ? "forklift" : v->implementation}});
    SetVersion(std::move(*v));
    return version_;
  }

 protected:
  WrapperReply Send(const std::vector<std::string>& args, std::stop_token stop) override {
    std::string request = SshRequest(options_.datastore, args, caps_);
    ProcessResult r = Ssh(request, stop);
    std::string what = args.empty() ? std::string("request") : args[0];
    if (r.exit_code == 255 || r.signal != 0 || r.timed_out) ThrowSshFailure(r, what);
    if (WrapperMissing(r)) {
      throw PreconditionError("the vmkfstools-wrapper is missing at /vmfs/volumes/" + options_.datastore +
                              "/" + std::string(kSshWrapperFileName) + " on " + host());
    }
    try {
      return ParseWrapperXml(r.out);
    } catch (const Error& e) {
      std::string complaint = SshComplaint(r.err);
      throw Error(e.error_class(), std::string(e.what()) + " (" + what + " on " + host() + ", exit " +
                                       std::to_string(r.exit_code) +
                                       (complaint.empty() ? std::string() : ", stderr: " + complaint) + ")");
    }
  }

 private:
  std::vector<std::string> SshArgv(std::string_view request) const {
    auto seconds = [](std::chrono::milliseconds d) {
      return std::to_string(
          std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count()));
    };
    std::vector<std::string> argv = {options_.ssh_program,
                                     "-F",
                                     "/dev/null",
                                     "-T",
                                     "-x",
                                     "-a",
                                     "-o",
                                     "BatchMode=yes",
                                     "-o",
                                     "IdentitiesOnly=yes",
                                     "-o",
                                     "IdentityAgent=none",
                                     "-o",
                                     "IdentityFile=" + (dir_ / "id").string(),
                                     "-o",
                                     "PasswordAuthentication=no",
                                     "-o",
                                     "KbdInteractiveAuthentication=no",
                                     "-o",
                                     "ConnectTimeout=" + seconds(options_.connect_timeout),
                                     "-o",
                                     "ServerAliveInterval=15",
                                     "-o",
                                     "ServerAliveCountMax=3",
                                     "-o",
                                     "GlobalKnownHostsFile=/dev/null",
                                     "-o",
                                     "UpdateHostKeys=no",
                                     "-o",
                                     "LogLevel=ERROR",
                                     "-p",
                                     std::to_string(options_.port),
                                     "-l",
                                     options_.user};
    auto add = [&](std::string o) {
      argv.push_back("-o");
      argv.push_back(std::move(o));
    };
    switch (options_.host_key_check) {
      case SshHostKeyCheck::kKnownHosts:
      case SshHostKeyCheck::kFingerprint:
        add("UserKnownHostsFile=" + (dir_ / "known_hosts").string());
        add("HostKeyAlias=" + std::string(kPinnedAlias));
        add("StrictHostKeyChecking=yes");
        if (!pinned_types_.empty()) add("HostKeyAlgorithms=" + pinned_types_);
        break;
      case SshHostKeyCheck::kAcceptNew:
        add("UserKnownHostsFile=" + options_.known_hosts_file);
        add("StrictHostKeyChecking=accept-new");
        break;
      case SshHostKeyCheck::kInsecure:
        add("UserKnownHostsFile=/dev/null");
        add("StrictHostKeyChecking=no");
        break;
    }
    if (Multiplexing()) {
      add("ControlMaster=auto");
      add("ControlPath=" + (dir_ / "cm").string());
      add("ControlPersist=60");
    }
    argv.push_back("--");
    argv.push_back(options_.address);
    argv.emplace_back(request);
    return argv;
  }

  // A Unix socket path is at most 108 bytes; with a long TMPDIR every request connects on its own.
  bool Multiplexing() const { return options_.multiplex && (dir_ / "cm").string().size() < 100; }

  ProcessOptions ChildOptions(std::chrono::milliseconds timeout, std::stop_token stop) const {
    ProcessOptions po;
    // ssh reads nothing of the user's (-F /dev/null, own HOME), so a pod without a home works too.
    const char* path = std::getenv("PATH");
    po.env = {"HOME=" + dir_.string(), "PATH=" + std::string(path ? path : "/usr/bin:/bin"), "LANG=C"};
    po.timeout = timeout;
    po.stop = stop;
    return po;
  }

  ProcessResult Ssh(std::string_view request, std::stop_token stop) {
    if (!pinned_) PinHostKey(stop);
    return RunProcess(SshArgv(request),
                      ChildOptions(options_.connect_timeout + options_.command_timeout, stop));
  }

  [[noreturn]] void ThrowSshFailure(const ProcessResult& r, std::string_view what) const {
    std::string complaint = SshComplaint(r.err);
    std::string base = "SSH to " + host() + " (" + std::string(what) + ")";
    if (r.cancelled) throw CancelledError(base + ": stopped");
    if (r.timed_out)
      throw TransientError(base + ": no answer within " +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              options_.connect_timeout + options_.command_timeout)
                                              .count()) +
                           " s");
    if (Contains(r.err, "Host key verification failed") ||
        Contains(r.err, "HOST IDENTIFICATION HAS CHANGED") || Contains(r.err, "No matching host key") ||
        Contains(r.err, "host key for")) {
      throw PreconditionError(
          base + ": the host's SSH key does not match the pinned one (" + complaint +
          ") — compare `ssh-keygen -lf /etc/ssh/ssh_host_rsa_key.pub` on the host with the "
          "configured known host key or fingerprint");
    }
    if (Contains(r.err, "Permission denied")) {
      throw PreconditionError(base + ": the host refused the key (" + complaint +
                              ") — add the line printed by `hoist esxi ssh-key-line` to "
                              "/etc/ssh/keys-root/authorized_keys on the host");
    }
    if (Contains(r.err, "Connection refused")) {
      throw TransientError(base + ": connection refused — is the SSH service (TSM-SSH) running on the host?");
    }
    throw TransientError(base + ": " + (complaint.empty() ? "ssh failed (exit 255)" : complaint));
  }

  // Writes the pinned host keys for OpenSSH to check (kKnownHosts, kFingerprint).
  void PinHostKey(std::stop_token stop) {
    std::lock_guard<std::mutex> l(pin_mu_);
    if (pinned_) return;
    std::vector<PublicKey> keys;
    switch (options_.host_key_check) {
      case SshHostKeyCheck::kInsecure:
        log::Warn("esxi", "the ESXi host's SSH key is not checked (host key checking is off)",
                  {{"host", host()}});
        pinned_ = true;
        return;
      case SshHostKeyCheck::kAcceptNew:
        if (options_.known_hosts_file.empty()) {
          throw PreconditionError(
              "SSH to " + host() +
              ": trusting the host key on first use needs a known_hosts file to keep it in");
        }
        pinned_ = true;
        return;
      case SshHostKeyCheck::kKnownHosts:
        keys = ParseKeyLines(options_.known_hosts);
        if (keys.empty()) {
          throw PreconditionError(
              "SSH to " + host() +
              ": no host key is pinned — give the host's key (known_hosts lines, e.g. from `ssh-keyscan " +
              options_.address +
              "` checked against /etc/ssh/ssh_host_*_key.pub on the host) or its SHA256 "
              "fingerprint; to trust the first key seen, or not check it at all, say so explicitly");
        }
        break;
      case SshHostKeyCheck::kFingerprint:
        keys = ScanMatchingKeys(stop);
        break;
    }
    std::string lines, types;
    for (const auto& k : keys) {
      lines += std::string(kPinnedAlias) + " " + k.type + " " + k.blob + "\n";
      // Ask only for the pinned key types, so a host that also has others offers a pinned one.
      std::string t = k.type == "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa" : k.type;
      if (!Contains(types, t)) types += (types.empty() ? "" : ",") + t;
    }
    WritePrivateFile(dir_ / "known_hosts", lines);
    pinned_types_ = types;
    pinned_ = true;
  }

  // The keys the host offers (ssh-keyscan) whose fingerprints are pinned.
  std::vector<PublicKey> ScanMatchingKeys(std::stop_token stop) {
    if (options_.fingerprints.empty())
      throw PreconditionError("SSH to " + host() +
                              ": host key fingerprint checking is on but no fingerprint is given");
    auto secs = std::max<long long>(
        1, std::chrono::duration_cast<std::chrono::seconds>(options_.connect_timeout).count());
    ProcessResult r = RunProcess({options_.keyscan_program, "-p", std::to_string(options_.port), "-T",
                                  std::to_string(secs), options_.address},
                                 ChildOptions(options_.connect_timeout + std::chrono::seconds(5), stop));
    if (r.cancelled) throw CancelledError("reading the SSH host keys of " + host() + ": stopped");
    std::vector<PublicKey> offered = ParseKeyLines(r.out), matching;
    std::string seen;
    for (const auto& k : offered) {
      std::string fp = Fingerprint(k);
      seen += (seen.empty() ? "" : ", ") + k.type + " " + fp;
      for (const auto& want : options_.fingerprints) {
        std::string w = want;
        if (!w.starts_with("SHA256:")) w = "SHA256:" + w;
        while (!w.empty() && w.back() == '=') w.pop_back();
        if (w == fp) matching.push_back(k);
      }
    }
    if (offered.empty()) {
      throw TransientError("reading the SSH host keys of " + host() + " with ssh-keyscan gave none (" +
                           SshComplaint(r.err) + ") — is the SSH service (TSM-SSH) running?");
    }
    if (matching.empty()) {
      throw PreconditionError("SSH to " + host() + ": the host offers " + seen +
                              "; none matches the pinned fingerprint — compare with `ssh-keygen -lf "
                              "/etc/ssh/ssh_host_rsa_key.pub` on the host");
    }
    return matching;
  }

  // `DS=;CMD=…` must answer SSH_OK: the key is restricted with hoist's (or Forklift's) forced command.
  void Probe(std::stop_token stop) {
    ProcessResult r = RetryTransient(retry_.status_attempts, retry_.first_delay, retry_.max_delay, stop,
                                     "SSH probe of " + host(), [&] {
                                       ProcessResult p = Ssh(kSshProbeRequest, stop);
                                       if (p.exit_code == 255 || p.signal != 0 || p.timed_out)
                                         ThrowSshFailure(p, "probe");
                                       return p;
                                     });
    std::string out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
    if (out != "SSH_OK" && !out.ends_with("\nSSH_OK")) {
      throw PreconditionError("SSH to " + host() +
                              " works but the key is not restricted to the vmkfstools-wrapper "
                              "(the probe answered \"" +
                              out.substr(0, 80) +
                              "\" instead of SSH_OK) — replace the "
                              "key's line in /etc/ssh/keys-root/authorized_keys with the one `hoist esxi "
                              "ssh-key-line` prints");
    }
  }

  // The wrapper's version on the datastore; nullopt when there is none, or one too old to answer
  // (Forklift's Python wrapper). Trouble reaching the host is thrown, never taken for "no wrapper".
  std::optional<WrapperVersion> ReadVersion(std::stop_token stop) {
    std::string what = "reading the vmkfstools-wrapper version on " + host();
    return RetryTransient(retry_.status_attempts, retry_.first_delay, retry_.max_delay, stop, what,
                          [&]() -> std::optional<WrapperVersion> {
                            ProcessResult r = Ssh(SshRequest(options_.datastore, VersionArgs(), caps_), stop);
                            if (r.exit_code == 255 || r.signal != 0 || r.timed_out)
                              ThrowSshFailure(r, "--version");
                            if (WrapperMissing(r)) return std::nullopt;
                            try {
                              return ParseVersionReply(ParseWrapperXml(r.out), host());
                            } catch (const Error& e) {
                              if (e.error_class() != ErrorClass::kPrecondition) throw;
                              log::Info("esxi", "no usable vmkfstools-wrapper on the datastore",
                                        {{"host", host()}, {"reason", e.what()}});
                              return std::nullopt;
                            }
                          });
  }

  static bool WrapperMissing(const ProcessResult& r) {
    return Contains(r.err, kSshWrapperFileName) &&
           (Contains(r.err, "can't open") || Contains(r.err, "No such file"));
  }

  SshExecutorOptions options_;
  DatastoreUploader* uploader_;
  fs::path dir_;
  std::mutex prepare_mu_, pin_mu_;
  bool pinned_ = false;
  std::string pinned_types_;
};

}  // namespace

std::string SshKeyFingerprint(std::string_view key_line) {
  auto keys = ParseKeyLines(key_line);
  if (keys.empty())
    throw PreconditionError("no SSH public key in \"" + std::string(key_line.substr(0, 60)) + "\"");
  return Fingerprint(keys.front());
}

std::unique_ptr<CloneExecutor> MakeSshExecutor(SshExecutorOptions options, DatastoreUploader* uploader) {
  return std::make_unique<SshExecutor>(std::move(options), uploader);
}

}  // namespace hoist::esxi

#pragma once
// Building requests for the ESXi-side vmkfstools-wrapper, for both transports:
//   - remote esxcli (`esxcli vmkfstools clone -s <src> -t <dev>`), where the plugin pastes each
//     value into '$val{...}' — a single quote cannot travel that way;
//   - the restricted SSH key, which receives `DS=<datastore>;CMD=<arguments>`.
// Paths that the esxcli route cannot carry as they are travel as `hex:<bytes>`, which only
// hoist's wrapper understands (feature "hex-args"); Forklift's wrapper gets plain paths.
#include <string>
#include <string_view>
#include <vector>

namespace hoist::esxi {

// Where the wrapper sits on a datastore for the SSH method (same name as Forklift's).
inline constexpr std::string_view kSshWrapperFileName = "secure-vmkfstools-wrapper";

// What the host's wrapper understands (from its version answer).
struct WrapperCapabilities {
  bool hex_args = false;         // -s/-t accept hex:<bytes>
  bool quoted_ssh_args = false;  // SSH arguments are split like a shell splits them
};

// Arguments for each wrapper command. Throws hoist::Error (kPrecondition) when a path cannot be
// sent to a wrapper without hex-args support.
std::vector<std::string> CloneArgs(std::string_view source_vmdk, std::string_view target_device,
                                   const WrapperCapabilities& caps);
std::vector<std::string> TaskGetArgs(std::string_view task_id);
std::vector<std::string> TaskCleanArgs(std::string_view task_id);
std::vector<std::string> VersionArgs();

// `hex:` + lower-case hex of the bytes.
std::string HexArg(std::string_view value);

// POSIX shell single-quoting ('it'\''s').
std::string ShellQuote(std::string_view word);

// `DS=<datastore>;CMD=<arguments>`. Arguments are shell-quoted when the wrapper splits like a
// shell; for an older wrapper they are joined with spaces (which is all it understands).
// Throws hoist::Error (kPrecondition) for a datastore name the forced command cannot carry.
std::string SshRequest(std::string_view datastore, const std::vector<std::string>& args,
                       const WrapperCapabilities& caps);

// The SSH connectivity probe; the forced command answers it with `SSH_OK`.
inline constexpr std::string_view kSshProbeRequest = "DS=;CMD=status test-task-id";

// The restricted authorized_keys line an administrator installs on the host
// (/etc/ssh/keys-root/authorized_keys). `public_key` is the "ssh-rsa AAAA… comment" text.
std::string RestrictedKeyLine(std::string_view public_key);

// The shell program of that line's forced command (what sshd runs, after unescaping).
std::string_view ForcedCommandProgram();

}  // namespace hoist::esxi

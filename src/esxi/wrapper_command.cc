#include "esxi/wrapper_command.h"

#include "core/error.h"

namespace hoist::esxi {
namespace {

// Characters that survive the esxcli plugin's '$val{...}' substitution and the unquoted word
// splitting of Forklift's SSH wrapper alike.
bool PlainSafe(std::string_view s, bool allow_space) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e || c == '\'' || c == '\\' || c == '$' || c == '`' || c == '"') return false;
    if (c == ' ' && !allow_space) return false;
  }
  return true;
}

std::string PathArg(std::string_view what, std::string_view path, const WrapperCapabilities& caps) {
  if (PlainSafe(path, /*allow_space=*/true)) return std::string(path);
  if (caps.hex_args) return HexArg(path);
  throw PreconditionError(
      std::string(what) + " path \"" + std::string(path) +
      "\" contains characters the ESXi host's vmkfstools-wrapper cannot receive; "
      "install hoist's vmkfstools-wrapper VIB (hoist esxi vib build) on the host, or rename it");
}

// The forced command. sshd runs it with the user's shell (BusyBox sh on ESXi). The request
// `DS=<datastore>;CMD=<arguments>` selects the wrapper on that datastore, which reads the arguments
// from SSH_ORIGINAL_COMMAND (as Forklift's forced command passes them). No part of the request is
// ever evaluated; the datastore name is quoted, so names with spaces work.
constexpr std::string_view kForcedCommand =
    "r=$SSH_ORIGINAL_COMMAND; d=${r#DS=}; d=${d%%;CMD=*}; "
    "case $r in DS=*) ;; *) d=;; esac; "
    "case $d in '') echo SSH_OK; exit 0;; */*|.|..) echo 'invalid datastore name' >&2; exit 1;; esac; "
    "export SSH_ORIGINAL_COMMAND=\"${r#*;CMD=}\"; "
    "exec sh \"/vmfs/volumes/$d/secure-vmkfstools-wrapper\"";

}  // namespace

std::string HexArg(std::string_view value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "hex:";
  for (unsigned char c : value) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

std::vector<std::string> CloneArgs(std::string_view source_vmdk, std::string_view target_device,
                                   const WrapperCapabilities& caps) {
  return {"--clone", "-s", PathArg("source VMDK", source_vmdk, caps), "-t",
          PathArg("target device", target_device, caps)};
}

std::vector<std::string> TaskGetArgs(std::string_view task_id) {
  return {"--task-get", "-i", std::string(task_id)};
}

std::vector<std::string> TaskCleanArgs(std::string_view task_id) {
  return {"--task-clean", "-i", std::string(task_id)};
}

std::vector<std::string> VersionArgs() { return {"--version"}; }

std::string ShellQuote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string SshRequest(std::string_view datastore, const std::vector<std::string>& args,
                       const WrapperCapabilities& caps) {
  if (datastore.empty() || datastore == "." || datastore == ".." ||
      datastore.find_first_of("/\n\r") != std::string_view::npos ||
      datastore.find(";CMD=") != std::string_view::npos) {
    throw PreconditionError("datastore name \"" + std::string(datastore) +
                            "\" cannot be used with the SSH clone method; use the VIB (esxcli) method");
  }
  std::string cmd;
  for (const auto& a : args) {
    if (!cmd.empty()) cmd += ' ';
    if (caps.quoted_ssh_args) {
      bool bare = !a.empty() && a.find_first_not_of(
                                    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    "-_./:=@%+,") == std::string::npos;
      cmd += bare ? a : ShellQuote(a);
    } else {
      if (!PlainSafe(a, /*allow_space=*/false)) {
        throw PreconditionError(
            "argument \"" + a +
            "\" cannot be sent to the host's vmkfstools-wrapper over SSH (it splits on spaces); "
            "upload hoist's wrapper as /vmfs/volumes/" +
            std::string(datastore) + "/" + std::string(kSshWrapperFileName));
      }
      cmd += a;
    }
  }
  return "DS=" + std::string(datastore) + ";CMD=" + cmd;
}

std::string_view ForcedCommandProgram() { return kForcedCommand; }

std::string RestrictedKeyLine(std::string_view public_key) {
  std::string escaped;
  for (char c : kForcedCommand) {
    if (c == '"') escaped += '\\';  // sshd turns \" back into " (and nothing else)
    escaped += c;
  }
  std::string key(public_key);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  return "command=\"" + escaped + "\",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty " + key;
}

}  // namespace hoist::esxi

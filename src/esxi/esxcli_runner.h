#pragma once
// Running esxcli commands on one ESXi host, as the esxi layer sees it.
//
// `esxi` may include only `net` and `core`, so it does not know how a command reaches the host.
// Production code runs it through vCenter (remote esxcli, `vsphere::Esxcli`); the adapter that
// does that lives where both layers may be included (`populators/xcopy/esxi_vsphere.h`). Tests
// substitute their own runner.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace hoist::esxi {

// One row of output: field name (esxcli's, without spaces: "Device", "Status", "OtherUIDs") →
// values (list fields have several).
using EsxcliRow = std::map<std::string, std::vector<std::string>>;

// What a command printed: rows (one DataObject is one row), a list of strings, or a scalar
// ("true" for the boolean that `rescan`, `set` and friends answer).
struct EsxcliOutput {
  std::vector<EsxcliRow> rows;
  std::vector<std::string> list;
  std::string scalar;

  // First value of `field` in row `row`, or "" when absent.
  std::string Field(std::size_t row, std::string_view field) const;
  bool AsBool() const { return scalar == "true"; }
};

// A command the host refused or does not have. Other failures (SOAP trouble, lost sessions) keep
// their own hoist::Error and class.
class EsxcliError : public Error {
 public:
  enum class Kind {
    kCommandFailed,   // esxcli ran and failed (a CLI fault): `host_message` says why
    kUnknownCommand,  // the namespace or command does not exist on the host (e.g. the VIB is missing)
  };
  EsxcliError(Kind kind, std::string message, std::string host_message)
      : Error(ErrorClass::kPrecondition, std::move(message)),
        kind_(kind),
        host_message_(std::move(host_message)) {}
  Kind kind() const { return kind_; }
  // What the host said ("Unable to find device with name naa.…").
  const std::string& host_message() const { return host_message_; }

 private:
  Kind kind_;
  std::string host_message_;
};

// One option of a command as an administrator types it, with the name of the parameter it sets in
// the command's CLIInfo: `-d naa.…` sets `device`. Remote esxcli sends parameters by name, so a
// command whose names are all known runs without fetching the namespace's CLIInfo (one SOAP round
// trip saved per namespace and host). ESXi names a parameter after its long option without dashes
// (`--source-vmdk` → `sourcevmdk`).
struct EsxcliOption {
  std::string option;                // "-d", "--state", "-a"
  std::string param;                 // "device", "state", "all"
  std::optional<std::string> value;  // nullopt: a flag
};

// One esxcli command: the namespace words and the command, then its options.
//
//   EsxcliCommand({"storage", "core", "device", "set"}).Option("--state", "state", "off").Option("-d",
//   "device", naa) EsxcliCommand::FromArgv({"software", "vib", "install", "-v", path})   // names looked up
//   by the runner
class EsxcliCommand {
 public:
  // `path`: {"storage", "core", "device", "list"}.
  explicit EsxcliCommand(std::vector<std::string> path) : path_(std::move(path)) {}
  // A command as typed, whose parameter names are not known here (the runner maps the options
  // through the command's CLIInfo).
  static EsxcliCommand FromArgv(const std::vector<std::string>& argv);

  EsxcliCommand& Option(std::string option, std::string param, std::string value);
  EsxcliCommand& Flag(std::string option, std::string param);

  const std::vector<std::string>& path() const { return path_; }
  const std::vector<EsxcliOption>& options() const { return options_; }
  // True when every option's parameter name is known.
  bool named() const { return typed_.empty(); }
  // As typed after "esxcli": {"storage","core","device","list","-d","naa.…"}.
  std::vector<std::string> Argv() const;
  std::string ToString() const;  // "storage core device list -d naa.…"

 private:
  std::vector<std::string> path_;
  std::vector<EsxcliOption> options_;
  std::vector<std::string> typed_;  // FromArgv: the option tokens as given
};

class EsxcliRunner {
 public:
  virtual ~EsxcliRunner() = default;
  // Runs `esxcli <command>`. Throws EsxcliError for a failed or unknown command, and hoist::Error
  // (with its class) for trouble reaching the host.
  virtual EsxcliOutput Run(const EsxcliCommand& command) = 0;
  // The host, for messages: "esx1.example.com (HostSystem:host-12)".
  virtual std::string host() const = 0;
};

}  // namespace hoist::esxi

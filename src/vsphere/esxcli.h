#pragma once
// Remote esxcli through vCenter: the same commands an administrator types in an ESXi shell, run by the
// host's ReflectManagedMethodExecuter.
//
//   HostSystem.RetrieveManagedMethodExecuter            → executer moref       (once per host)
//   ExecuteSoap(ha-dynamic-type-manager-local-cli-cliinfo,
//               vim.CLIInfo.FetchCLIInfo, typeName)     → option names          (once per host+namespace)
//   ExecuteSoap(ha-cli-handler-storage-core-device,
//               vim.EsxCLI.storage.core.device.list,
//               argument[] {name, val="<device>naa…</device>"}) → response XML  (each command)
//
// Both lookups are cached, so after warm-up one command costs exactly one SOAP round trip (a client
// that builds a new executer per command pays four). A caller that names the parameters itself
// (`Execute`, or `Run` with named arguments) never needs CLIInfo. The `response` string is a second XML
// document: an ArrayOfDataObject (rows of fields), one DataObject, or a scalar (string / boolean / long).
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vsphere/client.h"
#include "vsphere/xml.h"

namespace hoist::vsphere {

// One row of output: field name → values (repeated elements give several values).
using EsxcliRow = std::map<std::string, std::vector<std::string>>;

struct EsxcliResult {
  enum class Kind { kNone, kRows, kList, kScalar };
  Kind kind = Kind::kNone;
  std::vector<EsxcliRow> rows;    // kRows (one DataObject gives one row)
  std::vector<std::string> list;  // kList: ArrayOfString and friends
  std::string scalar;             // kScalar: the text ("true" for a boolean)
  std::string scalar_type;        // kScalar: "string", "boolean", "long", …

  // First value of `field` in row `row`, or "" when absent.
  std::string Field(size_t row, std::string_view field) const;
  // True for a boolean scalar "true".
  bool AsBool() const { return kind == Kind::kScalar && scalar == "true"; }
};

// Decodes the `response` string of ExecuteSoap.
EsxcliResult DecodeEsxcliResponse(std::string_view response_xml);

// An argument as the command names it in its CLIInfo (`device`, `state`, `sourcevmdk`).
struct EsxcliArgument {
  std::string name;
  std::vector<std::string> values;
};

// The ExecuteSoap parameters (after `_this`); public for tests. Each value becomes `<name>value</name>`
// (escaped), and that small document is escaped again as the `val` text.
std::string BuildExecuteSoapParams(std::string_view moid, std::string_view method,
                                   const std::vector<EsxcliArgument>& args);

struct CliParam {
  std::string name;
  std::string display_name;
  std::vector<std::string> aliases;  // "-d", "--device"
  bool flag = false;                 // takes no value
};
struct CliMethod {
  std::string name;
  std::vector<CliParam> params;
};
struct CliInfo {
  std::string name;  // "vim.EsxCLI.storage.core.device"
  std::vector<CliMethod> methods;
  const CliMethod* Method(std::string_view name) const;
};

// Decodes the FetchCLIInfo response.
CliInfo DecodeCliInfo(std::string_view response_xml);

// Maps CLI options ("-d", "naa.1", "--state=off", "--all") onto parameter names using the method's
// CLIInfo. Unknown options throw kPrecondition naming the options the command has.
std::vector<EsxcliArgument> MapCliOptions(const CliMethod& method, std::string_view command_line,
                                          const std::vector<std::string>& options);

class Esxcli {
 public:
  explicit Esxcli(Client& client) : client_(client) {}

  // `argv` as typed after "esxcli": {"storage","core","device","list","-d","naa.6…"}. Options are mapped
  // through the command's CLIInfo (fetched once per host and namespace).
  EsxcliResult Run(const ManagedObjectReference& host, const std::vector<std::string>& argv);

  // A command whose arguments are already named: Execute(host, "storage core device", "list",
  // {{"device", {"naa.6…"}}}). Needs no CLIInfo: one round trip once the executer is known.
  EsxcliResult Execute(const ManagedObjectReference& host, std::string_view ns, std::string_view command,
                       const std::vector<EsxcliArgument>& args);

  // `argv` as typed, with its options already named in `args` by the caller (ESXi names a
  // parameter after its long option without dashes). Runs with `args`: no CLIInfo, one round trip.
  // Should the host refuse those names (a CLI fault "Invalid option …" / "Missing required
  // parameter …", or InvalidArgument), the command's CLIInfo is fetched once and, where it names the
  // parameters differently, the command runs again with the host's names (it did not run the first
  // time) and that command keeps using CLIInfo on that host. Otherwise the host's refusal is thrown.
  EsxcliResult Run(const ManagedObjectReference& host, const std::vector<std::string>& argv,
                   const std::vector<EsxcliArgument>& args);

  // Drops what is cached for the host (the executer moref and CLIInfo).
  void Forget(const ManagedObjectReference& host);

 private:
  ManagedObjectReference Executer(const ManagedObjectReference& host);
  std::string ExecuteSoap(const ManagedObjectReference& host, const std::string& moid,
                          const std::string& method, const std::vector<EsxcliArgument>& args,
                          const std::string& what);
  CliInfo Info(const ManagedObjectReference& host, const std::string& ns_dotted);
  // `options` mapped through the CLIInfo of `ns` (words) and `command`.
  std::vector<EsxcliArgument> MapOptions(const ManagedObjectReference& host,
                                         const std::vector<std::string>& ns, const std::string& command,
                                         const std::vector<std::string>& argv,
                                         const std::vector<std::string>& options);

  Client& client_;
  std::mutex mu_;
  std::map<ManagedObjectReference, ManagedObjectReference> executers_;
  std::map<std::pair<ManagedObjectReference, std::string>, CliInfo> cli_info_;
  // "storage.core.device.list" per host, where the caller's parameter names proved wrong.
  std::set<std::pair<ManagedObjectReference, std::string>> use_cli_info_;
};

}  // namespace hoist::vsphere

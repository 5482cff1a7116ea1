#pragma once
// Subcommand registry shared by hoist's programs (`hoist`, `hoist-populator`). Each group (lab, status,
// esxi, xcopy, ...) registers its commands from its own .cc file with a static HOIST_REGISTER_COMMAND,
// so groups can grow independently; a program's main() calls Dispatch with its own name.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::cli {

using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::vector<std::string> path;  // e.g. {"lab", "apiserver"}
  std::string summary;
  CommandFn run;
};

bool Register(Command command);
// Runs the command with the longest matching path; `program` names the binary in usage and errors.
int Dispatch(std::string_view program, const std::vector<std::string>& args);

// Runs a command's body; an exception becomes one line on stderr, "hoist <name>: <what>", and exit
// status 2 for a precondition (something the user must fix first), else 1.
int RunReportingErrors(std::string_view name, const std::function<int()>& body);

}  // namespace hoist::cli

#define HOIST_CLI_CONCAT_(a, b) a##b
#define HOIST_CLI_CONCAT(a, b) HOIST_CLI_CONCAT_(a, b)
#define HOIST_REGISTER_COMMAND(...) \
  static const bool HOIST_CLI_CONCAT(hoist_cli_registered_, __LINE__) = ::hoist::cli::Register(__VA_ARGS__)

#pragma once
// Subcommand registry for the `hoist` command line. Each group (lab, status, esxi, ...) registers its
// commands from its own .cc file with a static HOIST_REGISTER_COMMAND, so groups can grow independently.
#include <functional>
#include <string>
#include <vector>

namespace hoist::cli {

using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::vector<std::string> path;  // e.g. {"lab", "apiserver"}
  std::string summary;
  CommandFn run;
};

bool Register(Command command);
int Dispatch(const std::vector<std::string>& args);

}  // namespace hoist::cli

#define HOIST_CLI_CONCAT_(a, b) a##b
#define HOIST_CLI_CONCAT(a, b) HOIST_CLI_CONCAT_(a, b)
#define HOIST_REGISTER_COMMAND(...) \
  static const bool HOIST_CLI_CONCAT(hoist_cli_registered_, __LINE__) = ::hoist::cli::Register(__VA_ARGS__)

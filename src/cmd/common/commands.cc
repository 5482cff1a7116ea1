#include "cmd/common/commands.h"

#include <algorithm>
#include <cstdio>
#include <exception>

#include "core/error.h"

namespace hoist::cli {
namespace {

std::vector<Command>& Registry() {
  static std::vector<Command> commands;
  return commands;
}

void PrintUsage(std::string_view program) {
  std::fprintf(stderr, "usage: %.*s <command> [flags]\n\ncommands:\n", static_cast<int>(program.size()),
               program.data());
  auto commands = Registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.path < b.path; });
  for (const auto& c : commands) {
    std::string name;
    for (const auto& p : c.path) name += (name.empty() ? "" : " ") + p;
    std::fprintf(stderr, "  %-28s %s\n", name.c_str(), c.summary.c_str());
  }
}

}  // namespace

bool Register(Command command) {
  Registry().push_back(std::move(command));
  return true;
}

int Dispatch(std::string_view program, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    PrintUsage(program);
    return args.empty() ? 2 : 0;
  }
  // Longest matching command path wins.
  const Command* best = nullptr;
  for (const auto& c : Registry()) {
    if (c.path.size() > args.size()) continue;
    if (!std::equal(c.path.begin(), c.path.end(), args.begin())) continue;
    if (!best || c.path.size() > best->path.size()) best = &c;
  }
  if (!best) {
    std::fprintf(stderr, "%.*s: unknown command '%s'\n\n", static_cast<int>(program.size()), program.data(),
                 args[0].c_str());
    PrintUsage(program);
    return 2;
  }
  std::vector<std::string> rest(args.begin() + best->path.size(), args.end());
  return best->run(rest);
}

int RunReportingErrors(std::string_view name, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "hoist %.*s: %s\n", static_cast<int>(name.size()), name.data(), e.what());
    return e.error_class() == ErrorClass::kPrecondition ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist %.*s: %s\n", static_cast<int>(name.size()), name.data(), e.what());
    return 1;
  }
}

}  // namespace hoist::cli

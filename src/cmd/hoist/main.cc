// hoist: the user's command line. Subcommands register themselves (cmd/common/commands.h) from the *_command.cc
// files next to this one.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/common/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return hoist::cli::Dispatch("hoist", args);
}

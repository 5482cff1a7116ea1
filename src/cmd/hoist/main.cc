// hoist: the user's command line. Subcommands are registered in commands.cc files next to this one.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/hoist/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return hoist::cli::Dispatch(args);
}

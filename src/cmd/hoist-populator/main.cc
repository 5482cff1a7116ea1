// hoist-populator: the program a populator pod runs. Forklift's images start their populator with the
// arguments the populator controller passes (`--source-vm-id=… --owner-uid=…`); hoist's image
// entrypoint is `hoist-populator <kind>`, and each kind (`xcopy`, `ovirt`, `openstack`) registers its
// subcommand (cmd/common/commands.h) from its own *_command.cc file next to this one.
#include <string>
#include <vector>

#include "cmd/common/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return hoist::cli::Dispatch("hoist-populator", args);
}

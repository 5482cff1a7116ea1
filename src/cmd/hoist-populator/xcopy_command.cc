// `hoist-populator xcopy`: the vSphere copy-offload populator (src/populators/xcopy).
#include "cmd/common/commands.h"
#include "populators/xcopy/run.h"

HOIST_REGISTER_COMMAND(hoist::cli::Command{
    {"xcopy"},
    "copy a VMDK onto a PVC's LUN through ESXi and the storage array (VAAI XCOPY)",
    [](const std::vector<std::string>& args) { return hoist::populators::xcopy::RunXcopy(args); }});

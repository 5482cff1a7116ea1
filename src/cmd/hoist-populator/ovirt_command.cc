// `hoist-populator ovirt`: Forklift's oVirt populator contract (flags --engine-url, --disk-id,
// --volume-path, --secret-name, --cr-name, --cr-namespace, --owner-uid, --pvc-size; the secret's keys
// user, password, cacert, insecureSkipVerify; progress as ovirt_progress{ownerUID}) — without ovirt-img
// or Python: the engine and imageio APIs are spoken directly.
#include <cstdio>

#include "cmd/common/commands.h"
#include "cmd/hoist-populator/http_populator.h"
#include "core/error.h"
#include "populators/ovirt/populate.h"

namespace hoist::cli {
namespace {

int Ovirt(const std::vector<std::string>& args) {
  BlockTerminationSignals();
  populators::ovirt::PopulateOptions options;
  try {
    options = populators::ovirt::OptionsFromCommandLine(args);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return RunHttpPopulator("hoist-populator ovirt", options.flags, "ovirt_progress",
                          [&](prom::Counter& progress, prom::Gauge* bytes, std::stop_token stop) {
                            return populators::ovirt::Populate(options, progress, bytes, stop);
                          });
}

HOIST_REGISTER_COMMAND({{"ovirt"},
                        "copy an oVirt disk into the volume (Forklift's ovirt-populator contract)",
                        Ovirt});

}  // namespace
}  // namespace hoist::cli

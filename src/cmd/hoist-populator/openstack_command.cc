// `hoist-populator openstack`: Forklift's OpenStack populator contract (flags --endpoint, --image-id,
// --secret-name, --volume-path, --cr-name, --cr-namespace, --owner-uid, --pvc-size; the secret's keys
// in the environment; progress as openstack_populator_progress{ownerUID}).
#include <cstdio>

#include "cmd/common/commands.h"
#include "cmd/hoist-populator/http_populator.h"
#include "core/error.h"
#include "populators/openstack/populate.h"

namespace hoist::cli {
namespace {

int Openstack(const std::vector<std::string>& args) {
  BlockTerminationSignals();
  populators::openstack::PopulateOptions options;
  try {
    options = populators::openstack::OptionsFromCommandLine(args);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return RunHttpPopulator("hoist-populator openstack", options.flags, "openstack_populator_progress",
                          [&](prom::Counter& progress, prom::Gauge* bytes, std::stop_token stop) {
                            return populators::openstack::Populate(options, progress, bytes, stop);
                          });
}

HOIST_REGISTER_COMMAND({{"openstack"},
                        "copy a Glance image into the volume (Forklift's openstack-populator contract)",
                        Openstack});

}  // namespace
}  // namespace hoist::cli

#pragma once
// What `hoist-populator ovirt` and `hoist-populator openstack` do around their copy: SIGTERM/SIGINT
// stop the copy (which records its checkpoint), the progress counter is served on the HTTPS metrics
// endpoint, a finished populator waits for the controller's last scrape, and failures end the process
// with a message naming the source and what to check.
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

#include "populators/common/copy.h"
#include "populators/common/options.h"

namespace hoist::prom {
class Counter;
class Gauge;
}  // namespace hoist::prom

namespace hoist::cli {

// Blocks SIGTERM and SIGINT in the calling thread, so that every thread started later inherits the
// mask and RunHttpPopulator's waiter alone receives them. Call first thing.
void BlockTerminationSignals();

using CopyFn = std::function<populators::CopyResult(prom::Counter& progress, prom::Gauge* bytes_done,
                                                    std::stop_token stop)>;

// Serves `progress_metric{ownerUID}` (Forklift's name) and runs `copy`. Exit codes: 0 success, 1 failure,
// 143 stopped by a signal (the checkpoint was written), 2 bad arguments (handled by the caller).
int RunHttpPopulator(std::string_view program, const populators::CommonFlags& flags,
                     const char* progress_metric, const CopyFn& copy);

}  // namespace hoist::cli

#pragma once
// `hoist-populator xcopy`: parses Forklift's arguments, connects to Kubernetes, the array and
// vCenter, serves the metrics, runs the Flow, publishes the completion metrics, waits for the final
// scrape and returns the exit code (0, 2 for bad arguments, 255 for a failed copy).
#include <string>
#include <vector>

namespace hoist::populators::xcopy {

int RunXcopy(const std::vector<std::string>& args);

}  // namespace hoist::populators::xcopy

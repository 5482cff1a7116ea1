// `hoist status`: a table of populations — every populator CR with its PVC and the Events about them —
// from any cluster (kubeconfig): VM, disk, vendor, clone method, progress, rate, ETA, whether the array
// did the copy (XCOPY), result and what to look at.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd/common/commands.h"
#include "cmd/hoist/cluster_flags.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "planner/api.h"
#include "planner/populations.h"

namespace hoist::cli {
namespace {

const char kAbout[] =
    "Shows every volume population (VSphereXcopyVolumePopulator, OvirtVolumePopulator,\n"
    "OpenstackVolumePopulator) in the namespace with its PVC: VM, disk, storage vendor, clone method,\n"
    "progress, rate, ETA, whether the array did the copy (XCOPY), the result and, for a disk that waits\n"
    "or failed, the reason (the populator's condition, else the latest Warning event).\n"
    "Exit status: 0, or 1 when a population failed.\n";

int Status(const std::vector<std::string>& args) {
  return RunCommand("status", [&] {
    FlagSet fs("hoist status");
    ClusterFlags cf;
    cf.Add(fs, true);
    auto& output = fs.String("o", "table", "table, wide (messages not cut) or json");
    auto& plan = fs.String("plan", "", "only the disks of this Plan (its namespace is -n; the disks are in its target namespace)");
    fs.Parse(args);
    if (fs.help_requested()) {
      std::printf("%s\n%s", fs.Usage().c_str(), kAbout);
      return 0;
    }
    if (*output != "table" && *output != "wide" && *output != "json") throw PreconditionError("-o must be table, wide or json");
    kube::RestConfig config = cf.Config();
    kube::Client client(config);
    planner::PopulationQuery q;
    q.ns = cf.Namespace(config);
    if (!(*plan).empty()) {
      std::string plan_ns = q.ns.empty() ? config.ns : q.ns;
      kube::Json p = GetPlan(client, plan_ns, *plan);
      q.plan_uid = kube::Uid(p);
      q.ns = kube::StringAt(p, {"spec", "targetNamespace"});
    }
    auto rows = planner::ListPopulations(client, q, std::chrono::system_clock::now());
    if (*output == "json") {
      std::printf("%s\n", planner::PopulationsJson(rows).dump(2).c_str());
    } else if (rows.empty()) {
      std::printf("No populations in %s.\n", q.ns.empty() ? "any namespace" : ("namespace " + q.ns).c_str());
    } else {
      std::fputs(planner::PopulationTable(rows, cf.AllNamespaces(), *output == "wide" ? 0 : TerminalWidth()).c_str(), stdout);
    }
    for (const auto& r : rows) {
      if (r.state == "Failed") return 1;
    }
    return 0;
  });
}

HOIST_REGISTER_COMMAND({{"status"}, "table of volume populations: progress, rate, ETA, XCOPY, result", Status});

}  // namespace
}  // namespace hoist::cli

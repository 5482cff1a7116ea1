// Prints a sample Prometheus exposition made with hoist::prom, for `promtool check metrics`.
//   prom_expose lint      hoist-style names that must pass promtool's lint without any complaint
//   prom_expose forklift  the Forklift-compatible families hoist's populators and controller expose;
//                         their names are fixed by Forklift's contract (e.g. counters without _total),
//                         so only promtool's naming lint may complain, never its parser.
#include <cmath>
#include <iostream>
#include <string>

#include "prom/metrics.h"

namespace {

using hoist::prom::Registry;

void Lint(Registry& r) {
  r.AddCounterFamily("hoist_populator_bytes_written_total", "Bytes written to the target volume.",
                     {"owner_uid"})
      .WithLabels({"5b1c7a2e-0d4f-4c1e-9f0a-2b3c4d5e6f70"})
      .Inc(1073741824);
  auto& info = r.AddGaugeFamily("hoist_populator_source_info",
                                "Source of the disk; help with a backslash \\ and a\nsecond line.",
                                {"vmdk_path", "vm_id", "note"});
  info.WithLabels({"[datastore 1] my vm/my \"vm\".vmdk", "vm-42", "line one\nline two \\ end"}).Set(1);
  info.WithLabels({"[ds2] a/b.vmdk", "vm-43", ""}).Set(1);
  auto& g = r.AddGaugeFamily("hoist_populator_ratio", "Ratios with special values.", {"case"});
  g.WithLabels({"nan"}).Set(NAN);
  g.WithLabels({"plus_inf"}).Set(INFINITY);
  g.WithLabels({"minus_inf"}).Set(-INFINITY);
  g.WithLabels({"tiny"}).Set(1e-05);
  g.WithLabels({"huge"}).Set(1.8446744073709552e19);
  g.WithLabels({"negative"}).Set(-2.5);
  auto& h = r.AddHistogramFamily("hoist_controller_operation_seconds", "Time to populate a volume.",
                                 {"result"}, {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600});
  h.WithLabels({"success"}).Observe(42.5);
  h.WithLabels({"success"}).Observe(0.05);
  h.WithLabels({"failure"}).Observe(1000);
  r.AddHistogram("hoist_controller_scrape_seconds", "Duration of one metrics scrape.",
                 hoist::prom::DefaultBuckets())
      .Observe(0.003);
  r.AddGauge("hoist_controller_operations_in_flight", "Volumes being populated.").Set(3);
}

void Forklift(Registry& r) {
  r.AddCounterFamily("ovirt_progress", "Progress of volume population", {"ownerUID"})
      .WithLabels({"u1"})
      .RaiseTo(37.5);
  r.AddCounterFamily("openstack_populator_progress", "Progress of volume population", {"ownerUID"})
      .WithLabels({"u2"})
      .RaiseTo(100);
  r.AddCounterFamily("vsphere_xcopy_volume_populator_progress", "Progress of the copy", {"owner_uid"})
      .WithLabels({"u3"})
      .RaiseTo(64);
  r.AddGaugeFamily("vsphere_xcopy_volume_populator_xcopy_used", "Whether XCOPY was used",
                   {"owner_uid", "storage_vendor", "clone_method"})
      .WithLabels({"u3", "ontap", "vib"})
      .Set(1);
  r.AddGaugeFamily("vsphere_xcopy_volume_populator_vib_version", "VIB version", {"owner_uid", "version"})
      .WithLabels({"u3", "0.3.3"})
      .Set(1);
  r.AddGaugeFamily("vsphere_xcopy_volume_populator_source_disk_bytes", "Source disk size",
                   {"owner_uid", "storage_vendor", "clone_method", "storage_protocol", "type"})
      .WithLabels({"u3", "ontap", "vib", "iscsi", "provisioned"})
      .Set(1073741824);
  r.AddGaugeFamily(
       "vsphere_xcopy_volume_populator_copy_duration_seconds", "Copy duration",
       {"owner_uid", "result", "storage_vendor", "clone_method", "xcopy_used", "storage_protocol"})
      .WithLabels({"u3", "success", "ontap", "vib", "1", "iscsi"})
      .Set(12.75);
  r.AddHistogramFamily("volume_populator_operation_seconds", "Time taken by populator operations", {"result"},
                       {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600})
      .WithLabels({"success"})
      .Observe(1.1);
  r.AddGauge("volume_populator_operations_in_flight", "Number of operations in flight").Set(0);
  r.AddGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
      .SetToCurrentTime();
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "lint";
  Registry r;
  if (mode == "lint") {
    Lint(r);
  } else if (mode == "forklift") {
    Forklift(r);
  } else {
    std::cerr << "usage: prom_expose lint|forklift\n";
    return 2;
  }
  std::cout << r.Expose();
  return 0;
}

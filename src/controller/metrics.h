#pragma once
// The controller's own metrics, served on its metrics address at --metrics-path:
//   Forklift's (same names, so existing dashboards keep working):
//     process_start_time_seconds
//     volume_populator_operation_seconds{result}     histogram, PVC creation → populated (or failed)
//     volume_populator_operations_in_flight          target PVCs being populated
//     mtv_vsphere_xcopy_volume_populator_copy_duration_seconds{...}, ..._source_disk_bytes{...}
//                                                     once per xcopy PVC, from its populator's result
//   hoist's:
//     hoist_populator_pods_created_total{kind}, hoist_populator_pod_failures_total{kind},
//     hoist_populations_total{kind,result}, hoist_populator_throttled_total{kind},
//     hoist_controller_syncs_total{result}, hoist_controller_workqueue_depth,
//     hoist_controller_monitored_pods, hoist_controller_scrapes_total{result},
//     hoist_controller_api_requests_total{verb,resource}
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/kinds.h"
#include "controller/progress.h"
#include "prom/metrics.h"

namespace hoist::controller {

class ControllerMetrics {
 public:
  ControllerMetrics();
  prom::Registry& registry() { return registry_; }
  std::string Expose() const { return registry_.Expose(); }

  // A population of target PVC `key` started at `start` (its creation time); idempotent.
  void OperationStarted(const std::string& key, std::chrono::system_clock::time_point start);
  // Observes the duration once (if started) and ends the operation; `result` is "success"/"failure".
  void OperationFinished(const std::string& key, std::string_view result,
                         std::chrono::system_clock::time_point now);
  // The PVC went away before the population ended.
  void OperationAbandoned(const std::string& key);
  size_t InFlight() const;

  void PodCreated(PopulatorKind kind);
  void PodFailed(PopulatorKind kind);
  void PopulationEnded(PopulatorKind kind, std::string_view result);
  void Throttled(PopulatorKind kind);
  void Synced(bool ok);
  // xcopy completion gauges, as Forklift's populator-controller sets them (labels: result, migration,
  // owner_uid, storage_vendor, clone_method, xcopy_used, storage_protocol; bytes also by `type`).
  void XcopyCompletion(const std::string& migration, const std::string& owner_uid, const ScrapeReading& reading);
  void XcopyForget(const std::string& owner_uid);

  prom::Gauge& workqueue_depth() { return *workqueue_depth_; }
  prom::Gauge& monitored_pods() { return *monitored_pods_; }
  prom::Counter& scrapes(bool ok) { return ok ? *scrapes_ok_ : *scrapes_failed_; }
  prom::Family<prom::Counter>& api_requests() { return *api_requests_; }

 private:
  prom::Registry registry_;
  prom::Histogram* operation_seconds_success_;
  prom::Family<prom::Histogram>* operation_seconds_;
  prom::Gauge* in_flight_;
  prom::Family<prom::Counter>* pods_created_;
  prom::Family<prom::Counter>* pod_failures_;
  prom::Family<prom::Counter>* populations_;
  prom::Family<prom::Counter>* throttled_;
  prom::Family<prom::Counter>* syncs_;
  prom::Gauge* workqueue_depth_;
  prom::Gauge* monitored_pods_;
  prom::Counter* scrapes_ok_;
  prom::Counter* scrapes_failed_;
  prom::Family<prom::Counter>* api_requests_;
  prom::Family<prom::Gauge>* xcopy_duration_;
  prom::Family<prom::Gauge>* xcopy_bytes_;

  mutable std::mutex mu_;
  std::map<std::string, std::chrono::system_clock::time_point> started_;
  // owner_uid → (is a source_disk_bytes child, label values)
  std::map<std::string, std::vector<std::pair<bool, std::vector<std::string>>>> xcopy_children_;
};

}  // namespace hoist::controller

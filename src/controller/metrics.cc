#include "controller/metrics.h"

#include <cmath>
#include <cstdlib>

namespace hoist::controller {

namespace {
// Forklift's (lib-volume-populator's) buckets for volume_populator_operation_seconds.
std::vector<double> OperationBuckets() { return {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600}; }
}  // namespace

ControllerMetrics::ControllerMetrics() {
  registry_.AddGauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
      .SetToCurrentTime();
  operation_seconds_ =
      &registry_.AddHistogramFamily("volume_populator_operation_seconds",
                                    "Time from the creation of a target PVC to the end of its population.",
                                    {"result"}, OperationBuckets());
  operation_seconds_success_ = &operation_seconds_->WithLabels({"success"});
  in_flight_ = &registry_.AddGauge("volume_populator_operations_in_flight",
                                   "Target PVCs whose population has started and not ended.");
  pods_created_ = &registry_.AddCounterFamily("hoist_populator_pods_created_total",
                                              "Populator pods created, by populator kind.", {"kind"});
  pod_failures_ = &registry_.AddCounterFamily("hoist_populator_pod_failures_total",
                                              "Populator pods that ended in phase Failed, by populator kind.",
                                              {"kind"});
  populations_ = &registry_.AddCounterFamily("hoist_populations_total",
                                             "Populations that ended, by populator kind and result.",
                                             {"kind", "result"});
  throttled_ = &registry_.AddCounterFamily(
      "hoist_populator_throttled_total",
      "Times a populator pod was held back by MAX_POPULATOR_INFLIGHT for its ESXi host.", {"kind"});
  syncs_ = &registry_.AddCounterFamily("hoist_controller_syncs_total", "Reconciliations of target PVCs.",
                                       {"result"});
  workqueue_depth_ = &registry_.AddGauge("hoist_controller_workqueue_depth", "Target PVCs waiting to be reconciled.");
  monitored_pods_ =
      &registry_.AddGauge("hoist_controller_monitored_pods", "Running populator pods whose progress is scraped.");
  auto& scrapes =
      registry_.AddCounterFamily("hoist_controller_scrapes_total", "Scrapes of populator metrics.", {"result"});
  scrapes_ok_ = &scrapes.WithLabels({"ok"});
  scrapes_failed_ = &scrapes.WithLabels({"failed"});
  api_requests_ = &registry_.AddCounterFamily("hoist_controller_api_requests_total",
                                              "Requests to the Kubernetes API, by verb and resource.",
                                              {"verb", "resource"});
  xcopy_duration_ = &registry_.AddGaugeFamily(
      "mtv_vsphere_xcopy_volume_populator_copy_duration_seconds",
      "Duration of a vSphere copy-offload population as reported by its populator.",
      {"result", "migration", "owner_uid", "storage_vendor", "clone_method", "xcopy_used", "storage_protocol"});
  xcopy_bytes_ = &registry_.AddGaugeFamily(
      "mtv_vsphere_xcopy_volume_populator_source_disk_bytes",
      "Size of the source disk of a vSphere copy-offload population (provisioned or allocated on the datastore).",
      {"result", "migration", "owner_uid", "storage_vendor", "clone_method", "storage_protocol", "type"});
  for (const KindInfo& k : AllKinds()) {
    pods_created_->WithLabels({std::string(k.key)});
    pod_failures_->WithLabels({std::string(k.key)});
  }
}

void ControllerMetrics::OperationStarted(const std::string& key, std::chrono::system_clock::time_point start) {
  std::lock_guard<std::mutex> l(mu_);
  started_.emplace(key, start);
  in_flight_->Set(static_cast<double>(started_.size()));
}

void ControllerMetrics::OperationFinished(const std::string& key, std::string_view result,
                                          std::chrono::system_clock::time_point now) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = started_.find(key);
  if (it == started_.end()) return;
  double seconds = std::chrono::duration<double>(now - it->second).count();
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  if (result == "success") {
    operation_seconds_success_->Observe(seconds);
  } else {
    operation_seconds_->WithLabels({std::string(result)}).Observe(seconds);
  }
  started_.erase(it);
  in_flight_->Set(static_cast<double>(started_.size()));
}

void ControllerMetrics::OperationAbandoned(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  started_.erase(key);
  in_flight_->Set(static_cast<double>(started_.size()));
}

size_t ControllerMetrics::InFlight() const {
  std::lock_guard<std::mutex> l(mu_);
  return started_.size();
}

void ControllerMetrics::PodCreated(PopulatorKind kind) { pods_created_->WithLabels({std::string(Info(kind).key)}).Inc(); }
void ControllerMetrics::PodFailed(PopulatorKind kind) { pod_failures_->WithLabels({std::string(Info(kind).key)}).Inc(); }
void ControllerMetrics::PopulationEnded(PopulatorKind kind, std::string_view result) {
  populations_->WithLabels({std::string(Info(kind).key), std::string(result)}).Inc();
}
void ControllerMetrics::Throttled(PopulatorKind kind) { throttled_->WithLabels({std::string(Info(kind).key)}).Inc(); }
void ControllerMetrics::Synced(bool ok) { syncs_->WithLabels({ok ? "ok" : "error"}).Inc(); }

void ControllerMetrics::XcopyCompletion(const std::string& migration, const std::string& owner_uid,
                                        const ScrapeReading& r) {
  std::lock_guard<std::mutex> l(mu_);
  if (xcopy_children_.count(owner_uid) != 0) return;  // once per PVC, as Forklift
  auto& children = xcopy_children_[owner_uid];
  std::vector<std::string> d = {r.result, migration, owner_uid, r.storage_vendor, r.clone_method,
                                r.xcopy_used.value_or(""), r.storage_protocol};
  double seconds = 0;
  if (!r.copy_duration_seconds.empty()) seconds = std::atof(r.copy_duration_seconds.c_str());
  xcopy_duration_->WithLabels(d).Set(seconds);
  children.emplace_back(false, d);
  for (auto [type, value] : {std::pair{"provisioned", &r.provisioned_bytes},
                             std::pair{"datastore_allocated", &r.allocated_bytes}}) {
    double bytes = value->empty() ? 0 : std::atof(value->c_str());
    if (bytes <= 0) continue;
    std::vector<std::string> b = {r.result,       migration,          owner_uid, r.storage_vendor,
                                  r.clone_method, r.storage_protocol, type};
    xcopy_bytes_->WithLabels(b).Set(bytes);
    children.emplace_back(true, b);
  }
}

void ControllerMetrics::XcopyForget(const std::string& owner_uid) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = xcopy_children_.find(owner_uid);
  if (it == xcopy_children_.end()) return;
  for (const auto& [bytes, labels] : it->second) {
    if (bytes) {
      xcopy_bytes_->Remove(labels);
    } else {
      xcopy_duration_->Remove(labels);
    }
  }
  xcopy_children_.erase(it);
}

}  // namespace hoist::controller

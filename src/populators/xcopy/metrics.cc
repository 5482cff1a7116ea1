#include "populators/xcopy/metrics.h"

namespace hoist::populators::xcopy {

Metrics::Metrics(prom::Registry& r, std::string owner_uid, std::string vendor, std::string method)
    : owner_uid_(std::move(owner_uid)),
      vendor_(std::move(vendor)),
      method_(std::move(method)),
      progress_(r.AddCounterFamily("vsphere_xcopy_volume_populator_progress",
                                   "Progress of the copy in percent (0-100)", {"owner_uid"})),
      xcopy_used_gauge_(r.AddGaugeFamily("vsphere_xcopy_volume_populator_xcopy_used",
                                         "1 when the storage array offloaded the copy (XCOPY), else 0",
                                         {"owner_uid", "storage_vendor", "clone_method"})),
      vib_version_(r.AddGaugeFamily("vsphere_xcopy_volume_populator_vib_version",
                                    "Version of the vmkfstools-wrapper on the ESXi host (value is always 1)",
                                    {"owner_uid", "version"})),
      array_info_(r.AddGaugeFamily("vsphere_xcopy_volume_populator_storage_array_info",
                                   "The storage array the target volume lives on (value is always 1)",
                                   {"storage_vendor", "storage_array_vendor", "storage_array_product",
                                    "storage_array_model", "storage_array_version"})),
      disk_bytes_(r.AddGaugeFamily("vsphere_xcopy_volume_populator_source_disk_bytes",
                                   "Size of the source disk: provisioned, and allocated on the datastore",
                                   {"owner_uid", "storage_vendor", "clone_method", "storage_protocol", "type"})),
      duration_(r.AddGaugeFamily("vsphere_xcopy_volume_populator_copy_duration_seconds",
                                 "Duration of the copy; present once the copy has finished",
                                 {"owner_uid", "result", "storage_vendor", "clone_method", "xcopy_used",
                                  "storage_protocol"})),
      round_trips_(r.AddGauge("hoist_xcopy_soap_round_trips", "vCenter SOAP round trips made for this disk")) {
  progress_.WithLabels({owner_uid_});  // 0 from the start
}

void Metrics::Progress(int percent) {
  if (percent < 0 || percent > 100) return;
  progress_.WithLabels({owner_uid_}).RaiseTo(percent);
}

void Metrics::XcopyUsed(bool used) {
  std::lock_guard<std::mutex> lock(mu_);
  xcopy_used_ = used;
  xcopy_used_gauge_.WithLabels({owner_uid_, vendor_, method_}).Set(used ? 1 : 0);
}

void Metrics::WrapperVersion(const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  if (method_ != "vib") return;  // Forklift reports it for the VIB method only
  vib_version_.WithLabels({owner_uid_, version.empty() ? "unknown" : version}).Set(1);
}

void Metrics::Protocol(const std::string& protocol) {
  std::lock_guard<std::mutex> lock(mu_);
  protocol_ = protocol;
}

void Metrics::ArrayInfo(const std::string& array_vendor, const std::string& product, const std::string& model,
                        const std::string& version) {
  auto na = [](const std::string& s) { return s.empty() ? std::string("n/a") : s; };
  array_info_.WithLabels({vendor_, na(array_vendor), na(product), na(model), na(version)}).Set(1);
}

void Metrics::Complete(bool success, const FlowResult& result, std::chrono::duration<double> duration) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string method = result.clone_method.empty() ? method_ : result.clone_method;
  round_trips_.Set(static_cast<double>(result.soap_round_trips));
  if (success) {
    std::string proto = result.protocol.empty() ? protocol_ : result.protocol;
    if (result.provisioned_bytes > 0) {
      disk_bytes_.WithLabels({owner_uid_, vendor_, method, proto, "provisioned"})
          .Set(static_cast<double>(result.provisioned_bytes));
    }
    if (result.allocated_bytes > 0) {
      disk_bytes_.WithLabels({owner_uid_, vendor_, method, proto, "datastore_allocated"})
          .Set(static_cast<double>(result.allocated_bytes));
    }
    duration_.WithLabels({owner_uid_, "success", vendor_, method, result.xcopy_used ? "1" : "0", proto})
        .Set(duration.count());
  } else {
    // Forklift labels a failure's protocol "n/a".
    duration_.WithLabels({owner_uid_, "failure", vendor_, method, xcopy_used_ ? "1" : "0", "n/a"})
        .Set(duration.count());
  }
}

}  // namespace hoist::populators::xcopy

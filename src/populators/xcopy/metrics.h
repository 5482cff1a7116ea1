#pragma once
// The populator's metrics, exactly as Forklift's populator exposes them (reference §7.1), because the
// populator controller reads them with regular expressions: progress, xcopy_used, vib_version,
// storage_array_info, source_disk_bytes and — the completion signal — copy_duration_seconds. hoist
// adds `hoist_xcopy_soap_round_trips` (vCenter round trips of the run).
#include <chrono>
#include <mutex>
#include <string>

#include "populators/xcopy/flow.h"
#include "prom/metrics.h"

namespace hoist::populators::xcopy {

class Metrics : public Reporter {
 public:
  Metrics(prom::Registry& registry, std::string owner_uid, std::string vendor, std::string method);

  void Progress(int percent) override;
  void XcopyUsed(bool used) override;
  void WrapperVersion(const std::string& version) override;
  void Protocol(const std::string& protocol) override;

  // storage_array_info{storage_vendor, storage_array_vendor, storage_array_product, storage_array_model,
  // storage_array_version} = 1 ("n/a" for what the array does not tell).
  void ArrayInfo(const std::string& array_vendor, const std::string& product, const std::string& model,
                 const std::string& version);
  // The completion metrics: source_disk_bytes (success only, values > 0) and copy_duration_seconds
  // with result "success"/"failure". Once set, the controller treats the copy as finished.
  void Complete(bool success, const FlowResult& result, std::chrono::duration<double> duration);

 private:
  std::string owner_uid_, vendor_;
  std::mutex mu_;
  std::string method_, protocol_ = "n/a";
  bool xcopy_used_ = false;
  prom::Family<prom::Counter>& progress_;
  prom::Family<prom::Gauge>& xcopy_used_gauge_;
  prom::Family<prom::Gauge>& vib_version_;
  prom::Family<prom::Gauge>& array_info_;
  prom::Family<prom::Gauge>& disk_bytes_;
  prom::Family<prom::Gauge>& duration_;
  prom::Gauge& round_trips_;
};

}  // namespace hoist::populators::xcopy

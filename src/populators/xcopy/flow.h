#pragma once
// One xcopy populate run (reference §3): PVC → PV → LUN; VM, disk and ESXi host from vCenter; the
// source datastore's adapters; the host's clone executor prepared. Nothing is changed until then;
// what follows — the array's initiator group and mapping, a rescan under a host lease until the
// device shows, the clone with progress, and the cleanup on every exit path — is LunCopy
// (lun_copy.h).
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "esxi/clone_executor.h"
#include "kube/kube_client.h"
#include "populators/xcopy/host.h"
#include "populators/xcopy/lun_copy.h"
#include "populators/xcopy/options.h"
#include "populators/xcopy/source.h"
#include "storage/array.h"
#include "vsphere/client.h"
#include "vsphere/inventory.h"

namespace hoist::populators::xcopy {

struct FlowInputs {
  std::string source_vm_id;
  std::string source_vmdk;
  std::string target_namespace;
  std::string owner_name;      // target PVC
  std::string migration_host;  // HostSystem moref value, optional
  Tuning tuning;
};

// The ESXi side for a chosen host (the flow only knows the host after asking vCenter).
struct HostServices {
  std::shared_ptr<void> keep;                  // anything else both need alive (destroyed last)
  std::unique_ptr<HostStorage> storage;        // may own the transport the clone executor uses,
  std::unique_ptr<esxi::CloneExecutor> clone;  // so it is declared (and outlives the executor) first
};
using HostServicesFactory =
    std::function<HostServices(const vsphere::HostInfo& host, const vsphere::DatastoreInfo& datastore)>;

struct FlowDeps {
  kube::KubeClient* kube = nullptr;
  vsphere::Client* vcenter = nullptr;  // logged in
  storage::StorageArray* array = nullptr;
  HostLock* lock = nullptr;
  HostServicesFactory host_services;
  Reporter* reporter = nullptr;
  // Sleeps for the given time unless stopped; returns false when stopped. Tests make it instant.
  std::function<bool(std::chrono::milliseconds, std::stop_token)> sleep;
};

struct FlowResult {
  std::string clone_method;  // "vib" / "ssh"
  std::string protocol;      // "iscsi" / "fc" / "sdc" / "n/a"
  bool xcopy_used = false;
  int64_t provisioned_bytes = 0;
  int64_t allocated_bytes = 0;
  uint64_t soap_round_trips = 0;  // vCenter round trips of the whole run
  std::string host;               // HostSystem moref value the clone ran on
  std::string device;             // naa of the target LUN
};

class Flow {
 public:
  Flow(FlowInputs inputs, FlowDeps deps);
  // Runs the populate. Throws hoist::Error on failure (cleanup has run by then); `stop` (SIGTERM)
  // stops the clone on the host, cleans up and throws kCancelled.
  FlowResult Run(std::stop_token stop);
  // What was decided so far (also valid after a failure): method, protocol, xcopy use.
  const FlowResult& partial() const { return result_; }

 private:
  storage::VolumeRef TargetVolume();

  FlowInputs in_;
  FlowDeps deps_;
  FlowResult result_;
};

}  // namespace hoist::populators::xcopy

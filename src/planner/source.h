#pragma once
// What the planner needs to know about a source VM, and where it learns it: the VM's disks with their
// datastores and capacity, and the ESXi host it runs on. `SourceInventory` is the interface (tests
// substitute it); `VsphereInventory` reads vCenter through src/vsphere (one PropertyCollector call per
// VM, datastores cached, name lookups from one inventory traversal).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/api.h"

namespace hoist::vsphere {
class Client;
struct ClientOptions;
}  // namespace hoist::vsphere

namespace hoist::planner {

struct SourceDisk {
  int32_t key = 0;             // vSphere device key (label vmdkKey)
  std::string file;            // "[ds1] vm1/vm1.vmdk" (the backing the VM uses now)
  int64_t capacity_bytes = 0;  // the target PVC's size
  std::string backing;         // "vmdk", "rdm", "vvol", "other"
  std::string datastore_id;    // moref value, Forklift's inventory id ("datastore-12")
  std::string datastore_name;
  std::string datastore_naa;  // the VMFS volume's first extent ("naa.…"), empty when not VMFS-on-SAN
};

struct SourceVm {
  std::string id;    // moref value ("vm-123")
  std::string name;  // as vCenter names it
  std::string host_id;  // runtime.host moref value ("host-17"); empty when powered off and unregistered
  std::vector<SourceDisk> disks;  // in device-key order (disk index = position)
};

class SourceInventory {
 public:
  virtual ~SourceInventory() = default;
  // The VM a Plan entry names: by id (moref value or UUID) or, without id, by name. Throws
  // hoist::Error: kPrecondition when there is no such VM (or the name is ambiguous), kTransient when
  // vCenter cannot be reached.
  virtual SourceVm Describe(const PlanVm& vm) = 0;
};

// What connecting to a vSphere Provider takes (from the Provider and its Secret).
struct VsphereConnection {
  std::string url;  // Provider spec.url
  std::string username;
  std::string password;
  std::string ca_pem;  // Secret key cacert
  bool insecure_skip_verify = false;
};

class VsphereInventory : public SourceInventory {
 public:
  explicit VsphereInventory(VsphereConnection connection);
  ~VsphereInventory() override;
  SourceVm Describe(const PlanVm& vm) override;
  // SOAP round trips so far (for the benchmark's requests-per-disk figure).
  uint64_t round_trips() const;

 private:
  std::unique_ptr<vsphere::Client> client_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> datastores_;  // moref → (name, naa)
  std::optional<std::multimap<std::string, std::string>> vms_by_name_;     // name → moref
};

}  // namespace hoist::planner

#pragma once
// What the xcopy flow asks of the ESXi host's storage stack and of the cluster's host leases, as two
// small interfaces so that the flow's tests can script a host. Production implementations
// (esxi_vsphere.h) forward to esxi::HostStorage over remote esxcli and to Kubernetes Leases. Clones
// go through esxi::CloneExecutor (VIB or SSH method) directly.
#include <functional>
#include <optional>
#include <stop_token>
#include <string>

namespace hoist::populators::xcopy {

class HostStorage {
 public:
  virtual ~HostStorage() = default;
  // Rescans until the host shows `naa` attached (`on`); a device left `off`/`dead timeout` by an
  // earlier run is forgotten and rescanned. kPrecondition when it never shows, kCancelled on stop.
  // `lun_id`: the LUN number the array mapped it at, -1 when unknown.
  virtual void WaitForDevice(const std::string& naa, int lun_id, std::stop_token stop) = 0;
  // Device off, wait until off, detached remove. A device the host does not know is done.
  virtual void DetachDevice(const std::string& naa) = 0;
  // `storage core adapter rescan -t delete -A <adapter>` after the array unmapped the LUN.
  virtual void RescanDeadPaths(const std::string& adapter) = 0;
};

// Serialises heavy host operations across populators (Kubernetes Leases `esxi-lock-<host>-slot-<n>`).
class HostLock {
 public:
  virtual ~HostLock() = default;
  // Runs `work` while holding one of the host's slots. `work` gets a token that is stopped when the
  // slot is lost or `stop` is requested. Throws what `work` throws, or kCancelled when stopped while
  // waiting for a slot.
  virtual void WithLock(const std::string& host_id, const std::function<void(std::stop_token)>& work,
                        std::stop_token stop) = 0;
};

}  // namespace hoist::populators::xcopy

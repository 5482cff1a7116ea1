#pragma once
// The part of an xcopy run that changes things and so must undo them: once the flow (flow.h) knows
// the target volume, the ESXi host and the adapters to use, LunCopy gives the host's initiators a
// group on the array, maps the LUN to it, rescans the host under a host lease until the device
// shows, has the host clone the VMDK onto it while reporting progress, and cleans up on every exit
// path. It sees its peers only through small interfaces (storage::StorageArray, HostLock,
// HostStorage, esxi::CloneExecutor, Reporter), which the flow's unit tests script.
//
//   array    EnsureInitiatorGroup ─► ResolveVolume ─► ListMappings (remembered) ─► Map
//   lease    WithLock(host): WaitForDevice                              (released at once after)
//   clone    StartClone ─► GetStatus every task_poll_interval until it ends
//   cleanup  once the LUN may be mapped, in this order, every step attempted whatever failed before:
//            stop the clone (if it may still run) ─► clean its task ─► detach the device
//            ─► unmap from the xcopy group ─► re-map the remembered groups now missing
//            ─► settle ─► dead-path rescan on each adapter
//
// SIGTERM (`stop`) is looked at before each change: nothing new is mapped or scanned once it is
// requested; a running clone is stopped on the host before its device goes away.
#include <chrono>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "esxi/clone_executor.h"
#include "populators/xcopy/host.h"
#include "populators/xcopy/options.h"
#include "storage/array.h"

namespace hoist::populators::xcopy {

// What the run tells the outside world while it runs (metrics, logs).
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void Progress(int percent) = 0;
  virtual void XcopyUsed(bool used) = 0;
  virtual void WrapperVersion(const std::string& version) = 0;
  // Known once the host's adapters are chosen.
  virtual void Protocol(const std::string& protocol) = 0;
};

// What the flow decided before changing anything.
struct CopyTarget {
  storage::VolumeRef volume;               // the target PVC's PV
  std::string host_id;                     // "hostsystem-host-12": initiator group and lease names
  std::string host;                        // "host-12", for messages
  std::vector<std::string> initiator_ids;  // what the array's group must hold
  std::vector<std::string> adapters;       // "vmhba65": dead-path rescans after the unmap
  std::string source_vmdk;                 // "/vmfs/volumes/<datastore>/<dir>/<disk>.vmdk"
};

struct CopyDeps {
  storage::StorageArray* array = nullptr;
  HostLock* lock = nullptr;
  HostStorage* host = nullptr;
  esxi::CloneExecutor* clone = nullptr;  // prepared
  Reporter* reporter = nullptr;
  // Sleeps unless stopped; false when stopped. Tests make it instant.
  std::function<bool(std::chrono::milliseconds, std::stop_token)> sleep;
};

class LunCopy {
 public:
  LunCopy(CopyTarget target, Tuning tuning, CopyDeps deps);

  // Runs the copy and its cleanup. Throws hoist::Error once the cleanup has run: kCancelled when
  // `stop` was requested, else the class of the step that failed (a cleanup step never throws).
  void Run(std::stop_token stop);

  // Valid after Run, also after a failure.
  const std::string& device() const { return device_; }  // naa of the target LUN, once mapped
  bool xcopy_used() const { return xcopy_used_; }

 private:
  struct Cleanup;
  void Clone(const std::string& device, std::stop_token stop, Cleanup& cleanup);

  CopyTarget target_;
  Tuning tuning_;
  CopyDeps deps_;
  std::string device_;
  bool xcopy_used_ = false;
};

}  // namespace hoist::populators::xcopy

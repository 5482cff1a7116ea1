#pragma once
// CloneExecutor: how the xcopy flow has one ESXi host clone a VMDK onto a raw device with
// `vmkfstools -i <vmdk> -d rdm:<device>`, through the vmkfstools-wrapper (esxi/README.md), as a
// background task it polls. Two implementations share the wrapper's contract:
//   - VIB (vib_executor.h): the esxcli namespace `vmkfstools` over remote esxcli;
//   - SSH (ssh_executor.h): a restricted root key whose forced command runs the wrapper that sits
//     on the source datastore.
// The flow and its tests only see this interface, so either can be substituted.
//
// Typical use (the flow owns polling, its interval and the final extra poll):
//   executor.Prepare(stop);                        // once: reachable? which wrapper? (SSH: upload)
//   CloneTask t = executor.StartClone(request);
//   while (!(st = executor.GetStatus(t, stop)).finished()) { report(st); sleep; }
//   executor.Clean(t);                             // always, also after failures
// On SIGTERM, call Stop(t) before cleaning up the device: a clone left running keeps writing to a
// LUN that is about to be unmapped (Forklift leaves it running).
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "esxi/task_status.h"

namespace hoist::esxi {

struct CloneRequest {
  std::string source_vmdk;    // "/vmfs/volumes/<datastore>/<vm dir>/<disk>.vmdk" (spaces and quotes allowed)
  std::string target_device;  // "/vmfs/devices/disks/naa.600a0980…" (or eui.…)
};

// A clone started on the host; the id is the wrapper's.
struct CloneTask {
  std::string task_id;
  std::optional<std::int64_t> pid;  // vmkfstools' process on the host
};

class CloneExecutor {
 public:
  virtual ~CloneExecutor() = default;

  // "vib" or "ssh": the `clone_method` metric label and what messages call the method.
  virtual std::string_view method() const = 0;
  // The host (and for SSH the address), for messages and logs.
  virtual std::string host() const = 0;

  // Makes sure the host can run clones and learns which wrapper it runs; call once before
  // StartClone (later calls return the first answer). Throws hoist::Error:
  //   kPrecondition with what the administrator must do — the `vmkfstools` esxcli namespace is
  //     missing (VIB not installed, or hostd not restarted after installing it); the SSH key is not
  //     installed or not restricted as `hoist esxi ssh-key-line` prints it; the host key does not
  //     match the pinned one; the wrapper is too old and cannot be replaced;
  //   kTransient for trouble reaching the host; kCancelled when `stop` is requested.
  // SSH: probes with `SSH_OK`, reads the wrapper's version on the datastore, and uploads hoist's
  // wrapper to the datastore root when it is missing or older (then reads the version again).
  virtual WrapperVersion Prepare(std::stop_token stop) = 0;

  // The wrapper version Prepare found (empty before).
  virtual const WrapperVersion& version() const = 0;

  // Starts `vmkfstools -i <source> -d rdm:<target>` as a task on the host. Not retried (a retry
  // could start a second clone onto the same LUN). Throws kPrecondition with the wrapper's reason
  // (invalid path, /tmp full, …) or kTransient when the request may not have arrived.
  virtual CloneTask StartClone(const CloneRequest& request) = 0;

  // The task's state: progress, exit code, stderr, XCOPY counters. Transient failures (a SOAP
  // error, a dropped SSH session, an empty answer) are retried with backoff
  // (ExecutorRetry::status_attempts); then the last error is thrown. A task the host no longer
  // knows (it rebooted) is kPrecondition. kCancelled when `stop` is requested while waiting.
  virtual CloneTaskStatus GetStatus(const CloneTask& task, std::stop_token stop) = 0;

  // Stops vmkfstools if it still runs and removes the task (hoist's wrapper stops the clone's
  // process group on taskClean: SIGTERM, SIGKILL after 10 s). Returns true when a running clone was
  // stopped, false when it had already ended or the host no longer knows the task. Throws
  // kPrecondition when the host's wrapper cannot stop a clone (Forklift's 0.3.x: it would only
  // delete the task's files while vmkfstools keeps writing).
  virtual bool Stop(const CloneTask& task) = 0;

  // Removes the task's files on the host (task directory, RDM descriptor and mapping file).
  // Idempotent: a task the host no longer knows is not an error. With hoist's wrapper this also
  // stops a clone that still runs.
  virtual void Clean(const CloneTask& task) = 0;
};

// How executors retry what is safe to retry (status polls, cleanups, version reads).
struct ExecutorRetry {
  int status_attempts = 5;                      // tries per GetStatus/Clean before giving up
  std::chrono::milliseconds first_delay{1000};  // then doubled each time
  std::chrono::milliseconds max_delay{10000};
};

// The id Forklift derives from a host's moref, used in lease and initiator-group names:
// "HostSystem:host-123" → "hostsystem-host-123" (lower case, ':' → '-').
std::string HostId(std::string_view host_moref);

// The name of slot `slot` of a host's lease (Forklift's): "esxi-lock-hostsystem-host-123-slot-0".
std::string HostLeaseName(std::string_view host_id, int slot);

}  // namespace hoist::esxi

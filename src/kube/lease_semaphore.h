#pragma once
// A counting semaphore across processes made of coordination.k8s.io/v1 Leases: `slots` Leases named
// `<name_prefix><n>` (n = 0 … slots-1); holding one of them is holding the semaphore. The xcopy
// populator uses it to limit heavy operations per ESXi host, with Forklift's names
// (`esxi-lock-hostsystem-host-123-slot-0`, `…-slot-1`; esxi::HostLeaseName), so hoist and Forklift
// populators share the same slots.
//
//   LeaseSemaphore sem(client, {.lease_namespace = ns, .name_prefix = "esxi-lock-hostsystem-host-123-slot-",
//                               .identity = PodIdentity()});
//   sem.Run(stop, [&](std::stop_token guarded) { rescan(guarded); });   // or Acquire() for a handle
//
// Acquiring: each slot in turn is created (holder = identity, acquireTime = renewTime = now), or, when
// it exists, taken over when free (empty holder: released) or expired; writes carry the observed
// resourceVersion, so two processes racing for one slot never both win. A slot is expired when its
// record has not changed for leaseDurationSeconds as seen on this process's clock, or when its
// renewTime is older than leaseDurationSeconds + `clock_skew` by the wall clock (a holder that died
// long ago is taken at once). All busy: wait `retry_interval` (jittered) and try again.
//
// Holding: a thread renews renewTime every `renew_interval`. Transient failures are retried until
// `renew_deadline` after the last good renewal; a conflict means someone else wrote the slot — it is
// re-read and, when another holder owns it, the lease is lost. Losing the lease requests the
// guarded stop token, so the guarded work stops instead of running on unprotected (Forklift's
// context.Background() defect, field notes row 3).
//
// Releasing (handle destruction, Release(), end of Run): the Lease is deleted with a resourceVersion
// precondition, so a slot someone else took over is never deleted, and a waiting process gets the
// slot at its next try instead of after the lease expires (Forklift lets leases expire).
#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "kube/clock.h"
#include "kube/kube_client.h"

namespace hoist::kube {

struct LeaseSemaphoreConfig {
  std::string lease_namespace;  // HOST_LEASE_NAMESPACE for the xcopy populator
  std::string name_prefix;      // "<prefix><slot>" must be a DNS-1123 subdomain
  int slots = 2;
  std::string identity;  // holderIdentity; unique per process (see UniqueIdentity)
  std::chrono::milliseconds lease_duration{std::chrono::seconds(10)};
  std::chrono::milliseconds renew_interval{std::chrono::seconds(3)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(8)};  // < lease_duration
  std::chrono::milliseconds retry_interval{std::chrono::seconds(2)};
  std::chrono::milliseconds clock_skew{std::chrono::seconds(60)};
  // Called while waiting, once per round in which every slot was busy: holders seen.
  std::function<void(const std::vector<std::string>& holders)> on_wait;
};

// A held slot. Destroying it stops renewing and releases the Lease.
class LeaseHandle {
 public:
  virtual ~LeaseHandle() = default;
  // The Lease's name ("esxi-lock-hostsystem-host-123-slot-1").
  virtual const std::string& name() const = 0;
  // Requested when the lease is lost (renewal failed past the deadline, or taken over).
  virtual std::stop_token lost() const = 0;
  // Stops renewing and deletes the Lease if still held. Idempotent; never throws (failures are logged).
  virtual void Release() = 0;
};

class LeaseSemaphore {
 public:
  // Throws kPrecondition for an unusable configuration (names that are not DNS-1123, slots < 1,
  // renew_deadline >= lease_duration, empty identity).
  LeaseSemaphore(KubeClient& client, LeaseSemaphoreConfig config, Clock& clock = RealClock());

  // Blocks until a slot is held. Throws kCancelled when `stop` is requested first, kPrecondition when
  // the API server refuses (e.g. 403: no RBAC for leases in the namespace — checked at the first try,
  // not after waiting), and passes on other errors.
  std::unique_ptr<LeaseHandle> Acquire(std::stop_token stop);

  // One round over the slots without waiting; nullptr when all are busy.
  std::unique_ptr<LeaseHandle> TryAcquire();

  // Acquires, runs `work(guarded)` and releases. `guarded` is requested when `stop` is requested or
  // the lease is lost. If the lease was lost, throws kTransient "lost the lease …" after `work`
  // returns (also when `work` itself returned normally); exceptions from `work` pass through.
  void Run(std::stop_token stop, const std::function<void(std::stop_token guarded)>& work);

  const LeaseSemaphoreConfig& config() const { return config_; }

 private:
  std::unique_ptr<LeaseHandle> TrySlot(int slot, std::vector<std::string>& holders);

  KubeClient& client_;
  LeaseSemaphoreConfig config_;
  Clock& clock_;
  struct Observed;
  std::shared_ptr<Observed> observed_;  // per slot: last record seen and when (for expiry)
};

// "<host name>-<pid>-<8 random hex>": unique even when processes share a host name (lab pods).
std::string UniqueIdentity(std::string_view base = "");

}  // namespace hoist::kube

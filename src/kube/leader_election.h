#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, following client-go's leaderelection package:
//   - a candidate takes the Lease when it has no holder, or when its record has not changed for
//     leaseDurationSeconds as observed on the candidate's own clock (no clock sync needed);
//   - the leader renews renewTime every retry_period; if it cannot renew within renew_deadline it
//     stops leading (on_stopped_leading) — the caller should then stop its work, usually exit;
//   - on a graceful stop the leader releases the Lease (empty holderIdentity), so another candidate
//     takes over at its next retry instead of waiting for expiry.
// Writes are optimistic (resourceVersion), so two candidates never both win.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>

#include "kube/clock.h"
#include "kube/kube_client.h"

namespace hoist::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per process, e.g. "<pod name>_<uid>"
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_stop = true;
  // Called on a thread of its own when this process becomes leader; `leading` is stopped when
  // leadership ends. Run() waits for it to return before returning.
  std::function<void(std::stop_token leading)> on_started_leading;
  // Called once when leadership ends (lost or released).
  std::function<void()> on_stopped_leading;
  // Called when the observed leader changes (including to this process).
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  LeaderElector(KubeClient& client, LeaderElectionConfig config, Clock& clock = RealClock());

  // Campaigns until leader, then leads until `stop` or until the lease is lost. Returns when
  // leadership ends (or on stop while campaigning).
  void Run(std::stop_token stop);

  bool IsLeader() const { return leading_.load(); }
  std::string ObservedLeader() const;

  // One acquire-or-renew attempt (what Run does every retry_period); true when this process holds the
  // lease afterwards.
  bool TryAcquireOrRenew();
  // Gives the lease up if held: holderIdentity cleared, leaseDurationSeconds 1.
  void Release();

 private:
  KubeClient& client_;
  LeaderElectionConfig config_;
  Clock& clock_;
  std::atomic<bool> leading_{false};
  mutable std::mutex mu_;
  std::string observed_holder_;
  std::string observed_record_;  // holder + renewTime + transitions as last read
  Clock::TimePoint observed_time_{};
  Json last_lease_;
};

// The MicroTime format of Lease times: 2006-01-02T15:04:05.000000Z.
std::string FormatMicroTime(std::chrono::system_clock::time_point t);

}  // namespace hoist::kube

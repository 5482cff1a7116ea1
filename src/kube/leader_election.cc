#include "kube/leader_election.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/objects.h"

namespace hoist::kube {

std::string FormatMicroTime(std::chrono::system_clock::time_point t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros % 1000000));
  return buf;
}

namespace {

std::chrono::milliseconds Jittered(std::chrono::milliseconds d) {
  static thread_local std::mt19937 rng(std::random_device{}());
  // client-go's wait.Jitter(retryPeriod, 1.2): up to +120%.
  double factor = 1.0 + std::uniform_real_distribution<double>(0.0, 1.2)(rng);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(d.count()) * factor));
}

int64_t Seconds(std::chrono::milliseconds d) {
  return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

LeaderElector::LeaderElector(KubeClient& client, LeaderElectionConfig config, Clock& clock)
    : client_(client), config_(std::move(config)), clock_(clock) {
  if (config_.lease_name.empty() || config_.lease_namespace.empty() || config_.identity.empty()) {
    throw BugError("leader election: lease namespace, lease name and identity are required");
  }
  if (config_.renew_deadline >= config_.lease_duration) {
    throw BugError("leader election: renew deadline must be shorter than the lease duration");
  }
}

std::string LeaderElector::ObservedLeader() const {
  std::lock_guard<std::mutex> l(mu_);
  return observed_holder_;
}

bool LeaderElector::TryAcquireOrRenew() {
  const auto& lease_type = resources::kLease;
  std::string now_text = FormatMicroTime(std::chrono::system_clock::now());
  Clock::TimePoint now = clock_.Now();
  Json lease;
  try {
    lease = client_.Get(lease_type, config_.lease_namespace, config_.lease_name);
  } catch (const ApiError& e) {
    if (!IsNotFound(e)) {
      log::Warn("leader", "reading the lease failed", {{"lease", config_.lease_name}, {"error", e.what()}});
      return false;
    }
    Json created = NewObject(lease_type, config_.lease_namespace, config_.lease_name);
    created["spec"] = {{"holderIdentity", config_.identity},
                       {"leaseDurationSeconds", Seconds(config_.lease_duration)},
                       {"acquireTime", now_text},
                       {"renewTime", now_text},
                       {"leaseTransitions", 0}};
    try {
      Json stored = client_.Create(lease_type, config_.lease_namespace, created);
      std::lock_guard<std::mutex> l(mu_);
      observed_holder_ = config_.identity;
      observed_record_.clear();
      observed_time_ = now;
      last_lease_ = std::move(stored);
    } catch (const Error& ce) {
      log::Debug("leader", "creating the lease failed",
                 {{"lease", config_.lease_name}, {"error", ce.what()}});
      return false;
    }
    if (config_.on_new_leader) config_.on_new_leader(config_.identity);
    return true;
  } catch (const Error& e) {
    log::Warn("leader", "reading the lease failed", {{"lease", config_.lease_name}, {"error", e.what()}});
    return false;
  }

  Json spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : Json::object();
  std::string holder = spec.value("holderIdentity", "");
  int64_t transitions = spec.value("leaseTransitions", int64_t{0});
  int64_t duration_s = spec.value("leaseDurationSeconds", Seconds(config_.lease_duration));
  std::string record = holder + "|" + spec.value("renewTime", "") + "|" + std::to_string(transitions) + "|" +
                       std::to_string(duration_s);
  bool leader_changed = false;
  bool held_by_other = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (record != observed_record_) {
      observed_record_ = record;
      observed_time_ = now;
    }
    if (holder != observed_holder_) {
      observed_holder_ = holder;
      leader_changed = !holder.empty();
    }
    held_by_other = !holder.empty() && holder != config_.identity &&
                    observed_time_ + std::chrono::seconds(duration_s) > now;
  }
  if (leader_changed && config_.on_new_leader) config_.on_new_leader(holder);
  if (held_by_other) return false;

  Json updated = lease;
  if (holder != config_.identity) {
    updated["spec"]["acquireTime"] = now_text;
    updated["spec"]["leaseTransitions"] = transitions + 1;
  }
  updated["spec"]["holderIdentity"] = config_.identity;
  updated["spec"]["leaseDurationSeconds"] = Seconds(config_.lease_duration);
  updated["spec"]["renewTime"] = now_text;
  try {
    Json stored = client_.Update(lease_type, updated);  // conditional on metadata.resourceVersion
    std::lock_guard<std::mutex> l(mu_);
    observed_holder_ = config_.identity;
    last_lease_ = std::move(stored);
  } catch (const Error& e) {
    log::Debug("leader", "updating the lease failed", {{"lease", config_.lease_name}, {"error", e.what()}});
    return false;
  }
  if (holder != config_.identity && config_.on_new_leader) config_.on_new_leader(config_.identity);
  return true;
}

void LeaderElector::Release() {
  try {
    Json lease = client_.Get(resources::kLease, config_.lease_namespace, config_.lease_name);
    if (StringAt(lease, {"spec", "holderIdentity"}) != config_.identity) return;
    std::string now_text = FormatMicroTime(std::chrono::system_clock::now());
    lease["spec"]["holderIdentity"] = "";
    lease["spec"]["leaseDurationSeconds"] = 1;
    lease["spec"]["renewTime"] = now_text;
    lease["spec"]["acquireTime"] = now_text;
    client_.Update(resources::kLease, lease);
    log::Info("leader", "released the lease",
              {{"lease", config_.lease_name}, {"identity", config_.identity}});
  } catch (const Error& e) {
    log::Warn("leader", "releasing the lease failed; the next leader waits for it to expire",
              {{"lease", config_.lease_name}, {"error", e.what()}});
  }
}

void LeaderElector::Run(std::stop_token stop) {
  log::Info("leader", "campaigning for the lease",
            {{"lease", config_.lease_namespace + "/" + config_.lease_name}, {"identity", config_.identity}});
  while (!TryAcquireOrRenew()) {
    if (!SleepFor(Jittered(config_.retry_period), stop)) return;
  }
  if (stop.stop_requested()) {
    if (config_.release_on_stop) Release();
    return;
  }
  leading_.store(true);
  log::Info("leader", "became leader", {{"lease", config_.lease_name}, {"identity", config_.identity}});
  std::stop_source leading;
  std::thread worker;
  if (config_.on_started_leading) {
    worker = std::thread([this, token = leading.get_token()] { config_.on_started_leading(token); });
  }
  Clock::TimePoint last_renew = clock_.Now();
  bool lost = false;
  while (SleepFor(config_.retry_period, stop)) {
    if (TryAcquireOrRenew()) {
      last_renew = clock_.Now();
      continue;
    }
    std::string holder = ObservedLeader();
    if ((!holder.empty() && holder != config_.identity) ||
        clock_.Now() - last_renew > config_.renew_deadline) {
      lost = true;
      break;
    }
  }
  leading_.store(false);
  leading.request_stop();
  if (worker.joinable()) worker.join();
  if (lost) {
    log::Warn("leader", "lost the lease", {{"lease", config_.lease_name}, {"identity", config_.identity}});
  } else if (config_.release_on_stop) {
    Release();
  }
  if (config_.on_stopped_leading) config_.on_stopped_leading();
}

}  // namespace hoist::kube

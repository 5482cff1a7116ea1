#include "kube/lease_semaphore.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/leader_election.h"
#include "kube/objects.h"

namespace hoist::kube {
namespace {

constexpr std::string_view kLog = "lease";

int64_t Seconds(std::chrono::milliseconds d) {
  return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

// "2006-01-02T15:04:05.000000Z" (MicroTime) or without the fraction; nullopt when unreadable.
std::optional<std::chrono::system_clock::time_point> ParseMicroTime(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  int64_t micros = 0;
  if (*rest == '.') {
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, ++digits) {
      if (digits < 6) micros = micros * 10 + (*rest - '0');
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (*rest != 'Z' && *rest != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::microseconds(micros);
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (alnum(c) || c == '-') continue;
    if (c == '.' && i > 0 && s[i - 1] != '.' && s[i - 1] != '-' && i + 1 < s.size() && s[i + 1] != '-')
      continue;
    return false;
  }
  return true;
}

std::chrono::milliseconds Jittered(std::chrono::milliseconds d) {
  static thread_local std::mt19937 rng(std::random_device{}());
  double factor = 1.0 + std::uniform_real_distribution<double>(0.0, 0.5)(rng);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(d.count()) * factor));
}

std::string Record(const Json& lease) {
  const Json spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : Json::object();
  return spec.value("holderIdentity", "") + "|" + spec.value("renewTime", "") + "|" +
         std::to_string(spec.value("leaseDurationSeconds", int64_t{0}));
}

class HeldLease final : public LeaseHandle {
 public:
  HeldLease(KubeClient& client, const LeaseSemaphoreConfig& config, Clock& clock, Json lease)
      : client_(client), config_(config), clock_(clock), lease_(std::move(lease)), name_(Name(lease_)) {
    last_renew_ = clock_.Now();
    renewer_ = std::jthread([this](std::stop_token stop) { RenewLoop(stop); });
  }
  ~HeldLease() override { Release(); }

  const std::string& name() const override { return name_; }
  std::stop_token lost() const override { return lost_.get_token(); }

  void Release() override {
    std::lock_guard<std::mutex> once(release_mu_);
    if (released_) return;
    released_ = true;
    renewer_.request_stop();
    if (renewer_.joinable()) renewer_.join();
    if (lost_.stop_requested()) return;  // someone else holds it now
    // Deleting (rather than letting it expire, as Forklift does) hands the slot over at once. The
    // resourceVersion precondition keeps us from deleting a slot that changed hands meanwhile.
    for (int attempt = 0; attempt < 3; ++attempt) {
      try {
        DeleteOptions opts;
        opts.precondition_resource_version = StringAt(lease_, {"metadata", "resourceVersion"});
        client_.Delete(resources::kLease, config_.lease_namespace, name_, opts);
        log::Info(kLog, "released the lease", {{"lease", name_}, {"identity", config_.identity}});
        return;
      } catch (const ApiError& e) {
        if (IsNotFound(e)) return;
        if (!IsConflict(e)) {
          log::Warn(kLog, "releasing the lease failed; it expires by itself",
                    {{"lease", name_}, {"error", e.what()}});
          if (!e.retryable()) return;
          continue;
        }
        try {
          lease_ = client_.Get(resources::kLease, config_.lease_namespace, name_);
          if (StringAt(lease_, {"spec", "holderIdentity"}) != config_.identity) return;
        } catch (const Error&) {
          return;
        }
      } catch (const Error& e) {
        log::Warn(kLog, "releasing the lease failed; it expires by itself",
                  {{"lease", name_}, {"error", e.what()}});
        if (!e.retryable()) return;
      }
    }
  }

 private:
  static std::string Name(const Json& lease) { return StringAt(lease, {"metadata", "name"}); }

  void Lose(const std::string& why) {
    log::Warn(kLog, "lost the lease; stopping the work it guards",
              {{"lease", name_}, {"identity", config_.identity}, {"reason", why}});
    lost_.request_stop();
  }

  void RenewLoop(std::stop_token stop) {
    auto pause = config_.renew_interval;
    while (SleepFor(pause, stop)) {
      pause = config_.renew_interval;
      Json updated = lease_;
      updated["spec"]["renewTime"] = FormatMicroTime(std::chrono::system_clock::now());
      updated["spec"]["leaseDurationSeconds"] = Seconds(config_.lease_duration);
      try {
        lease_ = client_.Update(resources::kLease, updated);
        last_renew_ = clock_.Now();
        continue;
      } catch (const ApiError& e) {
        if (IsNotFound(e)) return Lose("the Lease was deleted");
        if (IsConflict(e)) {
          // Someone wrote the Lease. Still ours (e.g. a label added)? Then renew on its new version.
          try {
            Json current = client_.Get(resources::kLease, config_.lease_namespace, name_);
            std::string holder = StringAt(current, {"spec", "holderIdentity"});
            if (holder != config_.identity)
              return Lose("taken over by " + (holder.empty() ? "nobody" : holder));
            lease_ = std::move(current);
            pause = std::chrono::milliseconds(0);
            continue;
          } catch (const ApiError& ge) {
            if (IsNotFound(ge)) return Lose("the Lease was deleted");
          } catch (const Error&) {
          }
        } else if (!e.retryable()) {
          return Lose(e.what());
        }
        log::Warn(kLog, "renewing the lease failed", {{"lease", name_}, {"error", e.what()}});
      } catch (const Error& e) {
        log::Warn(kLog, "renewing the lease failed", {{"lease", name_}, {"error", e.what()}});
      }
      if (clock_.Now() - last_renew_ > config_.renew_deadline) {
        return Lose("not renewed for " + std::to_string(Seconds(config_.renew_deadline)) + " s");
      }
      pause = std::min(config_.renew_interval, std::chrono::milliseconds(500));
    }
  }

  KubeClient& client_;
  LeaseSemaphoreConfig config_;
  Clock& clock_;
  Json lease_;  // as last stored (renew thread only, then Release after join)
  std::string name_;
  Clock::TimePoint last_renew_;
  std::stop_source lost_;
  std::mutex release_mu_;
  bool released_ = false;
  std::jthread renewer_;
};

}  // namespace

// Per slot: the record last seen and when (this process's clock), for expiry without synced clocks.
struct LeaseSemaphore::Observed {
  std::mutex mu;
  std::vector<std::pair<std::string, Clock::TimePoint>> slots;
};

std::string UniqueIdentity(std::string_view base) {
  std::string name(base);
  if (name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) name = host;
    if (name.empty()) name = "hoist";
  }
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  return name + "-" + std::to_string(getpid()) + "-" + suffix;
}

LeaseSemaphore::LeaseSemaphore(KubeClient& client, LeaseSemaphoreConfig config, Clock& clock)
    : client_(client), config_(std::move(config)), clock_(clock), observed_(std::make_shared<Observed>()) {
  if (config_.slots < 1) throw PreconditionError("lease semaphore: at least one slot is needed");
  if (config_.lease_namespace.empty()) throw PreconditionError("lease semaphore: the namespace is empty");
  if (config_.identity.empty()) throw PreconditionError("lease semaphore: the holder identity is empty");
  if (config_.renew_deadline >= config_.lease_duration || config_.renew_interval >= config_.renew_deadline) {
    throw PreconditionError("lease semaphore: renew interval < renew deadline < lease duration is required");
  }
  std::string last = config_.name_prefix + std::to_string(config_.slots - 1);
  if (!IsDns1123Subdomain(config_.name_prefix + "0") || !IsDns1123Subdomain(last)) {
    throw PreconditionError("lease name \"" + last +
                            "\" is not a valid Kubernetes name (lower-case letters, digits, '-' and '.')");
  }
  observed_->slots.resize(static_cast<std::size_t>(config_.slots));
}

std::unique_ptr<LeaseHandle> LeaseSemaphore::TrySlot(int slot, std::vector<std::string>& holders) {
  const auto& type = resources::kLease;
  std::string name = config_.name_prefix + std::to_string(slot);
  auto now_text = [] { return FormatMicroTime(std::chrono::system_clock::now()); };
  auto refused = [&](const ApiError& e) -> Error {
    return PreconditionError("taking lease " + config_.lease_namespace + "/" + name + ": " + e.what() +
                             " — the populator's service account needs get, create, update and delete on "
                             "coordination.k8s.io leases in namespace " +
                             config_.lease_namespace);
  };
  for (int tries = 0; tries < 3; ++tries) {
    Json lease;
    try {
      lease = client_.Get(type, config_.lease_namespace, name);
    } catch (const ApiError& e) {
      if (!IsNotFound(e)) {
        if (e.error_class() == ErrorClass::kPrecondition) throw refused(e);
        throw;
      }
      Json created = NewObject(type, config_.lease_namespace, name);
      std::string now = now_text();
      created["spec"] = {{"holderIdentity", config_.identity},
                         {"leaseDurationSeconds", Seconds(config_.lease_duration)},
                         {"acquireTime", now},
                         {"renewTime", now}};
      try {
        Json stored = client_.Create(type, config_.lease_namespace, created);
        return std::make_unique<HeldLease>(client_, config_, clock_, std::move(stored));
      } catch (const ApiError& ce) {
        if (IsAlreadyExists(ce)) continue;  // someone else was quicker: look at theirs
        if (ce.error_class() == ErrorClass::kPrecondition) throw refused(ce);
        throw;
      }
    }
    Json spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : Json::object();
    std::string holder = spec.value("holderIdentity", "");
    int64_t duration_s = spec.value("leaseDurationSeconds", Seconds(config_.lease_duration));
    Clock::TimePoint now = clock_.Now();
    bool expired = false;
    {
      std::lock_guard<std::mutex> l(observed_->mu);
      auto& [record, seen] = observed_->slots[static_cast<std::size_t>(slot)];
      std::string r = Record(lease);
      if (r != record) {
        record = r;
        seen = now;
      } else if (now - seen >= std::chrono::seconds(duration_s)) {
        expired = true;  // unchanged for a whole lease duration on our clock
      }
    }
    if (auto renewed = ParseMicroTime(spec.value("renewTime", ""))) {
      if (*renewed + std::chrono::seconds(duration_s) + config_.clock_skew < std::chrono::system_clock::now())
        expired = true;  // its holder stopped renewing long ago
    }
    bool free = holder.empty() || holder == config_.identity;
    if (!free && !expired) {
      holders.push_back(holder);
      return nullptr;
    }
    Json updated = lease;
    std::string now_s = now_text();
    updated["spec"]["holderIdentity"] = config_.identity;
    updated["spec"]["leaseDurationSeconds"] = Seconds(config_.lease_duration);
    updated["spec"]["acquireTime"] = now_s;
    updated["spec"]["renewTime"] = now_s;
    updated["spec"]["leaseTransitions"] = spec.value("leaseTransitions", int64_t{0}) + 1;
    try {
      Json stored = client_.Update(type, updated);  // conditional on the resourceVersion we read
      if (!free) {
        log::Info(kLog, "took over an expired lease", {{"lease", name}, {"previous holder", holder}});
      }
      return std::make_unique<HeldLease>(client_, config_, clock_, std::move(stored));
    } catch (const ApiError& e) {
      if (IsConflict(e) || IsNotFound(e)) {  // another process won this slot (or released it): next slot
        holders.push_back(holder.empty() ? "(changing)" : holder);
        return nullptr;
      }
      if (e.error_class() == ErrorClass::kPrecondition) throw refused(e);
      throw;
    }
  }
  holders.push_back("(contended)");
  return nullptr;
}

std::unique_ptr<LeaseHandle> LeaseSemaphore::TryAcquire() {
  std::vector<std::string> holders;
  for (int slot = 0; slot < config_.slots; ++slot) {
    if (auto held = TrySlot(slot, holders)) return held;
  }
  return nullptr;
}

std::unique_ptr<LeaseHandle> LeaseSemaphore::Acquire(std::stop_token stop) {
  bool logged = false;
  while (true) {
    if (stop.stop_requested())
      throw CancelledError("waiting for lease " + config_.name_prefix + "*: stopped");
    std::vector<std::string> holders;
    for (int slot = 0; slot < config_.slots; ++slot) {
      std::unique_ptr<LeaseHandle> held;
      try {
        held = TrySlot(slot, holders);
      } catch (const Error& e) {
        // RBAC and other refusals fail at once; transient trouble is waited out like a busy slot.
        if (!e.retryable()) throw;
        log::Warn(kLog, "reading the lease failed",
                  {{"lease", config_.name_prefix + std::to_string(slot)}, {"error", e.what()}});
        holders.push_back("(unreadable)");
        continue;
      }
      if (held) {
        log::Info(kLog, "holding the lease", {{"lease", held->name()}, {"identity", config_.identity}});
        return held;
      }
    }
    if (config_.on_wait) config_.on_wait(holders);
    if (!logged) {
      std::string who;
      for (const auto& h : holders) who += (who.empty() ? "" : ", ") + h;
      log::Info(
          kLog, "all lease slots are busy; waiting",
          {{"leases", config_.name_prefix + "0.." + std::to_string(config_.slots - 1)}, {"holders", who}});
      logged = true;
    }
    if (!SleepFor(Jittered(config_.retry_interval), stop))
      throw CancelledError("waiting for lease " + config_.name_prefix + "*: stopped");
  }
}

void LeaseSemaphore::Run(std::stop_token stop, const std::function<void(std::stop_token guarded)>& work) {
  std::unique_ptr<LeaseHandle> held = Acquire(stop);
  std::stop_source guarded;
  std::stop_callback on_stop(stop, [&] { guarded.request_stop(); });
  std::stop_callback on_lost(held->lost(), [&] { guarded.request_stop(); });
  std::string name = held->name();
  try {
    work(guarded.get_token());
  } catch (...) {
    bool lost = held->lost().stop_requested();
    held->Release();
    if (lost) {
      log::Warn(kLog, "the guarded work ended after the lease was lost", {{"lease", name}});
    }
    throw;
  }
  bool lost = held->lost().stop_requested();
  held->Release();
  if (lost) {
    throw TransientError("lost lease " + config_.lease_namespace + "/" + name +
                         " while the work it guards ran (renewal failed or another holder took it over); the "
                         "work was stopped");
  }
}

}  // namespace hoist::kube

#include "controller/reconciler.h"

#include <time.h>

#include <cmath>
#include <cstdio>

#include "controller/names.h"
#include "controller/podspec.h"
#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/objects.h"

namespace hoist::controller {

using nlohmann::json;
namespace res = kube::resources;

namespace {

constexpr std::string_view kLog = "controller";
// A pod created by this process is counted against its host until the cache shows it, or this long.
constexpr auto kPendingPodTtl = std::chrono::seconds(60);

std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseTime(const std::string& text) {
  struct tm tm_utc = {};
  if (text.size() < 20 || strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm_utc) == nullptr) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm_utc));
}

kube::ObjectRef RefFor(const kube::ResourceType& type, const json& obj) {
  kube::ObjectRef ref = kube::RefTo(obj);
  ref.api_group = type.group;
  ref.api_version = type.ApiVersion();
  ref.kind = type.kind;
  return ref;
}

// The condition that is True on the CR (type and reason), if any.
std::pair<std::string, std::string> TrueCondition(const json& cr) {
  const json* conditions = kube::At(cr, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return {};
  for (const auto& c : *conditions) {
    if (kube::StringAt(c, {"status"}) == "True") {
      return {kube::StringAt(c, {"type"}), kube::StringAt(c, {"reason"})};
    }
  }
  return {};
}

int ProgressOf(const json& status) {
  std::string p = kube::StringAt(status, {"progress"});
  if (p.empty()) return 0;
  try {
    return std::stoi(p);
  } catch (...) {
    return 0;
  }
}

// Container waiting reasons that will not clear up by themselves: the user has to act.
bool IsStuckWaitingReason(std::string_view reason) {
  return reason == "CreateContainerConfigError" || reason == "CreateContainerError" ||
         reason == "ErrImagePull" || reason == "ImagePullBackOff" || reason == "InvalidImageName";
}

std::string WaitingReasonOf(const json& pod) {
  const json* statuses = kube::At(pod, {"status", "containerStatuses"});
  if (statuses == nullptr || !statuses->is_array()) return "";
  for (const auto& s : *statuses) {
    std::string r = kube::StringAt(s, {"state", "waiting", "reason"});
    if (!r.empty()) return r;
  }
  return "";
}

std::pair<std::string, std::string> SplitKey(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace

kube::ResourceType PopulatorResource(PopulatorKind kind) {
  const KindInfo& k = Info(kind);
  return kube::ResourceType{std::string(kGroup), std::string(kVersion), std::string(k.plural),
                            std::string(k.kind_name), true};
}

struct Reconciler::Context {
  std::string key, ns, name, uid;
  PopulatorKind kind = PopulatorKind::kOvirt;
  json pvc, cr;
  std::optional<json> pod, prime;
  // What the status will say.
  std::string waiting_reason, waiting_message;
  std::optional<RetryDecision> retry;
  std::optional<ConditionSummary> forced;  // set by Fail()
  bool completed = false;
  bool failed = false;
  bool in_place = false;
  bool populated_in_place = false;
  std::optional<std::chrono::milliseconds> requeue;
  std::pair<std::string, std::string> previous;  // the CR's True condition before this sync
};

Reconciler::Reconciler(kube::KubeClient& client, const ClusterCache& cache, ProgressSource& progress,
                       kube::EventRecorder& events, ControllerMetrics& metrics, ReconcilerOptions options)
    : client_(client),
      cache_(cache),
      progress_(progress),
      events_(events),
      metrics_(metrics),
      options_(std::move(options)) {}

std::string Reconciler::Now() const { return FormatTime(options_.now()); }

void Reconciler::Emit(const kube::ResourceType& type, const json& regarding, std::string_view event_type,
                      std::string_view reason, std::string_view note) {
  events_.Record(RefFor(type, regarding), event_type, reason, "Populate", note);
}

void Reconciler::Drop(const std::string& key) {
  progress_.Forget(key);
  metrics_.OperationAbandoned(key);
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [host, keys] : throttled_) keys.erase(key);
  auto it = uid_of_key_.find(key);
  if (it != uid_of_key_.end()) {
    metrics_.XcopyForget(it->second);
    uid_of_key_.erase(it);
  }
  last_condition_.erase(key);
  last_written_.erase(key);
}

std::vector<std::string> Reconciler::ThrottledOn(const std::string& host) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = throttled_.find(host);
  if (it == throttled_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

SyncOutcome Reconciler::Sync(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  std::optional<json> pvc = cache_.Pvc(ns, name);
  if (!pvc) {
    Drop(key);
    return {};
  }
  std::optional<PopulatorKind> kind = KindOfPvc(*pvc);
  if (!kind || !options_.settings.Enabled(*kind)) return {};
  if (kube::IsBeingDeleted(*pvc)) {
    Drop(key);
    return {};
  }
  std::string cr_name = kube::StringAt(*pvc, {"spec", "dataSourceRef", "name"});
  std::optional<json> cr = cache_.Populator(*kind, ns, cr_name);
  if (!cr) {
    // Called again when the CR appears (the populator-source index maps it to this PVC). Forklift
    // waits silently; a user who created the PVC first (or mistyped the name) is told what it waits for.
    log::Debug(kLog, "waiting for the populator resource",
               {{"pvc", key}, {"kind", Info(*kind).kind_name}, {"name", cr_name}});
    if (kube::pvc::VolumeName(*pvc).empty()) {
      Emit(res::kPersistentVolumeClaim, *pvc, kube::kEventNormal, kReasonResourceMissing,
           std::string(Info(*kind).kind_name) + " " + ns + "/" + cr_name +
               " named by spec.dataSourceRef does not exist; population starts when it is created");
    }
    return {};
  }

  Context c;
  c.key = key;
  c.ns = ns;
  c.name = name;
  c.kind = *kind;
  c.pvc = std::move(*pvc);
  c.cr = std::move(*cr);
  {
    // The cache may not have seen our last status write yet: start from what we wrote instead of
    // sending a patch that can only conflict.
    std::lock_guard<std::mutex> l(mu_);
    auto it = last_written_.find(key);
    if (it != last_written_.end()) {
      if (kube::ResourceVersion(c.cr) == it->second.first && kube::Uid(c.cr) == kube::Uid(it->second.second)) {
        c.cr = it->second.second;
      } else {
        last_written_.erase(it);
      }
    }
  }
  c.uid = kube::Uid(c.pvc);
  c.pod = cache_.Pod(ns, PopulatorPodName(c.uid));
  c.prime = cache_.Pvc(ns, PrimePvcName(c.uid));
  c.previous = TrueCondition(c.cr);
  {
    std::lock_guard<std::mutex> l(mu_);
    uid_of_key_[key] = c.uid;
    // What this process last wrote is newer than a CR cache that has not caught up with it yet; using
    // it keeps transition events (PopulatorFinished, PopulatorFailed, ...) from being sent twice.
    auto it = last_condition_.find(key);
    if (it != last_condition_.end() && it->second.first == c.uid) c.previous = it->second.second;
  }

  if (kube::pvc::VolumeName(c.pvc).empty()) {
    SyncUnbound(c);
  } else {
    SyncBound(c);
  }
  WriteStatus(c);
  if (c.completed) progress_.Forget(key);
  if (c.failed || (c.forced && c.forced->state == PopulationState::kFailed)) metrics_.OperationAbandoned(key);
  return SyncOutcome{c.requeue};
}

// ---- target PVC not bound yet ------------------------------------------------------------------

void Reconciler::SyncUnbound(Context& c) {
  auto created = ParseTime(kube::StringAt(c.pvc, {"metadata", "creationTimestamp"}));
  metrics_.OperationStarted(c.key, created.value_or(options_.now()));

  std::optional<json> sc;
  std::string class_name = kube::pvc::StorageClassName(c.pvc);
  if (!class_name.empty()) sc = cache_.StorageClass(class_name);
  BindingDecision d = DecideBinding(c.pvc, sc ? &*sc : nullptr);
  switch (d.action) {
    case BindingAction::kWaitForStorageClass:
      c.waiting_reason = "WaitingForStorageClass";
      c.waiting_message = d.message;
      return;
    case BindingAction::kWaitForNode:
      c.waiting_reason = "WaitingForNode";
      c.waiting_message = d.message;
      return;
    case BindingAction::kSkipInTree:
      Fail(c, "UnsupportedStorageClass", d.message);
      return;
    case BindingAction::kStaticVolume: {
      std::string match;
      for (const json& pv : cache_.Pvs()) {
        if (StaticVolumeMatches(pv, c.pvc)) {
          match = kube::Name(pv);
          break;
        }
      }
      c.waiting_reason = "WaitingForStaticVolume";
      c.waiting_message =
          d.message + (match.empty() ? "; no Available PersistentVolume matches it yet (class, volume mode, access "
                                       "modes, capacity >= " +
                                           kube::pvc::RequestedStorage(c.pvc) + "): create one"
                                     : "; PersistentVolume " + match + " matches and should be bound to it shortly");
      return;
    }
    case BindingAction::kPopulate:
      break;
  }

  if (c.pod && kube::pod::Phase(*c.pod) == "Succeeded" && !c.prime) {
    Fail(c, "PrimeClaimLost",
         "populator pod " + c.ns + "/" + PopulatorPodName(c.uid) + " finished but prime PVC " + c.ns + "/" +
             PrimePvcName(c.uid) +
             ", which held the populated volume, is gone; delete the pod to populate the PVC again");
    return;
  }
  EnsurePrime(c, d.node_name);
  SyncPod(c, "", d.node_name);
  if (PodSucceeded(c)) Rebind(c);
}

void Reconciler::EnsurePrime(Context& c, const std::string& node_name) {
  if (c.prime) return;
  json prime = BuildPrimePvc(c.pvc, node_name);
  try {
    c.prime = client_.Create(res::kPersistentVolumeClaim, c.ns, prime);
    log::Info(kLog, "created prime PVC", {{"pvc", c.key}, {"prime", PrimePvcName(c.uid)}});
  } catch (const std::exception& e) {
    if (kube::IsAlreadyExists(e)) {
      c.prime = std::move(prime);
      return;
    }
    Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventWarning, kReasonPvcCreationError,
         std::string("Failed to create populator PVC: ") + e.what());
    throw;
  }
}

Reconciler::Slot Reconciler::TakeSlot(Context& c) {
  int limit = options_.settings.max_in_flight;
  std::string host = RuntimeHost(c.cr);
  if (limit <= 0 || host.empty()) return Slot::kTaken;
  std::string pod_key = c.ns + "/" + PopulatorPodName(c.uid);
  std::vector<json> active = cache_.ActivePodsOnHost(host);
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> counted;
  for (const auto& p : active) counted.insert(kube::ObjectKey(p));
  auto& pending = pending_pods_[host];
  auto now = std::chrono::steady_clock::now();
  for (auto it = pending.begin(); it != pending.end();) {
    auto [pns, pname] = SplitKey(it->first);
    if (now - it->second > kPendingPodTtl) {
      it = pending.erase(it);
      continue;
    }
    // Counted even when the cache shows it by now: `active` was read before, so a pod that reached
    // the cache in between would otherwise be in neither set (one pod too many on the host).
    counted.insert(it->first);
    if (cache_.Pod(pns, pname)) {
      it = pending.erase(it);
    } else {
      ++it;
    }
  }
  // This PVC's own pod, created moments ago and not in the cache yet: wait for it, do not count it
  // against ourselves.
  if (pending.count(pod_key) != 0) return Slot::kAlreadyCreated;
  int in_flight = static_cast<int>(counted.size());
  if (in_flight >= limit) {
    throttled_[host].insert(c.key);
    c.waiting_reason = "Throttled";
    c.waiting_message = "waiting for a populator slot on ESXi host " + host + " (" + std::to_string(in_flight) + "/" +
                        std::to_string(limit) + " in flight; MAX_POPULATOR_INFLIGHT=" + std::to_string(limit) + ")";
    return Slot::kThrottled;
  }
  throttled_[host].erase(c.key);
  pending[pod_key] = now;
  return Slot::kTaken;
}

void Reconciler::ReleaseSlot(const std::string& host, const std::string& pod_key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pending_pods_.find(host);
  if (it != pending_pods_.end()) it->second.erase(pod_key);
}

void Reconciler::SyncPod(Context& c, const std::string& claim_name, const std::string& node_name) {
  std::string pod_ref = c.ns + "/" + PopulatorPodName(c.uid);
  if (!c.pod) {
    PodInputs in;
    in.kind = c.kind;
    in.image = options_.settings.images.at(c.kind);
    in.resources = options_.settings.resources;
    in.node_name = node_name;
    in.claim_name = claim_name;
    json pod;
    try {
      pod = BuildPopulatorPod(in, c.cr, c.pvc);
    } catch (const Error& e) {
      if (e.error_class() != ErrorClass::kPrecondition) throw;
      Fail(c, "InvalidPopulatorResource", e.what());
      return;
    }
    Slot slot = TakeSlot(c);
    if (slot == Slot::kAlreadyCreated) return;  // its creation event brings us back
    if (slot == Slot::kThrottled) {
      if (c.previous.second != "Throttled") {
        Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventNormal, kReasonThrottled,
             "Waiting for available populator slot on host " + RuntimeHost(c.cr) + ": " + c.waiting_message);
        metrics_.Throttled(c.kind);
      }
      c.requeue = options_.settings.throttle_requeue;
      return;
    }
    std::string host = RuntimeHost(c.cr);
    try {
      c.pod = client_.Create(res::kPod, c.ns, pod);
    } catch (const std::exception& e) {
      ReleaseSlot(host, pod_ref);
      if (kube::IsAlreadyExists(e)) {
        c.pod = std::move(pod);  // the cache had not caught up with an earlier create
        return;
      }
      Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventWarning, kReasonCreationError,
           std::string("Failed to create populator pod: ") + e.what());
      throw;
    }
    metrics_.PodCreated(c.kind);
    log::Info(kLog, "created populator pod", {{"pvc", c.key}, {"pod", pod_ref}, {"kind", Info(c.kind).kind_name}});
    Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventNormal, kReasonCreated, "Populator started");
    return;
  }

  const json& pod = *c.pod;
  if (kube::IsBeingDeleted(pod)) return;  // a retry in progress: its deletion event brings us back
  std::string phase = kube::pod::Phase(pod);
  if (phase == "Running" && ShouldScrape(pod)) {
    MonitorTarget t{c.kind, c.uid, kube::Uid(pod), MetricsUrl(pod)};
    if (progress_.Watch(c.key, t)) {
      Emit(res::kPod, pod, kube::kEventNormal, kReasonProgress, "Starting to monitor progress for PVC " + c.key);
    }
    return;
  }
  if (phase == "Pending") {
    std::string waiting = WaitingReasonOf(pod);
    if (IsStuckWaitingReason(waiting) && c.previous.second != waiting) {
      Observation o;
      o.kind = c.kind;
      o.target_pvc = &c.pvc;
      o.pod = &pod;
      o.prime_pvc = c.prime ? &*c.prime : nullptr;
      ConditionSummary s = Summarize(o);
      Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventWarning, kReasonPodWaiting, s.message);
    }
    return;
  }
  if (phase == "Succeeded") {
    progress_.Finish(c.key);
    return;
  }
  if (phase != "Failed") return;

  progress_.Finish(c.key);
  std::string pod_uid = kube::Uid(pod);
  RetryDecision d = DecideRetry(c.kind, c.pvc, pod_uid);
  c.retry = d;
  Observation o;
  o.kind = c.kind;
  o.target_pvc = &c.pvc;
  o.pod = &pod;
  o.prime_pvc = c.prime ? &*c.prime : nullptr;
  o.retry = d;
  o.in_place = c.in_place;
  ConditionSummary s = Summarize(o);
  if (d.recreate) {
    bool counted = kube::Annotation(c.pvc, kCountedFailureAnnotation) == pod_uid;
    if (!counted) {
      client_.Patch(res::kPersistentVolumeClaim, c.ns, c.name, kube::PatchType::kMerge,
                    RecreationsPatch(d.recreations, pod_uid));
      metrics_.PodFailed(c.kind);
      Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventWarning, kReasonFailed, s.message);
    }
    kube::DeleteOptions del;
    del.precondition_uid = pod_uid;
    try {
      client_.Delete(res::kPod, c.ns, PopulatorPodName(c.uid), del);
      log::Info(kLog, "deleted failed populator pod to retry",
                {{"pvc", c.key}, {"pod", pod_ref}, {"attempt", d.attempts}});
    } catch (const std::exception& e) {
      if (!kube::IsNotFound(e) && !kube::IsConflict(e)) throw;
    }
    return;
  }
  c.failed = true;
  if (c.previous.first != "Failed") {
    metrics_.PodFailed(c.kind);
    metrics_.PopulationEnded(c.kind, "failure");
    metrics_.OperationFinished(c.key, "failure", options_.now());
    std::string note =
        c.kind == PopulatorKind::kVSphereXcopy
            ? "VSphere xcopy populator failed (no retry): Please check the logs of the populator pod, " + pod_ref
            : "Populator failed after few (" + std::to_string(Info(c.kind).max_recreations) +
                  ") attempts: Please check the logs of the populator pod, " + pod_ref;
    Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventWarning, kReasonFailed, note + ". " + s.message);
    if (c.kind == PopulatorKind::kVSphereXcopy) {
      ScrapeReading failure;
      failure.completed = true;
      failure.result = "failure";
      failure.storage_vendor = kube::StringAt(c.cr, {"spec", "storageVendorProduct"});
      std::optional<ScrapeReading> seen = progress_.Latest(c.key);
      metrics_.XcopyCompletion(kube::Label(c.cr, kMigrationLabel), c.uid,
                               seen && seen->completed ? *seen : failure);
    }
  }
}

bool Reconciler::PodSucceeded(Context& c) {
  if (!c.pod || kube::pod::Phase(*c.pod) != "Succeeded" || c.failed || c.forced) return false;
  std::optional<ScrapeReading> r = progress_.Latest(c.key);
  if (r && r->completed && r->result == "failure") {
    // The populator said the copy failed although its process exited 0: the volume is not usable.
    c.failed = true;
    if (c.previous.first != "Failed") {
      Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventWarning, kReasonFailed,
           "populator pod " + c.ns + "/" + PopulatorPodName(c.uid) +
               " reported result \"failure\"; please check its logs");
      metrics_.PopulationEnded(c.kind, "failure");
      metrics_.OperationFinished(c.key, "failure", options_.now());
    }
    return false;
  }
  return true;
}

void Reconciler::Rebind(Context& c) {
  std::string pv_name = kube::pvc::VolumeName(*c.prime);
  if (pv_name.empty()) return;  // the prime PVC is not bound (the pod could not have run): wait
  // From the cache (Forklift reads it from the API each time): a cache that has not seen our patch yet
  // only makes us send the same patch again, which changes nothing.
  std::optional<json> pv = cache_.Pv(pv_name);
  if (!pv) return;                       // the PV informer has not caught up; its event brings us back
  if (!NeedsRebind(*pv, c.pvc)) return;  // switched; the PV controller binds the target, marks the prime Lost
  client_.Patch(res::kPersistentVolume, "", pv_name, kube::PatchType::kStrategicMerge,
                BuildPvRebindPatch(pv_name, c.pvc));
  log::Info(kLog, "rebound the populated volume to the target PVC", {{"pvc", c.key}, {"pv", pv_name}});
}

// ---- target PVC bound --------------------------------------------------------------------------

void Reconciler::SyncBound(Context& c) {
  std::string volume = kube::pvc::VolumeName(c.pvc);
  if (c.prime) {
    std::string prime_volume = kube::pvc::VolumeName(*c.prime);
    if (!prime_volume.empty() && prime_volume != volume) {
      Fail(c, "BoundToAnotherVolume",
           "PVC " + c.key + " was bound to PersistentVolume " + volume +
               " (the PV controller binds a claim to any matching Available volume) while its populator wrote "
               "PersistentVolume " +
               prime_volume + " of prime PVC " + c.ns + "/" + PrimePvcName(c.uid) + "; " + volume +
               " does not hold the data. Remove the Available volumes matching the PVC's class, then delete and "
               "recreate the PVC");
      return;
    }
    if (kube::pvc::Phase(*c.prime) != "Lost") return;  // the PV controller has not seen the switch yet
    Finish(c);
    return;
  }
  std::optional<json> pv = cache_.Pv(volume);
  if (!pv) return;  // the PV informer has not caught up
  if (!kube::Annotation(*pv, kPopulatedFromAnnotation).empty()) {
    Finish(c);
    return;
  }
  // A volume the PV controller bound before any population (a static PV, or a PVC pre-bound to one):
  // Forklift reported it populated with nothing in it. hoist populates it in place.
  c.in_place = true;
  if (!c.pod) {
    // Never start a second population on a stale cache: confirm with the API server first.
    json fresh = client_.Get(res::kPersistentVolume, "", volume);
    if (!kube::Annotation(fresh, kPopulatedFromAnnotation).empty()) {
      c.in_place = false;
      Finish(c);
      return;
    }
    auto created = ParseTime(kube::StringAt(c.pvc, {"metadata", "creationTimestamp"}));
    metrics_.OperationStarted(c.key, created.value_or(options_.now()));
  }
  SyncPod(c, c.name, "");
  if (PodSucceeded(c)) FinishInPlace(c);
}

void Reconciler::FinishInPlace(Context& c) {
  std::string volume = kube::pvc::VolumeName(c.pvc);
  json patch = {{"metadata",
                 {{"annotations",
                   {{std::string(kPopulatedFromAnnotation),
                     c.ns + "/" + kube::StringAt(c.pvc, {"spec", "dataSourceRef", "name"})}}}}}};
  client_.Patch(res::kPersistentVolume, "", volume, kube::PatchType::kMerge, patch);
  log::Info(kLog, "populated a static volume in place", {{"pvc", c.key}, {"pv", volume}});
  c.populated_in_place = true;
  Finish(c);
}

void Reconciler::Finish(Context& c) {
  // A prime PVC being deleted (its pvc-protection finalizer still on) needs no second delete.
  if (c.prime && !kube::IsBeingDeleted(*c.prime)) {
    kube::DeleteOptions del;
    del.precondition_uid = kube::Uid(*c.prime);
    try {
      client_.Delete(res::kPersistentVolumeClaim, c.ns, PrimePvcName(c.uid), del);
      log::Info(kLog, "deleted the prime PVC", {{"pvc", c.key}, {"prime", PrimePvcName(c.uid)}});
    } catch (const std::exception& e) {
      if (!kube::IsNotFound(e)) throw;
    }
    c.prime.reset();
  }
  c.completed = true;
  if (c.previous.first != "Succeeded") {
    metrics_.OperationFinished(c.key, "success", options_.now());
    metrics_.PopulationEnded(c.kind, "success");
    Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventNormal, kReasonFinished, "Populator finished");
  } else {
    metrics_.OperationAbandoned(c.key);
  }
}

void Reconciler::Fail(Context& c, std::string reason, std::string message) {
  if (c.previous != std::pair{std::string("Failed"), reason}) {
    Emit(res::kPersistentVolumeClaim, c.pvc, kube::kEventWarning, kReasonFailed, message);
    metrics_.PopulationEnded(c.kind, "failure");
    metrics_.OperationFinished(c.key, "failure", options_.now());
  }
  c.forced = ConditionSummary{PopulationState::kFailed, std::move(reason), std::move(message)};
}

// ---- status ------------------------------------------------------------------------------------

bool Reconciler::StatusSubresource(PopulatorKind kind) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = status_subresource_.find(kind);
    if (it != status_subresource_.end()) return it->second;
  }
  // hoist's CRDs have a status subresource; Forklift's do not (status is then written through the
  // main resource, as Forklift's controller does).
  kube::ResourceType status = PopulatorResource(kind);
  status.plural += "/status";
  bool served = client_.Serves(status);
  std::lock_guard<std::mutex> l(mu_);
  status_subresource_[kind] = served;
  return served;
}

void Reconciler::WriteStatus(Context& c) {
  std::optional<ScrapeReading> reading = progress_.Latest(c.key);
  const kube::ResourceType type = PopulatorResource(c.kind);
  const std::string cr_name = kube::Name(c.cr);
  bool use_status = StatusSubresource(c.kind);

  auto desired = [&](const json& cr) {
    const json* current = kube::At(cr, {"status"});
    json status = current != nullptr && current->is_object() ? *current : json::object();
    status = NextStatus(c.kind, status, reading.value_or(ScrapeReading{}));
    std::string reported_result = kube::StringAt(status, {"result"});  // what the populator said
    if (c.completed) status = CompletedStatus(status);
    if (c.failed) status = FailedStatus(c.kind, status);
    ConditionSummary summary;
    if (c.forced) {
      summary = *c.forced;
    } else {
      Observation o;
      o.kind = c.kind;
      o.target_pvc = &c.pvc;
      o.pod = c.pod ? &*c.pod : nullptr;
      o.prime_pvc = c.prime ? &*c.prime : nullptr;
      o.waiting_reason = c.waiting_reason;
      o.waiting_message = c.waiting_message;
      o.retry = c.retry;
      o.result = reported_result;
      o.progress = ProgressOf(status);
      o.in_place = c.in_place;
      o.populated_in_place = c.populated_in_place || (c.in_place && c.completed);
      summary = Summarize(o);
      const json* conditions = kube::At(status, {"conditions"});
      if (c.completed && conditions != nullptr && conditions->is_array()) {
        // Finished before: keep what was said then (e.g. PopulatedInPlace, which a later sync can no
        // longer tell from a rebind).
        for (const auto& cond : *conditions) {
          if (kube::StringAt(cond, {"type"}) == "Succeeded" && kube::StringAt(cond, {"status"}) == "True") {
            summary = ConditionSummary{PopulationState::kSucceeded, kube::StringAt(cond, {"reason"}),
                                       kube::StringAt(cond, {"message"})};
          }
        }
      }
      if (c.completed && summary.state != PopulationState::kSucceeded) {
        // Bound and finished, even if the cache still shows an older prime PVC or pod state.
        summary = ConditionSummary{PopulationState::kSucceeded, c.in_place ? "PopulatedInPlace" : "Populated",
                                   "PVC " + c.key + " is bound to the populated volume " +
                                       kube::pvc::VolumeName(c.pvc)};
      }
    }
    int64_t generation = 0;
    if (const json* g = kube::At(cr, {"metadata", "generation"}); g != nullptr && g->is_number_integer())
      generation = g->get<int64_t>();
    const json* existing = kube::At(status, {"conditions"});
    if (!use_status && existing != nullptr && existing->is_array() && !existing->empty()) {
      // Without a status subresource every write bumps metadata.generation; following it would make
      // each write cause the next. Keep the generation the conditions were first written for.
      const json* g = kube::At((*existing)[0], {"observedGeneration"});
      if (g != nullptr && g->is_number_integer()) generation = g->get<int64_t>();
    }
    status["conditions"] = UpdateConditions(existing != nullptr ? *existing : json(), summary, Now(), generation);
    return status;
  };

  json cr = c.cr;
  for (int attempt = 0;; ++attempt) {
    json status = desired(cr);
    const json* current = kube::At(cr, {"status"});
    auto remember = [&] {
      json holder = {{"status", status}};
      std::lock_guard<std::mutex> l(mu_);
      last_condition_[c.key] = {c.uid, TrueCondition(holder)};
    };
    if (current != nullptr && *current == status) {
      remember();
      break;
    }
    json patch = {{"metadata", {{"resourceVersion", kube::ResourceVersion(cr)}}}, {"status", status}};
    try {
      json written = client_.Patch(type, c.ns, cr_name, kube::PatchType::kMerge, patch, use_status ? "status" : "");
      remember();
      std::lock_guard<std::mutex> l(mu_);
      last_written_[c.key] = {kube::ResourceVersion(cr), std::move(written)};
      break;
    } catch (const std::exception& e) {
      if (kube::IsNotFound(e)) return;  // the CR was deleted meanwhile
      if (!kube::IsConflict(e) || attempt >= 4) throw;
      cr = client_.Get(type, c.ns, cr_name);  // someone else wrote it: recompute from the latest
    }
  }

  if (reading && reading->completed) {
    json label = OffloadCompletedLabelPatch(c.kind, cr, *reading);
    if (!label.is_null()) client_.Patch(type, c.ns, cr_name, kube::PatchType::kMerge, label);
    if (c.kind == PopulatorKind::kVSphereXcopy)
      metrics_.XcopyCompletion(kube::Label(c.cr, kMigrationLabel), c.uid, *reading);
  }
}

}  // namespace hoist::controller

#include "kube/events.h"

#include <cstdio>
#include <ctime>
#include <random>

#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/leader_election.h"

namespace hoist::kube {

namespace {

constexpr size_t kMaxNoteBytes = 1024;  // events.k8s.io/v1 validation limit

std::string Truncate(std::string_view note) {
  if (note.size() <= kMaxNoteBytes) return std::string(note);
  std::string out(note.substr(0, kMaxNoteBytes - 3));
  // Do not cut a UTF-8 sequence in half.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
  return out + "...";
}

// RFC 3339 seconds, the format of core/v1 Event timestamps.
std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "<object name>.<16 hex digits>", unique like client-go's "<name>.<unix nanos in hex>".
std::string EventName(const std::string& object_name) {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex rng_mu;
  uint64_t nanos = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  {
    std::lock_guard<std::mutex> l(rng_mu);
    nanos ^= rng() & 0xFFFF;  // two recorders in the same nanosecond still differ
  }
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(nanos));
  std::string base = object_name.empty() ? "event" : object_name;
  if (base.size() > 230) base.resize(230);
  return base + "." + buf;
}

Json RefJson(const ObjectRef& ref) {
  Json out = Json::object();
  if (!ref.api_version.empty()) out["apiVersion"] = ref.api_version;
  if (!ref.kind.empty()) out["kind"] = ref.kind;
  if (!ref.ns.empty()) out["namespace"] = ref.ns;
  if (!ref.name.empty()) out["name"] = ref.name;
  if (!ref.uid.empty()) out["uid"] = ref.uid;
  if (!ref.resource_version.empty()) out["resourceVersion"] = ref.resource_version;
  return out;
}

}  // namespace

EventRecorder::EventRecorder(KubeClient& client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.reporting_controller.empty()) options_.reporting_controller = "hoist";
  if (options_.reporting_instance.empty()) options_.reporting_instance = "hoist";
}

std::optional<bool> EventRecorder::UsingEventsApiForTest() const {
  std::lock_guard<std::mutex> l(mu_);
  return events_api_;
}

bool EventRecorder::UseEventsApi() {
  if (events_api_) return *events_api_;
  if (options_.core_events) {
    events_api_ = false;
    return false;
  }
  try {
    events_api_ = client_.Serves(resources::kEvent);
    if (!*events_api_) log::Info("events", "events.k8s.io/v1 is not served; writing core/v1 Events");
    return *events_api_;
  } catch (const Error& e) {
    return true;  // undecided: try the newer API, decide at the next event
  }
}

void EventRecorder::CreateNew(const std::string& key, const ObjectRef& regarding, std::string_view type,
                              std::string_view reason, std::string_view action, std::string_view note) {
  bool events_api = UseEventsApi();
  std::string ns = regarding.ns.empty() ? "default" : regarding.ns;
  auto now = std::chrono::system_clock::now();
  Json event;
  if (events_api) {
    event = NewObject(resources::kEvent, ns, EventName(regarding.name));
    event["eventTime"] = FormatMicroTime(now);
    event["reportingController"] = options_.reporting_controller;
    event["reportingInstance"] = options_.reporting_instance;
    event["action"] = std::string(action);
    event["reason"] = std::string(reason);
    event["note"] = Truncate(note);
    event["type"] = std::string(type);
    event["regarding"] = RefJson(regarding);
  } else {
    event = NewObject(resources::kCoreEvent, ns, EventName(regarding.name));
    event["involvedObject"] = RefJson(regarding);
    event["reason"] = std::string(reason);
    event["message"] = Truncate(note);
    event["type"] = std::string(type);
    event["action"] = std::string(action);
    event["source"] = {{"component", options_.reporting_controller}, {"host", options_.reporting_instance}};
    event["reportingComponent"] = options_.reporting_controller;
    event["reportingInstance"] = options_.reporting_instance;
    event["firstTimestamp"] = FormatTime(now);
    event["lastTimestamp"] = FormatTime(now);
    event["count"] = 1;
  }
  client_.Create(events_api ? resources::kEvent : resources::kCoreEvent, ns, event);
  series_[key] = Series{ns, Name(event), 1, std::chrono::steady_clock::now(), events_api};
}

void EventRecorder::Record(const ObjectRef& regarding, std::string_view type, std::string_view reason,
                           std::string_view action, std::string_view note) {
  std::string key = regarding.kind + "/" + regarding.ns + "/" + regarding.name + "/" + regarding.uid +
                    "\x1f" + std::string(type) + "\x1f" + std::string(reason) + "\x1f" + std::string(action) +
                    "\x1f" + std::string(note);
  std::lock_guard<std::mutex> l(mu_);
  auto steady_now = std::chrono::steady_clock::now();
  // Forget series that can no longer be continued.
  for (auto it = series_.begin(); it != series_.end();) {
    it = steady_now - it->second.last > options_.series_window ? series_.erase(it) : std::next(it);
  }
  try {
    auto it = series_.find(key);
    if (it == series_.end()) {
      CreateNew(key, regarding, type, reason, action, note);
      return;
    }
    Series& s = it->second;
    auto now = std::chrono::system_clock::now();
    Json patch;
    if (s.events_api) {
      patch = {{"series", {{"count", s.count + 1}, {"lastObservedTime", FormatMicroTime(now)}}}};
    } else {
      patch = {{"count", s.count + 1}, {"lastTimestamp", FormatTime(now)}};
    }
    try {
      client_.Patch(s.events_api ? resources::kEvent : resources::kCoreEvent, s.ns, s.name, PatchType::kMerge,
                    patch);
      s.count += 1;
      s.last = steady_now;
    } catch (const ApiError& e) {
      if (!IsNotFound(e)) throw;
      series_.erase(it);  // the Event expired (event TTL): start a new one
      CreateNew(key, regarding, type, reason, action, note);
    }
  } catch (const Error& e) {
    log::Warn("events", "could not record an event",
              {{"object", regarding.kind + " " + ObjectKey(regarding.ns, regarding.name)},
               {"reason", reason},
               {"error", e.what()}});
  }
}

}  // namespace hoist::kube

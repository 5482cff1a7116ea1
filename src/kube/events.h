#pragma once
// Kubernetes Events about hoist's objects, as `kubectl describe` and `kubectl get events` show them.
// Written as events.k8s.io/v1 Events (regarding, reason, note, type, action, reportingController,
// reportingInstance); when that API is not served, as core/v1 Events (involvedObject, message,
// source, count).
//
// Repeats are aggregated: the same regarding object + type + reason + action + note within
// `series_window` of the last occurrence updates the existing Event (series.count and
// series.lastObservedTime, or count and lastTimestamp for core/v1) with a patch instead of creating a
// new one. Recording never throws: a failure to write an Event is logged and dropped.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "kube/kube_client.h"
#include "kube/objects.h"

namespace hoist::kube {

struct EventRecorderOptions {
  std::string reporting_controller;  // "hoist.konveyor.io/populator-controller"
  std::string reporting_instance;    // pod name / host name
  std::chrono::milliseconds series_window{std::chrono::minutes(6)};  // client-go's isomorphic window
  // Write core/v1 Events even when events.k8s.io/v1 is served, as client-go's record package does
  // (Forklift's populator-controller among others): source.component shows the controller's name.
  bool core_events = false;
};

inline constexpr const char* kEventNormal = "Normal";
inline constexpr const char* kEventWarning = "Warning";

class EventRecorder {
 public:
  EventRecorder(KubeClient& client, EventRecorderOptions options);

  // `regarding` is the object the event is about (an object read from the API, or RefTo(obj)).
  void Record(const ObjectRef& regarding, std::string_view type, std::string_view reason,
              std::string_view action, std::string_view note);
  void Record(const Json& regarding, std::string_view type, std::string_view reason, std::string_view action,
              std::string_view note) {
    Record(RefTo(regarding), type, reason, action, note);
  }

  // Whether events.k8s.io/v1 is used (decided at the first Record).
  std::optional<bool> UsingEventsApiForTest() const;

 private:
  struct Series {
    std::string ns;
    std::string name;
    int64_t count = 1;
    std::chrono::steady_clock::time_point last;
    bool events_api = true;
  };
  bool UseEventsApi();
  void CreateNew(const std::string& key, const ObjectRef& regarding, std::string_view type,
                 std::string_view reason, std::string_view action, std::string_view note);

  KubeClient& client_;
  EventRecorderOptions options_;
  mutable std::mutex mu_;  // one write at a time keeps series counts exact
  std::optional<bool> events_api_;
  std::map<std::string, Series> series_;
};

}  // namespace hoist::kube

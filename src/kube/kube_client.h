#pragma once
// The Kubernetes API as hoist uses it: verbs on unstructured objects addressed by ResourceType.
// `Client` (client.h) talks to a real API server; tests may substitute their own implementation.
// Every verb throws ApiError (errors.h) for an API failure and hoist::Error for transport trouble.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/resource.h"

namespace hoist::kube {

using Json = nlohmann::json;

struct ListOptions {
  std::string label_selector;  // LabelSelector::String()
  std::string field_selector;  // FieldSelector::String()
  int64_t limit = 0;           // page size; 0: everything at once
  std::string continue_token;
  std::string resource_version;        // "" (most recent), "0" (any, from cache)
  std::string resource_version_match;  // "NotOlderThan" / "Exact"
};

struct ListResult {
  std::vector<Json> items;
  std::string resource_version;  // of the list, for a following watch
  std::string continue_token;    // empty on the last page
  std::optional<int64_t> remaining_item_count;
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kJson,            // application/json-patch+json (RFC 6902); the patch is an array
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in kinds only)
};

struct DeleteOptions {
  std::string precondition_uid;               // delete only this incarnation
  std::string precondition_resource_version;  // delete only if unchanged
  std::string propagation_policy;             // "Foreground", "Background", "Orphan"
  std::optional<int64_t> grace_period_seconds;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // start after this version; "" means "now" (no history)
  int timeout_seconds = 0;       // server-side end of the stream; 0: a random 5-10 minutes
  bool allow_bookmarks = true;
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type;
  Json object;
};
std::string_view WatchEventTypeName(WatchEvent::Type type);

// Called for each event of a watch; return false to end the watch.
using WatchHandler = std::function<bool(const WatchEvent&)>;

class KubeClient {
 public:
  virtual ~KubeClient() = default;

  // `ns` is ignored for cluster-scoped types. `subresource`: "status", "scale", ...
  virtual Json Get(const ResourceType& type, std::string_view ns, std::string_view name,
                   std::string_view subresource = "") = 0;
  // One page (or all, without a limit). `ns` empty lists across namespaces.
  virtual ListResult List(const ResourceType& type, std::string_view ns, const ListOptions& options = {}) = 0;
  // Namespace from `ns`, or from the object when `ns` is empty.
  virtual Json Create(const ResourceType& type, std::string_view ns, const Json& object) = 0;
  // PUT of the whole object; metadata.resourceVersion makes it conditional (409 Conflict when stale).
  virtual Json Update(const ResourceType& type, const Json& object) = 0;
  virtual Json UpdateStatus(const ResourceType& type, const Json& object) = 0;
  virtual Json Patch(const ResourceType& type, std::string_view ns, std::string_view name,
                     PatchType patch_type, const Json& patch, std::string_view subresource = "") = 0;
  // Returns the response body: the object (when finalizers keep it) or a Status.
  virtual Json Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {}) = 0;

  // One watch stream: calls `handler` for every event until the server ends the stream (returns), the
  // handler returns false (returns), or `stop` is requested (returns). An ERROR event or an HTTP error
  // is thrown as ApiError (410 Gone: the resourceVersion is too old — list again).
  virtual void WatchStream(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                           const WatchHandler& handler, std::stop_token stop) = 0;

  // Whether the API server serves `type` (API discovery); cached.
  virtual bool Serves(const ResourceType& type) = 0;
};

// Lists every page, following `continue`. If the continue token expires (410) before the end, the
// list starts over, so each object appears exactly once in the result.
ListResult ListAll(KubeClient& client, const ResourceType& type, std::string_view ns,
                   ListOptions options = {});

// A watch that survives stream ends, network trouble and API server restarts: it reconnects from the
// last resourceVersion it saw (bookmarks included), with backoff, until `stop`. It throws ApiError Gone
// when the server no longer has that version — the caller must list again (the Reflector does).
// Events are delivered in order, none twice: events at or below the last seen resourceVersion after a
// reconnect are skipped. Returns when `stop` is requested or the handler returns false.
void WatchWithResume(KubeClient& client, const ResourceType& type, std::string_view ns, WatchOptions options,
                     const WatchHandler& handler, std::stop_token stop);

// Sleeps `d` unless `stop` is requested first; returns false when stopped.
bool SleepFor(std::chrono::milliseconds d, std::stop_token stop);

}  // namespace hoist::kube

#pragma once
// The lab's in-process object store: the state behind the lab API server, and what the lab's
// in-process controllers (PV binder, provisioner, scheduler, kubelet-lite) read and write directly.
//
// Objects are Kubernetes JSON objects (nlohmann::json), kept per resource type (group + plural),
// namespace and name. Semantics follow the Kubernetes API conventions:
//   - one global, monotonic resourceVersion (decimal string) bumped by every write;
//   - Create sets metadata.uid, resourceVersion, creationTimestamp, generation (1), resolves
//     generateName, and applies a few defaults (status.phase Pending for pods/PVCs/PVs, Active for
//     namespaces);
//   - Update is optimistic: a non-empty metadata.resourceVersion that is not the current one is a
//     409 Conflict; with a status subresource the main update keeps .status and the /status update
//     changes only .status; metadata.generation grows when .spec (anything but metadata/status) changes;
//   - Delete honours preconditions, finalizers (the object stays with deletionTimestamp until its
//     finalizers are gone), propagationPolicy (Orphan / Background / Foreground) and
//     ownerReferences garbage collection; deleting a namespace deletes its contents;
//   - Watch streams ADDED / MODIFIED / DELETED (and BOOKMARK) events from a resourceVersion; a
//     resourceVersion older than the kept event window is 410 Gone.
// Every failure throws StatusError, which carries the Kubernetes Status the API server returns.
// All methods are thread-safe. With StoreOptions::dir set, every write is journaled (fsync'd) and a
// restarted store has the same objects, resourceVersions and recent event window.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hoist::lab {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------------------
// Errors

// A failure with a Kubernetes Status: HTTP code, reason (NotFound, AlreadyExists, Conflict, Invalid,
// Gone, Expired, BadRequest, MethodNotAllowed, Forbidden, Unauthorized, UnsupportedMediaType,
// InternalError, Timeout...), message and details ({name, group, kind, causes[]}).
// Class: 409/410/429/5xx are transient, the rest precondition.
class StatusError : public hoist::Error {
 public:
  StatusError(int code, std::string reason, std::string message, Json details = Json::object());
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const Json& details() const { return details_; }
  // {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":...,"reason":...,
  //  "details":...,"code":...}
  Json ToStatus() const;

  // The usual ones, with messages worded like kube-apiserver's.
  static StatusError NotFound(std::string_view group_resource, std::string_view name);
  static StatusError AlreadyExists(std::string_view group_resource, std::string_view name);
  static StatusError Conflict(std::string_view group_resource, std::string_view name, std::string_view why);
  static StatusError Invalid(std::string_view kind, std::string_view name, std::string_view field,
                             std::string_view why);
  static StatusError BadRequest(std::string message);
  static StatusError Gone(std::string message);     // reason "Gone" (watch too old)
  static StatusError Expired(std::string message);  // reason "Expired" (continue token too old), 410
  static StatusError MethodNotAllowed(std::string message);
  static StatusError Forbidden(std::string message);
  static StatusError Unauthorized();
  static StatusError UnsupportedMediaType(std::string message);
  static StatusError Internal(std::string message);

 private:
  int code_;
  std::string reason_;
  Json details_;
};

// ---------------------------------------------------------------------------------------------------
// Resource types

struct ResourceType {
  std::string group{};     // "" for the core group
  std::string version{};   // storage / preferred version, "v1"
  std::string resource{};  // plural, "persistentvolumeclaims"
  std::string kind{};      // "PersistentVolumeClaim"
  bool namespaced = true;
  bool has_status = false;  // a /status subresource exists (and main updates ignore .status)
  // Discovery details.
  std::string singular{};                   // "persistentvolumeclaim"; defaults to lowercase kind
  std::vector<std::string> short_names{};   // {"pvc"}
  std::vector<std::string> categories{};    // {"all"}
  std::vector<std::string> served_versions{};  // empty: {version}. Custom resources may serve several.
  bool custom = false;                    // defined by a CustomResourceDefinition
  Json printer_columns = Json::array();   // CRD additionalPrinterColumns (for Table output)

  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "persistentvolumeclaims" or "leases.coordination.k8s.io" (as in Status messages).
  std::string GroupResource() const { return group.empty() ? resource : resource + "." + group; }
  std::string ListKind() const { return kind + "List"; }
  bool Serves(std::string_view v) const;
};

// The built-in types the lab serves: core/v1 namespaces, pods, persistentvolumeclaims,
// persistentvolumes, secrets, configmaps, events, services, serviceaccounts, nodes, endpoints;
// storage.k8s.io/v1 storageclasses; coordination.k8s.io/v1 leases; events.k8s.io/v1 events;
// apiextensions.k8s.io/v1 customresourcedefinitions.
// Note: core "events" and events.k8s.io "events" are distinct stores here.
const std::vector<ResourceType>& BuiltinTypes();

// ---------------------------------------------------------------------------------------------------
// Options and results

struct ListOptions {
  std::string label_selector{};  // "app=x,tier in (a,b),!gone"
  std::string field_selector{};  // "metadata.name=x,status.phase!=Running"
  int64_t limit = 0;           // 0: all
  std::string continue_token{};  // from ListResult::continue_token
  std::string resource_version{};  // accepted; lists always answer from the latest state
};

struct ListResult {
  std::vector<Json> items{};
  std::string resource_version{};  // the store's resourceVersion at the time of the list
  std::string continue_token{};    // empty when complete
  int64_t remaining_item_count = -1;  // set when continue_token is set
};

struct WriteOptions {
  bool dry_run = false;       // validate and return the result without storing it
  std::string field_manager{};  // recorded nowhere yet; accepted for compatibility
};

enum class PatchType {
  kJson,            // application/json-patch+json (RFC 6902)
  kMerge,           // application/merge-patch+json (RFC 7386)
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in types only; 415 for CRs)
  kApply,           // application/apply-patch+yaml (server-side apply, simplified: merge, create if absent)
};

struct DeleteOptions {
  std::optional<std::string> precondition_uid{};
  std::optional<std::string> precondition_resource_version{};
  // "Orphan", "Background", "Foreground"; empty: the type's default (Background; the deprecated
  // orphanDependents is mapped by the caller).
  std::string propagation_policy{};
  std::optional<int64_t> grace_period_seconds{};
  bool dry_run = false;
};

struct WatchOptions {
  std::string label_selector{};
  std::string field_selector{};
  // "" or "0": start with synthetic ADDED events for every current object, then changes.
  // "N": changes after resourceVersion N (410 Gone when N is older than the kept window).
  std::string resource_version{};
  bool allow_bookmarks = false;  // BOOKMARK events every StoreOptions::bookmark_interval
  std::string name{};              // only this object (metadata.name=...)
};

struct WatchEvent {
  std::string type{};  // "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" (object is a Status)
  Json object{};
};

// A pull queue of events for one watch. Thread-safe; Next() may be called from one thread while
// another calls Stop().
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next event, or nullopt when `timeout` passes with none. After the stream is closed (Stop, a
  // too-slow consumer, store shutdown) Next returns nullopt at once and closed() is true.
  virtual std::optional<WatchEvent> Next(std::chrono::milliseconds timeout) = 0;
  virtual void Stop() = 0;
  virtual bool closed() const = 0;
};

struct StoreOptions {
  std::string dir{};  // persistence directory (snapshot + journal); empty: memory only
  bool fsync = true;
  size_t event_window = 10000;        // recent events kept (and persisted) for watch resume
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(30)};
  std::chrono::seconds continue_ttl{300};  // continue tokens older than this (and out of window) expire
  // Pods on a node (spec.nodeName set) deleted with a grace period > 0 get deletionTimestamp +
  // deletionGracePeriodSeconds and stay until the kubelet deletes them with grace 0, as in
  // Kubernetes. Off: pods go at once (no kubelet to finish the deletion).
  bool graceful_pod_deletion = false;
  // Namespaced objects need their namespace to exist (404) and not be terminating (403).
  bool require_namespace = true;
  // Namespaces created when the store starts empty.
  std::vector<std::string> initial_namespaces = {"default", "kube-system", "kube-public", "kube-node-lease"};
  // Clock for timestamps (tests): returns Unix seconds.
  std::function<int64_t()> now_seconds_for_test{};
};

// ---------------------------------------------------------------------------------------------------
// The store

class Store {
 public:
  explicit Store(StoreOptions options = {});
  ~Store();  // closes all watches
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Types. The built-in types are registered at construction; CRDs register theirs when created
  // (and unregister on deletion) — creating a CRD object in this store does that by itself.
  void RegisterType(const ResourceType& type);
  void UnregisterType(std::string_view group, std::string_view resource);
  // Finds a type by group and plural resource (or kind, or short name, or singular, case-insensitive
  // for kind). Nullopt when unknown.
  std::optional<ResourceType> FindType(std::string_view group, std::string_view resource_or_kind) const;
  // Same, by apiVersion ("v1", "storage.k8s.io/v1") and kind.
  std::optional<ResourceType> FindTypeByKind(std::string_view api_version, std::string_view kind) const;
  std::vector<ResourceType> Types() const;
  // Throws NotFound (404, "the server could not find the requested resource") when unknown.
  ResourceType MustType(std::string_view group, std::string_view resource) const;

  // CRUD. `ns` is ignored for cluster-scoped types and required (non-empty) for namespaced ones,
  // except List/Watch where empty means all namespaces. Returned objects are copies.
  Json Create(const ResourceType& type, std::string_view ns, Json object, const WriteOptions& opts = {});
  Json Get(const ResourceType& type, std::string_view ns, std::string_view name) const;
  std::optional<Json> TryGet(const ResourceType& type, std::string_view ns, std::string_view name) const;
  ListResult List(const ResourceType& type, std::string_view ns, const ListOptions& opts = {}) const;
  // PUT. `status` selects the /status subresource. An empty metadata.resourceVersion is an
  // unconditional update. Updating a missing object is NotFound (no create-on-update).
  Json Update(const ResourceType& type, std::string_view ns, std::string_view name, Json object,
              bool status = false, const WriteOptions& opts = {});
  // PATCH. For kApply on a missing object, the object is created.
  Json Patch(const ResourceType& type, std::string_view ns, std::string_view name, PatchType patch_type,
             const Json& patch, bool status = false, const WriteOptions& opts = {});
  // Read-modify-write with retry on conflict: `mutate` gets the current object and changes it in
  // place; return false to skip the write. Returns the stored object. For controllers.
  Json Mutate(const ResourceType& type, std::string_view ns, std::string_view name,
              const std::function<bool(Json&)>& mutate, bool status = false);
  // DELETE. Returns the object as it is after the call: still present with deletionTimestamp (it has
  // finalizers, or foreground deletion waits for dependents) or as it was when removed.
  Json Delete(const ResourceType& type, std::string_view ns, std::string_view name,
              const DeleteOptions& opts = {});
  // DELETE on the collection: deletes every matching object; returns them.
  std::vector<Json> DeleteCollection(const ResourceType& type, std::string_view ns, const ListOptions& sel,
                                     const DeleteOptions& opts = {});

  // Watch one type (in `ns`, or all namespaces when empty). Throws StatusError Gone (410) when
  // opts.resource_version is older than the kept window.
  std::shared_ptr<WatchStream> Watch(const ResourceType& type, std::string_view ns, const WatchOptions& opts = {});

  // Convenience for in-process controllers: runs `on_event` on a thread of its own for every event of
  // the watch (starting with ADDED for existing objects) until the returned handle is destroyed.
  // The callback may call the store.
  class Subscription {
   public:
    virtual ~Subscription() = default;
  };
  std::unique_ptr<Subscription> Subscribe(const ResourceType& type, std::string_view ns,
                                          std::function<void(const WatchEvent&)> on_event,
                                          const WatchOptions& opts = {});

  // The latest resourceVersion.
  int64_t ResourceVersion() const;
  // Oldest resourceVersion a watch may resume from (events after it are all kept).
  int64_t OldestWatchableResourceVersionForTest() const;
  // Writes a snapshot and truncates the journal (also done at start and when the journal grows).
  void Compact();
  size_t ObjectCountForTest() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Validation helpers shared with the API server.
bool IsDns1123Subdomain(std::string_view s);  // names of most objects
bool IsDns1123Label(std::string_view s);      // namespaces
std::string NowRfc3339(int64_t unix_seconds);

}  // namespace hoist::lab

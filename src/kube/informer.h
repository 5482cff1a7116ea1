#pragma once
// Informers: a Reflector lists a resource and then watches it (resuming from the last
// resourceVersion, relisting on 410 Gone), keeping a thread-safe Store up to date; the Informer adds
// event handlers and periodic resync on top. Data flow:
//
//   API server ──list+watch──► Reflector ──► Store (objects by "ns/name", plus indexes)
//                                        └─► handlers: on_add / on_update / on_delete
//
// Handlers run on the informer's threads, one call at a time and in event order; keep them short
// (typically: put the key into a WorkQueue).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kube/kube_client.h"

namespace hoist::kube {

// Values an object is indexed under (e.g. its namespace, its storage class).
using IndexFunc = std::function<std::vector<std::string>(const Json&)>;
inline constexpr const char* kNamespaceIndex = "namespace";

// Objects by key ("ns/name") with secondary indexes. Thread-safe; returns copies.
class Store {
 public:
  Store();
  // Adds an index; existing objects are indexed at once.
  void AddIndex(const std::string& name, IndexFunc fn);

  void Upsert(const Json& obj);
  void Remove(const std::string& key);
  // Replaces the whole content (after a list).
  void Replace(std::vector<Json> objects);

  std::optional<Json> Get(const std::string& key) const;
  std::optional<Json> Get(std::string_view ns, std::string_view name) const;
  std::vector<Json> List() const;
  std::vector<std::string> Keys() const;
  size_t Size() const;
  // Objects whose index `index_name` contains `value`; throws kBug for an unknown index.
  std::vector<Json> ByIndex(const std::string& index_name, const std::string& value) const;
  std::vector<std::string> IndexValues(const std::string& index_name) const;

 private:
  void IndexLocked(const std::string& key, const Json& obj);
  void UnindexLocked(const std::string& key, const Json& obj);
  mutable std::mutex mu_;
  std::map<std::string, Json> items_;
  std::map<std::string, IndexFunc> index_funcs_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> indexes_;  // index → value → keys
};

struct EventHandlers {
  std::function<void(const Json& obj)> on_add;
  std::function<void(const Json& old_obj, const Json& new_obj)> on_update;  // also on resync (old == new)
  std::function<void(const Json& obj)> on_delete;                           // the last state known
};

struct InformerOptions {
  std::string label_selector;
  std::string field_selector;
  // Every period each cached object is handed to on_update again; zero disables.
  std::chrono::milliseconds resync_period{0};
  int64_t page_size = 500;
  int watch_timeout_seconds = 0;  // 0: the client's default (random 5-10 min)
};

class Informer {
 public:
  // `ns` empty watches all namespaces (or a cluster-scoped type).
  Informer(KubeClient& client, ResourceType type, std::string ns, InformerOptions options = {});
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before Start().
  void AddEventHandlers(EventHandlers handlers);
  void AddIndex(const std::string& name, IndexFunc fn) { store_.AddIndex(name, std::move(fn)); }

  void Start();
  void Stop();

  // True once the first list has been stored and its handlers called.
  bool HasSynced() const { return synced_.load(); }
  // Waits until synced; false on timeout or stop.
  bool WaitForCacheSync(std::chrono::milliseconds timeout, std::stop_token stop = {}) const;

  const Store& store() const { return store_; }
  const ResourceType& type() const { return type_; }
  std::string LastSyncResourceVersion() const;
  // How many times the informer had to list from scratch (the first list included).
  int list_count() const { return list_count_.load(); }

 private:
  void Run(std::stop_token stop);
  void Resync(std::stop_token stop);
  void ListAndReplace(std::stop_token stop);
  void Apply(const WatchEvent& event);

  KubeClient& client_;
  const ResourceType type_;
  const std::string ns_;
  const InformerOptions options_;
  Store store_;
  std::vector<EventHandlers> handlers_;
  std::mutex dispatch_mu_;  // one handler call at a time
  mutable std::mutex mu_;
  mutable std::condition_variable synced_cv_;
  std::atomic<bool> synced_{false};
  std::atomic<int> list_count_{0};
  std::string last_rv_;
  std::jthread run_thread_;
  std::jthread resync_thread_;
};

// Waits for every informer; false on timeout or stop.
bool WaitForCacheSync(std::initializer_list<const Informer*> informers, std::chrono::milliseconds timeout,
                      std::stop_token stop = {});

}  // namespace hoist::kube

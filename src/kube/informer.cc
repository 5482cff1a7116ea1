#include "kube/informer.h"

#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/objects.h"

namespace hoist::kube {

// ---- Store ----

Store::Store() {
  AddIndex(kNamespaceIndex, [](const Json& obj) { return std::vector<std::string>{Namespace(obj)}; });
}

void Store::AddIndex(const std::string& name, IndexFunc fn) {
  std::lock_guard<std::mutex> l(mu_);
  index_funcs_[name] = std::move(fn);
  auto& index = indexes_[name];
  index.clear();
  for (const auto& [key, obj] : items_) {
    for (const auto& value : index_funcs_[name](obj)) index[value].insert(key);
  }
}

void Store::IndexLocked(const std::string& key, const Json& obj) {
  for (const auto& [name, fn] : index_funcs_) {
    for (const auto& value : fn(obj)) indexes_[name][value].insert(key);
  }
}

void Store::UnindexLocked(const std::string& key, const Json& obj) {
  for (const auto& [name, fn] : index_funcs_) {
    auto& index = indexes_[name];
    for (const auto& value : fn(obj)) {
      auto it = index.find(value);
      if (it == index.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.erase(it);
    }
  }
}

void Store::Upsert(const Json& obj) {
  std::string key = ObjectKey(obj);
  std::lock_guard<std::mutex> l(mu_);
  auto it = items_.find(key);
  if (it != items_.end()) {
    UnindexLocked(key, it->second);
    it->second = obj;
  } else {
    items_.emplace(key, obj);
  }
  IndexLocked(key, obj);
}

void Store::Remove(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return;
  UnindexLocked(key, it->second);
  items_.erase(it);
}

void Store::Replace(std::vector<Json> objects) {
  std::lock_guard<std::mutex> l(mu_);
  items_.clear();
  for (auto& [name, index] : indexes_) index.clear();
  for (auto& obj : objects) {
    std::string key = ObjectKey(obj);
    IndexLocked(key, obj);
    items_[key] = std::move(obj);
  }
}

std::optional<Json> Store::Get(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return std::nullopt;
  return it->second;
}

std::optional<Json> Store::Get(std::string_view ns, std::string_view name) const {
  return Get(ObjectKey(ns, name));
}

std::vector<Json> Store::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Json> out;
  out.reserve(items_.size());
  for (const auto& [key, obj] : items_) out.push_back(obj);
  return out;
}

std::vector<std::string> Store::Keys() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [key, obj] : items_) out.push_back(key);
  return out;
}

size_t Store::Size() const {
  std::lock_guard<std::mutex> l(mu_);
  return items_.size();
}

std::vector<Json> Store::ByIndex(const std::string& index_name, const std::string& value) const {
  std::lock_guard<std::mutex> l(mu_);
  auto idx = indexes_.find(index_name);
  if (idx == indexes_.end()) throw BugError("informer store: no index named \"" + index_name + "\"");
  std::vector<Json> out;
  auto it = idx->second.find(value);
  if (it == idx->second.end()) return out;
  for (const auto& key : it->second) out.push_back(items_.at(key));
  return out;
}

std::vector<std::string> Store::IndexValues(const std::string& index_name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto idx = indexes_.find(index_name);
  if (idx == indexes_.end()) throw BugError("informer store: no index named \"" + index_name + "\"");
  std::vector<std::string> out;
  for (const auto& [value, keys] : idx->second) out.push_back(value);
  return out;
}

// ---- Informer ----

Informer::Informer(KubeClient& client, ResourceType type, std::string ns, InformerOptions options)
    : client_(client), type_(std::move(type)), ns_(std::move(ns)), options_(std::move(options)) {}

Informer::~Informer() { Stop(); }

void Informer::AddEventHandlers(EventHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::Start() {
  if (run_thread_.joinable()) return;
  run_thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
  if (options_.resync_period.count() > 0) {
    resync_thread_ = std::jthread([this](std::stop_token stop) { Resync(stop); });
  }
}

void Informer::Stop() {
  if (resync_thread_.joinable()) {
    resync_thread_.request_stop();
    resync_thread_.join();
  }
  if (run_thread_.joinable()) {
    run_thread_.request_stop();
    run_thread_.join();
  }
}

std::string Informer::LastSyncResourceVersion() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_rv_;
}

bool Informer::WaitForCacheSync(std::chrono::milliseconds timeout, std::stop_token stop) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> l(mu_);
  while (!synced_.load()) {
    if (stop.stop_requested() || std::chrono::steady_clock::now() >= deadline) return false;
    // Short waits so that `stop` is noticed without a callback on this thread.
    synced_cv_.wait_for(l, std::chrono::milliseconds(50));
  }
  return true;
}

void Informer::ListAndReplace(std::stop_token stop) {
  ListOptions list_options;
  list_options.label_selector = options_.label_selector;
  list_options.field_selector = options_.field_selector;
  list_options.limit = options_.page_size;
  ListResult list = ListAll(client_, type_, ns_, list_options);
  list_count_.fetch_add(1);

  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  std::map<std::string, Json> old_items;
  for (auto& obj : store_.List()) old_items.emplace(ObjectKey(obj), std::move(obj));
  store_.Replace(list.items);
  for (const auto& obj : list.items) {
    auto it = old_items.find(ObjectKey(obj));
    if (it == old_items.end()) {
      for (const auto& h : handlers_) {
        if (h.on_add) h.on_add(obj);
      }
    } else {
      if (ResourceVersion(it->second) != ResourceVersion(obj)) {
        for (const auto& h : handlers_) {
          if (h.on_update) h.on_update(it->second, obj);
        }
      }
      old_items.erase(it);
    }
  }
  // Deleted while we were not watching.
  for (const auto& [key, obj] : old_items) {
    for (const auto& h : handlers_) {
      if (h.on_delete) h.on_delete(obj);
    }
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    last_rv_ = list.resource_version;
    synced_.store(true);
  }
  synced_cv_.notify_all();
}

void Informer::Apply(const WatchEvent& event) {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  const Json& obj = event.object;
  std::string key = ObjectKey(obj);
  switch (event.type) {
    case WatchEvent::Type::kAdded:
    case WatchEvent::Type::kModified: {
      std::optional<Json> old = store_.Get(key);
      store_.Upsert(obj);
      for (const auto& h : handlers_) {
        if (old) {
          if (h.on_update) h.on_update(*old, obj);
        } else if (h.on_add) {
          h.on_add(obj);
        }
      }
      break;
    }
    case WatchEvent::Type::kDeleted: {
      store_.Remove(key);
      for (const auto& h : handlers_) {
        if (h.on_delete) h.on_delete(obj);
      }
      break;
    }
    default:
      break;
  }
  std::string rv = ResourceVersion(obj);
  if (!rv.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    last_rv_ = rv;
  }
}

void Informer::Run(std::stop_token stop) {
  std::chrono::milliseconds backoff(200);
  const std::chrono::milliseconds kMaxBackoff(30000);
  while (!stop.stop_requested()) {
    try {
      ListAndReplace(stop);
      backoff = std::chrono::milliseconds(200);
      WatchOptions watch;
      watch.label_selector = options_.label_selector;
      watch.field_selector = options_.field_selector;
      watch.resource_version = LastSyncResourceVersion();
      watch.timeout_seconds = options_.watch_timeout_seconds;
      WatchWithResume(
          client_, type_, ns_, watch,
          [this](const WatchEvent& ev) {
            Apply(ev);
            return true;
          },
          stop);
      return;  // stopped
    } catch (const ApiError& e) {
      if (IsGone(e)) {
        log::Info("kube", "watch resourceVersion expired; listing again", {{"resource", type_.Name()}});
        continue;
      }
      log::Warn("kube", "informer list/watch failed", {{"resource", type_.Name()}, {"error", e.what()}});
    } catch (const Error& e) {
      if (e.error_class() == ErrorClass::kCancelled) return;
      log::Warn("kube", "informer list/watch failed", {{"resource", type_.Name()}, {"error", e.what()}});
    }
    if (!SleepFor(backoff, stop)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void Informer::Resync(std::stop_token stop) {
  while (SleepFor(options_.resync_period, stop)) {
    if (!synced_.load()) continue;
    std::lock_guard<std::mutex> dispatch(dispatch_mu_);
    for (const auto& obj : store_.List()) {
      for (const auto& h : handlers_) {
        if (h.on_update) h.on_update(obj, obj);
      }
    }
  }
}

bool WaitForCacheSync(std::initializer_list<const Informer*> informers, std::chrono::milliseconds timeout,
                      std::stop_token stop) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const Informer* informer : informers) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!informer->WaitForCacheSync(std::max(left, std::chrono::milliseconds(0)), stop)) return false;
  }
  return true;
}

}  // namespace hoist::kube

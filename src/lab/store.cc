#include "lab/store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "core/text.h"
#include "lab/patch.h"
#include "lab/persist.h"
#include "lab/selector.h"

namespace hoist::lab {

// ---------------------------------------------------------------------------------------------------
// StatusError

namespace {
ErrorClass ClassForCode(int code) {
  return (code == 409 || code == 410 || code == 429 || code >= 500) ? ErrorClass::kTransient
                                                                    : ErrorClass::kPrecondition;
}

// "persistentvolumeclaims" → group "" resource; "leases.coordination.k8s.io" → split.
void SplitGroupResource(std::string_view gr, std::string* resource, std::string* group) {
  auto dot = gr.find('.');
  *resource = std::string(gr.substr(0, dot));
  *group = dot == std::string_view::npos ? "" : std::string(gr.substr(dot + 1));
}
}  // namespace

StatusError::StatusError(int code, std::string reason, std::string message, Json details)
    : hoist::Error(ClassForCode(code), message),
      code_(code),
      reason_(std::move(reason)),
      details_(std::move(details)) {}

Json StatusError::ToStatus() const {
  Json s = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", Json::object()},
            {"status", "Failure"}, {"message", what()},  {"reason", reason_},
            {"code", code_}};
  if (!details_.empty()) s["details"] = details_;
  return s;
}

StatusError StatusError::NotFound(std::string_view group_resource, std::string_view name) {
  std::string resource, group;
  SplitGroupResource(group_resource, &resource, &group);
  Json d = {{"name", name}, {"kind", resource}};
  if (!group.empty()) d["group"] = group;
  return StatusError(404, "NotFound",
                     std::string(group_resource) + " \"" + std::string(name) + "\" not found", d);
}

StatusError StatusError::AlreadyExists(std::string_view group_resource, std::string_view name) {
  std::string resource, group;
  SplitGroupResource(group_resource, &resource, &group);
  Json d = {{"name", name}, {"kind", resource}};
  if (!group.empty()) d["group"] = group;
  return StatusError(409, "AlreadyExists",
                     std::string(group_resource) + " \"" + std::string(name) + "\" already exists", d);
}

StatusError StatusError::Conflict(std::string_view group_resource, std::string_view name,
                                  std::string_view why) {
  std::string resource, group;
  SplitGroupResource(group_resource, &resource, &group);
  Json d = {{"name", name}, {"kind", resource}};
  if (!group.empty()) d["group"] = group;
  return StatusError(409, "Conflict",
                     "Operation cannot be fulfilled on " + std::string(group_resource) + " \"" +
                         std::string(name) + "\": " + std::string(why),
                     d);
}

StatusError StatusError::Invalid(std::string_view kind, std::string_view name, std::string_view field,
                                 std::string_view why) {
  Json d = {{"name", name},
            {"kind", kind},
            {"causes", Json::array({{{"reason", "FieldValueInvalid"},
                                     {"message", std::string("Invalid value: \"") + std::string(name) +
                                                     "\": " + std::string(why)},
                                     {"field", field}}})}};
  return StatusError(422, "Invalid",
                     std::string(kind) + " \"" + std::string(name) + "\" is invalid: " + std::string(field) +
                         ": Invalid value: \"" + std::string(name) + "\": " + std::string(why),
                     d);
}

StatusError StatusError::BadRequest(std::string message) {
  return StatusError(400, "BadRequest", std::move(message));
}
StatusError StatusError::Gone(std::string message) { return StatusError(410, "Gone", std::move(message)); }
StatusError StatusError::Expired(std::string message) {
  return StatusError(410, "Expired", std::move(message));
}
StatusError StatusError::MethodNotAllowed(std::string message) {
  return StatusError(405, "MethodNotAllowed", std::move(message));
}
StatusError StatusError::Forbidden(std::string message) {
  return StatusError(403, "Forbidden", std::move(message));
}
StatusError StatusError::Unauthorized() { return StatusError(401, "Unauthorized", "Unauthorized"); }
StatusError StatusError::UnsupportedMediaType(std::string message) {
  return StatusError(415, "UnsupportedMediaType", std::move(message));
}
StatusError StatusError::Internal(std::string message) {
  return StatusError(500, "InternalError", std::move(message));
}

// ---------------------------------------------------------------------------------------------------
// Types

bool ResourceType::Serves(std::string_view v) const {
  if (served_versions.empty()) return v == version;
  return std::find(served_versions.begin(), served_versions.end(), v) != served_versions.end();
}

const std::vector<ResourceType>& BuiltinTypes() {
  static const std::vector<ResourceType> types = [] {
    auto t = [](std::string group, std::string resource, std::string kind, bool namespaced, bool status,
                std::vector<std::string> shorts, std::vector<std::string> cats = {}) {
      ResourceType r;
      r.group = std::move(group);
      r.version = "v1";
      r.resource = std::move(resource);
      r.kind = std::move(kind);
      r.namespaced = namespaced;
      r.has_status = status;
      r.short_names = std::move(shorts);
      r.categories = std::move(cats);
      r.singular = r.kind;
      std::transform(r.singular.begin(), r.singular.end(), r.singular.begin(), ::tolower);
      return r;
    };
    return std::vector<ResourceType>{
        t("", "namespaces", "Namespace", false, true, {"ns"}),
        t("", "pods", "Pod", true, true, {"po"}, {"all"}),
        t("", "persistentvolumeclaims", "PersistentVolumeClaim", true, true, {"pvc"}),
        t("", "persistentvolumes", "PersistentVolume", false, true, {"pv"}),
        t("", "secrets", "Secret", true, false, {}),
        t("", "configmaps", "ConfigMap", true, false, {"cm"}),
        t("", "events", "Event", true, false, {"ev"}),
        t("", "services", "Service", true, true, {"svc"}, {"all"}),
        t("", "serviceaccounts", "ServiceAccount", true, false, {"sa"}),
        t("", "nodes", "Node", false, true, {"no"}),
        t("", "endpoints", "Endpoints", true, false, {"ep"}),
        t("storage.k8s.io", "storageclasses", "StorageClass", false, false, {"sc"}),
        t("coordination.k8s.io", "leases", "Lease", true, false, {}),
        // RBAC objects are stored (so deploy manifests and the planner's populator RBAC apply), not enforced.
        t("rbac.authorization.k8s.io", "roles", "Role", true, false, {}),
        t("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true, false, {}),
        t("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false, false, {}),
        t("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false, false, {}),
        t("events.k8s.io", "events", "Event", true, false, {"ev"}),
        t("apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", false, true,
          {"crd", "crds"}, {"api-extensions"}),
    };
  }();
  return types;
}

// ---------------------------------------------------------------------------------------------------
// Validation helpers

bool IsDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i != 0 && i + 1 != s.size());
    if (!ok) return false;
  }
  return true;
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    auto label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return false;
    for (size_t i = 0; i < label.size(); ++i) {
      char c = label[i];
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i != 0 && i + 1 != label.size());
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string NowRfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ---------------------------------------------------------------------------------------------------
// Store internals

namespace {

using ObjPtr = std::shared_ptr<const Json>;

std::string TypeKey(std::string_view group, std::string_view resource) {
  return std::string(group) + "/" + std::string(resource);
}
std::string TypeKey(const ResourceType& t) { return TypeKey(t.group, t.resource); }

std::string ObjKey(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string Unbase64(std::string_view in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      throw StatusError::BadRequest("invalid continue token");
    buf = (buf << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

struct Event {
  int64_t rv;
  std::string type;  // ADDED MODIFIED DELETED
  std::string type_key;
  ObjPtr object;
  ObjPtr old;  // previous state for MODIFIED (selector transitions); may be null
};

Json EventRecord(const Event& e) {
  Json r = {{"rv", e.rv}, {"type", e.type}, {"t", e.type_key}, {"object", *e.object}};
  if (e.old) r["old"] = *e.old;
  return r;
}

Event EventFromRecord(const Json& r) {
  Event e;
  e.rv = r.at("rv").get<int64_t>();
  e.type = r.at("type").get<std::string>();
  e.type_key = r.at("t").get<std::string>();
  e.object = std::make_shared<const Json>(r.at("object"));
  if (r.contains("old")) e.old = std::make_shared<const Json>(r.at("old"));
  return e;
}

const Json& Meta(const Json& obj) {
  static const Json empty = Json::object();
  auto it = obj.find("metadata");
  return (it != obj.end() && it->is_object()) ? *it : empty;
}

std::string MetaString(const Json& obj, const char* key) {
  const Json& m = Meta(obj);
  auto it = m.find(key);
  return (it != m.end() && it->is_string()) ? it->get<std::string>() : "";
}

class WatcherImpl : public WatchStream {
 public:
  WatcherImpl(std::string type_key, std::string ns, LabelSelector labels, FieldSelector fields,
              std::string name, bool bookmarks, std::chrono::milliseconds bookmark_interval,
              std::shared_ptr<std::atomic<int64_t>> current_rv, std::string api_version, std::string kind)
      : type_key_(std::move(type_key)),
        ns_(std::move(ns)),
        labels_(std::move(labels)),
        fields_(std::move(fields)),
        name_(std::move(name)),
        bookmarks_(bookmarks),
        bookmark_interval_(bookmark_interval),
        current_rv_(std::move(current_rv)),
        api_version_(std::move(api_version)),
        kind_(std::move(kind)),
        last_sent_(std::chrono::steady_clock::now()) {}

  std::optional<WatchEvent> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (closed_) return std::nullopt;
      if (!queue_.empty()) {
        WatchEvent e = std::move(queue_.front());
        queue_.pop_front();
        last_sent_ = std::chrono::steady_clock::now();
        return e;
      }
      auto now = std::chrono::steady_clock::now();
      if (bookmarks_ && now - last_sent_ >= bookmark_interval_) {
        last_sent_ = now;
        return WatchEvent{"BOOKMARK",
                          {{"kind", kind_},
                           {"apiVersion", api_version_},
                           {"metadata", {{"resourceVersion", std::to_string(current_rv_->load())}}}}};
      }
      if (now >= deadline) return std::nullopt;
      auto wake = deadline;
      if (bookmarks_) wake = std::min(wake, last_sent_ + bookmark_interval_);
      cv_.wait_until(lock, wake);
    }
  }

  void Stop() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    queue_.clear();
    cv_.notify_all();
  }

  bool closed() const override {
    std::lock_guard lock(mu_);
    return closed_;
  }

  bool Matches(const Json& obj) const {
    if (!ns_.empty() && MetaString(obj, "namespace") != ns_) return false;
    if (!name_.empty() && MetaString(obj, "name") != name_) return false;
    if (!labels_.empty()) {
      const Json& m = Meta(obj);
      auto it = m.find("labels");
      if (!labels_.Matches(it != m.end() ? *it : Json())) return false;
    }
    return fields_.empty() || fields_.Matches(obj);
  }

  // Called under the store lock for each committed event of this type.
  void Offer(const Event& e) {
    bool now = Matches(*e.object);
    std::string type = e.type;
    if (e.type == "MODIFIED" && e.old) {
      bool before = Matches(*e.old);
      if (!before && !now) return;
      if (!before) type = "ADDED";
      if (!now) type = "DELETED";
    } else if (!now) {
      return;
    }
    Push(WatchEvent{type, *e.object});
  }

  void Push(WatchEvent e) {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= kMaxQueue) {
      // A consumer this far behind is dropped, like kube-apiserver does; it re-watches.
      closed_ = true;
      queue_.clear();
    } else {
      queue_.push_back(std::move(e));
    }
    cv_.notify_all();
  }

  const std::string& type_key() const { return type_key_; }

 private:
  static constexpr size_t kMaxQueue = 200000;
  std::string type_key_, ns_;
  LabelSelector labels_;
  FieldSelector fields_;
  std::string name_;
  bool bookmarks_;
  std::chrono::milliseconds bookmark_interval_;
  std::shared_ptr<std::atomic<int64_t>> current_rv_;
  std::string api_version_, kind_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_sent_;
};

std::optional<ResourceType> TypeFromCrd(const Json& crd) {
  const Json& spec = crd.value("spec", Json::object());
  const Json& names = spec.value("names", Json::object());
  ResourceType t;
  t.group = spec.value("group", "");
  t.resource = names.value("plural", "");
  t.kind = names.value("kind", "");
  if (t.group.empty() || t.resource.empty() || t.kind.empty()) return std::nullopt;
  t.singular = names.value("singular", AsciiLower(t.kind));
  if (auto it = names.find("shortNames"); it != names.end() && it->is_array()) {
    for (auto& s : *it) t.short_names.push_back(s.get<std::string>());
  }
  if (auto it = names.find("categories"); it != names.end() && it->is_array()) {
    for (auto& s : *it) t.categories.push_back(s.get<std::string>());
  }
  t.namespaced = spec.value("scope", "Namespaced") != "Cluster";
  t.custom = true;
  const Json& versions = spec.value("versions", Json::array());
  for (const auto& v : versions) {
    std::string name = v.value("name", "");
    if (v.value("served", true)) t.served_versions.push_back(name);
    if (v.value("storage", false) || t.version.empty()) {
      if (v.value("storage", false) || versions.size() == 1) t.version = name;
    }
    auto sub = v.find("subresources");
    if (sub != v.end() && sub->is_object() && sub->contains("status")) t.has_status = true;
    if (v.value("storage", false) && v.contains("additionalPrinterColumns")) {
      t.printer_columns = v["additionalPrinterColumns"];
    }
  }
  if (t.version.empty() && !t.served_versions.empty()) t.version = t.served_versions.front();
  if (t.version.empty()) return std::nullopt;
  return t;
}

}  // namespace

struct Store::Impl {
  explicit Impl(StoreOptions o)
      : options(std::move(o)), current_rv(std::make_shared<std::atomic<int64_t>>(0)) {}

  StoreOptions options;
  mutable std::shared_mutex mu;
  std::map<std::string, ResourceType> types;                     // by type key
  std::map<std::string, std::map<std::string, ObjPtr>> objects;  // type key → "ns/name" → object
  int64_t rv = 0;
  std::shared_ptr<std::atomic<int64_t>> current_rv;
  std::deque<Event> events;
  int64_t oldest_watchable = 0;  // events with rv > this are all in `events`
  std::vector<std::weak_ptr<WatcherImpl>> watchers;
  std::unique_ptr<Journal> journal;
  std::mt19937_64 rng{std::random_device{}()};
  // uid → (type key, object key) for every object; owner uid → dependents.
  std::unordered_map<std::string, std::pair<std::string, std::string>> by_uid;
  std::unordered_map<std::string, std::set<std::pair<std::string, std::string>>> dependents;

  int64_t Now() const {
    if (options.now_seconds_for_test) return options.now_seconds_for_test();
    return static_cast<int64_t>(std::time(nullptr));
  }

  std::string NewUid() {
    std::uniform_int_distribution<uint64_t> d;
    uint64_t a = d(rng), b = d(rng);
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                  static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return buf;
  }

  std::string RandomSuffix() {
    static const char* kChars = "bcdfghjklmnpqrstvwxz2456789";
    std::uniform_int_distribution<int> d(0, 26);
    std::string s;
    for (int i = 0; i < 5; ++i) s += kChars[d(rng)];
    return s;
  }

  const ResourceType* TypeByKey(const std::string& key) const {
    auto it = types.find(key);
    return it == types.end() ? nullptr : &it->second;
  }

  ObjPtr Find(const std::string& tkey, const std::string& okey) const {
    auto t = objects.find(tkey);
    if (t == objects.end()) return nullptr;
    auto o = t->second.find(okey);
    return o == t->second.end() ? nullptr : o->second;
  }

  // ---- indexes

  void IndexAdd(const std::string& tkey, const std::string& okey, const Json& obj) {
    std::string uid = MetaString(obj, "uid");
    if (!uid.empty()) by_uid[uid] = {tkey, okey};
    const Json& m = Meta(obj);
    if (auto it = m.find("ownerReferences"); it != m.end() && it->is_array()) {
      for (const auto& ref : *it) {
        std::string ouid = ref.value("uid", "");
        if (!ouid.empty()) dependents[ouid].insert({tkey, okey});
      }
    }
  }

  void IndexRemove(const std::string& tkey, const std::string& okey, const Json& obj) {
    std::string uid = MetaString(obj, "uid");
    if (!uid.empty()) by_uid.erase(uid);
    const Json& m = Meta(obj);
    if (auto it = m.find("ownerReferences"); it != m.end() && it->is_array()) {
      for (const auto& ref : *it) {
        auto d = dependents.find(ref.value("uid", ""));
        if (d != dependents.end()) {
          d->second.erase({tkey, okey});
          if (d->second.empty()) dependents.erase(d);
        }
      }
    }
  }

  // ---- commit: every state change goes through here (under the exclusive lock)

  void Commit(const std::string& type, const std::string& tkey, const std::string& okey, ObjPtr obj,
              ObjPtr old, bool replaying = false) {
    auto& bucket = objects[tkey];
    if (old) IndexRemove(tkey, okey, *old);
    if (type == "DELETED") {
      bucket.erase(okey);
    } else {
      bucket[okey] = obj;
      IndexAdd(tkey, okey, *obj);
    }
    Event e{rv, type, tkey, obj, type == "MODIFIED" ? old : nullptr};
    if (!replaying && journal) journal->Append(EventRecord(e));
    events.push_back(e);
    while (events.size() > options.event_window) {
      oldest_watchable = events.front().rv;
      events.pop_front();
    }
    current_rv->store(rv);
    if (replaying) return;
    for (auto it = watchers.begin(); it != watchers.end();) {
      auto w = it->lock();
      if (!w || w->closed()) {
        it = watchers.erase(it);
        continue;
      }
      if (w->type_key() == tkey) w->Offer(e);
      ++it;
    }
  }

  Json Stamp(Json obj) {
    obj["metadata"]["resourceVersion"] = std::to_string(++rv);
    return obj;
  }

  void SyncJournal() {
    if (!journal) return;
    journal->Sync();
    if (journal->records_since_snapshot() > std::max<size_t>(50000, options.event_window * 3)) Snapshot();
  }

  void Snapshot() {
    if (!journal) return;
    Json snap = {{"rv", rv}, {"oldestWatchable", oldest_watchable}};
    Json objs = Json::array();
    for (const auto& [tkey, bucket] : objects) {
      for (const auto& [okey, obj] : bucket) objs.push_back({{"t", tkey}, {"object", *obj}});
    }
    snap["objects"] = std::move(objs);
    Json evs = Json::array();
    for (const auto& e : events) evs.push_back(EventRecord(e));
    snap["events"] = std::move(evs);
    journal->WriteSnapshot(snap);
  }

  void Load() {
    auto loaded = journal->Load();
    if (!loaded.snapshot.is_null()) {
      rv = loaded.snapshot.value("rv", int64_t{0});
      oldest_watchable = loaded.snapshot.value("oldestWatchable", int64_t{0});
      for (const auto& o : loaded.snapshot.value("objects", Json::array())) {
        std::string tkey = o.at("t").get<std::string>();
        auto obj = std::make_shared<const Json>(o.at("object"));
        std::string okey = ObjKey(MetaString(*obj, "namespace"), MetaString(*obj, "name"));
        objects[tkey][okey] = obj;
        IndexAdd(tkey, okey, *obj);
      }
      for (const auto& r : loaded.snapshot.value("events", Json::array()))
        events.push_back(EventFromRecord(r));
    }
    for (const auto& r : loaded.records) {
      Event e = EventFromRecord(r);
      if (e.rv <= rv) continue;  // already in the snapshot
      rv = e.rv;
      std::string okey = ObjKey(MetaString(*e.object, "namespace"), MetaString(*e.object, "name"));
      ObjPtr old = Find(e.type_key, okey);
      Commit(e.type, e.type_key, okey, e.object, old, /*replaying=*/true);
    }
    while (events.size() > options.event_window) {
      oldest_watchable = events.front().rv;
      events.pop_front();
    }
    current_rv->store(rv);
    // Types defined by stored CRDs.
    auto crds = objects.find(TypeKey("apiextensions.k8s.io", "customresourcedefinitions"));
    if (crds != objects.end()) {
      for (const auto& [k, crd] : crds->second) {
        if (auto t = TypeFromCrd(*crd)) types[TypeKey(*t)] = *t;
      }
    }
  }

  // ---- type-specific defaults and validation

  void ApplyCreateDefaults(const ResourceType& type, Json& obj) {
    if (type.custom) return;
    const std::string& k = type.kind;
    if (type.group.empty()) {
      if (k == "Namespace") {
        obj["spec"]["finalizers"] = Json::array({"kubernetes"});
        obj["status"] = {{"phase", "Active"}};
        obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = obj["metadata"]["name"];
      } else if (k == "Pod") {
        Json& spec = obj["spec"];
        if (!spec.contains("restartPolicy")) spec["restartPolicy"] = "Always";
        if (!spec.contains("terminationGracePeriodSeconds")) spec["terminationGracePeriodSeconds"] = 30;
        if (!spec.contains("schedulerName")) spec["schedulerName"] = "default-scheduler";
        if (!spec.contains("dnsPolicy")) spec["dnsPolicy"] = "ClusterFirst";
        if (spec.contains("containers") && spec["containers"].is_array()) {
          for (auto& c : spec["containers"]) {
            if (!c.contains("terminationMessagePath")) c["terminationMessagePath"] = "/dev/termination-log";
            if (!c.contains("terminationMessagePolicy")) c["terminationMessagePolicy"] = "File";
            if (!c.contains("imagePullPolicy")) {
              std::string image = c.value("image", "");
              bool latest = image.find(':') == std::string::npos || image.ends_with(":latest");
              c["imagePullPolicy"] = latest ? "Always" : "IfNotPresent";
            }
          }
        }
        obj["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
      } else if (k == "PersistentVolumeClaim") {
        Json& spec = obj["spec"];
        if (!spec.contains("volumeMode")) spec["volumeMode"] = "Filesystem";
        if (!spec.contains("storageClassName")) {
          // The DefaultStorageClass admission plugin.
          auto scs = objects.find(TypeKey("storage.k8s.io", "storageclasses"));
          if (scs != objects.end()) {
            for (const auto& [n, sc] : scs->second) {
              const Json& ann = Meta(*sc).value("annotations", Json::object());
              if (ann.value("storageclass.kubernetes.io/is-default-class", "") == "true") {
                spec["storageClassName"] = n;
                break;
              }
            }
          }
        }
        obj["status"] = {{"phase", "Pending"}};
      } else if (k == "PersistentVolume") {
        Json& spec = obj["spec"];
        if (!spec.contains("persistentVolumeReclaimPolicy")) spec["persistentVolumeReclaimPolicy"] = "Retain";
        if (!spec.contains("volumeMode")) spec["volumeMode"] = "Filesystem";
        obj["status"] = {{"phase", "Pending"}};
      } else if (k == "Secret") {
        if (!obj.contains("type")) obj["type"] = "Opaque";
      } else if (k == "Service") {
        Json& spec = obj["spec"];
        if (!spec.contains("type")) spec["type"] = "ClusterIP";
        if (!spec.contains("sessionAffinity")) spec["sessionAffinity"] = "None";
        if (spec.contains("ports") && spec["ports"].is_array()) {
          for (auto& p : spec["ports"]) {
            if (!p.contains("protocol")) p["protocol"] = "TCP";
            if (!p.contains("targetPort") && p.contains("port")) p["targetPort"] = p["port"];
          }
        }
        obj["status"] = {{"loadBalancer", Json::object()}};
      }
    } else if (type.group == "storage.k8s.io" && k == "StorageClass") {
      if (!obj.contains("reclaimPolicy")) obj["reclaimPolicy"] = "Delete";
      if (!obj.contains("volumeBindingMode")) obj["volumeBindingMode"] = "Immediate";
    }
  }

  // Conversions and checks applied on every write (create and update).
  void NormalizeWrite(const ResourceType& type, Json& obj) {
    if (type.group.empty() && type.kind == "Secret") {
      // stringData is write-only: merged into data, base64-encoded.
      if (auto sd = obj.find("stringData"); sd != obj.end()) {
        if (sd->is_object()) {
          for (auto& [k, v] : sd->items())
            obj["data"][k] = Base64(v.is_string() ? v.get<std::string>() : v.dump());
        }
        obj.erase("stringData");
      }
    }
    if (type.group == "apiextensions.k8s.io" && type.kind == "CustomResourceDefinition") {
      auto t = TypeFromCrd(obj);
      std::string name = MetaString(obj, "name");
      if (!t) {
        throw StatusError::Invalid(
            "CustomResourceDefinition", name, "spec",
            "spec.group, spec.names.plural, spec.names.kind and spec.versions are required");
      }
      if (name != t->resource + "." + t->group) {
        throw StatusError::Invalid("CustomResourceDefinition", name, "metadata.name",
                                   "must be spec.names.plural+\".\"+spec.group");
      }
    }
  }

  void ValidateName(const ResourceType& type, const std::string& name) {
    bool ok =
        type.kind == "Namespace" && type.group.empty() ? IsDns1123Label(name) : IsDns1123Subdomain(name);
    if (!ok) {
      std::string why =
          type.kind == "Namespace" && type.group.empty()
              ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
                "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
              : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
      throw StatusError::Invalid(type.kind, name, "metadata.name", why);
    }
  }

  void CheckNamespace(const ResourceType& type, const std::string& ns) {
    if (!type.namespaced || !options.require_namespace) return;
    ObjPtr nso = Find(TypeKey("", "namespaces"), ns);
    if (!nso) throw StatusError::NotFound("namespaces", ns);
    if (Meta(*nso).contains("deletionTimestamp")) {
      throw StatusError(403, "Forbidden",
                        type.resource + " is forbidden: unable to create new content in namespace " + ns +
                            " because it is being terminated",
                        {{"kind", type.resource},
                         {"causes", Json::array({{{"reason", "NamespaceTerminating"},
                                                  {"message", "namespace " + ns + " is being terminated"},
                                                  {"field", "metadata.namespace"}}})}});
    }
  }

  std::string NsFor(const ResourceType& type, std::string_view ns) {
    if (!type.namespaced) return "";
    if (ns.empty())
      throw StatusError::BadRequest(
          "the server could not find the requested resource (namespace is required)");
    return std::string(ns);
  }

  // ---- create

  Json CreateLocked(const ResourceType& type, std::string_view ns_in, Json obj, const WriteOptions& opts) {
    if (!obj.is_object()) throw StatusError::BadRequest("the body of the request was not a JSON object");
    std::string ns = NsFor(type, ns_in);
    Json& meta = obj["metadata"];
    if (!meta.is_object()) throw StatusError::BadRequest("metadata must be an object");
    if (type.namespaced) {
      std::string ons = meta.value("namespace", "");
      if (!ons.empty() && ons != ns) {
        throw StatusError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request");
      }
      meta["namespace"] = ns;
    } else {
      meta.erase("namespace");
    }
    std::string name = meta.value("name", "");
    std::string tkey = TypeKey(type);
    bool generated = false;
    if (name.empty()) {
      std::string gen = meta.value("generateName", "");
      if (gen.empty()) {
        throw StatusError(
            422, "Invalid",
            type.kind + ".\"\" is invalid: metadata.name: Required value: name or generateName is required",
            {{"kind", type.kind},
             {"causes", Json::array({{{"reason", "FieldValueRequired"},
                                      {"message", "Required value: name or generateName is required"},
                                      {"field", "metadata.name"}}})}});
      }
      generated = true;
      for (int i = 0; i < 16; ++i) {
        name = gen + RandomSuffix();
        if (!Find(tkey, ObjKey(ns, name))) break;
      }
    }
    ValidateName(type, name);
    CheckNamespace(type, ns);
    std::string okey = ObjKey(ns, name);
    if (Find(tkey, okey)) {
      if (generated)
        throw StatusError(409, "AlreadyExists",
                          "could not generate a unique name for " + type.GroupResource());
      throw StatusError::AlreadyExists(type.GroupResource(), name);
    }
    obj["apiVersion"] = type.ApiVersion();
    obj["kind"] = type.kind;
    meta["name"] = name;
    meta["uid"] = NewUid();
    meta["creationTimestamp"] = NowRfc3339(Now());
    meta["generation"] = 1;
    meta.erase("deletionTimestamp");
    meta.erase("deletionGracePeriodSeconds");
    meta.erase("resourceVersion");
    meta.erase("selfLink");
    if (type.has_status) obj.erase("status");
    ApplyCreateDefaults(type, obj);
    NormalizeWrite(type, obj);
    if (type.group == "apiextensions.k8s.io" && type.kind == "CustomResourceDefinition") {
      auto t = TypeFromCrd(obj);
      for (const auto& [k, existing] : types) {
        if (k != TypeKey(*t) && existing.group == t->group && existing.kind == t->kind) {
          throw StatusError::Invalid("CustomResourceDefinition", name, "spec.names.kind",
                                     "kind already in use");
        }
      }
      std::vector<std::string> stored = {t->version};
      obj["status"] = {{"acceptedNames", obj["spec"]["names"]},
                       {"storedVersions", stored},
                       {"conditions", Json::array({{{"type", "NamesAccepted"},
                                                    {"status", "True"},
                                                    {"reason", "NoConflicts"},
                                                    {"message", "no conflicts found"},
                                                    {"lastTransitionTime", NowRfc3339(Now())}},
                                                   {{"type", "Established"},
                                                    {"status", "True"},
                                                    {"reason", "InitialNamesAccepted"},
                                                    {"message", "the initial names have been accepted"},
                                                    {"lastTransitionTime", NowRfc3339(Now())}}})}};
    }
    if (opts.dry_run) {
      obj["metadata"]["resourceVersion"] = "";
      return obj;
    }
    obj = Stamp(std::move(obj));
    auto ptr = std::make_shared<const Json>(std::move(obj));
    Commit("ADDED", tkey, okey, ptr, nullptr);
    if (type.group == "apiextensions.k8s.io" && type.kind == "CustomResourceDefinition") {
      auto t = TypeFromCrd(*ptr);
      types[TypeKey(*t)] = *t;
    }
    return *ptr;
  }

  // ---- update

  static Json WithoutMetaStatus(const Json& o, bool drop_status) {
    Json c = o;
    c.erase("metadata");
    if (drop_status) c.erase("status");
    return c;
  }

  Json UpdateLocked(const ResourceType& type, std::string_view ns_in, std::string_view name, Json obj,
                    bool status, const WriteOptions& opts) {
    if (!obj.is_object()) throw StatusError::BadRequest("the body of the request was not a JSON object");
    std::string ns = NsFor(type, ns_in);
    std::string tkey = TypeKey(type);
    std::string okey = ObjKey(ns, name);
    ObjPtr old = Find(tkey, okey);
    if (!old) throw StatusError::NotFound(type.GroupResource(), name);
    if (status && !type.has_status) throw StatusError::NotFound(type.GroupResource(), name);
    Json& meta = obj["metadata"];
    if (!meta.is_object()) throw StatusError::BadRequest("metadata must be an object");
    std::string oname = meta.value("name", "");
    if (!oname.empty() && oname != name) {
      throw StatusError::BadRequest("the name of the object (" + oname +
                                    ") does not match the name on the URL (" + std::string(name) + ")");
    }
    if (type.namespaced) {
      std::string ons = meta.value("namespace", "");
      if (!ons.empty() && ons != ns) {
        throw StatusError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request");
      }
    }
    std::string want_rv = meta.value("resourceVersion", "");
    const Json& old_meta = Meta(*old);
    if (!want_rv.empty() && want_rv != old_meta.value("resourceVersion", "")) {
      throw StatusError::Conflict(
          type.GroupResource(), name,
          "the object has been modified; please apply your changes to the latest version and try again");
    }
    std::string want_uid = meta.value("uid", "");
    if (!want_uid.empty() && want_uid != old_meta.value("uid", "")) {
      throw StatusError::Conflict(type.GroupResource(), name,
                                  "Precondition failed: UID in precondition: " + want_uid +
                                      ", UID in object meta: " + old_meta.value("uid", ""));
    }
    Json next;
    if (status) {
      next = *old;
      if (obj.contains("status")) {
        next["status"] = obj["status"];
      } else {
        next.erase("status");
      }
    } else {
      next = std::move(obj);
      if (type.has_status) {
        if (old->contains("status")) {
          next["status"] = (*old)["status"];
        } else {
          next.erase("status");
        }
      }
      Json& nm = next["metadata"];
      for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                            "generation", "name", "namespace"}) {
        if (old_meta.contains(k)) {
          nm[k] = old_meta[k];
        } else {
          nm.erase(k);
        }
      }
      nm.erase("selfLink");
      NormalizeWrite(type, next);
      if (WithoutMetaStatus(next, type.has_status) != WithoutMetaStatus(*old, type.has_status)) {
        nm["generation"] = old_meta.value("generation", int64_t{1}) + 1;
      }
    }
    next["apiVersion"] = type.ApiVersion();
    next["kind"] = type.kind;
    next["metadata"]["resourceVersion"] = old_meta.value("resourceVersion", "");
    if (next == *old) return *old;  // no-op: no new resourceVersion, no event
    if (opts.dry_run) return next;
    if (type.group == "apiextensions.k8s.io" && type.kind == "CustomResourceDefinition" && !status) {
      auto t = TypeFromCrd(next);
      if (!t || TypeKey(*t) != TypeKey(*TypeFromCrd(*old))) {
        throw StatusError::Invalid("CustomResourceDefinition", std::string(name), "spec.names",
                                   "group and plural are immutable");
      }
    }
    next = Stamp(std::move(next));
    auto ptr = std::make_shared<const Json>(std::move(next));
    Commit("MODIFIED", tkey, okey, ptr, old);
    if (type.group == "apiextensions.k8s.io" && type.kind == "CustomResourceDefinition") {
      if (auto t = TypeFromCrd(*ptr)) types[TypeKey(*t)] = *t;
    }
    const Json& pm = Meta(*ptr);
    if (pm.contains("deletionTimestamp") && pm.value("finalizers", Json::array()).empty()) {
      // The last finalizer is gone: the deletion completes.
      if (type.group.empty() && type.kind == "Namespace") {
        MaybeFinishNamespace(std::string(name));
      } else if (!(type.kind == "Pod" && type.group.empty() && options.graceful_pod_deletion &&
                   GracefulPending(*ptr))) {
        RemoveLocked(type, tkey, okey, ptr);
      }
    }
    return *ptr;
  }

  // A pod in graceful deletion whose grace period the kubelet has not finished yet.
  bool GracefulPending(const Json& pod) const {
    return Meta(pod).value("deletionGracePeriodSeconds", int64_t{0}) > 0;
  }

  // ---- delete

  // Removes the object for good, then collects garbage.
  void RemoveLocked(const ResourceType& type, const std::string& tkey, const std::string& okey, ObjPtr obj) {
    Json gone = *obj;
    gone = Stamp(std::move(gone));
    auto ptr = std::make_shared<const Json>(std::move(gone));
    Commit("DELETED", tkey, okey, ptr, obj);
    std::string uid = MetaString(*obj, "uid");
    if (type.group == "apiextensions.k8s.io" && type.kind == "CustomResourceDefinition") {
      if (auto t = TypeFromCrd(*obj)) {
        std::string ckey = TypeKey(*t);
        if (auto b = objects.find(ckey); b != objects.end()) {
          auto bucket = b->second;  // copy: removal edits the map
          for (const auto& [k, o] : bucket) RemoveLocked(*t, ckey, k, o);
        }
        types.erase(ckey);
        objects.erase(ckey);
        for (auto& w : watchers) {
          if (auto p = w.lock(); p && p->type_key() == ckey) p->Stop();
        }
      }
    }
    CollectDependents(uid);
    // Owners waiting in foreground deletion for this dependent.
    const Json& m = Meta(*obj);
    if (auto refs = m.find("ownerReferences"); refs != m.end() && refs->is_array()) {
      for (const auto& ref : *refs) MaybeFinishForeground(ref.value("uid", ""));
    }
    // A terminating namespace goes once empty.
    if (type.namespaced) MaybeFinishNamespace(MetaString(*obj, "namespace"));
  }

  void CollectDependents(const std::string& uid) {
    if (uid.empty()) return;
    auto it = dependents.find(uid);
    if (it == dependents.end()) return;
    auto deps = it->second;  // copy
    for (const auto& [dtkey, dokey] : deps) {
      ObjPtr d = Find(dtkey, dokey);
      const ResourceType* dt = TypeByKey(dtkey);
      if (!d || !dt) continue;
      // Owners other than `uid` that still exist keep the dependent; the dangling reference goes.
      bool other_owner = false;
      Json refs = Json::array();
      for (const auto& ref : Meta(*d).value("ownerReferences", Json::array())) {
        std::string ouid = ref.value("uid", "");
        if (ouid == uid) continue;
        refs.push_back(ref);
        if (by_uid.count(ouid)) other_owner = true;
      }
      if (other_owner) {
        Json next = *d;
        next["metadata"]["ownerReferences"] = refs;
        next = Stamp(std::move(next));
        Commit("MODIFIED", dtkey, dokey, std::make_shared<const Json>(std::move(next)), d);
      } else if (!Meta(*d).contains("deletionTimestamp")) {
        DeleteLocked(*dt, dtkey, dokey, d, "Background", std::nullopt);
      }
    }
  }

  void MaybeFinishForeground(const std::string& owner_uid) {
    auto loc = by_uid.find(owner_uid);
    if (loc == by_uid.end()) return;
    auto [tkey, okey] = loc->second;
    ObjPtr owner = Find(tkey, okey);
    if (!owner || !Meta(*owner).contains("deletionTimestamp")) return;
    Json fins = Meta(*owner).value("finalizers", Json::array());
    auto fit = std::find(fins.begin(), fins.end(), Json("foregroundDeletion"));
    if (fit == fins.end()) return;
    if (auto d = dependents.find(owner_uid); d != dependents.end() && !d->second.empty()) return;
    fins.erase(fit);
    Json next = *owner;
    next["metadata"]["finalizers"] = fins;
    if (fins.empty()) next["metadata"].erase("finalizers");
    next = Stamp(std::move(next));
    auto ptr = std::make_shared<const Json>(std::move(next));
    Commit("MODIFIED", tkey, okey, ptr, owner);
    const ResourceType* type = TypeByKey(tkey);
    if (fins.empty() && type) RemoveLocked(*type, tkey, okey, ptr);
  }

  void MaybeFinishNamespace(const std::string& ns) {
    if (ns.empty()) return;
    std::string nkey = TypeKey("", "namespaces");
    ObjPtr nso = Find(nkey, ns);
    if (!nso || !Meta(*nso).contains("deletionTimestamp")) return;
    if (NamespaceHasContent(ns)) return;
    const Json& fins = Meta(*nso).value("finalizers", Json::array());
    if (!fins.empty()) return;
    RemoveLocked(*TypeByKey(nkey), nkey, ns, nso);
  }

  bool NamespaceHasContent(const std::string& ns) const {
    std::string prefix = ns + "/";
    for (const auto& [tkey, bucket] : objects) {
      auto it = bucket.lower_bound(prefix);
      if (it != bucket.end() && it->first.compare(0, prefix.size(), prefix) == 0) return true;
    }
    return false;
  }

  // Starts or completes the deletion of one object. Returns its state after the call.
  Json DeleteLocked(const ResourceType& type, const std::string& tkey, const std::string& okey, ObjPtr obj,
                    std::string policy, std::optional<int64_t> grace) {
    const Json& m = Meta(*obj);
    std::string uid = m.value("uid", "");
    bool terminating = m.contains("deletionTimestamp");
    if (policy.empty()) policy = "Background";
    bool is_ns = type.group.empty() && type.kind == "Namespace";
    bool is_pod = type.group.empty() && type.kind == "Pod";

    if (terminating) {
      // Already being deleted: a pod's grace may be shortened to 0 (the kubelet finishing it).
      if (is_pod && grace && *grace == 0 && GracefulPending(*obj)) {
        Json next = *obj;
        next["metadata"]["deletionGracePeriodSeconds"] = 0;
        if (next["metadata"].value("finalizers", Json::array()).empty()) {
          RemoveLocked(type, tkey, okey, obj);
          return next;
        }
        next = Stamp(std::move(next));
        auto ptr = std::make_shared<const Json>(std::move(next));
        Commit("MODIFIED", tkey, okey, ptr, obj);
        return *ptr;
      }
      return *obj;
    }

    Json next = *obj;
    Json& nm = next["metadata"];
    Json fins = nm.value("finalizers", Json::array());
    if (policy == "Orphan") {
      if (auto d = dependents.find(uid); d != dependents.end()) {
        auto deps = d->second;
        for (const auto& [dtkey, dokey] : deps) {
          ObjPtr dep = Find(dtkey, dokey);
          if (!dep) continue;
          Json dn = *dep;
          Json refs = Json::array();
          for (const auto& ref : Meta(*dep).value("ownerReferences", Json::array())) {
            if (ref.value("uid", "") != uid) refs.push_back(ref);
          }
          if (refs.empty()) {
            dn["metadata"].erase("ownerReferences");
          } else {
            dn["metadata"]["ownerReferences"] = refs;
          }
          dn = Stamp(std::move(dn));
          Commit("MODIFIED", dtkey, dokey, std::make_shared<const Json>(std::move(dn)), dep);
        }
      }
    }
    bool has_dependents = dependents.count(uid) > 0;
    if (policy == "Foreground" && has_dependents &&
        std::find(fins.begin(), fins.end(), Json("foregroundDeletion")) == fins.end()) {
      fins.push_back("foregroundDeletion");
    }
    int64_t grace_s = 0;
    if (is_pod && options.graceful_pod_deletion && !nm.contains("deletionTimestamp")) {
      std::string node = next.value("spec", Json::object()).value("nodeName", "");
      std::string phase = next.value("status", Json::object()).value("phase", "");
      if (!node.empty() && phase != "Succeeded" && phase != "Failed") {
        grace_s = grace.value_or(next["spec"].value("terminationGracePeriodSeconds", int64_t{30}));
      }
    }
    if (is_ns) {
      next["status"]["phase"] = "Terminating";
    }
    if (!fins.empty() || grace_s > 0 || is_ns) {
      nm["deletionTimestamp"] = NowRfc3339(Now() + grace_s);
      nm["deletionGracePeriodSeconds"] = grace_s;
      if (!fins.empty()) nm["finalizers"] = fins;
      next = Stamp(std::move(next));
      auto ptr = std::make_shared<const Json>(std::move(next));
      Commit("MODIFIED", tkey, okey, ptr, obj);
      if (policy == "Foreground") {
        auto d = dependents.find(uid);
        if (d != dependents.end()) {
          auto deps = d->second;
          for (const auto& [dtkey, dokey] : deps) {
            ObjPtr dep = Find(dtkey, dokey);
            const ResourceType* dt = TypeByKey(dtkey);
            if (dep && dt) DeleteLocked(*dt, dtkey, dokey, dep, "Foreground", std::nullopt);
          }
        }
        MaybeFinishForeground(uid);
      }
      if (is_ns) {
        DeleteNamespaceContent(okey);
        MaybeFinishNamespace(okey);
      }
      ObjPtr now = Find(tkey, okey);
      return now ? *now : *ptr;
    }
    Json before = *obj;
    RemoveLocked(type, tkey, okey, obj);
    return before;
  }

  void DeleteNamespaceContent(const std::string& ns) {
    std::string prefix = ns + "/";
    std::vector<std::string> tkeys;
    for (const auto& [tkey, bucket] : objects) tkeys.push_back(tkey);
    for (const auto& tkey : tkeys) {
      const ResourceType* t = TypeByKey(tkey);
      if (!t || !t->namespaced) continue;
      std::vector<std::pair<std::string, ObjPtr>> items;
      auto& bucket = objects[tkey];
      for (auto it = bucket.lower_bound(prefix);
           it != bucket.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        items.emplace_back(it->first, it->second);
      }
      ResourceType type = *t;
      for (const auto& [okey, o] : items) {
        ObjPtr cur = Find(tkey, okey);
        if (cur) DeleteLocked(type, tkey, okey, cur, "Background", 0);
      }
    }
  }

  // ---- list

  struct Continue {
    int64_t rv;
    std::string start;
  };

  std::string EncodeContinue(int64_t list_rv, const std::string& last) {
    return Base64(Json({{"v", "meta.k8s.io/v1"}, {"rv", list_rv}, {"start", last}}).dump());
  }

  Continue DecodeContinue(const std::string& token) const {
    try {
      Json j = Json::parse(Unbase64(token));
      return Continue{j.at("rv").get<int64_t>(), j.at("start").get<std::string>()};
    } catch (const StatusError&) {
      throw;
    } catch (const std::exception&) {
      throw StatusError::BadRequest("continue key is not valid: invalid continue token");
    }
  }
};

// ---------------------------------------------------------------------------------------------------
// Public API

Store::Store(StoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  for (const auto& t : BuiltinTypes()) impl_->types[TypeKey(t)] = t;
  if (!impl_->options.dir.empty()) {
    impl_->journal = std::make_unique<Journal>(impl_->options.dir, impl_->options.fsync);
    impl_->Load();
    impl_->Snapshot();  // compaction on start
  }
  if (impl_->rv == 0) {
    std::unique_lock lock(impl_->mu);
    const ResourceType* ns = impl_->TypeByKey(TypeKey("", "namespaces"));
    for (const auto& name : impl_->options.initial_namespaces) {
      impl_->CreateLocked(*ns, "", Json{{"metadata", {{"name", name}}}}, {});
    }
    impl_->SyncJournal();
  }
}

Store::~Store() {
  std::unique_lock lock(impl_->mu);
  for (auto& w : impl_->watchers) {
    if (auto p = w.lock()) p->Stop();
  }
  if (impl_->journal) {
    try {
      impl_->journal->Sync();
    } catch (const std::exception& e) {
      log::Error("lab.store", "final journal write failed", {{"error", e.what()}});
    }
  }
}

void Store::RegisterType(const ResourceType& type) {
  std::unique_lock lock(impl_->mu);
  impl_->types[TypeKey(type)] = type;
}

void Store::UnregisterType(std::string_view group, std::string_view resource) {
  std::unique_lock lock(impl_->mu);
  impl_->types.erase(TypeKey(group, resource));
}

std::optional<ResourceType> Store::FindType(std::string_view group, std::string_view resource_or_kind) const {
  std::shared_lock lock(impl_->mu);
  if (auto t = impl_->TypeByKey(TypeKey(group, resource_or_kind))) return *t;
  std::string lower = AsciiLower(resource_or_kind);
  for (const auto& [k, t] : impl_->types) {
    if (t.group != group) continue;
    if (AsciiLower(t.kind) == lower || t.singular == lower ||
        std::find(t.short_names.begin(), t.short_names.end(), lower) != t.short_names.end()) {
      return t;
    }
  }
  return std::nullopt;
}

std::optional<ResourceType> Store::FindTypeByKind(std::string_view api_version, std::string_view kind) const {
  std::string group, version;
  auto slash = api_version.find('/');
  if (slash == std::string_view::npos) {
    version = std::string(api_version);
  } else {
    group = std::string(api_version.substr(0, slash));
    version = std::string(api_version.substr(slash + 1));
  }
  std::shared_lock lock(impl_->mu);
  for (const auto& [k, t] : impl_->types) {
    if (t.group == group && t.kind == kind && t.Serves(version)) return t;
  }
  return std::nullopt;
}

std::vector<ResourceType> Store::Types() const {
  std::shared_lock lock(impl_->mu);
  std::vector<ResourceType> out;
  for (const auto& [k, t] : impl_->types) out.push_back(t);
  return out;
}

ResourceType Store::MustType(std::string_view group, std::string_view resource) const {
  std::shared_lock lock(impl_->mu);
  if (auto t = impl_->TypeByKey(TypeKey(group, resource))) return *t;
  throw StatusError(404, "NotFound", "the server could not find the requested resource");
}

Json Store::Create(const ResourceType& type, std::string_view ns, Json object, const WriteOptions& opts) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->TypeByKey(TypeKey(type)))
    throw StatusError(404, "NotFound", "the server could not find the requested resource");
  Json out = impl_->CreateLocked(*impl_->TypeByKey(TypeKey(type)), ns, std::move(object), opts);
  impl_->SyncJournal();
  return out;
}

Json Store::Get(const ResourceType& type, std::string_view ns, std::string_view name) const {
  auto o = TryGet(type, ns, name);
  if (!o) throw StatusError::NotFound(type.GroupResource(), name);
  return *o;
}

std::optional<Json> Store::TryGet(const ResourceType& type, std::string_view ns,
                                  std::string_view name) const {
  std::shared_lock lock(impl_->mu);
  ObjPtr o = impl_->Find(TypeKey(type), ObjKey(type.namespaced ? ns : "", name));
  if (!o) return std::nullopt;
  return *o;
}

ListResult Store::List(const ResourceType& type, std::string_view ns, const ListOptions& opts) const {
  LabelSelector labels = LabelSelector::Parse(opts.label_selector);
  FieldSelector fields = FieldSelector::Parse(opts.field_selector);
  std::shared_lock lock(impl_->mu);
  ListResult out;
  out.resource_version = std::to_string(impl_->rv);
  std::string start;
  if (!opts.continue_token.empty()) {
    auto c = impl_->DecodeContinue(opts.continue_token);
    if (c.rv < impl_->oldest_watchable) {
      throw StatusError::Expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a "
          "new "
          "list without the continue parameter.");
    }
    start = c.start;
    out.resource_version = std::to_string(c.rv);
  }
  auto bucket_it = impl_->objects.find(TypeKey(type));
  if (bucket_it == impl_->objects.end()) return out;
  const auto& bucket = bucket_it->second;
  std::string prefix = (type.namespaced && !ns.empty()) ? std::string(ns) + "/" : "";
  // Narrow by metadata.namespace / metadata.name field selectors when given as equalities.
  if (type.namespaced && ns.empty()) {
    if (auto v = fields.EqualityValue("metadata.namespace")) prefix = *v + "/";
  }
  auto it = start.empty() ? bucket.lower_bound(prefix) : bucket.upper_bound(start);
  if (!start.empty() && it != bucket.end() && it->first < prefix) it = bucket.lower_bound(prefix);
  int64_t remaining = 0;
  std::string last;
  for (; it != bucket.end(); ++it) {
    if (!prefix.empty() && it->first.compare(0, prefix.size(), prefix) != 0) break;
    const Json& obj = *it->second;
    if (!labels.empty()) {
      const Json& m = Meta(obj);
      auto l = m.find("labels");
      if (!labels.Matches(l != m.end() ? *l : Json())) continue;
    }
    if (!fields.empty() && !fields.Matches(obj)) continue;
    if (opts.limit > 0 && static_cast<int64_t>(out.items.size()) >= opts.limit) {
      ++remaining;
      continue;
    }
    out.items.push_back(obj);
    last = it->first;
  }
  if (remaining > 0) {
    out.continue_token = impl_->EncodeContinue(std::stoll(out.resource_version), last);
    out.remaining_item_count = remaining;
  }
  return out;
}

Json Store::Update(const ResourceType& type, std::string_view ns, std::string_view name, Json object,
                   bool status, const WriteOptions& opts) {
  std::unique_lock lock(impl_->mu);
  const ResourceType* t = impl_->TypeByKey(TypeKey(type));
  if (!t) throw StatusError(404, "NotFound", "the server could not find the requested resource");
  Json out = impl_->UpdateLocked(*t, ns, name, std::move(object), status, opts);
  impl_->SyncJournal();
  return out;
}

Json Store::Patch(const ResourceType& type, std::string_view ns, std::string_view name, PatchType patch_type,
                  const Json& patch, bool status, const WriteOptions& opts) {
  std::unique_lock lock(impl_->mu);
  const ResourceType* tp = impl_->TypeByKey(TypeKey(type));
  if (!tp) throw StatusError(404, "NotFound", "the server could not find the requested resource");
  ResourceType t = *tp;
  std::string nsn = type.namespaced ? std::string(ns) : "";
  ObjPtr cur = impl_->Find(TypeKey(t), ObjKey(nsn, name));
  if (!cur) {
    if (patch_type == PatchType::kApply && !status) {
      Json obj = patch;
      if (obj.is_object()) obj["metadata"]["name"] = std::string(name);
      Json out = impl_->CreateLocked(t, ns, std::move(obj), opts);
      impl_->SyncJournal();
      return out;
    }
    throw StatusError::NotFound(t.GroupResource(), name);
  }
  Json next;
  switch (patch_type) {
    case PatchType::kJson:
      next = ApplyJsonPatch(*cur, patch);
      break;
    case PatchType::kMerge:
      if (!patch.is_object()) throw StatusError::BadRequest("merge patch must be a JSON object");
      next = ApplyMergePatch(*cur, patch);
      break;
    case PatchType::kStrategicMerge:
      if (t.custom) {
        throw StatusError::UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
      }
      next = ApplyStrategicMergePatch(*cur, patch);
      break;
    case PatchType::kApply:
      if (!patch.is_object()) throw StatusError::BadRequest("apply patch must be an object");
      next = t.custom ? ApplyMergePatch(*cur, patch) : ApplyStrategicMergePatch(*cur, patch);
      break;
  }
  if (!next.is_object()) throw StatusError(422, "Invalid", "the patch did not produce an object");
  // A patch that does not mention resourceVersion is unconditional.
  std::string patch_rv;
  if (patch.is_object() && patch.contains("metadata") && patch["metadata"].is_object()) {
    patch_rv = patch["metadata"].value("resourceVersion", "");
  }
  Json& nm = next["metadata"];
  if (patch_type == PatchType::kJson) {
    patch_rv = nm.value("resourceVersion", "");
    if (patch_rv == Meta(*cur).value("resourceVersion", "")) patch_rv.clear();
  }
  nm["resourceVersion"] = patch_rv.empty() ? Meta(*cur).value("resourceVersion", "") : patch_rv;
  Json out = impl_->UpdateLocked(t, ns, name, std::move(next), status, opts);
  impl_->SyncJournal();
  return out;
}

Json Store::Mutate(const ResourceType& type, std::string_view ns, std::string_view name,
                   const std::function<bool(Json&)>& mutate, bool status) {
  for (int attempt = 0;; ++attempt) {
    Json obj = Get(type, ns, name);
    if (!mutate(obj)) return obj;
    try {
      return Update(type, ns, name, std::move(obj), status);
    } catch (const StatusError& e) {
      if (e.code() != 409 || attempt >= 20) throw;
    }
  }
}

Json Store::Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                   const DeleteOptions& opts) {
  std::unique_lock lock(impl_->mu);
  const ResourceType* tp = impl_->TypeByKey(TypeKey(type));
  if (!tp) throw StatusError(404, "NotFound", "the server could not find the requested resource");
  ResourceType t = *tp;
  std::string tkey = TypeKey(t);
  std::string okey = ObjKey(t.namespaced ? ns : "", name);
  ObjPtr cur = impl_->Find(tkey, okey);
  if (!cur) throw StatusError::NotFound(t.GroupResource(), name);
  const Json& m = Meta(*cur);
  if (opts.precondition_uid && *opts.precondition_uid != m.value("uid", "")) {
    throw StatusError::Conflict(t.GroupResource(), name,
                                "Precondition failed: UID in precondition: " + *opts.precondition_uid +
                                    ", UID in object meta: " + m.value("uid", ""));
  }
  if (opts.precondition_resource_version &&
      *opts.precondition_resource_version != m.value("resourceVersion", "")) {
    throw StatusError::Conflict(
        t.GroupResource(), name,
        "Precondition failed: ResourceVersion in precondition: " + *opts.precondition_resource_version +
            ", ResourceVersion in object meta: " + m.value("resourceVersion", ""));
  }
  if (!opts.propagation_policy.empty() && opts.propagation_policy != "Orphan" &&
      opts.propagation_policy != "Background" && opts.propagation_policy != "Foreground") {
    throw StatusError::BadRequest("propagationPolicy must be one of Orphan, Background, Foreground; got \"" +
                                  opts.propagation_policy + "\"");
  }
  if (opts.dry_run) return *cur;
  Json out = impl_->DeleteLocked(t, tkey, okey, cur, opts.propagation_policy, opts.grace_period_seconds);
  impl_->SyncJournal();
  return out;
}

std::vector<Json> Store::DeleteCollection(const ResourceType& type, std::string_view ns,
                                          const ListOptions& sel, const DeleteOptions& opts) {
  ListOptions all = sel;
  all.limit = 0;
  all.continue_token.clear();
  auto list = List(type, ns, all);
  std::vector<Json> out;
  for (const auto& item : list.items) {
    try {
      out.push_back(Delete(type, MetaString(item, "namespace"), MetaString(item, "name"), opts));
    } catch (const StatusError& e) {
      if (e.code() != 404) throw;
    }
  }
  return out;
}

std::shared_ptr<WatchStream> Store::Watch(const ResourceType& type, std::string_view ns,
                                          const WatchOptions& opts) {
  LabelSelector labels = LabelSelector::Parse(opts.label_selector);
  FieldSelector fields = FieldSelector::Parse(opts.field_selector);
  std::string name = opts.name;
  if (name.empty()) {
    if (auto v = fields.EqualityValue("metadata.name")) name = *v;
  }
  std::unique_lock lock(impl_->mu);
  const ResourceType* tp = impl_->TypeByKey(TypeKey(type));
  if (!tp) throw StatusError(404, "NotFound", "the server could not find the requested resource");
  std::string tkey = TypeKey(*tp);
  auto w = std::make_shared<WatcherImpl>(
      tkey, tp->namespaced ? std::string(ns) : "", std::move(labels), std::move(fields), name,
      opts.allow_bookmarks, impl_->options.bookmark_interval, impl_->current_rv, tp->ApiVersion(), tp->kind);
  if (opts.resource_version.empty() || opts.resource_version == "0") {
    auto b = impl_->objects.find(tkey);
    if (b != impl_->objects.end()) {
      for (const auto& [k, o] : b->second) {
        if (w->Matches(*o)) w->Push(WatchEvent{"ADDED", *o});
      }
    }
  } else {
    int64_t from;
    try {
      from = std::stoll(opts.resource_version);
    } catch (const std::exception&) {
      throw StatusError::BadRequest("invalid resourceVersion \"" + opts.resource_version + "\"");
    }
    if (from < impl_->oldest_watchable) {
      throw StatusError::Gone("too old resource version: " + opts.resource_version + " (" +
                              std::to_string(impl_->oldest_watchable + 1) + ")");
    }
    // Replay the kept events after `from`.
    auto it = std::upper_bound(impl_->events.begin(), impl_->events.end(), from,
                               [](int64_t v, const Event& e) { return v < e.rv; });
    for (; it != impl_->events.end(); ++it) {
      if (it->type_key == tkey) w->Offer(*it);
    }
  }
  impl_->watchers.push_back(w);
  return w;
}

namespace {
class SubscriptionImpl : public Store::Subscription {
 public:
  SubscriptionImpl(Store& store, ResourceType type, std::string ns, std::function<void(const WatchEvent&)> fn,
                   WatchOptions opts)
      : store_(store),
        type_(std::move(type)),
        ns_(std::move(ns)),
        fn_(std::move(fn)),
        opts_(std::move(opts)) {
    stream_ = store_.Watch(type_, ns_, opts_);
    thread_ = std::thread([this] { Run(); });
  }
  ~SubscriptionImpl() override {
    stop_ = true;
    {
      std::lock_guard lock(mu_);
      if (stream_) stream_->Stop();
    }
    thread_.join();
  }

 private:
  void Run() {
    std::string last_rv;
    while (!stop_) {
      std::shared_ptr<WatchStream> s;
      {
        std::lock_guard lock(mu_);
        s = stream_;
      }
      auto e = s->Next(std::chrono::milliseconds(200));
      if (e) {
        if (e->type != "BOOKMARK") fn_(*e);
        if (e->object.is_object()) last_rv = MetaString(e->object, "resourceVersion");
        continue;
      }
      if (!s->closed() || stop_) continue;
      // Dropped (slow consumer): resume from the last event seen, or start over.
      WatchOptions o = opts_;
      o.resource_version = last_rv;
      std::shared_ptr<WatchStream> next;
      try {
        next = store_.Watch(type_, ns_, o);
      } catch (const StatusError&) {
        o.resource_version.clear();
        try {
          next = store_.Watch(type_, ns_, o);
        } catch (const StatusError&) {
          return;  // the type is gone
        }
      }
      std::lock_guard lock(mu_);
      stream_ = next;
    }
  }

  Store& store_;
  ResourceType type_;
  std::string ns_;
  std::function<void(const WatchEvent&)> fn_;
  WatchOptions opts_;
  std::mutex mu_;
  std::shared_ptr<WatchStream> stream_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};
}  // namespace

std::unique_ptr<Store::Subscription> Store::Subscribe(const ResourceType& type, std::string_view ns,
                                                      std::function<void(const WatchEvent&)> on_event,
                                                      const WatchOptions& opts) {
  return std::make_unique<SubscriptionImpl>(*this, type, std::string(ns), std::move(on_event), opts);
}

int64_t Store::ResourceVersion() const {
  std::shared_lock lock(impl_->mu);
  return impl_->rv;
}

int64_t Store::OldestWatchableResourceVersionForTest() const {
  std::shared_lock lock(impl_->mu);
  return impl_->oldest_watchable;
}

void Store::Compact() {
  std::unique_lock lock(impl_->mu);
  if (impl_->journal) {
    impl_->journal->Sync();
    impl_->Snapshot();
  }
}

size_t Store::ObjectCountForTest() const {
  std::shared_lock lock(impl_->mu);
  size_t n = 0;
  for (const auto& [k, b] : impl_->objects) n += b.size();
  return n;
}

}  // namespace hoist::lab

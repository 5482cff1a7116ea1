#pragma once
// An in-memory KubeClient for the reconciler's unit tests: objects by resource/namespace/name with
// uids, resourceVersions (409 on a stale one, in updates and in patches that carry one), merge and
// strategic-merge patches (the same for the fields the controller patches), deletes with a uid
// precondition, the status subresource when the test says it is served, injected failures, and a log
// of every write. No watches: tests refresh the reconciler's cache explicitly, which is how they
// control staleness. The real API semantics are exercised against the lab in tests/integration.
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "kube/errors.h"
#include "kube/informer.h"
#include "kube/kube_client.h"
#include "kube/objects.h"

namespace hoist::controller::testing {

class FakeKube : public kube::KubeClient {
 public:
  using Json = nlohmann::json;

  Json Get(const kube::ResourceType& type, std::string_view ns, std::string_view name,
           std::string_view subresource = "") override {
    (void)subresource;
    Record("get", type, ns, name);
    MaybeFail("get", type);
    auto it = objects_.find(Key(type, ns, name));
    if (it == objects_.end()) throw NotFound(type, name);
    return it->second;
  }

  kube::ListResult List(const kube::ResourceType& type, std::string_view ns,
                        const kube::ListOptions& options = {}) override {
    (void)options;
    Record("list", type, ns, "");
    kube::ListResult r;
    for (const auto& [k, obj] : objects_) {
      if (k.rfind(Prefix(type), 0) == 0 && (ns.empty() || kube::Namespace(obj) == ns)) r.items.push_back(obj);
    }
    r.resource_version = std::to_string(rv_);
    return r;
  }

  Json Create(const kube::ResourceType& type, std::string_view ns, const Json& object) override {
    Json obj = object;
    std::string n = ns.empty() ? kube::Namespace(obj) : std::string(ns);
    if (type.namespaced) obj["metadata"]["namespace"] = n;
    std::string name = kube::Name(obj);
    if (name.empty() && obj["metadata"].contains("generateName")) {
      name = obj["metadata"]["generateName"].get<std::string>() + std::to_string(++generated_);
      obj["metadata"]["name"] = name;
    }
    Record("create", type, n, name);
    MaybeFail("create", type);
    std::string key = Key(type, n, name);
    if (objects_.count(key) != 0) {
      throw kube::ApiError(409, kube::Reason::kAlreadyExists, "already exists",
                           type.plural + " \"" + name + "\" already exists");
    }
    obj["apiVersion"] = type.ApiVersion();
    obj["kind"] = type.kind;
    obj["metadata"]["uid"] = "uid-" + std::to_string(++uids_);
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
    if (!obj["metadata"].contains("generation")) obj["metadata"]["generation"] = 1;
    if (type.plural == "pods" && !obj.contains("status")) obj["status"] = {{"phase", "Pending"}};
    objects_[key] = obj;
    return obj;
  }

  Json Update(const kube::ResourceType& type, const Json& object) override {
    Record("update", type, kube::Namespace(object), kube::Name(object));
    MaybeFail("update", type);
    return Store(type, object, "");
  }

  Json UpdateStatus(const kube::ResourceType& type, const Json& object) override {
    Record("update/status", type, kube::Namespace(object), kube::Name(object));
    MaybeFail("update", type);
    return Store(type, object, "status");
  }

  Json Patch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
             kube::PatchType patch_type, const Json& patch, std::string_view subresource = "") override {
    Record(subresource.empty() ? "patch" : "patch/" + std::string(subresource), type, ns, name);
    patches.push_back({type.plural + (subresource.empty() ? "" : "/" + std::string(subresource)),
                       std::string(ns) + "/" + std::string(name), patch_type, patch});
    MaybeFail("patch", type);
    if (patch_type == kube::PatchType::kJson) throw BugError("FakeKube does not do JSON patches");
    if (subresource == "status" && served_status_.count(type.plural) == 0) throw NotFound(type, name);
    auto it = objects_.find(Key(type, ns, name));
    if (it == objects_.end()) throw NotFound(type, name);
    Json next = it->second;
    Json p = patch;
    if (subresource == "status") {
      Json only = Json::object();
      if (p.contains("metadata")) only["metadata"] = p["metadata"];
      if (p.contains("status")) only["status"] = p["status"];
      p = only;
    }
    next.merge_patch(p);
    return Store(type, next, std::string(subresource));
  }

  Json Delete(const kube::ResourceType& type, std::string_view ns, std::string_view name,
              const kube::DeleteOptions& options = {}) override {
    Record("delete", type, ns, name);
    MaybeFail("delete", type);
    auto it = objects_.find(Key(type, ns, name));
    if (it == objects_.end()) throw NotFound(type, name);
    if (!options.precondition_uid.empty() && kube::Uid(it->second) != options.precondition_uid) {
      throw kube::ApiError(409, kube::Reason::kConflict, "uid precondition failed", "delete: uid mismatch");
    }
    Json gone = it->second;
    objects_.erase(it);
    return gone;
  }

  void WatchStream(const kube::ResourceType&, std::string_view, const kube::WatchOptions&,
                   const kube::WatchHandler&, std::stop_token) override {
    throw BugError("FakeKube has no watches");
  }

  bool Serves(const kube::ResourceType& type) override {
    std::string plural = type.plural;
    if (auto slash = plural.find('/'); slash != std::string::npos) {
      return served_status_.count(plural.substr(0, slash)) != 0;
    }
    return true;
  }

  // ---- test controls ----------------------------------------------------------------------------

  void ServeStatusSubresource(const std::string& plural) { served_status_.insert(plural); }
  // The next `count` calls of `verb` ("create", "patch", "delete", ...) on `plural` throw `error`.
  void FailNext(const std::string& verb, const std::string& plural, kube::ApiError error, int count = 1) {
    for (int i = 0; i < count; ++i) failures_.push_back({verb, plural, error});
  }
  // Writes an object as another actor would (uid/resourceVersion assigned when missing).
  Json Put(const kube::ResourceType& type, Json obj) {
    std::string key = Key(type, kube::Namespace(obj), kube::Name(obj));
    auto it = objects_.find(key);
    obj["apiVersion"] = type.ApiVersion();
    obj["kind"] = type.kind;
    if (!obj["metadata"].contains("uid")) {
      obj["metadata"]["uid"] = it != objects_.end() ? kube::Uid(it->second) : "uid-" + std::to_string(++uids_);
    }
    if (!obj["metadata"].contains("creationTimestamp")) obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    objects_[key] = obj;
    return obj;
  }
  // Changes an existing object in place, as another actor would.
  Json Mutate(const kube::ResourceType& type, std::string_view ns, std::string_view name,
              const std::function<void(Json&)>& fn) {
    auto it = objects_.find(Key(type, ns, name));
    if (it == objects_.end()) throw BugError("Mutate: no " + type.plural + " " + std::string(name));
    Json obj = it->second;
    fn(obj);
    return Put(type, obj);
  }
  void Remove(const kube::ResourceType& type, std::string_view ns, std::string_view name) {
    objects_.erase(Key(type, ns, name));
  }
  std::optional<Json> Find(const kube::ResourceType& type, std::string_view ns, std::string_view name) const {
    auto it = objects_.find(Key(type, ns, name));
    if (it == objects_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Json> All(const kube::ResourceType& type) const {
    std::vector<Json> out;
    for (const auto& [k, obj] : objects_) {
      if (k.rfind(Prefix(type), 0) == 0) out.push_back(obj);
    }
    return out;
  }
  void Fill(kube::Store& store, const kube::ResourceType& type) const { store.Replace(All(type)); }
  // Writes of one verb, e.g. Writes("create") → {"pods mig/populate-uid-1", ...}.
  std::vector<std::string> Writes(const std::string& verb) const {
    std::vector<std::string> out;
    for (const auto& l : log) {
      if (l.rfind(verb + " ", 0) == 0) out.push_back(l.substr(verb.size() + 1));
    }
    return out;
  }
  size_t WriteCount() const {
    size_t n = 0;
    for (const auto& l : log) n += (l.rfind("get ", 0) == 0 || l.rfind("list ", 0) == 0) ? 0 : 1;
    return n;
  }

  struct PatchRecord {
    std::string resource;
    std::string object;
    kube::PatchType type;
    Json body;
  };
  std::vector<std::string> log;
  std::vector<PatchRecord> patches;

 private:
  struct Failure {
    std::string verb;
    std::string plural;
    kube::ApiError error;
  };
  static std::string Prefix(const kube::ResourceType& type) { return type.group + "/" + type.plural + "|"; }
  static std::string Key(const kube::ResourceType& type, std::string_view ns, std::string_view name) {
    return Prefix(type) + (type.namespaced ? std::string(ns) : std::string()) + "/" + std::string(name);
  }
  static kube::ApiError NotFound(const kube::ResourceType& type, std::string_view name) {
    return kube::ApiError(404, kube::Reason::kNotFound, "not found",
                          type.plural + " \"" + std::string(name) + "\" not found");
  }
  void Record(const std::string& verb, const kube::ResourceType& type, std::string_view ns, std::string_view name) {
    log.push_back(verb + " " + type.plural + " " + (ns.empty() ? "" : std::string(ns) + "/") + std::string(name));
  }
  void MaybeFail(const std::string& verb, const kube::ResourceType& type) {
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (it->verb == verb && it->plural == type.plural) {
        kube::ApiError e = it->error;
        failures_.erase(it);
        throw e;
      }
    }
  }
  Json Store(const kube::ResourceType& type, Json obj, const std::string& subresource) {
    std::string key = Key(type, kube::Namespace(obj), kube::Name(obj));
    auto it = objects_.find(key);
    if (it == objects_.end()) throw NotFound(type, kube::Name(obj));
    std::string want = kube::ResourceVersion(obj);
    if (!want.empty() && want != kube::ResourceVersion(it->second)) {
      throw kube::ApiError(409, kube::Reason::kConflict, "the object has been modified",
                           "Operation cannot be fulfilled on " + type.plural + " \"" + kube::Name(obj) +
                               "\": the object has been modified; please apply your changes to the latest version");
    }
    Json next = it->second;
    bool has_status = served_status_.count(type.plural) != 0;
    if (subresource == "status") {
      next["status"] = obj.contains("status") ? obj["status"] : Json::object();
    } else {
      Json keep_status = next.contains("status") ? next["status"] : Json();
      next = obj;
      if (has_status) {
        if (keep_status.is_null()) {
          next.erase("status");
        } else {
          next["status"] = keep_status;
        }
      }
      next["metadata"]["uid"] = kube::Uid(it->second);
    }
    next["metadata"]["resourceVersion"] = std::to_string(++rv_);
    it->second = next;
    return next;
  }

  std::map<std::string, Json> objects_;
  std::set<std::string> served_status_;
  std::vector<Failure> failures_;
  int64_t rv_ = 1000;
  int uids_ = 0;
  int generated_ = 0;
};

}  // namespace hoist::controller::testing

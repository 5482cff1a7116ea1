#include "unit/kube/fake_apiserver.h"

#include <chrono>
#include <random>

#include "kube/objects.h"
#include "kube/selectors.h"

namespace hoist::kube::testing {

namespace {

using nlohmann::json;

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

void SendJson(net::ResponseWriter& w, int status, const json& body) {
  net::Headers h;
  h.Set("Content-Type", "application/json");
  w.Send(status, h, body.dump());
}

void SendStatus(net::ResponseWriter& w, int code, const std::string& reason, const std::string& message) {
  SendJson(w, code,
           {{"kind", "Status"},
            {"apiVersion", "v1"},
            {"status", "Failure"},
            {"code", code},
            {"reason", reason},
            {"message", message}});
}

std::string RandomSuffix() {
  static std::mt19937 rng(42);
  static const char* chars = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < 5; ++i) s.push_back(chars[rng() % 27]);
  return s;
}

}  // namespace

FakeApiServer::FakeApiServer() {
  pki_ = net::GenerateCaAndServer("fake-apiserver-ca", "localhost", {"localhost"}, {"127.0.0.1"});
  net::HttpServerOptions options;
  options.tls_cert_pem = pki_.server.cert_pem;
  options.tls_key_pem = pki_.server.key_pem;
  server_ = std::make_unique<net::HttpServer>(
      options, [this](const net::ServerRequest& req, net::ResponseWriter& w) { Handle(req, w); });
  server_->Start();
}

FakeApiServer::~FakeApiServer() {
  CloseWatches();
  server_->Stop();
}

std::string FakeApiServer::url() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }

RestConfig FakeApiServer::Config() const {
  RestConfig config;
  config.server = url();
  config.tls.ca_pem = pki_.ca.cert_pem;
  config.token = kToken;
  config.qps = 0;
  config.timeout = std::chrono::milliseconds(10000);
  return config;
}

void FakeApiServer::FailNext(int count, int status, std::string body, std::string retry_after, bool watches) {
  std::lock_guard<std::mutex> l(mu_);
  fail_count_ = count;
  fail_status_ = status;
  fail_body_ = std::move(body);
  fail_retry_after_ = std::move(retry_after);
  fail_watches_ = watches;
}

void FakeApiServer::SetServesEventsV1(bool served) {
  std::lock_guard<std::mutex> l(mu_);
  serves_events_v1_ = served;
}

void FakeApiServer::CompactTo(int64_t rv) {
  std::lock_guard<std::mutex> l(mu_);
  compacted_ = rv;
}

void FakeApiServer::CloseWatches() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++watch_generation_;
  }
  cv_.notify_all();
}

int64_t FakeApiServer::current_rv() const {
  std::lock_guard<std::mutex> l(mu_);
  return rv_;
}

int FakeApiServer::open_watches() const {
  std::lock_guard<std::mutex> l(mu_);
  return open_watches_;
}

json FakeApiServer::Object(const std::string& collection, const std::string& ns,
                           const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = objects_.find(collection + "/" + ns + "/" + name);
  return it == objects_.end() ? json() : it->second;
}

size_t FakeApiServer::CountObjects(const std::string& plural) const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [key, obj] : objects_) {
    if (key.find("/" + plural + "/") != std::string::npos) ++n;
  }
  return n;
}

std::vector<std::string> FakeApiServer::RequestLog() const {
  std::lock_guard<std::mutex> l(mu_);
  return log_;
}

std::vector<json> FakeApiServer::Bodies(const std::string& method) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<json> out;
  for (const auto& [m, body] : bodies_) {
    if (m == method) out.push_back(body);
  }
  return out;
}

std::vector<std::string> FakeApiServer::ContentTypes() const {
  std::lock_guard<std::mutex> l(mu_);
  return content_types_;
}

void FakeApiServer::Handle(const net::ServerRequest& req, net::ResponseWriter& w) {
  if (req.headers.Get("Authorization") != std::string("Bearer ") + kToken) {
    SendStatus(w, 401, "Unauthorized", "Unauthorized");
    return;
  }
  bool is_watch = req.Query("watch") == "true";
  {
    std::lock_guard<std::mutex> l(mu_);
    log_.push_back(req.method + " " + req.target);
    if (!req.body.empty()) {
      bodies_.emplace_back(req.method, json::parse(req.body, nullptr, false));
      content_types_.push_back(req.headers.Get("Content-Type"));
    }
    if (fail_count_ > 0 && (fail_watches_ ? is_watch : !is_watch)) {
      --fail_count_;
      net::Headers h;
      h.Set("Content-Type", "application/json");
      if (!fail_retry_after_.empty()) h.Set("Retry-After", fail_retry_after_);
      w.Send(fail_status_, h, fail_body_);
      return;
    }
  }

  std::vector<std::string> segs = Split(req.path);
  std::string gv;
  size_t i = 0;
  if (segs.size() >= 2 && segs[0] == "api") {
    gv = "/" + segs[1];
    i = 2;
  } else if (segs.size() >= 3 && segs[0] == "apis") {
    gv = segs[1] + "/" + segs[2];
    i = 3;
  } else {
    SendStatus(w, 404, "NotFound", "the server could not find the requested resource");
    return;
  }
  if (i == segs.size()) {  // discovery
    std::lock_guard<std::mutex> l(mu_);
    if (gv == "events.k8s.io/v1" && !serves_events_v1_) {
      net::Headers h;
      h.Set("Content-Type", "text/plain");
      w.Send(404, h, "404 page not found\n");
      return;
    }
    json resources = json::array();
    for (const char* plural : {"pods", "persistentvolumeclaims", "persistentvolumes", "events", "configmaps",
                               "secrets", "namespaces", "leases"}) {
      resources.push_back({{"name", plural}});
    }
    SendJson(w, 200, {{"kind", "APIResourceList"}, {"groupVersion", gv}, {"resources", resources}});
    return;
  }
  std::string ns, plural, name, sub;
  std::vector<std::string> rest(segs.begin() + static_cast<long>(i), segs.end());
  if (rest[0] == "namespaces" && rest.size() >= 3) {
    ns = rest[1];
    plural = rest[2];
    if (rest.size() > 3) name = rest[3];
    if (rest.size() > 4) sub = rest[4];
  } else {
    plural = rest[0];
    if (rest.size() > 1) name = rest[1];
    if (rest.size() > 2) sub = rest[2];
  }
  std::string collection = gv + "/" + plural;
  std::string key = collection + "/" + ns + "/" + name;

  if (req.method == "GET" && name.empty() && is_watch) {
    Watch(req, w, collection, ns);
    return;
  }
  std::unique_lock<std::mutex> l(mu_);
  auto record = [&](const std::string& type, const json& obj) {
    history_.push_back(Event{rv_, type, collection, ns, obj});
    cv_.notify_all();
  };
  if (req.method == "GET" && !name.empty()) {
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      SendStatus(w, 404, "NotFound", plural + " \"" + name + "\" not found");
      return;
    }
    SendJson(w, 200, it->second);
    return;
  }
  if (req.method == "GET") {
    std::string cont = req.Query("continue");
    size_t offset = 0;
    if (!cont.empty()) {
      int64_t token_rv = std::stoll(cont.substr(0, cont.find(':')));
      offset = std::stoul(cont.substr(cont.find(':') + 1));
      if (token_rv < compacted_) {
        SendStatus(w, 410, "Expired", "The provided continue parameter is too old");
        return;
      }
    }
    LabelSelector selector = LabelSelector::Parse(req.Query("labelSelector"));
    std::string field = req.Query("fieldSelector");
    std::vector<json> matching;
    std::string prefix = collection + "/" + (ns.empty() ? "" : ns + "/");
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.rfind(prefix, 0) == 0;
         ++it) {
      if (!selector.Matches(Labels(it->second))) continue;
      if (field.rfind("metadata.name=", 0) == 0 && Name(it->second) != field.substr(14)) continue;
      matching.push_back(it->second);
    }
    size_t limit = req.HasQuery("limit") ? std::stoul(req.Query("limit")) : matching.size();
    json items = json::array();
    for (size_t k = offset; k < matching.size() && k < offset + limit; ++k) items.push_back(matching[k]);
    json list = {
        {"kind", "List"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", std::to_string(rv_)}}}};
    if (offset + limit < matching.size()) {
      list["metadata"]["continue"] = std::to_string(rv_) + ":" + std::to_string(offset + limit);
      list["metadata"]["remainingItemCount"] = matching.size() - offset - limit;
    }
    list["items"] = items;
    SendJson(w, 200, list);
    return;
  }
  json body = json::parse(req.body, nullptr, false);
  if (req.method == "POST") {
    std::string obj_name = Name(body);
    if (obj_name.empty()) obj_name = StringAt(body, {"metadata", "generateName"}) + RandomSuffix();
    key = collection + "/" + ns + "/" + obj_name;
    if (objects_.count(key) > 0) {
      SendStatus(w, 409, "AlreadyExists", plural + " \"" + obj_name + "\" already exists");
      return;
    }
    ++rv_;
    body["metadata"]["name"] = obj_name;
    if (!ns.empty()) body["metadata"]["namespace"] = ns;
    body["metadata"]["uid"] = "uid-" + std::to_string(rv_);
    body["metadata"]["resourceVersion"] = std::to_string(rv_);
    objects_[key] = body;
    record("ADDED", body);
    SendJson(w, 201, body);
    return;
  }
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    SendStatus(w, 404, "NotFound", plural + " \"" + name + "\" not found");
    return;
  }
  if (req.method == "PUT") {
    std::string rv = ResourceVersion(body);
    if (!rv.empty() && rv != ResourceVersion(it->second)) {
      SendStatus(
          w, 409, "Conflict",
          "Operation cannot be fulfilled on " + plural + " \"" + name +
              "\": the object has been modified; please apply your changes to the latest version and try "
              "again");
      return;
    }
    json updated = it->second;
    if (sub == "status") {
      updated["status"] = body["status"];
    } else {
      updated = body;
      updated["metadata"]["uid"] = it->second["metadata"]["uid"];
    }
    ++rv_;
    updated["metadata"]["resourceVersion"] = std::to_string(rv_);
    it->second = updated;
    record("MODIFIED", updated);
    SendJson(w, 200, updated);
    return;
  }
  if (req.method == "PATCH") {
    json updated = it->second;
    if (req.headers.Get("Content-Type") == "application/json-patch+json") {
      updated = updated.patch(body);
    } else {
      updated.merge_patch(body);
    }
    ++rv_;
    updated["metadata"]["resourceVersion"] = std::to_string(rv_);
    it->second = updated;
    record("MODIFIED", updated);
    SendJson(w, 200, updated);
    return;
  }
  if (req.method == "DELETE") {
    if (body.is_object() && body.contains("preconditions")) {
      const json& pre = body["preconditions"];
      if ((pre.contains("uid") && pre["uid"] != it->second["metadata"]["uid"]) ||
          (pre.contains("resourceVersion") &&
           pre["resourceVersion"] != it->second["metadata"]["resourceVersion"])) {
        SendStatus(w, 409, "Conflict", "Precondition failed for " + plural + " \"" + name + "\"");
        return;
      }
    }
    json removed = it->second;
    objects_.erase(it);
    ++rv_;
    removed["metadata"]["resourceVersion"] = std::to_string(rv_);
    record("DELETED", removed);
    SendJson(w, 200, removed);
    return;
  }
  SendStatus(w, 405, "MethodNotAllowed", "method not allowed");
}

void FakeApiServer::Watch(const net::ServerRequest& req, net::ResponseWriter& w,
                          const std::string& collection, const std::string& ns) {
  std::string from_text = req.Query("resourceVersion");
  bool bookmarks = req.Query("allowWatchBookmarks") == "true";
  int timeout_s = req.HasQuery("timeoutSeconds") ? std::stoi(req.Query("timeoutSeconds")) : 1800;
  LabelSelector selector = LabelSelector::Parse(req.Query("labelSelector"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int64_t from;
  uint64_t generation;
  {
    std::lock_guard<std::mutex> l(mu_);
    from = (from_text.empty() || from_text == "0") ? rv_ : std::stoll(from_text);
    generation = watch_generation_;
    ++open_watches_;
  }
  net::Headers h;
  h.Set("Content-Type", "application/json");
  w.StartChunked(200, h);
  if (from < compacted_) {
    json status = {{"kind", "Status"},    {"apiVersion", "v1"},
                   {"status", "Failure"}, {"code", 410},
                   {"reason", "Expired"}, {"message", "too old resource version: " + from_text}};
    w.WriteChunk(json({{"type", "ERROR"}, {"object", status}}).dump() + "\n");
    w.Finish();
    std::lock_guard<std::mutex> l(mu_);
    --open_watches_;
    return;
  }
  int64_t sent = from;
  bool bookmark_due = false;
  while (true) {
    std::vector<std::string> chunks;
    {
      std::unique_lock<std::mutex> l(mu_);
      bool has_new = !history_.empty() && history_.back().rv > sent;
      if (!has_new && generation == watch_generation_) {
        bookmark_due = !cv_.wait_for(l, std::chrono::milliseconds(200), [&] {
          return (!history_.empty() && history_.back().rv > sent) || generation != watch_generation_;
        });
      }
      if (generation != watch_generation_) break;
      for (const auto& ev : history_) {
        if (ev.rv <= sent) continue;
        sent = ev.rv;
        if (ev.collection != collection || (!ns.empty() && ev.ns != ns)) continue;
        if (!selector.Matches(Labels(ev.object))) continue;
        chunks.push_back(json({{"type", ev.type}, {"object", ev.object}}).dump() + "\n");
      }
      if (chunks.empty() && bookmark_due && bookmarks) {
        sent = rv_;
        chunks.push_back(
            json({{"type", "BOOKMARK"},
                  {"object",
                   {{"kind", "Bookmark"}, {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}}})
                .dump() +
            "\n");
      }
    }
    bool ok = true;
    for (const auto& c : chunks) ok = ok && w.WriteChunk(c);
    if (!ok || w.ClientGone() || w.ServerStopping() || std::chrono::steady_clock::now() > deadline) break;
  }
  w.Finish();
  std::lock_guard<std::mutex> l(mu_);
  --open_watches_;
}

}  // namespace hoist::kube::testing

#include "lab/apiserver.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <vector>

#include "core/log.h"
#include "lab/apiserver_table.h"
#include "lab/apiserver_yaml.h"
#include "lab/discovery.h"
#include "net/http_server.h"

namespace hoist::lab {
namespace {

using nlohmann::json;

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

bool Truthy(const std::string& v) { return v == "true" || v == "1"; }

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

StatusError NotFoundPath() { return StatusError(404, "NotFound", "the server could not find the requested resource"); }

// What the client asked for in Accept.
struct Encoding {
  bool yaml = false;
  bool table = false;
  std::string include_object = "Metadata";
};

Encoding ParseAccept(const net::ServerRequest& req) {
  Encoding e;
  std::string accept = req.headers.Get("Accept");
  // The first acceptable media type decides between YAML and JSON.
  std::string first = accept.substr(0, accept.find(','));
  e.yaml = first.find("application/yaml") != std::string::npos;
  e.table = first.find("as=Table") != std::string::npos;
  e.include_object = req.Query("includeObject", "Metadata");
  return e;
}

struct Route {
  std::string group{};
  std::string version{};
  std::string ns{};
  std::string resource{};
  std::string name{};
  std::string sub{};
  bool legacy_watch = false;
};

}  // namespace

struct ApiServer::Impl {
  Impl(Store& s, ApiServerOptions o) : store(s), options(std::move(o)) {}

  Store& store;
  ApiServerOptions options;
  std::unique_ptr<net::HttpServer> server;
  std::mutex log_mu;
  std::shared_ptr<PodLogSource> log_source;

  // ---- responses

  void SendJson(net::ResponseWriter& w, int code, const json& body, const Encoding& enc) {
    net::Headers h;
    if (enc.yaml) {
      h.Add("Content-Type", "application/yaml");
      w.Send(code, h, JsonToYaml(body));
    } else {
      h.Add("Content-Type", "application/json");
      w.Send(code, h, body.dump());
    }
  }

  void SendStatus(net::ResponseWriter& w, const StatusError& e, const Encoding& enc) {
    SendJson(w, e.code(), e.ToStatus(), enc);
  }

  json DecodeBody(const net::ServerRequest& req) {
    std::string ct = req.headers.Get("Content-Type");
    if (ct.find("protobuf") != std::string::npos || ct.find("cbor") != std::string::npos) {
      throw StatusError::UnsupportedMediaType("the body of the request was in an unknown format - accepted media types "
                                              "include: application/json, application/yaml");
    }
    if (req.body.empty()) throw StatusError::BadRequest("the request body is empty");
    if (ct.find("yaml") != std::string::npos) return YamlToJson(req.body);
    try {
      return json::parse(req.body);
    } catch (const std::exception& e) {
      // kubectl sometimes sends YAML without saying so; JSON is YAML, so try that.
      try {
        return YamlToJson(req.body);
      } catch (const StatusError&) {
        throw StatusError::BadRequest(std::string("the body of the request could not be decoded: ") + e.what());
      }
    }
  }

  // ---- output shaping

  // Custom resources answer in the version the client asked for (conversion strategy None).
  static void SetVersion(const ResourceType& t, const std::string& version, json& obj) {
    if (t.custom && version != t.version && obj.is_object()) obj["apiVersion"] = t.group + "/" + version;
  }

  json ObjectOut(const ResourceType& t, const Route& r, json obj, const Encoding& enc) {
    SetVersion(t, r.version, obj);
    if (enc.table && r.sub.empty()) return MakeTable(t, {obj}, Now(), enc.include_object);
    return obj;
  }

  // ---- dispatch

  void Handle(const net::ServerRequest& req, net::ResponseWriter& w) {
    Encoding enc = ParseAccept(req);
    auto started = std::chrono::steady_clock::now();
    int code = 200;
    try {
      code = Serve(req, w, enc);
    } catch (const StatusError& e) {
      code = e.code();
      SendStatus(w, e, enc);
    } catch (const hoist::Error& e) {
      code = 500;
      SendStatus(w, StatusError::Internal(e.what()), enc);
    } catch (const std::exception& e) {
      code = 500;
      SendStatus(w, StatusError::Internal(std::string("internal error: ") + e.what()), enc);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    log::Debug("lab.apiserver", "request",
               {{"method", req.method}, {"path", req.path}, {"code", code}, {"ms", static_cast<int64_t>(ms)}});
  }

  bool Authorized(const net::ServerRequest& req) {
    if (options.token.empty()) return true;
    std::string auth = req.headers.Get("Authorization");
    return auth == "Bearer " + options.token;
  }

  int Serve(const net::ServerRequest& req, net::ResponseWriter& w, Encoding& enc) {
    const std::string& path = req.path;
    if (path == "/healthz" || path == "/readyz" || path == "/livez") {
      net::Headers h;
      h.Add("Content-Type", "text/plain");
      w.Send(200, h, "ok");
      return 200;
    }
    if (!Authorized(req)) throw StatusError::Unauthorized();
    auto seg = Split(path);
    if (path == "/version") {
      SendJson(w, 200,
               {{"major", "1"},
                {"minor", "32"},
                {"gitVersion", options.git_version},
                {"gitCommit", "0000000000000000000000000000000000000000"},
                {"gitTreeState", "clean"},
                {"buildDate", "2026-01-01T00:00:00Z"},
                {"goVersion", "go1.23.0"},
                {"compiler", "gc"},
                {"platform", "linux/amd64"}},
               enc);
      return 200;
    }
    if (seg.empty()) {
      SendJson(w, 200, {{"paths", {"/api", "/api/v1", "/apis", "/healthz", "/version"}}}, enc);
      return 200;
    }
    auto types = store.Types();
    if (seg[0] == "openapi") {
      // v2 stays 404 (kubectl then uses its built-in knowledge); v3 is the minimal surface of discovery.h.
      if (seg.size() >= 2 && seg[1] == "v3") {
        if (seg.size() == 2) {
          SendJson(w, 200, OpenApiV3Root(types), enc);
          return 200;
        }
        std::optional<json> doc;
        if (seg.size() == 4 && seg[2] == "api") doc = OpenApiV3GroupVersion(types, "", seg[3]);
        if (seg.size() == 5 && seg[2] == "apis") doc = OpenApiV3GroupVersion(types, seg[3], seg[4]);
        if (doc) {
          SendJson(w, 200, *doc, enc);
          return 200;
        }
      }
      throw NotFoundPath();
    }
    if (seg[0] == "api") {
      if (seg.size() == 1) {
        SendJson(w, 200, CoreApiVersions(options.bind_address + ":" + std::to_string(server->port())), enc);
        return 200;
      }
      if (seg[1] != "v1") throw NotFoundPath();
      if (seg.size() == 2) {
        SendJson(w, 200, *ApiResourceList(types, "", "v1"), enc);
        return 200;
      }
      Route r{"", "v1"};
      return ServeResource(req, w, enc, r, std::vector<std::string>(seg.begin() + 2, seg.end()));
    }
    if (seg[0] == "apis") {
      if (seg.size() == 1) {
        SendJson(w, 200, ApiGroupList(types), enc);
        return 200;
      }
      if (seg.size() == 2) {
        auto g = ApiGroup(types, seg[1]);
        if (!g) throw NotFoundPath();
        SendJson(w, 200, *g, enc);
        return 200;
      }
      if (seg.size() == 3) {
        auto l = ApiResourceList(types, seg[1], seg[2]);
        if (!l) throw NotFoundPath();
        SendJson(w, 200, *l, enc);
        return 200;
      }
      Route r{seg[1], seg[2]};
      return ServeResource(req, w, enc, r, std::vector<std::string>(seg.begin() + 3, seg.end()));
    }
    throw NotFoundPath();
  }

  int ServeResource(const net::ServerRequest& req, net::ResponseWriter& w, Encoding& enc, Route r,
                    std::vector<std::string> rest) {
    if (!rest.empty() && rest[0] == "watch") {
      r.legacy_watch = true;
      rest.erase(rest.begin());
    }
    if (rest.empty()) throw NotFoundPath();
    if (rest[0] == "namespaces" && rest.size() >= 3 &&
        !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
      r.ns = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    }
    if (rest.size() > 3) throw NotFoundPath();
    r.resource = rest[0];
    if (rest.size() > 1) r.name = rest[1];
    if (rest.size() > 2) r.sub = rest[2];
    ResourceType t = store.MustType(r.group, r.resource);
    if (!t.Serves(r.version)) throw NotFoundPath();
    if (!t.namespaced && !r.ns.empty()) throw NotFoundPath();
    if (t.namespaced && r.ns.empty() && !r.name.empty()) throw NotFoundPath();
    if (!r.sub.empty()) {
      bool ok = (r.sub == "status" && t.has_status) || (r.sub == "log" && t.group.empty() && t.resource == "pods");
      if (!ok) throw NotFoundPath();
    }
    const std::string& m = req.method;
    bool dry_run = req.Query("dryRun") == "All";
    WriteOptions wopts{dry_run, req.Query("fieldManager")};

    if (r.name.empty()) {
      if (m == "GET" && (r.legacy_watch || Truthy(req.Query("watch")))) return ServeWatch(req, w, enc, t, r);
      if (m == "GET") return ServeList(req, w, enc, t, r);
      if (m == "POST") {
        json obj = DecodeBody(req);
        CheckKind(t, r, obj);
        json out = store.Create(t, r.ns, std::move(obj), wopts);
        SetVersion(t, r.version, out);
        SendJson(w, 201, out, enc);
        return 201;
      }
      if (m == "DELETE") {
        DeleteOptions d = ParseDeleteOptions(req);
        ListOptions sel;
        sel.label_selector = req.Query("labelSelector");
        sel.field_selector = req.Query("fieldSelector");
        auto items = store.DeleteCollection(t, r.ns, sel, d);
        json list = {{"kind", t.ListKind()},
                     {"apiVersion", t.group.empty() ? r.version : t.group + "/" + r.version},
                     {"metadata", {{"resourceVersion", std::to_string(store.ResourceVersion())}}},
                     {"items", items}};
        SendJson(w, 200, list, enc);
        return 200;
      }
      throw StatusError::MethodNotAllowed("the server does not allow this method on the requested resource");
    }

    if (r.sub == "log") return ServeLog(req, w, r);
    bool status = r.sub == "status";
    if (m == "GET") {
      if (r.legacy_watch) {
        return ServeWatch(req, w, enc, t, r);
      }
      json out = store.Get(t, r.ns, r.name);
      SendJson(w, 200, ObjectOut(t, r, std::move(out), enc), enc);
      return 200;
    }
    if (m == "PUT") {
      json obj = DecodeBody(req);
      CheckKind(t, r, obj);
      json out = store.Update(t, r.ns, r.name, std::move(obj), status, wopts);
      SetVersion(t, r.version, out);
      SendJson(w, 200, out, enc);
      return 200;
    }
    if (m == "PATCH") {
      std::string ct = req.headers.Get("Content-Type");
      PatchType pt;
      if (ct.find("application/json-patch+json") != std::string::npos) {
        pt = PatchType::kJson;
      } else if (ct.find("application/merge-patch+json") != std::string::npos) {
        pt = PatchType::kMerge;
      } else if (ct.find("application/strategic-merge-patch+json") != std::string::npos) {
        pt = PatchType::kStrategicMerge;
      } else if (ct.find("application/apply-patch") != std::string::npos) {
        pt = PatchType::kApply;
        if (req.Query("fieldManager").empty()) {
          throw StatusError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                                            "is required for apply patch");
        }
      } else {
        throw StatusError::UnsupportedMediaType("the body of the request was in an unknown format - accepted media "
                                                "types include: application/json-patch+json, "
                                                "application/merge-patch+json, application/apply-patch+yaml");
      }
      json patch = DecodeBody(req);
      bool existed = store.TryGet(t, r.ns, r.name).has_value();
      json out = store.Patch(t, r.ns, r.name, pt, patch, status, wopts);
      SetVersion(t, r.version, out);
      int code = (!existed && pt == PatchType::kApply) ? 201 : 200;
      SendJson(w, code, out, enc);
      return code;
    }
    if (m == "DELETE" && !status) {
      DeleteOptions d = ParseDeleteOptions(req);
      json out = store.Delete(t, r.ns, r.name, d);
      SetVersion(t, r.version, out);
      bool stays = store.TryGet(t, r.ns, r.name).has_value() && !d.dry_run;
      SendJson(w, stays ? 202 : 200, out, enc);
      return stays ? 202 : 200;
    }
    throw StatusError::MethodNotAllowed("the server does not allow this method on the requested resource");
  }

  void CheckKind(const ResourceType& t, const Route& r, const json& obj) {
    if (!obj.is_object()) throw StatusError::BadRequest("the body of the request was not a JSON object");
    std::string kind = obj.value("kind", "");
    if (!kind.empty() && kind != t.kind) {
      throw StatusError::BadRequest("the API version in the data (" + obj.value("apiVersion", "") +
                                    ") does not match the expected API version (" +
                                    (t.group.empty() ? r.version : t.group + "/" + r.version) + ") or kind " + kind +
                                    " is not " + t.kind);
    }
  }

  DeleteOptions ParseDeleteOptions(const net::ServerRequest& req) {
    DeleteOptions d;
    json body = json::object();
    if (!req.body.empty()) {
      try {
        body = DecodeBody(req);
      } catch (const StatusError&) {
        throw StatusError::BadRequest("the DeleteOptions in the request body could not be decoded");
      }
    }
    if (!body.is_object()) body = json::object();
    d.propagation_policy = req.Query("propagationPolicy", body.value("propagationPolicy", ""));
    if (d.propagation_policy.empty() && body.contains("orphanDependents")) {
      d.propagation_policy = body.value("orphanDependents", false) ? "Orphan" : "Background";
    }
    if (d.propagation_policy.empty() && req.HasQuery("orphanDependents")) {
      d.propagation_policy = Truthy(req.Query("orphanDependents")) ? "Orphan" : "Background";
    }
    std::string grace = req.Query("gracePeriodSeconds");
    if (!grace.empty()) {
      try {
        d.grace_period_seconds = std::stoll(grace);
      } catch (const std::exception&) {
        throw StatusError::BadRequest("gracePeriodSeconds must be an integer");
      }
    } else if (body.contains("gracePeriodSeconds") && body["gracePeriodSeconds"].is_number_integer()) {
      d.grace_period_seconds = body["gracePeriodSeconds"].get<int64_t>();
    }
    if (auto pre = body.find("preconditions"); pre != body.end() && pre->is_object()) {
      if (pre->contains("uid") && (*pre)["uid"].is_string()) d.precondition_uid = (*pre)["uid"].get<std::string>();
      if (pre->contains("resourceVersion") && (*pre)["resourceVersion"].is_string()) {
        d.precondition_resource_version = (*pre)["resourceVersion"].get<std::string>();
      }
    }
    d.dry_run = req.Query("dryRun") == "All";
    if (auto dr = body.find("dryRun"); dr != body.end() && dr->is_array()) {
      for (const auto& v : *dr) d.dry_run |= v == "All";
    }
    return d;
  }

  int ServeList(const net::ServerRequest& req, net::ResponseWriter& w, const Encoding& enc, const ResourceType& t,
                const Route& r) {
    ListOptions o;
    o.label_selector = req.Query("labelSelector");
    o.field_selector = req.Query("fieldSelector");
    o.continue_token = req.Query("continue");
    o.resource_version = req.Query("resourceVersion");
    std::string limit = req.Query("limit");
    if (!limit.empty()) {
      try {
        o.limit = std::stoll(limit);
      } catch (const std::exception&) {
        throw StatusError::BadRequest("limit must be an integer");
      }
    }
    ListResult res = store.List(t, r.ns, o);
    json meta = {{"resourceVersion", res.resource_version}};
    if (!res.continue_token.empty()) {
      meta["continue"] = res.continue_token;
      if (res.remaining_item_count >= 0) meta["remainingItemCount"] = res.remaining_item_count;
    }
    if (enc.table) {
      for (auto& i : res.items) SetVersion(t, r.version, i);
      json table = MakeTable(t, res.items, Now(), enc.include_object);
      table["metadata"] = meta;
      SendJson(w, 200, table, enc);
      return 200;
    }
    json items = json::array();
    for (auto& i : res.items) {
      SetVersion(t, r.version, i);
      items.push_back(std::move(i));
    }
    json list = {{"kind", t.ListKind()},
                 {"apiVersion", t.group.empty() ? r.version : t.group + "/" + r.version},
                 {"metadata", meta},
                 {"items", std::move(items)}};
    SendJson(w, 200, list, enc);
    return 200;
  }

  int ServeWatch(const net::ServerRequest& req, net::ResponseWriter& w, const Encoding& enc, const ResourceType& t,
                 const Route& r) {
    WatchOptions o;
    o.label_selector = req.Query("labelSelector");
    o.field_selector = req.Query("fieldSelector");
    o.resource_version = req.Query("resourceVersion");
    o.allow_bookmarks = Truthy(req.Query("allowWatchBookmarks"));
    o.name = r.name;
    bool initial_events = Truthy(req.Query("sendInitialEvents"));
    int64_t timeout_s = 1800;
    if (std::string ts = req.Query("timeoutSeconds"); !ts.empty()) {
      try {
        timeout_s = std::stoll(ts);
      } catch (const std::exception&) {
        throw StatusError::BadRequest("timeoutSeconds must be an integer");
      }
    }
    net::Headers h;
    h.Add("Content-Type", "application/json");
    std::vector<WatchEvent> initial;
    std::shared_ptr<WatchStream> stream;
    try {
      if (initial_events) {
        // sendInitialEvents: the current state as ADDED, a BOOKMARK marking its end, then changes.
        ListOptions lo;
        lo.label_selector = o.label_selector;
        lo.field_selector = o.field_selector;
        if (!r.name.empty()) lo.field_selector += std::string(lo.field_selector.empty() ? "" : ",") + "metadata.name=" + r.name;
        ListResult list = store.List(t, r.ns, lo);
        for (auto& i : list.items) initial.push_back(WatchEvent{"ADDED", std::move(i)});
        initial.push_back(WatchEvent{"BOOKMARK",
                                     {{"kind", t.kind},
                                      {"apiVersion", t.ApiVersion()},
                                      {"metadata",
                                       {{"resourceVersion", list.resource_version},
                                        {"annotations", {{"k8s.io/initial-events-end", "true"}}}}}}});
        o.resource_version = list.resource_version;
      }
      stream = store.Watch(t, r.ns, o);
    } catch (const StatusError& e) {
      if (e.code() != 410) throw;
      // kube-apiserver answers an expired watch with 200 and one ERROR event.
      w.StartChunked(200, h);
      w.WriteChunk(json({{"type", "ERROR"}, {"object", e.ToStatus()}}).dump() + "\n");
      w.Finish();
      return 200;
    }
    w.StartChunked(200, h);
    bool first_table = true;
    auto write_event = [&](const WatchEvent& e) {
      json obj = e.object;
      SetVersion(t, r.version, obj);
      if (enc.table && e.type != "BOOKMARK" && e.type != "ERROR") {
        obj = MakeTable(t, {obj}, Now(), enc.include_object, first_table);
        first_table = false;
      }
      return w.WriteChunk(json({{"type", e.type}, {"object", std::move(obj)}}).dump() + "\n");
    };
    for (const auto& e : initial) {
      if (!write_event(e)) return 200;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (!w.ServerStopping() && std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto e = stream->Next(std::min(left, std::chrono::milliseconds(500)));
      if (!e) {
        if (stream->closed() || w.ClientGone()) break;
        continue;
      }
      if (!write_event(*e)) break;
    }
    stream->Stop();
    w.Finish();
    return 200;
  }

  int ServeLog(const net::ServerRequest& req, net::ResponseWriter& w, const Route& r) {
    if (req.method != "GET") throw StatusError::MethodNotAllowed("pods/log supports GET only");
    json pod = store.Get(store.MustType("", "pods"), r.ns, r.name);
    PodLogSource::Options o;
    o.container = req.Query("container");
    o.follow = Truthy(req.Query("follow"));
    o.timestamps = Truthy(req.Query("timestamps"));
    o.previous = Truthy(req.Query("previous"));
    auto num = [&](const char* name) -> int64_t {
      std::string v = req.Query(name);
      if (v.empty()) return -1;
      try {
        return std::stoll(v);
      } catch (const std::exception&) {
        throw StatusError::BadRequest(std::string(name) + " must be an integer");
      }
    };
    o.tail_lines = num("tailLines");
    o.limit_bytes = num("limitBytes");
    o.since_seconds = num("sinceSeconds");
    std::vector<std::string> names;
    for (const auto& c : pod.value("spec", json::object()).value("containers", json::array())) {
      names.push_back(c.value("name", ""));
    }
    if (o.container.empty()) {
      if (names.size() != 1) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
        throw StatusError::BadRequest("a container name must be specified for pod " + r.name + ", choose one of: [" +
                                      list + "]");
      }
      o.container = names[0];
    } else if (std::find(names.begin(), names.end(), o.container) == names.end()) {
      bool init = false;
      for (const auto& c : pod["spec"].value("initContainers", json::array())) init |= c.value("name", "") == o.container;
      if (!init) {
        throw StatusError::BadRequest("container " + o.container + " is not valid for pod " + r.name);
      }
    }
    std::shared_ptr<PodLogSource> source;
    {
      std::lock_guard lock(log_mu);
      source = log_source;
    }
    if (!source) {
      throw StatusError::BadRequest("container \"" + o.container + "\" in pod \"" + r.name +
                                    "\" is waiting to start: no kubelet serves logs in this lab");
    }
    bool started = false;
    int64_t written = 0;
    auto start = [&] {
      if (started) return;
      net::Headers h;
      h.Add("Content-Type", "text/plain");
      w.StartChunked(200, h);
      started = true;
    };
    auto sink = [&](std::string_view data) {
      if (data.empty()) return !w.ClientGone();
      start();
      if (o.limit_bytes >= 0 && written + static_cast<int64_t>(data.size()) > o.limit_bytes) {
        data = data.substr(0, static_cast<size_t>(o.limit_bytes - written));
        if (!data.empty()) w.WriteChunk(data);
        written = o.limit_bytes;
        return false;
      }
      written += static_cast<int64_t>(data.size());
      return w.WriteChunk(data);
    };
    auto cancelled = [&] { return w.ServerStopping() || w.ClientGone(); };
    try {
      source->StreamLog(r.ns, r.name, o, sink, cancelled);
    } catch (const StatusError&) {
      if (started) {
        w.Finish();
        return 200;
      }
      throw;
    }
    if (!started) {
      net::Headers h;
      h.Add("Content-Type", "text/plain");
      w.Send(200, h, "");
      return 200;
    }
    w.Finish();
    return 200;
  }
};

ApiServer::ApiServer(Store& store, ApiServerOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(options))) {}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::Start() {
  net::HttpServerOptions o;
  o.bind_address = impl_->options.bind_address;
  o.port = impl_->options.port;
  o.tls_cert_pem = impl_->options.tls_cert_pem;
  o.tls_key_pem = impl_->options.tls_key_pem;
  Impl* impl = impl_.get();
  impl_->server = std::make_unique<net::HttpServer>(
      o, [impl](const net::ServerRequest& req, net::ResponseWriter& w) { impl->Handle(req, w); });
  impl_->server->Start();
  log::Info("lab.apiserver", "serving", {{"url", url()}});
}

void ApiServer::Stop() {
  if (impl_->server) impl_->server->Stop();
}

uint16_t ApiServer::port() const { return impl_->server ? impl_->server->port() : 0; }

std::string ApiServer::url() const {
  bool tls = !impl_->options.tls_cert_pem.empty();
  return std::string(tls ? "https://" : "http://") + impl_->options.bind_address + ":" + std::to_string(port());
}

void ApiServer::SetPodLogSource(std::shared_ptr<PodLogSource> source) {
  std::lock_guard lock(impl_->log_mu);
  impl_->log_source = std::move(source);
}

}  // namespace hoist::lab

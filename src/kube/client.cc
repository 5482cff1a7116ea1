#include "kube/client.h"

#include <algorithm>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/json_stream.h"
#include "kube/objects.h"
#include "net/tls.h"

namespace hoist::kube {

namespace {

constexpr int kMaxRetryAfterAttempts = 10;
constexpr std::chrono::seconds kMaxRetryAfter{60};

class Query {
 public:
  Query& Add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    text_ += text_.empty() ? "?" : "&";
    text_ += key;
    text_ += "=";
    text_ += net::UrlEncode(value);
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

std::string Describe(const ResourceType& type, std::string_view ns, std::string_view name) {
  std::string out = type.Name();
  if (!name.empty()) {
    out += " ";
    out += type.namespaced && !ns.empty() ? ObjectKey(ns, name) : std::string(name);
  } else if (type.namespaced && !ns.empty()) {
    out += " in namespace ";
    out += ns;
  }
  return out;
}

Json ParseBody(const std::string& body, std::string_view action) {
  if (body.empty()) return Json::object();
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    throw TransientError("kubernetes: " + std::string(action) +
                         ": the API server answered with invalid JSON");
  }
  return parsed;
}

std::string_view PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

WatchEvent::Type ParseEventType(std::string_view type) {
  if (type == "ADDED") return WatchEvent::Type::kAdded;
  if (type == "MODIFIED") return WatchEvent::Type::kModified;
  if (type == "DELETED") return WatchEvent::Type::kDeleted;
  if (type == "BOOKMARK") return WatchEvent::Type::kBookmark;
  return WatchEvent::Type::kError;
}

int RandomWatchTimeout() {
  static thread_local std::mt19937 rng(std::random_device{}());
  return std::uniform_int_distribution<int>(300, 600)(rng);
}

}  // namespace

Client::Client(RestConfig config) : config_(std::move(config)), limiter_(config_.qps, config_.burst) {
  if (config_.server.empty()) throw PreconditionError("kubernetes client: no API server URL configured");
  http_options_.tls = config_.tls;
  http_options_.user_agent = config_.user_agent;
  http_ = std::make_unique<net::HttpClient>(http_options_);
}

Client::~Client() { shutdown_.request_stop(); }

void Client::CancelWatches() { shutdown_.request_stop(); }

int Client::retry_after_waits() const {
  std::lock_guard<std::mutex> l(mu_);
  return retry_after_waits_;
}

net::HttpRequest Client::NewRequest(std::string_view method, const std::string& path_and_query) const {
  net::HttpRequest request;
  request.method = std::string(method);
  request.url = config_.server + path_and_query;
  request.timeout = config_.timeout;
  request.headers.Set("Accept", "application/json");
  if (config_.token_file) {
    request.headers.Set("Authorization", "Bearer " + config_.token_file->Token());
  } else if (!config_.token.empty()) {
    request.headers.Set("Authorization", "Bearer " + config_.token);
  } else if (!config_.username.empty()) {
    request.headers.Set("Authorization",
                        "Basic " + net::Base64Encode(config_.username + ":" + config_.password));
  }
  return request;
}

net::HttpResponse Client::Send(net::HttpRequest request, std::string_view action) {
  for (int attempt = 1;; ++attempt) {
    if (!limiter_.Wait(shutdown_.get_token())) {
      throw CancelledError("kubernetes: " + std::string(action) + ": client is shutting down");
    }
    net::HttpResponse response;
    try {
      response = http_->Do(request);
    } catch (const Error& e) {
      throw Error(e.error_class(),
                  "kubernetes: " + std::string(action) + " at " + config_.server + ": " + e.what());
    }
    if (response.status >= 200 && response.status < 300) return response;
    ApiError error =
        ErrorFromResponse(action, response.status, response.body, response.headers.Get("Retry-After"));
    // Retry-After on 429 (API Priority and Fairness) or a 5xx means the request was not processed:
    // waiting and sending it again is safe for every verb (client-go does the same).
    bool retry_after = error.retry_after().count() > 0 && (response.status == 429 || response.status >= 500);
    if (!retry_after || attempt >= kMaxRetryAfterAttempts) throw error;
    auto wait = std::min<std::chrono::milliseconds>(error.retry_after(), kMaxRetryAfter);
    log::Debug("kube", "API server asked to retry later",
               {{"action", action}, {"status", response.status}, {"wait_ms", wait.count()}});
    {
      std::lock_guard<std::mutex> l(mu_);
      ++retry_after_waits_;
    }
    if (!SleepFor(wait, shutdown_.get_token())) throw error;
  }
}

Json Client::Request(std::string_view method, const std::string& path_and_query, const std::string& body,
                     std::string_view content_type) {
  std::string action = std::string(method) + " " + path_and_query;
  net::HttpRequest request = NewRequest(method, path_and_query);
  if (!body.empty()) {
    request.body = body;
    request.headers.Set("Content-Type", std::string(content_type));
  }
  return ParseBody(Send(std::move(request), action).body, action);
}

Json Client::Get(const ResourceType& type, std::string_view ns, std::string_view name,
                 std::string_view subresource) {
  std::string action = "get " + Describe(type, ns, name);
  net::HttpRequest request = NewRequest("GET", type.ObjectPath(ns, name, subresource));
  return ParseBody(Send(std::move(request), action).body, action);
}

ListResult Client::List(const ResourceType& type, std::string_view ns, const ListOptions& options) {
  std::string action = "list " + Describe(type, ns, "");
  Query q;
  q.Add("labelSelector", options.label_selector)
      .Add("fieldSelector", options.field_selector)
      .Add("limit", options.limit > 0 ? std::to_string(options.limit) : "")
      .Add("continue", options.continue_token)
      .Add("resourceVersion", options.resource_version)
      .Add("resourceVersionMatch", options.resource_version_match);
  net::HttpRequest request = NewRequest("GET", type.CollectionPath(ns) + q.str());
  Json body = ParseBody(Send(std::move(request), action).body, action);
  ListResult result;
  if (body.contains("items") && body["items"].is_array()) {
    result.items.reserve(body["items"].size());
    for (auto& item : body["items"]) {
      // List items carry no apiVersion/kind; fill them in so that objects look the same everywhere.
      if (!item.contains("apiVersion")) item["apiVersion"] = type.ApiVersion();
      if (!item.contains("kind")) item["kind"] = type.kind;
      result.items.push_back(std::move(item));
    }
  }
  result.resource_version = StringAt(body, {"metadata", "resourceVersion"});
  result.continue_token = StringAt(body, {"metadata", "continue"});
  if (body.contains("metadata") && body["metadata"].contains("remainingItemCount") &&
      body["metadata"]["remainingItemCount"].is_number_integer()) {
    result.remaining_item_count = body["metadata"]["remainingItemCount"].get<int64_t>();
  }
  return result;
}

Json Client::Create(const ResourceType& type, std::string_view ns, const Json& object) {
  std::string target_ns = ns.empty() ? Namespace(object) : std::string(ns);
  std::string name = Name(object);
  if (name.empty()) name = StringAt(object, {"metadata", "generateName"}) + "*";
  std::string action = "create " + Describe(type, target_ns, name);
  if (type.namespaced && target_ns.empty()) {
    throw PreconditionError("kubernetes: " + action + ": no namespace given for a namespaced object");
  }
  net::HttpRequest request = NewRequest("POST", type.CollectionPath(target_ns));
  request.body = object.dump();
  request.headers.Set("Content-Type", "application/json");
  return ParseBody(Send(std::move(request), action).body, action);
}

Json Client::Update(const ResourceType& type, const Json& object) {
  std::string action = "update " + Describe(type, Namespace(object), Name(object));
  net::HttpRequest request = NewRequest("PUT", type.ObjectPath(Namespace(object), Name(object)));
  request.body = object.dump();
  request.headers.Set("Content-Type", "application/json");
  return ParseBody(Send(std::move(request), action).body, action);
}

Json Client::UpdateStatus(const ResourceType& type, const Json& object) {
  std::string action = "update status of " + Describe(type, Namespace(object), Name(object));
  net::HttpRequest request = NewRequest("PUT", type.ObjectPath(Namespace(object), Name(object), "status"));
  request.body = object.dump();
  request.headers.Set("Content-Type", "application/json");
  return ParseBody(Send(std::move(request), action).body, action);
}

Json Client::Patch(const ResourceType& type, std::string_view ns, std::string_view name, PatchType patch_type,
                   const Json& patch, std::string_view subresource) {
  std::string action = "patch " + Describe(type, ns, name);
  if (!subresource.empty()) action += " (" + std::string(subresource) + ")";
  net::HttpRequest request = NewRequest("PATCH", type.ObjectPath(ns, name, subresource));
  request.body = patch.dump();
  request.headers.Set("Content-Type", std::string(PatchContentType(patch_type)));
  return ParseBody(Send(std::move(request), action).body, action);
}

Json Client::Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                    const DeleteOptions& options) {
  std::string action = "delete " + Describe(type, ns, name);
  Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  net::HttpRequest request = NewRequest("DELETE", type.ObjectPath(ns, name));
  request.body = body.dump();
  request.headers.Set("Content-Type", "application/json");
  return ParseBody(Send(std::move(request), action).body, action);
}

bool Client::Serves(const ResourceType& type) {
  std::string key = type.GroupVersionPath() + "/" + type.plural;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = served_.find(key);
    if (it != served_.end()) return it->second;
  }
  bool served = false;
  try {
    Json list = Request("GET", type.GroupVersionPath());
    if (list.contains("resources") && list["resources"].is_array()) {
      for (const auto& r : list["resources"]) {
        if (r.value("name", "") == type.plural) served = true;
      }
    }
  } catch (const ApiError& e) {
    if (e.code() != 404) throw;
  }
  std::lock_guard<std::mutex> l(mu_);
  served_[key] = served;
  return served;
}

void Client::WatchStream(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                         const WatchHandler& handler, std::stop_token stop) {
  std::string action = "watch " + Describe(type, ns, "");
  int timeout_seconds = options.timeout_seconds > 0 ? options.timeout_seconds : RandomWatchTimeout();
  Query q;
  q.Add("watch", "true")
      .Add("resourceVersion", options.resource_version)
      .Add("allowWatchBookmarks", options.allow_bookmarks ? "true" : "")
      .Add("timeoutSeconds", std::to_string(timeout_seconds))
      .Add("labelSelector", options.label_selector)
      .Add("fieldSelector", options.field_selector);
  if (stop.stop_requested() || shutdown_.stop_requested()) return;
  if (!limiter_.Wait(stop)) return;
  net::HttpRequest request = NewRequest("GET", type.CollectionPath(ns) + q.str());
  request.timeout = std::chrono::milliseconds(0);
  // The server ends the stream after timeoutSeconds; a silent connection well past that is dead.
  request.idle_timeout = std::chrono::seconds(timeout_seconds + 30);

  // A client of its own, so that stopping this watch aborts only this stream.
  net::HttpClient stream_client(http_options_);
  std::stop_callback on_stop(stop, [&] { stream_client.CancelStreams(); });
  std::stop_callback on_shutdown(shutdown_.get_token(), [&] { stream_client.CancelStreams(); });

  int status = 0;
  std::string error_body;
  JsonStreamSplitter splitter;
  std::exception_ptr failure;
  bool handler_stopped = false;
  auto on_object = [&](std::string_view text) -> bool {
    Json event = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!event.is_object()) {
      failure = std::make_exception_ptr(
          TransientError("kubernetes: " + action + ": the API server sent a malformed watch event"));
      return false;
    }
    WatchEvent ev{ParseEventType(event.value("type", "")), std::move(event["object"])};
    if (ev.type == WatchEvent::Type::kError) {
      failure = std::make_exception_ptr(ErrorFromStatusJson(action, ev.object.dump()));
      return false;
    }
    try {
      if (!handler(ev)) {
        handler_stopped = true;
        return false;
      }
    } catch (...) {
      failure = std::current_exception();
      return false;
    }
    return true;
  };
  auto on_data = [&](std::string_view data) -> bool {
    if (stop.stop_requested()) return false;
    if (status != 200) {
      if (error_body.size() < 64 * 1024) error_body.append(data);
      return true;
    }
    return splitter.Feed(data, on_object);
  };
  auto on_headers = [&](int s, const net::Headers&) { status = s; };
  net::HttpResponse response;
  try {
    response = stream_client.Stream(request, on_data, on_headers);
  } catch (const Error& e) {
    if (stop.stop_requested() || shutdown_.stop_requested()) return;
    if (failure) std::rethrow_exception(failure);
    throw Error(e.error_class(), "kubernetes: " + action + " at " + config_.server + ": " + e.what());
  }
  if (failure) std::rethrow_exception(failure);
  if (handler_stopped || stop.stop_requested()) return;
  if (status == 0) status = response.status;
  if (status != 200) {
    throw ErrorFromResponse(action, status, error_body, response.headers.Get("Retry-After"));
  }
}

}  // namespace hoist::kube

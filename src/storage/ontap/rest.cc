#include "storage/ontap/rest.h"

#include <thread>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "net/tls.h"

namespace hoist::storage::ontap {
namespace {

std::string Snippet(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string HostOf(const std::string& url) {
  std::string_view s = url;
  size_t scheme = s.find("://");
  if (scheme != std::string_view::npos) s.remove_prefix(scheme + 3);
  size_t slash = s.find('/');
  if (slash != std::string_view::npos) s = s.substr(0, slash);
  return std::string(s);
}

}  // namespace

ApiError ParseApiError(int status, std::string_view body) {
  ApiError e;
  e.status = status;
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return e;
  const auto& err = j["error"];
  auto text = [&](const char* key) -> std::string {
    if (!err.contains(key)) return "";
    const auto& v = err[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number()) return v.dump();
    return "";
  };
  e.code = text("code");
  e.message = text("message");
  e.target = text("target");
  return e;
}

bool CallError::already_exists() const {
  return api_.status == 409 || (api_.status >= 400 && api_.status < 500 && api_.code == kDuplicateEntryCode);
}

CallError ErrorFromResponse(std::string_view what, std::string_view host, int status, std::string_view body) {
  ApiError api = ParseApiError(status, body);
  std::string msg = std::string(what) + " on ONTAP " + std::string(host) + ": HTTP " + std::to_string(status);
  if (!api.message.empty() || !api.code.empty()) {
    msg += " error " + (api.code.empty() ? std::string("?") : api.code) + " \"" + api.message + "\"";
    if (!api.target.empty()) msg += " (target " + api.target + ")";
  } else if (!body.empty()) {
    msg += " \"" + Snippet(body) + "\"";
  }
  ErrorClass cls = ErrorClass::kPrecondition;
  if (status == 401) {
    msg += " — check STORAGE_USERNAME and STORAGE_PASSWORD in the storage secret";
  } else if (status == 403) {
    msg += " — the ONTAP user needs a role allowing this call (http application, SAN APIs)";
  } else if (status == 409 || status == 429 || status >= 500) {
    cls = ErrorClass::kTransient;
    if (status >= 500) msg += " — the array reported an internal error; check the cluster's health and retry";
  }
  return CallError(cls, std::move(msg), std::move(api));
}

std::string Query(std::initializer_list<std::pair<std::string_view, std::string_view>> params) {
  std::string q;
  for (const auto& [name, value] : params) {
    if (!q.empty()) q += '&';
    q += std::string(name) + "=" + net::UrlEncode(value);
  }
  return q;
}

RestClient::RestClient(RestOptions options) : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
  host_ = HostOf(options_.base_url);
  auth_header_ = "Basic " + net::Base64Encode(options_.username + ":" + options_.password);
  net::HttpClientOptions http;
  http.tls = options_.tls;
  http_ = std::make_unique<net::HttpClient>(http);
}

RestClient::~RestClient() = default;

nlohmann::json RestClient::Call(const std::string& method, const std::string& path, const std::string* body,
                                std::string_view what) {
  net::HttpRequest req;
  req.method = method;
  req.url = options_.base_url + path;
  req.timeout = options_.timeout;
  req.headers.Add("Authorization", auth_header_);
  req.headers.Add("Accept", "application/json");
  if (body != nullptr) {
    req.headers.Add("Content-Type", "application/json");
    req.body = *body;
  }
  auto delay = options_.backoff;
  for (int attempt = 1;; ++attempt) {
    try {
      net::HttpResponse resp = http_->Do(req);
      if (resp.status >= 200 && resp.status < 300) {
        if (resp.body.empty()) return nlohmann::json::object();
        auto j = nlohmann::json::parse(resp.body, nullptr, false);
        if (j.is_discarded()) {
          throw TransientError(std::string(what) + " on ONTAP " + host_ + ": HTTP " +
                               std::to_string(resp.status) + " with a body that is not JSON: \"" +
                               Snippet(resp.body) + "\"");
        }
        return j;
      }
      CallError err = ErrorFromResponse(what, host_, resp.status, resp.body);
      // 409 is an answer about the object, not a reason to try the same request again.
      if (!err.retryable() || resp.status == 409 || attempt >= options_.max_attempts) throw err;
      log::Warn("storage.ontap", "ONTAP call failed, retrying",
                {{"operation", what}, {"status", resp.status}, {"attempt", attempt}});
    } catch (const CallError&) {
      throw;
    } catch (const Error& e) {
      if (!e.retryable() || attempt >= options_.max_attempts) {
        throw Error(e.error_class(), std::string(what) + " on ONTAP " + host_ + ": " + e.what());
      }
      log::Warn("storage.ontap", "ONTAP call failed, retrying",
                {{"operation", what}, {"error", e.what()}, {"attempt", attempt}});
    }
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

nlohmann::json RestClient::Get(const std::string& path, std::string_view what) {
  return Call("GET", path, nullptr, what);
}

std::vector<nlohmann::json> RestClient::GetRecords(const std::string& path, std::string_view what) {
  std::vector<nlohmann::json> records;
  std::string next = path;
  for (int page = 0; !next.empty(); ++page) {
    if (page > 10000)
      throw TransientError(std::string(what) + " on ONTAP " + host_ + ": pagination does not end");
    nlohmann::json j = Get(next, what);
    if (j.contains("records") && j["records"].is_array()) {
      for (auto& r : j["records"]) records.push_back(std::move(r));
    }
    next.clear();
    if (j.contains("_links") && j["_links"].contains("next") && j["_links"]["next"].contains("href")) {
      next = j["_links"]["next"]["href"].get<std::string>();
      // ONTAP's hrefs are absolute paths on the same host.
      if (next.rfind("/api/", 0) != 0) next = "/api/" + next;
    }
  }
  return records;
}

nlohmann::json RestClient::Post(const std::string& path, const nlohmann::json& body, std::string_view what) {
  std::string text = body.dump();
  return Call("POST", path, &text, what);
}

void RestClient::Delete(const std::string& path, std::string_view what) {
  Call("DELETE", path, nullptr, what);
}

}  // namespace hoist::storage::ontap

#include "storage/common/rest.h"

#include <thread>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "net/tls.h"
#include "storage/config.h"

namespace hoist::storage::common {

std::string HostOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  size_t slash = url.find('/');
  if (slash != std::string_view::npos) url = url.substr(0, slash);
  return std::string(url);
}

std::string BasicAuth(std::string_view user, std::string_view password) {
  return "Basic " + net::Base64Encode(std::string(user) + ":" + std::string(password));
}

std::string RefusalMessage(std::string_view what, std::string_view array, int status, std::string_view body,
                           std::string_view array_words, std::string_view hint) {
  std::string msg = std::string(what) + " on " + std::string(array) + ": HTTP " + std::to_string(status);
  if (!array_words.empty()) {
    msg += " " + std::string(array_words);
  } else if (!body.empty()) {
    msg += " \"" + Snippet(body) + "\"";
  }
  if (!hint.empty()) msg += " — " + std::string(hint);
  return msg;
}

ErrorClass RefusalClass(int status) {
  return status == 409 || status == 429 || status >= 500 ? ErrorClass::kTransient : ErrorClass::kPrecondition;
}

std::string CachedValue::Get(const std::function<std::string()>& lookup) {
  std::lock_guard lock(mu_);
  if (value_.empty()) value_ = lookup();
  return value_;
}

RestOptions RestOptionsFromConfig(const ArrayConfig& config, std::string vendor, const Tuning& tuning) {
  RestOptions o;
  o.vendor = std::move(vendor);
  o.base_url = config.BaseUrl();
  o.tls.insecure_skip_verify = config.skip_tls_verify;
  o.tls.ca_pem = config.ca_pem;
  o.timeout = config.http_timeout;
  o.tuning = tuning;
  return o;
}

Request Get(std::string path) {
  Request r;
  r.path = std::move(path);
  return r;
}

Request Delete(std::string path) {
  Request r;
  r.method = "DELETE";
  r.path = std::move(path);
  return r;
}

Request Post(std::string path, const nlohmann::json& body) {
  Request r;
  r.method = "POST";
  r.path = std::move(path);
  r.body = body.dump();
  r.has_body = true;
  return r;
}

Request Put(std::string path, const nlohmann::json& body) {
  Request r = Post(std::move(path), body);
  r.method = "PUT";
  return r;
}

bool RestVendor::Retryable(const Response& response) {
  return response.status == 429 || response.status >= 500;
}

std::string Snippet(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string Query(std::initializer_list<std::pair<std::string_view, std::string_view>> params) {
  std::string q;
  for (const auto& [name, value] : params) {
    if (!q.empty()) q += '&';
    q += std::string(name) + "=" + net::UrlEncode(value);
  }
  return q;
}

RestClient::RestClient(RestOptions options, RestVendor& vendor)
    : options_(std::move(options)), vendor_(vendor) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
  host_ = HostOf(options_.base_url);
  net::HttpClientOptions http;
  http.tls = options_.tls;
  http_ = std::make_unique<net::HttpClient>(http);
}

RestClient::~RestClient() = default;

Response RestClient::Call(const Request& request, std::string_view what) {
  const std::string where = " on " + options_.vendor + " " + host_;
  auto delay = options_.tuning.backoff;
  bool relogged = false;
  for (int attempt = 1;;) {
    net::HttpRequest req;
    req.method = request.method;
    req.url = options_.base_url + request.path;
    req.timeout = options_.timeout;
    req.headers.Add("Accept", "application/json");
    if (request.has_body) {
      req.headers.Add("Content-Type", "application/json");
      req.body = request.body;
    }
    for (const auto& [k, v] : request.headers) req.headers.Add(k, v);
    try {
      if (request.authenticated) vendor_.Authorize(req);
      net::HttpResponse http = http_->Do(req);
      Response resp{http.status, std::move(http.headers), std::move(http.body)};
      if (resp.status >= 200 && resp.status < 300) return resp;
      if (request.authenticated && !relogged && vendor_.SessionExpired(resp)) {
        // The array dropped the session: log in again once and repeat the call (not an attempt).
        log::Info("storage", "the array's session expired; logging in again",
                  {{"array", options_.vendor + " " + host_}, {"operation", what}});
        relogged = true;
        vendor_.Relogin();
        continue;
      }
      if (!request.retry || !vendor_.Retryable(resp) || attempt >= options_.tuning.max_attempts) {
        throw vendor_.ErrorFor(what, resp);
      }
      log::Warn("storage", "array call failed, retrying",
                {{"array", options_.vendor + " " + host_},
                 {"operation", what},
                 {"status", resp.status},
                 {"attempt", attempt}});
    } catch (const CallError&) {
      throw;
    } catch (const Error& e) {
      std::string msg = e.what();
      // An error of the vendor's login call names its own operation and the array, and was retried.
      bool nested = msg.find(where) != std::string::npos;
      if (nested || !request.retry || !e.retryable() || attempt >= options_.tuning.max_attempts) {
        if (!nested) msg = std::string(what) + where + ": " + msg;
        throw Error(e.error_class(), msg);
      }
      log::Warn("storage", "array call failed, retrying",
                {{"array", options_.vendor + " " + host_},
                 {"operation", what},
                 {"error", e.what()},
                 {"attempt", attempt}});
    }
    std::this_thread::sleep_for(delay);
    delay *= 2;
    ++attempt;
  }
}

nlohmann::json RestClient::CallJson(const Request& request, std::string_view what) {
  Response r = Call(request, what);
  if (r.body.empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    throw TransientError(std::string(what) + " on " + options_.vendor + " " + host_ + ": HTTP " +
                         std::to_string(r.status) + " with a body that is not JSON: \"" + Snippet(r.body) +
                         "\"");
  }
  return j;
}

}  // namespace hoist::storage::common

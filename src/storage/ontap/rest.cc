#include "storage/ontap/rest.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "storage/common/fields.h"
#include "storage/config.h"

namespace hoist::storage::ontap {

ApiError ParseApiError(int status, std::string_view body) {
  ApiError e;
  e.status = status;
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return e;
  const auto& err = j["error"];
  e.code = common::Str(err, "code");
  e.message = common::Str(err, "message");
  e.target = common::Str(err, "target");
  return e;
}

bool AlreadyExists(const CallError& e) {
  return e.status() == 409 || (e.status() >= 400 && e.status() < 500 && e.code() == kDuplicateEntryCode);
}

CallError ErrorFromResponse(std::string_view what, std::string_view host, int status, std::string_view body) {
  ApiError api = ParseApiError(status, body);
  std::string words;
  if (!api.message.empty() || !api.code.empty()) {
    words = "error " + (api.code.empty() ? std::string("?") : api.code) + " \"" + api.message + "\"";
    if (!api.target.empty()) words += " (target " + api.target + ")";
  }
  std::string_view hint;
  if (status == 401) {
    hint = common::kCheckCredentials;
  } else if (status == 403) {
    hint = "the ONTAP user needs a role allowing this call (http application, SAN APIs)";
  } else if (status >= 500) {
    hint = "the array reported an internal error; check the cluster's health and retry";
  }
  return CallError(common::RefusalClass(status),
                   common::RefusalMessage(what, "ONTAP " + std::string(host), status, body, words, hint),
                   status, api.code);
}

RestClient::RestClient(const ArrayConfig& config, const Tuning& tuning)
    : authorization_(common::BasicAuth(config.username, config.password)),
      rest_(common::RestOptionsFromConfig(config, "ONTAP", tuning), *this) {}

void RestClient::Authorize(net::HttpRequest& request) {
  request.headers.Set("Authorization", authorization_);
}

common::CallError RestClient::ErrorFor(std::string_view what, const common::Response& response) {
  return ErrorFromResponse(what, rest_.host(), response.status, response.body);
}

nlohmann::json RestClient::Get(const std::string& path, std::string_view what) {
  return rest_.CallJson(common::Get(path), what);
}

std::vector<nlohmann::json> RestClient::GetRecords(const std::string& path, std::string_view what) {
  std::vector<nlohmann::json> records;
  std::string next = path;
  for (int page = 0; !next.empty(); ++page) {
    if (page > 10000) {
      throw TransientError(std::string(what) + " on ONTAP " + host() + ": pagination does not end");
    }
    nlohmann::json j = Get(next, what);
    for (const auto& r : common::ArrayAt(j, "records")) records.push_back(r);
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
  return rest_.CallJson(common::Post(path, body), what);
}

void RestClient::Delete(const std::string& path, std::string_view what) {
  rest_.Call(common::Delete(path), what);
}

}  // namespace hoist::storage::ontap

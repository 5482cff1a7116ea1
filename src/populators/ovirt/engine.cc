#include "populators/ovirt/engine.h"

#include <condition_variable>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "net/http.h"
#include "net/http_client.h"

namespace hoist::populators::ovirt {
namespace {

using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "";
}

uint64_t U64(const json& j, const char* key) {
  std::string s = Str(j, key);
  if (s.empty()) return 0;
  return std::stoull(s);
}

// The engine's fault: {"reason": …, "detail": …} (possibly under "fault").
std::string FaultText(const std::string& body) {
  try {
    json j = json::parse(body);
    if (j.contains("fault")) j = j["fault"];
    std::string detail = Str(j, "detail"), reason = Str(j, "reason");
    if (!detail.empty() || !reason.empty()) return reason + (detail.empty() ? "" : ": " + detail);
    if (j.contains("error")) return Str(j, "error");
  } catch (...) {
  }
  return body.substr(0, 200);
}

void Sleep(std::chrono::milliseconds d, std::stop_token stop = {}) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
}

TransferInfo TransferFrom(const json& j) {
  TransferInfo t;
  t.id = Str(j, "id");
  t.phase = Str(j, "phase");
  t.direction = Str(j, "direction");
  t.transfer_url = Str(j, "transfer_url");
  t.proxy_url = Str(j, "proxy_url");
  if (j.contains("disk") && j["disk"].is_object()) t.disk_id = Str(j["disk"], "id");
  if (t.disk_id.empty() && j.contains("image") && j["image"].is_object()) t.disk_id = Str(j["image"], "id");
  return t;
}

}  // namespace

DiskInfo ParseDisk(const std::string& body) {
  try {
    json j = json::parse(body);
    DiskInfo d;
    d.id = Str(j, "id");
    d.name = Str(j, "alias").empty() ? Str(j, "name") : Str(j, "alias");
    d.status = Str(j, "status");
    d.format = Str(j, "format");
    d.image_id = Str(j, "image_id");
    d.provisioned_size = U64(j, "provisioned_size");
    return d;
  } catch (const std::exception& e) {
    throw TransientError(std::string("the oVirt engine returned an unreadable disk: ") + e.what());
  }
}

TransferInfo ParseTransfer(const std::string& body) {
  try {
    return TransferFrom(json::parse(body));
  } catch (const std::exception& e) {
    throw TransientError(std::string("the oVirt engine returned an unreadable image transfer: ") + e.what());
  }
}

std::string EngineBase(const std::string& engine_url) {
  std::string u = engine_url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  for (const char* suffix : {"/ovirt-engine/api", "/ovirt-engine"}) {
    std::string s = suffix;
    if (u.size() >= s.size() && u.substr(u.size() - s.size()) == s) u.resize(u.size() - s.size());
  }
  return u + "/ovirt-engine";
}

Engine::Engine(net::HttpClient& client, std::string engine_url, std::string user, std::string password)
    : client_(client),
      engine_url_(std::move(engine_url)),
      base_(EngineBase(engine_url_)),
      user_(std::move(user)),
      password_(std::move(password)) {}

void Engine::Login() {
  if (user_.empty() || password_.empty()) {
    throw PreconditionError("the oVirt secret needs the keys user and password (e.g. admin@internal)");
  }
  net::HttpRequest req;
  req.method = "POST";
  req.url = base_ + "/sso/oauth/token";
  req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  req.headers.Set("Accept", "application/json");
  req.body = "grant_type=password&scope=ovirt-app-api&username=" + net::UrlEncode(user_) +
             "&password=" + net::UrlEncode(password_);
  net::HttpResponse resp;
  try {
    resp = client_.Do(req);
  } catch (const Error& e) {
    throw Error(e.error_class(), "logging in to the oVirt engine " + engine_url_ + ": " + e.what());
  }
  std::string token;
  try {
    json j = json::parse(resp.body);
    token = Str(j, "access_token");
    if (token.empty()) {
      std::string why = Str(j, "error");
      if (resp.status >= 500) {
        throw TransientError("logging in to the oVirt engine " + engine_url_ + ": HTTP " +
                             std::to_string(resp.status) + " " + why);
      }
      throw PreconditionError("the oVirt engine " + engine_url_ + " refused the login of " + user_ + ": " +
                              (why.empty() ? "HTTP " + std::to_string(resp.status) : why) +
                              " — check user (user@profile, e.g. admin@internal) and password in the secret");
    }
  } catch (const json::exception&) {
    throw TransientError("logging in to the oVirt engine " + engine_url_ + ": HTTP " +
                         std::to_string(resp.status) +
                         ", not an SSO answer — check that the engineUrl points at the oVirt engine");
  }
  std::lock_guard lock(mu_);
  token_ = token;
}

std::pair<int, std::string> Engine::Call(const std::string& method, const std::string& path,
                                         const std::string& body) {
  for (int attempt = 0;; ++attempt) {
    net::HttpRequest req;
    req.method = method;
    req.url = base_ + "/api" + path;
    req.headers.Set("Accept", "application/json");
    req.headers.Set("Version", "4");
    if (!body.empty() || method == "POST") req.headers.Set("Content-Type", "application/json");
    {
      std::lock_guard lock(mu_);
      req.headers.Set("Authorization", "Bearer " + token_);
    }
    req.body = method == "POST" && body.empty() ? "{}" : body;
    net::HttpResponse resp;
    try {
      resp = client_.Do(req);
    } catch (const Error& e) {
      throw Error(e.error_class(),
                  method + " " + path + " on the oVirt engine " + engine_url_ + ": " + e.what());
    }
    if (resp.status == 401 && attempt == 0) {
      log::Info("ovirt", "the engine rejected the token (401); logging in again");
      Login();
      continue;
    }
    return {resp.status, resp.body};
  }
}

DiskInfo Engine::GetDisk(const std::string& disk_id) {
  auto [status, body] = Call("GET", "/disks/" + disk_id, "");
  if (status == 404) {
    throw PreconditionError("oVirt disk " + disk_id + " does not exist on " + engine_url_ +
                            " — check the diskId of the OvirtVolumePopulator");
  }
  if (status != 200) {
    std::string what =
        "reading oVirt disk " + disk_id + ": HTTP " + std::to_string(status) + " " + FaultText(body);
    if (status >= 500) throw TransientError(what);
    throw PreconditionError(what);
  }
  return ParseDisk(body);
}

TransferInfo Engine::CreateDownload(const std::string& disk_id, int inactivity_timeout_seconds) {
  json req = {{"disk", {{"id", disk_id}}},
              {"direction", "download"},
              {"format", "raw"},
              {"inactivity_timeout", inactivity_timeout_seconds}};
  auto [status, body] = Call("POST", "/imagetransfers", req.dump());
  if (status != 201 && status != 200) {
    std::string what = "starting an image transfer (download) of oVirt disk " + disk_id + ": HTTP " +
                       std::to_string(status) + " " + FaultText(body);
    if (status >= 500 || status == 409) {
      throw TransientError(what + " — the disk may be locked by another transfer or operation");
    }
    throw PreconditionError(what);
  }
  return ParseTransfer(body);
}

std::optional<TransferInfo> Engine::GetTransfer(const std::string& id) {
  auto [status, body] = Call("GET", "/imagetransfers/" + id, "");
  if (status == 404) return std::nullopt;
  if (status != 200) {
    throw TransientError("reading image transfer " + id + ": HTTP " + std::to_string(status) + " " +
                         FaultText(body));
  }
  return ParseTransfer(body);
}

std::vector<TransferInfo> Engine::ListTransfers() {
  auto [status, body] = Call("GET", "/imagetransfers", "");
  if (status != 200) {
    throw TransientError("listing image transfers: HTTP " + std::to_string(status) + " " + FaultText(body));
  }
  std::vector<TransferInfo> out;
  try {
    json j = json::parse(body);
    const json& list = j.contains("image_transfer") ? j["image_transfer"] : j;
    if (list.is_array()) {
      for (const auto& t : list) out.push_back(TransferFrom(t));
    }
  } catch (const std::exception& e) {
    throw TransientError(std::string("the engine's image transfer list is unreadable: ") + e.what());
  }
  return out;
}

TransferInfo Engine::WaitTransferring(const std::string& id, std::chrono::milliseconds timeout,
                                      std::stop_token stop) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::chrono::milliseconds step(100);
  for (;;) {
    auto t = GetTransfer(id);
    if (!t) throw TransientError("image transfer " + id + " disappeared from the engine before it started");
    if (t->phase == "transferring") return *t;
    if (t->phase != "initializing" && t->phase != "resuming") {
      throw TransientError(
          "image transfer " + id + " went to phase " + t->phase +
          " instead of transferring — check that ovirt-imageio runs on the host and the engine");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw TransientError("image transfer " + id + " is still " + t->phase + " after " +
                           std::to_string(timeout.count() / 1000) +
                           " s — check the engine's events for the disk");
    }
    if (stop.stop_requested()) throw CancelledError("waiting for image transfer " + id + ": stopped");
    Sleep(step, stop);
    step = std::min(step * 2, std::chrono::milliseconds(2000));
  }
}

void Engine::Finalize(const std::string& id) {
  auto [status, body] = Call("POST", "/imagetransfers/" + id + "/finalize", "{}");
  if (status != 200 && status != 202) {
    throw TransientError("finalizing image transfer " + id + ": HTTP " + std::to_string(status) + " " +
                         FaultText(body));
  }
}

void Engine::Cancel(const std::string& id) {
  auto [status, body] = Call("POST", "/imagetransfers/" + id + "/cancel", "{}");
  if (status != 200 && status != 202 && status != 404) {
    throw TransientError("cancelling image transfer " + id + ": HTTP " + std::to_string(status) + " " +
                         FaultText(body));
  }
}

std::string Engine::WaitFinished(const std::string& id, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    auto t = GetTransfer(id);
    if (!t) return "";
    last = t->phase;
    if (last == "finished_success" || last == "finished_failure" || last == "finished_cleanup") return last;
    if (std::chrono::steady_clock::now() >= deadline) return last;
    Sleep(std::chrono::milliseconds(200));
  }
}

}  // namespace hoist::populators::ovirt

#include "storage/powerflex/powerflex_array.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "net/tls.h"
#include "storage/identifiers.h"
#include "storage/registry.h"

namespace hoist::storage::powerflex {
namespace {

using common::CallError;
using nlohmann::json;

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "";
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return "";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsHexId(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// The gateway answers some calls with a bare JSON string ("token", "id").
std::string JsonString(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_string()) return j.get<std::string>();
  std::string s = body;
  while (!s.empty() && (s.front() == '"' || std::isspace(static_cast<unsigned char>(s.front()))))
    s.erase(s.begin());
  while (!s.empty() && (s.back() == '"' || std::isspace(static_cast<unsigned char>(s.back())))) s.pop_back();
  return s;
}

}  // namespace

ApiError ParseApiError(int status, std::string_view body) {
  ApiError e;
  e.status = status;
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return e;
  e.code = Str(j, "errorCode");
  e.message = Str(j, "message");
  return e;
}

VolumeHandle ParseVolumeHandle(std::string_view handle) {
  VolumeHandle h;
  size_t dash = handle.rfind('-');
  if (dash == std::string_view::npos) {
    h.volume_id = std::string(handle);
  } else {
    h.system_id = std::string(handle.substr(0, dash));
    h.volume_id = std::string(handle.substr(dash + 1));
  }
  if (!IsHexId(h.volume_id) || (!h.system_id.empty() && !IsHexId(h.system_id))) {
    throw PreconditionError(
        "volume handle \"" + std::string(handle) +
        "\" is not a PowerFlex CSI handle (<systemId>-<volumeId>, hex): is the PV provisioned by "
        "csi-vxflexos.dellemc.com?");
  }
  h.system_id = Lower(h.system_id);
  h.volume_id = Lower(h.volume_id);
  return h;
}

bool IsSdcGuid(std::string_view id) {
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  size_t pos = 0;
  for (size_t i = 0; i < 5; ++i) {
    if (pos + kGroups[i] > id.size() || !IsHexId(id.substr(pos, kGroups[i]))) return false;
    pos += kGroups[i];
    if (i < 4) {
      if (pos >= id.size() || id[pos] != '-') return false;
      ++pos;
    }
  }
  return pos == id.size();
}

PowerFlexArray::PowerFlexArray(const ArrayConfig& config, common::Tuning tuning)
    : username_(config.username),
      password_(config.password),
      configured_system_(Lower(config.Get("POWERFLEX_SYSTEM_ID"))),
      rest_(common::RestOptionsFromConfig(config, "PowerFlex", tuning), *this) {}

PowerFlexArray::~PowerFlexArray() {
  bool logged_in;
  {
    std::lock_guard lock(session_mu_);
    logged_in = !token_.empty();
  }
  if (!logged_in) return;
  try {
    common::Request r = common::Get("/api/logout");
    r.retry = false;
    rest_.Call(r, "logging out");
  } catch (const std::exception& e) {
    log::Debug("storage.powerflex", "logging out failed", {{"error", e.what()}});
  }
}

std::string PowerFlexArray::Describe() const { return "PowerFlex " + rest_.host(); }

std::string PowerFlexArray::Login() {
  common::Request r = common::Get("/api/login");
  r.headers.emplace_back("Authorization", "Basic " + net::Base64Encode(username_ + ":" + password_));
  r.authenticated = false;
  std::string token = JsonString(rest_.Call(r, "logging in as " + username_).body);
  if (token.empty()) {
    throw TransientError("logging in as " + username_ + " on PowerFlex " + rest_.host() +
                         ": the answer has no token");
  }
  return token;
}

void PowerFlexArray::Authorize(net::HttpRequest& request) {
  std::lock_guard lock(session_mu_);
  if (token_.empty()) token_ = Login();
  // PowerFlex 3.x: the token is the password of HTTP Basic with an empty user name.
  request.headers.Set("Authorization", "Basic " + net::Base64Encode(":" + token_));
}

bool PowerFlexArray::SessionExpired(const common::Response& response) { return response.status == 401; }

void PowerFlexArray::Relogin() {
  std::lock_guard lock(session_mu_);
  token_.clear();
}

namespace {
// A 500 carrying the gateway's own error code: the array refused the request and said why.
bool Refusal(const ApiError& api) { return api.status == 500 && !api.code.empty() && api.code != "0"; }
}  // namespace

bool PowerFlexArray::Retryable(const common::Response& r) {
  if (Refusal(ParseApiError(r.status, r.body))) return false;
  return r.status == 429 || r.status >= 500;
}

common::CallError PowerFlexArray::ErrorFor(std::string_view what, const common::Response& r) {
  ApiError api = ParseApiError(r.status, r.body);
  std::string msg =
      std::string(what) + " on PowerFlex " + rest_.host() + ": HTTP " + std::to_string(r.status);
  if (!api.message.empty()) {
    msg += " error " + (api.code.empty() ? std::string("?") : api.code) + " \"" + api.message + "\"";
  } else if (!r.body.empty()) {
    msg += " \"" + common::Snippet(r.body) + "\"";
  }
  ErrorClass cls = ErrorClass::kPrecondition;
  if (r.status == 401) {
    msg += " — check STORAGE_USERNAME and STORAGE_PASSWORD in the storage secret";
  } else if (r.status == 403) {
    msg += " — the PowerFlex user needs the Administrator or Storage Administrator role";
  } else if (Refusal(api)) {
    // kPrecondition: the request cannot succeed as it is.
  } else if (r.status == 409 || r.status == 429 || r.status >= 500) {
    cls = ErrorClass::kTransient;
    if (r.status >= 500) msg += " — the gateway reported an internal error; check the MDM cluster and retry";
  }
  return CallError(cls, std::move(msg), r.status, api.code);
}

const std::string& PowerFlexArray::system_id() {
  {
    std::lock_guard lock(id_mu_);
    if (!system_id_.empty()) return system_id_;
  }
  json systems = rest_.CallJson(common::Get("/api/types/System/instances"), "listing the PowerFlex systems");
  std::string id;
  if (!configured_system_.empty()) {
    for (const auto& s : systems) {
      if (Lower(Str(s, "id")) == configured_system_) id = configured_system_;
    }
    if (id.empty()) {
      throw PreconditionError("PowerFlex system " + configured_system_ +
                              " (POWERFLEX_SYSTEM_ID) is not managed by the "
                              "gateway " +
                              rest_.host() + ": check the system id (scli --query_all)");
    }
  } else {
    if (!systems.is_array() || systems.size() != 1) {
      throw PreconditionError("the PowerFlex gateway " + rest_.host() + " manages " +
                              std::to_string(systems.is_array() ? systems.size() : 0) +
                              " systems: set POWERFLEX_SYSTEM_ID in the storage secret");
    }
    id = Lower(Str(systems[0], "id"));
  }
  std::lock_guard lock(id_mu_);
  system_id_ = id;
  return system_id_;
}

json PowerFlexArray::Volume(const std::string& id, std::string_view what) {
  try {
    return rest_.CallJson(common::Get("/api/instances/Volume::" + id), what);
  } catch (const CallError& e) {
    if (e.retryable() || e.status() == 401 || e.status() == 403) throw;
    throw PreconditionError("volume " + id + " not found on PowerFlex " + rest_.host() + " (system " +
                            system_id() + "): check that the PV's StorageClass provisions on this system");
  }
}

std::vector<std::string> PowerFlexArray::MappedSdcs(const json& volume) {
  std::vector<std::string> out;
  if (volume.contains("mappedSdcInfo") && volume["mappedSdcInfo"].is_array()) {
    for (const auto& m : volume["mappedSdcInfo"]) out.push_back(Lower(Str(m, "sdcId")));
  }
  return out;
}

Lun PowerFlexArray::ResolveVolume(const VolumeRef& volume) {
  const std::string sys = system_id();
  std::string id;
  if (!volume.volume_handle.empty()) {
    VolumeHandle h = ParseVolumeHandle(volume.volume_handle);
    if (!h.system_id.empty() && h.system_id != sys) {
      throw PreconditionError("PV " + volume.pv_name + " is on PowerFlex system " + h.system_id +
                              " but the storage secret names system " + sys + " on " + rest_.host() +
                              ": use the secret of the PV's system");
    }
    id = h.volume_id;
  } else {
    auto it = volume.volume_attributes.find("Name");
    if (it == volume.volume_attributes.end() || it->second.empty()) {
      throw PreconditionError("PV " + volume.pv_name +
                              " has neither a volume handle nor volumeAttributes.Name");
    }
    common::Response r = rest_.Call(
        common::Post("/api/types/Volume/instances/action/queryIdByKey", json{{"name", it->second}}),
        "looking up volume " + it->second);
    id = Lower(JsonString(r.body));
  }
  json v = Volume(id, "looking up volume " + id);
  Lun lun;
  lun.id = Lower(Str(v, "id"));
  lun.name = Str(v, "name");
  lun.naa = EuiFromIds(sys, lun.id);
  lun.serial = lun.id;
  lun.protocol = Protocol::kSdc;
  if (v.contains("sizeInKb") && v["sizeInKb"].is_number())
    lun.size_bytes = v["sizeInKb"].get<uint64_t>() * 1024;
  return lun;
}

InitiatorGroup PowerFlexArray::EnsureInitiatorGroup(const std::string& name,
                                                    const std::vector<std::string>& initiators) {
  std::vector<std::string> guids;
  for (const auto& i : initiators) {
    if (IsSdcGuid(i)) guids.push_back(Lower(i));
  }
  if (guids.size() != 1) {
    throw PreconditionError(name +
                            " needs exactly one SDC GUID for PowerFlex (the ESXi host's scini module "
                            "option IoctlIniGuidStr), got " +
                            std::to_string(guids.size()) + ": install the PowerFlex SDC on the host");
  }
  json sdcs = rest_.CallJson(common::Get("/api/instances/System::" + system_id() + "/relationships/Sdc"),
                             "listing the SDCs of system " + system_id());
  for (const auto& s : sdcs) {
    if (Lower(Str(s, "sdcGuid")) != guids[0]) continue;
    std::string state = Str(s, "mdmConnectionState");
    if (!state.empty() && state != "Connected") {
      throw PreconditionError("the SDC " + guids[0] + " of " + name + " is " + state +
                              " from PowerFlex system " + system_id() +
                              ": check the ESXi host's MDM addresses (scini IoctlMdmIPStr) and network");
    }
    InitiatorGroup g;
    g.name = Lower(Str(s, "id"));
    g.protocol = Protocol::kSdc;
    g.initiators = guids;
    return g;
  }
  throw PreconditionError("no SDC with GUID " + guids[0] + " (" + name + ") is known to PowerFlex system " +
                          system_id() + " on " + rest_.host() +
                          ": install the SDC on the ESXi host and point it at the system's MDMs");
}

std::vector<std::string> PowerFlexArray::ListMappings(const Lun& lun) {
  return MappedSdcs(Volume(lun.id, "listing the SDC mappings of volume " + lun.id));
}

Lun PowerFlexArray::Map(const Lun& lun, const std::string& group) {
  const std::string what = "mapping volume " + lun.id + " to SDC " + group;
  auto mapped = [&] {
    auto sdcs = MappedSdcs(Volume(lun.id, what));
    return std::find(sdcs.begin(), sdcs.end(), Lower(group)) != sdcs.end();
  };
  if (mapped()) return lun;
  try {
    // allowMultipleMappings: the volume stays mapped to the Kubernetes node's SDC too.
    rest_.Call(common::Post("/api/instances/Volume::" + lun.id + "/action/addMappedSdc",
                            json{{"sdcId", group}, {"allowMultipleMappings", "TRUE"}}),
               what);
    log::Info("storage.powerflex", "mapped volume",
              {{"volume", lun.id}, {"sdc", group}, {"array", rest_.host()}});
  } catch (const CallError&) {
    // Mapped meanwhile (an earlier attempt whose answer was lost)? Only the array's word counts.
    if (!mapped()) throw;
  }
  return lun;
}

void PowerFlexArray::Unmap(const Lun& lun, const std::string& group) {
  const std::string what = "unmapping volume " + lun.id + " from SDC " + group;
  auto mapped = [&] {
    auto sdcs = MappedSdcs(Volume(lun.id, what));
    return std::find(sdcs.begin(), sdcs.end(), Lower(group)) != sdcs.end();
  };
  if (!mapped()) return;
  try {
    rest_.Call(
        common::Post("/api/instances/Volume::" + lun.id + "/action/removeMappedSdc", json{{"sdcId", group}}),
        what);
    log::Info("storage.powerflex", "unmapped volume",
              {{"volume", lun.id}, {"sdc", group}, {"array", rest_.host()}});
  } catch (const CallError&) {
    if (mapped()) throw;
  }
}

void RegisterVendor(VendorRegistry& registry) {
  registry.Register("powerflex", [](const ArrayConfig& config) -> std::unique_ptr<StorageArray> {
    return std::make_unique<PowerFlexArray>(config);
  });
}

}  // namespace hoist::storage::powerflex

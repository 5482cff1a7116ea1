#include "storage/powerflex/powerflex_array.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "storage/common/fields.h"
#include "storage/identifiers.h"
#include "storage/registry.h"

namespace hoist::storage::powerflex {
namespace {

using common::CallError;
using common::Str;
using nlohmann::json;

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
  h.system_id = AsciiLower(h.system_id);
  h.volume_id = AsciiLower(h.volume_id);
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
    : SessionArray(config, common::RestOptionsFromConfig(config, "PowerFlex", tuning)),
      configured_system_(AsciiLower(config.Get("POWERFLEX_SYSTEM_ID"))) {}

PowerFlexArray::~PowerFlexArray() {
  EndSession([](const Session&) { return common::Get("/api/logout"); });
}

common::SessionArray::Session PowerFlexArray::Login() {
  common::Request r = common::Get("/api/login");
  r.headers.emplace_back("Authorization", common::BasicAuth(username_, password_));
  r.authenticated = false;
  std::string token = JsonString(rest_.Call(r, "logging in as " + username_).body);
  if (token.empty()) {
    throw TransientError("logging in as " + username_ + " on PowerFlex " + rest_.host() +
                         ": the answer has no token");
  }
  return Session{token, ""};
}

void PowerFlexArray::Present(net::HttpRequest& request, const Session& session) {
  // PowerFlex 3.x: the token is the password of HTTP Basic with an empty user name.
  request.headers.Set("Authorization", common::BasicAuth("", session.token));
}

bool PowerFlexArray::SessionExpired(const common::Response& response) { return response.status == 401; }

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
  std::string words;
  if (!api.message.empty()) {
    words = "error " + (api.code.empty() ? std::string("?") : api.code) + " \"" + api.message + "\"";
  }
  // A refusal is kPrecondition: the request cannot succeed as it is.
  const bool refusal = Refusal(api);
  std::string_view hint;
  if (r.status == 401) {
    hint = common::kCheckCredentials;
  } else if (r.status == 403) {
    hint = "the PowerFlex user needs the Administrator or Storage Administrator role";
  } else if (!refusal && r.status >= 500) {
    hint = "the gateway reported an internal error; check the MDM cluster and retry";
  }
  ErrorClass cls = refusal ? ErrorClass::kPrecondition : common::RefusalClass(r.status);
  return CallError(cls, common::RefusalMessage(what, Describe(), r.status, r.body, words, hint), r.status,
                   api.code);
}

std::string PowerFlexArray::system_id() {
  return system_id_.Get([this] {
    json systems =
        rest_.CallJson(common::Get("/api/types/System/instances"), "listing the PowerFlex systems");
    if (!configured_system_.empty()) {
      for (const auto& s : systems) {
        if (AsciiLower(Str(s, "id")) == configured_system_) return configured_system_;
      }
      throw PreconditionError("PowerFlex system " + configured_system_ +
                              " (POWERFLEX_SYSTEM_ID) is not managed by the gateway " + rest_.host() +
                              ": check the system id (scli --query_all)");
    }
    if (!systems.is_array() || systems.size() != 1) {
      throw PreconditionError("the PowerFlex gateway " + rest_.host() + " manages " +
                              std::to_string(systems.is_array() ? systems.size() : 0) +
                              " systems: set POWERFLEX_SYSTEM_ID in the storage secret");
    }
    return AsciiLower(Str(systems[0], "id"));
  });
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
    for (const auto& m : volume["mappedSdcInfo"]) out.push_back(AsciiLower(Str(m, "sdcId")));
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
    id = AsciiLower(JsonString(r.body));
  }
  json v = Volume(id, "looking up volume " + id);
  Lun lun;
  lun.id = AsciiLower(Str(v, "id"));
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
    if (IsSdcGuid(i)) guids.push_back(AsciiLower(i));
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
    if (AsciiLower(Str(s, "sdcGuid")) != guids[0]) continue;
    std::string state = Str(s, "mdmConnectionState");
    if (!state.empty() && state != "Connected") {
      throw PreconditionError("the SDC " + guids[0] + " of " + name + " is " + state +
                              " from PowerFlex system " + system_id() +
                              ": check the ESXi host's MDM addresses (scini IoctlMdmIPStr) and network");
    }
    InitiatorGroup g;
    g.name = AsciiLower(Str(s, "id"));
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
    return std::find(sdcs.begin(), sdcs.end(), AsciiLower(group)) != sdcs.end();
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
    return std::find(sdcs.begin(), sdcs.end(), AsciiLower(group)) != sdcs.end();
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

void RegisterVendor(VendorRegistry& registry) { RegisterArray<PowerFlexArray>(registry, "powerflex"); }

}  // namespace hoist::storage::powerflex

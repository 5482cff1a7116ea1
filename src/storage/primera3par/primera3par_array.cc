#include "storage/primera3par/primera3par_array.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "storage/common/fields.h"
#include "storage/common/initiators.h"
#include "storage/identifiers.h"
#include "storage/registry.h"

namespace hoist::storage::primera3par {
namespace {

using common::CallError;
using common::Str;
using nlohmann::json;

const json& Members(const json& j) { return common::ArrayAt(j, "members"); }

// The host names of a host set.
std::vector<std::string> SetMembers(const json& set) {
  std::vector<std::string> out;
  for (const auto& m : common::ArrayAt(set, "setmembers")) {
    if (m.is_string()) out.push_back(m.get<std::string>());
  }
  return out;
}

// WSAPI VLUN types: 3 = host, 5 = host set (a template exporting to every member).
constexpr int kVlunTypeHostSet = 5;

// The VLUN fields the client queries by.
constexpr char kByVolume[] = "volumeName";
constexpr char kByHost[] = "hostname";

// A VLUN's export target as ListMappings names it.
std::string VlunTarget(const json& v) {
  std::string host = Str(v, "hostname");
  if (host.empty()) return "";  // port-only export
  if (v.value("type", 0) == kVlunTypeHostSet && host.rfind("set:", 0) != 0) host = "set:" + host;
  return host;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

// The lowest LUN id (1…16383) not in `used`; LUN 0 is left alone (some hosts treat it as a controller LUN).
int LowestFreeLun(const std::set<int>& used) {
  for (int id = 1; id < 16384; ++id) {
    if (!used.count(id)) return id;
  }
  return -1;
}

}  // namespace

ApiError ParseApiError(int status, std::string_view body) {
  ApiError e;
  e.status = status;
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return e;
  e.code = Str(j, "code");
  e.desc = Str(j, "desc");
  if (e.desc.empty()) e.desc = Str(j, "message");
  return e;
}

std::string VolumeNameFromHandle(std::string_view volume_handle) {
  return std::string(volume_handle.substr(0, kMaxObjectName));
}

std::string HostSetName(std::string_view group_name) {
  if (group_name.size() <= kMaxSetName) return std::string(group_name);
  return "xcopy-" + Sha256Hex(group_name).substr(0, kMaxSetName - 6);
}

std::string HostName(std::string_view group_name, std::string_view suffix) {
  std::string name = std::string(group_name) + std::string(suffix);
  if (name.size() <= kMaxObjectName) return name;
  return "xcopy-" + Sha256Hex(name).substr(0, kMaxObjectName - 6 - suffix.size()) + std::string(suffix);
}

std::string HostQuery(const std::vector<std::string>& wwpns, const std::vector<std::string>& iqns) {
  std::string fc, iscsi;
  for (const auto& w : wwpns) fc += (fc.empty() ? "" : " OR ") + std::string("wwn EQ ") + w;
  for (const auto& i : iqns) iscsi += (iscsi.empty() ? "" : " OR ") + std::string("name EQ ") + i;
  std::string q;
  if (!fc.empty()) q = "FCPaths[" + fc + "]";
  if (!iscsi.empty()) q += (q.empty() ? "" : " OR ") + std::string("iSCSIPaths[") + iscsi + "]";
  return "\"" + q + "\"";
}

Primera3parArray::Primera3parArray(const ArrayConfig& config, common::Tuning tuning)
    : SessionArray(config, common::RestOptionsFromConfig(config, "Primera/3PAR", tuning)) {}

Primera3parArray::~Primera3parArray() {
  EndSession([](const Session& s) { return common::Delete("/api/v1/credentials/" + s.token); });
}

common::SessionArray::Session Primera3parArray::Login() {
  common::Request r = common::Post("/api/v1/credentials", json{{"user", username_}, {"password", password_}});
  r.authenticated = false;
  json j = rest_.CallJson(r, "logging in as " + username_);
  std::string key = Str(j, "key");
  if (key.empty()) {
    throw TransientError("logging in as " + username_ + " on Primera/3PAR " + rest_.host() +
                         ": the answer has no session key");
  }
  return Session{key, ""};
}

void Primera3parArray::Present(net::HttpRequest& request, const Session& session) {
  request.headers.Set("X-HP3PAR-WSAPI-SessionKey", session.token);
}

bool Primera3parArray::SessionExpired(const common::Response& response) {
  if (response.status == 401) return true;
  return response.status == 403 &&
         ParseApiError(response.status, response.body).code == kCodeInvalidSessionKey;
}

common::CallError Primera3parArray::ErrorFor(std::string_view what, const common::Response& r) {
  ApiError api = ParseApiError(r.status, r.body);
  std::string words;
  if (!api.code.empty() || !api.desc.empty()) {
    words = "code " + (api.code.empty() ? std::string("?") : api.code) + " \"" + api.desc + "\"";
  }
  std::string_view hint;
  if (r.status == 401 || (r.status == 403 && what.rfind("logging in", 0) == 0)) {
    hint = common::kCheckCredentials;
  } else if (r.status == 403) {
    hint = "the array user needs the edit role (or a role allowing hosts, host sets and VLUNs)";
  } else if (r.status >= 500) {
    hint = "the array reported an internal error; check the WSAPI service and retry";
  }
  return CallError(common::RefusalClass(r.status),
                   common::RefusalMessage(what, Describe(), r.status, r.body, words, hint), r.status,
                   api.code);
}

Lun Primera3parArray::ResolveVolume(const VolumeRef& volume) {
  if (volume.volume_handle.empty()) {
    throw PreconditionError("PV " + volume.pv_name +
                            " has no spec.csi.volumeHandle: is it an HPE CSI volume?");
  }
  const std::string name = VolumeNameFromHandle(volume.volume_handle);
  json v;
  try {
    v = rest_.CallJson(common::Get("/api/v1/volumes/" + net::UrlEncode(name)), "looking up volume " + name);
  } catch (const CallError& e) {
    if (e.status() != 404) throw;
    throw PreconditionError("volume " + name + " (PV " + volume.pv_name + ") not found on Primera/3PAR " +
                            rest_.host() + ": check that the PV's StorageClass provisions on this array");
  }
  Lun lun;
  lun.name = Str(v, "name");
  lun.id = Str(v, "id");
  lun.serial = Str(v, "wwn");
  if (lun.serial.empty()) {
    throw TransientError("Primera/3PAR " + rest_.host() + " returned volume " + name + " without a wwn");
  }
  lun.naa = NaaFromWwn(lun.serial);
  if (v.contains("sizeMiB") && v["sizeMiB"].is_number()) lun.size_bytes = v["sizeMiB"].get<uint64_t>() << 20;
  return lun;
}

InitiatorGroup Primera3parArray::EnsureInitiatorGroup(const std::string& name,
                                                      const std::vector<std::string>& initiators) {
  const common::ScsiInitiators split = common::SplitScsiInitiators(
      initiators, name, "Primera/3PAR exports volumes to ESXi over FC or iSCSI only");
  const std::vector<std::string>& wwpns = split.wwpns;
  const std::vector<std::string>& iqns = split.iqns;
  if (wwpns.empty() && iqns.empty()) {
    throw PreconditionError("no FC or iSCSI initiator given for " + name + " on Primera/3PAR " +
                            rest_.host());
  }
  const std::string what_hosts = "looking up the hosts holding the initiators of " + name;

  // Which array host holds each initiator. A zoned ESXi host is usually defined on the array already
  // (with its WWPNs), and a WWPN belongs to one host only, so that host is the one to use.
  std::map<std::string, std::string> owner;  // WWPN (upper) or IQN (lower) → host name
  auto find_owners = [&]() {
    json hosts;
    try {
      hosts = rest_.CallJson(common::Get("/api/v1/hosts?query=" + net::UrlEncode(HostQuery(wwpns, iqns))),
                             what_hosts);
    } catch (const CallError& e) {
      if (e.status() != 400) throw;
      // WSAPI releases without host queries: filter the whole list here.
      hosts = rest_.CallJson(common::Get("/api/v1/hosts"), what_hosts);
    }
    for (const auto& h : Members(hosts)) {
      std::string host = Str(h, "name");
      for (const auto& p : common::ArrayAt(h, "FCPaths")) {
        std::string wwn = Str(p, "wwn");
        try {
          wwn = NormalizeWwn(wwn);
        } catch (const Error&) {
          continue;
        }
        if (std::find(wwpns.begin(), wwpns.end(), wwn) != wwpns.end()) owner[wwn] = host;
      }
      for (const auto& p : common::ArrayAt(h, "iSCSIPaths")) {
        std::string iqn = AsciiLower(Str(p, "name"));
        for (const auto& want : iqns) {
          if (AsciiLower(want) == iqn) owner[iqn] = host;
        }
      }
    }
  };
  find_owners();

  // Initiators no host holds get a host of their own: one for the FC ports, one for the iSCSI names
  // (a WSAPI host has paths of one kind).
  auto create_host = [&](const std::string& host, const char* key, const std::vector<std::string>& paths) {
    const std::string what = "creating host " + host + " for " + name;
    try {
      rest_.Call(common::Post("/api/v1/hosts", json{{"name", host}, {"persona", 11}, {key, paths}}), what);
      log::Info("storage.primera3par", "created host", {{"host", host}, {"array", rest_.host()}});
    } catch (const CallError& e) {
      if (e.status() != 409) throw;
      // The name exists (an earlier run) or the paths were claimed meanwhile: add what is missing.
      find_owners();
      std::vector<std::string> still;
      for (const auto& p : paths) {
        std::string k = std::string(key) == "FCWWNs" ? p : AsciiLower(p);
        if (!owner.count(k)) still.push_back(p);
      }
      if (still.empty()) return;
      rest_.Call(
          common::Put("/api/v1/hosts/" + net::UrlEncode(host), json{{"pathOperation", 1}, {key, still}}),
          "adding " + std::to_string(still.size()) + " paths to host " + host);
    }
    for (const auto& p : paths) owner[std::string(key) == "FCWWNs" ? p : AsciiLower(p)] = host;
  };
  std::vector<std::string> free_wwpns, free_iqns;
  for (const auto& w : wwpns) {
    if (!owner.count(w)) free_wwpns.push_back(w);
  }
  for (const auto& i : iqns) {
    if (!owner.count(AsciiLower(i))) free_iqns.push_back(i);
  }
  if (!free_wwpns.empty()) create_host(HostName(name, ""), "FCWWNs", free_wwpns);
  if (!free_iqns.empty()) create_host(HostName(name, wwpns.empty() ? "" : "-iscsi"), "iSCSINames", free_iqns);

  std::vector<std::string> hosts;
  for (const auto& [_, host] : owner) {
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
  }

  // The host set holding those hosts.
  const std::string set = HostSetName(name);
  const std::string set_path = "/api/v1/hostsets/" + net::UrlEncode(set);
  json hs;
  try {
    hs = rest_.CallJson(common::Get(set_path), "looking up host set " + set);
  } catch (const CallError& e) {
    if (e.status() != 404) throw;
    try {
      rest_.Call(common::Post("/api/v1/hostsets", json{{"name", set}, {"setmembers", hosts}}),
                 "creating host set " + set);
      log::Info("storage.primera3par", "created host set", {{"hostSet", set}, {"array", rest_.host()}});
    } catch (const CallError& c) {
      if (c.status() != 409) throw;  // created meanwhile by another populator
    }
    hs = rest_.CallJson(common::Get(set_path), "looking up host set " + set);
  }
  const std::vector<std::string> members = SetMembers(hs);
  for (const auto& host : hosts) {
    if (std::find(members.begin(), members.end(), host) != members.end()) continue;
    try {
      rest_.Call(common::Put(set_path, json{{"action", 1}, {"setmembers", {host}}}),
                 "adding host " + host + " to host set " + set);
    } catch (const CallError& e) {
      if (e.code() != kCodeMemberInSet) throw;
    }
  }

  InitiatorGroup group;
  group.name = "set:" + set;
  group.protocol = split.protocol();
  group.initiators = split.all();
  return group;
}

json Primera3parArray::VlunsWhere(const char* field, const std::string& value, std::optional<json>& whole) {
  const bool by_host = std::string_view(field) == kByHost;
  const std::string what = "listing the VLUNs of " + std::string(by_host ? "" : "volume ") + value;
  json found;
  if (!whole) {
    try {
      found = rest_.CallJson(common::Get("/api/v1/vluns?query=" +
                                         net::UrlEncode("\"" + std::string(field) + " EQ " + value + "\"")),
                             what);
    } catch (const CallError& e) {
      if (e.status() != 400) throw;
      // A WSAPI without VLUN queries: the whole list, filtered here.
      whole = rest_.CallJson(common::Get("/api/v1/vluns"), "listing VLUNs");
    }
  }
  json out = json::array();
  for (const auto& v : Members(whole ? *whole : found)) {
    if (by_host ? VlunTarget(v) == value : Str(v, field) == value) out.push_back(v);
  }
  return out;
}

json Primera3parArray::Vluns(const std::string& volume) {
  std::optional<json> whole;
  return VlunsWhere(kByVolume, volume, whole);
}

std::vector<std::string> Primera3parArray::ListMappings(const Lun& lun) {
  std::vector<std::string> groups;
  for (const auto& v : Vluns(lun.name)) {
    std::string target = VlunTarget(v);
    if (!target.empty() && std::find(groups.begin(), groups.end(), target) == groups.end()) {
      groups.push_back(target);
    }
  }
  return groups;
}

std::vector<std::string> Primera3parArray::HostsOfGroup(const std::string& group) {
  if (group.rfind("set:", 0) != 0) return {group};
  const std::string set = group.substr(4);
  json hs;
  try {
    hs = rest_.CallJson(common::Get("/api/v1/hostsets/" + net::UrlEncode(set)), "looking up host set " + set);
  } catch (const CallError& e) {
    if (e.status() != 404) throw;
    throw PreconditionError("host set " + set + " not found on Primera/3PAR " + rest_.host() +
                            ": it is made by EnsureInitiatorGroup; was it deleted meanwhile?");
  }
  return SetMembers(hs);
}

Lun Primera3parArray::Map(const Lun& lun, const std::string& group) {
  const std::string what = "exporting volume " + lun.name + " to " + group;
  Lun out = lun;
  auto exported = [&](const json& v) {
    if (v.contains("lun") && v["lun"].is_number_integer()) out.host_lun_id = v["lun"].get<int>();
    return out;
  };
  for (const auto& v : Vluns(lun.name)) {
    if (VlunTarget(v) == group) return exported(v);  // already exported
  }
  // LUN ids are per host: the id must be free on every host the export reaches, whether that host's
  // other VLUNs come from host exports or from exports to any host set it is in. Those are asked for
  // by hostname (a few small answers), not by reading every VLUN of the array.
  std::vector<std::string> hosts = HostsOfGroup(group);
  json sets = rest_.CallJson(common::Get("/api/v1/hostsets"), "listing host sets");
  std::set<std::string> targets(hosts.begin(), hosts.end());
  targets.insert(group);
  for (const auto& s : Members(sets)) {
    for (const auto& m : SetMembers(s)) {
      if (std::find(hosts.begin(), hosts.end(), m) != hosts.end()) targets.insert("set:" + Str(s, "name"));
    }
  }
  std::optional<json> whole;  // the whole VLUN list, once, if the WSAPI has no VLUN queries
  std::set<int> used;
  for (const auto& target : targets) {
    for (const auto& v : VlunsWhere(kByHost, target, whole)) {
      if (v.contains("lun") && v["lun"].is_number_integer()) used.insert(v["lun"].get<int>());
    }
  }
  for (int attempt = 0; attempt < 4; ++attempt) {
    int id = LowestFreeLun(used);
    if (id < 0) {
      throw PreconditionError(what + " on Primera/3PAR " + rest_.host() +
                              ": no free LUN id on the hosts of " + group);
    }
    // Both `lun` and `autoLun`: 3PAR OS honours the id, Primera picks the next free one from it.
    json body = {
        {"volumeName", lun.name}, {"lun", id}, {"hostname", group}, {"autoLun", true}, {"maxAutoLun", 0}};
    try {
      rest_.Call(common::Post("/api/v1/vluns", body), what);
      log::Info("storage.primera3par", "exported volume",
                {{"volume", lun.name}, {"to", group}, {"lun", id}, {"array", rest_.host()}});
      out.host_lun_id = id;  // free on every host of the group, so Primera's autoLun keeps it too
      return out;
    } catch (const CallError& e) {
      if (e.status() != 409) throw;
      // Exported meanwhile (an earlier attempt whose answer was lost), or the id was taken.
      for (const auto& v : Vluns(lun.name)) {
        if (VlunTarget(v) == group) return exported(v);
      }
      used.insert(id);
    }
  }
  throw TransientError(what + " on Primera/3PAR " + rest_.host() + ": the LUN ids kept being taken; retry");
}

void Primera3parArray::Unmap(const Lun& lun, const std::string& group) {
  const std::string what = "removing the export of volume " + lun.name + " to " + group;
  for (const auto& v : Vluns(lun.name)) {
    if (VlunTarget(v) != group) continue;
    std::string id = lun.name + "," + Str(v, "lun") + "," + group;
    try {
      rest_.Call(common::Delete("/api/v1/vluns/" + net::UrlEncode(id)), what);
      log::Info("storage.primera3par", "removed export",
                {{"volume", lun.name}, {"from", group}, {"array", rest_.host()}});
    } catch (const CallError& e) {
      if (e.status() != 404) throw;
    }
  }
}

void RegisterVendor(VendorRegistry& registry) { RegisterArray<Primera3parArray>(registry, "primera3par"); }

}  // namespace hoist::storage::primera3par

#include "storage/vantara/vantara_array.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "storage/common/fields.h"
#include "storage/common/initiators.h"
#include "storage/identifiers.h"
#include "storage/registry.h"

namespace hoist::storage::vantara {
namespace {

using common::CallError;
using common::Str;
using nlohmann::json;

const json& Data(const json& j) { return common::ArrayAt(j, "data"); }

ApiError FromObject(int status, const json& e) {
  ApiError a;
  a.status = status;
  a.message_id = Str(e, "messageId");
  a.message = Str(e, "message");
  a.solution = Str(e, "solution");
  if (e.is_object() && e.contains("errorCode") && e["errorCode"].is_object()) {
    a.ssb1 = Str(e["errorCode"], "SSB1");
    a.ssb2 = Str(e["errorCode"], "SSB2");
  }
  return a;
}

std::string DescribeError(const ApiError& a) {
  std::string s;
  if (!a.message_id.empty()) s += a.message_id + " ";
  s += "\"" + a.message + "\"";
  if (!a.ssb1.empty()) s += " (SSB1 " + a.ssb1 + ", SSB2 " + a.ssb2 + ")";
  if (!a.solution.empty()) s += "; the array suggests: " + a.solution;
  return s;
}

std::string Code(const ApiError& a) { return a.ssb1.empty() ? a.message_id : a.ssb1 + "-" + a.ssb2; }

// The REST API's host modes for ESXi, and the host mode options VAAI XCOPY needs (54: VAAI support,
// 63: VAAI with TPGS/ALUA, as Hitachi's VMware guides require).
constexpr char kHostMode[] = "VMWARE_EX";
const std::vector<int> kHostModeOptions = {54, 63};

std::string BaseUrl(const ArrayConfig& config) {
  std::string base = config.BaseUrl();
  std::string port = config.Get("STORAGE_PORT");
  if (port.empty()) return base;
  // Put the port in unless the host name has one already.
  size_t scheme = base.find("://");
  std::string host = base.substr(scheme + 3);
  size_t slash = host.find('/');
  std::string hostport = host.substr(0, slash);
  bool has_port = hostport.find(':') != std::string::npos && hostport.back() != ']';
  if (has_port) return base;
  return base.substr(0, scheme + 3) + hostport + ":" + port +
         (slash == std::string::npos ? "" : host.substr(slash));
}

}  // namespace

ApiError ParseApiError(int status, std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    ApiError a;
    a.status = status;
    return a;
  }
  if (j.contains("error") && j["error"].is_object()) return FromObject(status, j["error"]);
  return FromObject(status, j);
}

VolumeHandle ParseVolumeHandle(std::string_view handle) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t sep = handle.find("--", start);
    if (sep == std::string_view::npos) {
      parts.emplace_back(handle.substr(start));
      break;
    }
    parts.emplace_back(handle.substr(start, sep - start));
    start = sep + 2;
    if (parts.size() == 4) {  // the nickname may itself contain "--"
      parts.emplace_back(handle.substr(start));
      break;
    }
  }
  auto bad = [&] {
    return PreconditionError("volume handle \"" + std::string(handle) +
                             "\" is not a Hitachi HSPC handle (01--<protocol>--<storageDeviceId>--<ldevId>--"
                             "<nickname>): is the PV provisioned by hspc.csi.hitachi.com?");
  };
  if (parts.size() < 4 || parts[0] != "01" || parts[2].empty()) throw bad();
  VolumeHandle h;
  h.protocol = AsciiLower(parts[1]);
  h.storage_device_id = parts[2];
  try {
    size_t used = 0;
    h.ldev_id = std::stoi(parts[3], &used);
    if (used != parts[3].size() || h.ldev_id < 0) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  if (parts.size() > 4) h.nickname = parts[4];
  return h;
}

std::vector<HostGroupRef> ParseGroup(std::string_view group) {
  std::set<HostGroupRef> refs;
  size_t start = 0;
  while (start < group.size()) {
    size_t semi = group.find(';', start);
    if (semi == std::string_view::npos) semi = group.size();
    std::string_view id = group.substr(start, semi - start);
    size_t comma = id.rfind(',');
    if (comma == std::string_view::npos || comma == 0) {
      throw PreconditionError("\"" + std::string(group) +
                              "\" is not a list of Hitachi host groups (<port>,<number>;…, e.g. CL1-A,3)");
    }
    HostGroupRef r;
    r.port = std::string(id.substr(0, comma));
    try {
      r.number = std::stoi(std::string(id.substr(comma + 1)));
    } catch (const std::logic_error&) {
      throw PreconditionError("host group \"" + std::string(id) + "\" has no number after the port");
    }
    refs.insert(r);
    start = semi + 1;
  }
  return {refs.begin(), refs.end()};
}

std::string GroupName(std::vector<HostGroupRef> refs) {
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  std::string out;
  for (const auto& r : refs) out += (out.empty() ? "" : ";") + r.Id();
  return out;
}

std::vector<HostGroupRef> ParseHostGroupList(std::string_view list) {
  std::string semi(list);
  std::replace(semi.begin(), semi.end(), ':', ';');
  return ParseGroup(semi);
}

VantaraArray::VantaraArray(const ArrayConfig& config, Tuning tuning)
    : SessionArray(config,
                   [&] {
                     common::RestOptions o = common::RestOptionsFromConfig(config, "Vantara", tuning.rest);
                     o.base_url = BaseUrl(config);
                     return o;
                   }()),
      configured_id_(config.Get("STORAGE_ID")),
      tuning_(tuning) {
  std::string list = config.Get("HOSTGROUP_ID_LIST");
  if (!list.empty()) configured_groups_ = ParseHostGroupList(list);
}

VantaraArray::~VantaraArray() {
  EndSession([this](const Session& s) { return common::Delete(Objects() + "/sessions/" + s.id); });
}

std::string VantaraArray::storage_device_id() {
  return device_id_.Get([this] {
    if (!configured_id_.empty()) return configured_id_;
    common::Request r = common::Get("/ConfigurationManager/v1/objects/storages");
    r.headers.emplace_back("Authorization", common::BasicAuth(username_, password_));
    r.authenticated = false;
    json j = rest_.CallJson(r, "listing the storage systems");
    const json& data = Data(j);
    if (data.size() != 1) {
      throw PreconditionError(
          "the Configuration Manager REST API at " + rest_.host() + " manages " +
          std::to_string(data.size()) +
          " storage systems: set STORAGE_ID in the storage secret to the storageDeviceId to use");
    }
    return Str(data[0], "storageDeviceId");
  });
}

std::string VantaraArray::Objects() {
  return "/ConfigurationManager/v1/objects/storages/" + storage_device_id();
}

common::SessionArray::Session VantaraArray::Login() {
  common::Request r = common::Post(Objects() + "/sessions", json::object());
  r.headers.emplace_back("Authorization", common::BasicAuth(username_, password_));
  r.authenticated = false;
  json j = rest_.CallJson(r, "logging in as " + username_);
  Session s{Str(j, "token"), Str(j, "sessionId")};
  if (s.token.empty()) {
    throw TransientError("logging in as " + username_ + " on Vantara " + rest_.host() +
                         ": the answer has no session token");
  }
  return s;
}

void VantaraArray::Present(net::HttpRequest& request, const Session& session) {
  request.headers.Set("Authorization", "Session " + session.token);
}

bool VantaraArray::SessionExpired(const common::Response& response) { return response.status == 401; }

common::CallError VantaraArray::ErrorFor(std::string_view what, const common::Response& r) {
  ApiError api = ParseApiError(r.status, r.body);
  std::string words = !api.message.empty() || !api.message_id.empty() ? DescribeError(api) : "";
  std::string_view hint;
  if (r.status == 401) {
    hint = common::kCheckCredentials;
  } else if (r.status == 403) {
    hint = "the array user needs the Storage Administrator (Provisioning) role on the resource group";
  } else if (r.status == 503) {
    hint = "the REST API server is busy; retry later";
  }
  // 412: the resource is locked by another user's change; it clears.
  ErrorClass cls = r.status == 412 ? ErrorClass::kTransient : common::RefusalClass(r.status);
  return CallError(cls, common::RefusalMessage(what, Describe(), r.status, r.body, words, hint), r.status,
                   Code(api));
}

json VantaraArray::RunJob(const common::Request& request, std::string_view what) {
  json job = rest_.CallJson(request, what);
  const std::string where = " on Vantara " + rest_.host();
  auto deadline = std::chrono::steady_clock::now() + tuning_.job_timeout;
  auto wait = tuning_.job_poll;
  while (Str(job, "status") != "Completed") {
    std::string id = Str(job, "jobId");
    if (id.empty()) {
      throw TransientError(std::string(what) + where + ": the answer is neither a job nor an error: \"" +
                           common::Snippet(job.dump()) + "\"");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw TransientError(std::string(what) + where + ": job " + id + " is still " + Str(job, "status") +
                           " after " + std::to_string(tuning_.job_timeout.count() / 1000) +
                           " s — check the job on the array before retrying");
    }
    std::this_thread::sleep_for(wait);
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::milliseconds(5000));
    job = rest_.CallJson(common::Get(Objects() + "/jobs/" + id), std::string(what) + " (job " + id + ")");
  }
  if (Str(job, "state") != "Succeeded") {
    ApiError api = job.contains("error") ? FromObject(0, job["error"]) : ApiError{};
    std::string msg = std::string(what) + where + ": job " + Str(job, "jobId") + " " + Str(job, "state");
    if (!api.message.empty() || !api.message_id.empty()) msg += ": " + DescribeError(api);
    return json{{"failed", true}, {"message", msg}, {"code", Code(api)}};
  }
  return job;
}

json VantaraArray::Ldev(int ldev_id, std::string_view what) {
  try {
    return rest_.CallJson(common::Get(Objects() + "/ldevs/" + std::to_string(ldev_id)), what);
  } catch (const CallError& e) {
    if (e.status() != 404) throw;
    throw PreconditionError("LDEV " + std::to_string(ldev_id) + " not found on Vantara " + rest_.host() +
                            " (storage " + storage_device_id() +
                            "): check the PV's volume handle and STORAGE_ID");
  }
}

namespace {

// A failed job as a CallError (kPrecondition: the array refused the change and said why).
[[noreturn]] void ThrowJobFailure(const json& result) {
  throw CallError(ErrorClass::kPrecondition, result.value("message", std::string()), 0,
                  result.value("code", std::string()));
}

bool Failed(const json& result) { return result.is_object() && result.value("failed", false); }

}  // namespace

Lun VantaraArray::ResolveVolume(const VolumeRef& volume) {
  VolumeHandle h = ParseVolumeHandle(volume.volume_handle);
  if (h.storage_device_id != storage_device_id()) {
    throw PreconditionError("PV " + volume.pv_name + " is on storage system " + h.storage_device_id +
                            " but the storage secret names " + storage_device_id() +
                            " (STORAGE_ID) on Vantara " + rest_.host() +
                            ": use the secret of the PV's array");
  }
  json ldev = Ldev(h.ldev_id, "looking up LDEV " + std::to_string(h.ldev_id));
  std::string emulation = Str(ldev, "emulationType");
  if (emulation == "NOT DEFINED" || emulation.empty()) {
    throw PreconditionError("LDEV " + std::to_string(h.ldev_id) + " (PV " + volume.pv_name +
                            ") is not defined on Vantara " + rest_.host());
  }
  Lun lun;
  lun.id = std::to_string(h.ldev_id);
  lun.name = "LDEV " + lun.id;
  lun.serial = Str(ldev, "naaId");
  if (!lun.serial.empty()) lun.naa = NaaFromWwn(lun.serial);
  if (ldev.contains("blockCapacity") && ldev["blockCapacity"].is_number()) {
    lun.size_bytes = ldev["blockCapacity"].get<uint64_t>() * 512;
  }
  lun.protocol = h.protocol == "fc"      ? Protocol::kFc
                 : h.protocol == "iscsi" ? Protocol::kIscsi
                                         : Protocol::kUnknown;
  return lun;
}

InitiatorGroup VantaraArray::EnsureInitiatorGroup(const std::string& name,
                                                  const std::vector<std::string>& initiators) {
  // The REST API stores WWNs and iSCSI names in lower case.
  common::ScsiInitiators split =
      common::SplitScsiInitiators(initiators, name, "Vantara presents LDEVs to ESXi over FC or iSCSI here");
  for (auto& w : split.wwpns) w = AsciiLower(w);
  for (auto& i : split.iqns) i = AsciiLower(i);
  const std::vector<std::string>& wwpns = split.wwpns;
  const std::vector<std::string>& iqns = split.iqns;
  InitiatorGroup group;
  group.protocol = split.protocol();
  group.initiators = split.all();

  if (!configured_groups_.empty()) {
    // The administrator named the host groups (HOSTGROUP_ID_LIST): use them as they are.
    for (const auto& g : configured_groups_) {
      try {
        rest_.CallJson(common::Get(Objects() + "/host-groups/" + net::UrlEncode(g.Id())),
                       "looking up host group " + g.Id());
      } catch (const CallError& e) {
        if (e.status() != 404) throw;
        throw PreconditionError("host group " + g.Id() + " (HOSTGROUP_ID_LIST) not found on Vantara " +
                                rest_.host() + ": check the port and host group number");
      }
    }
    group.name = GroupName(configured_groups_);
    return group;
  }

  json ports =
      rest_.CallJson(common::Get(Objects() + "/ports?detailInfoType=logins"), "listing the storage ports");
  std::vector<HostGroupRef> refs;
  auto ensure_on_port = [&](const std::string& port, bool fc, const std::vector<std::string>& names) {
    const char* member_res = fc ? "host-wwns" : "host-iscsis";
    const char* member_key = fc ? "hostWwn" : "iscsiName";
    // Host groups on this port that already hold the ESXi host's initiators.
    json members =
        rest_.CallJson(common::Get(Objects() + "/" + member_res + "?" + common::Query({{"portId", port}})),
                       "listing the " + std::string(fc ? "WWNs" : "iSCSI names") + " on port " + port);
    std::set<int> holding;
    std::set<std::string> present;
    for (const auto& m : Data(members)) {
      std::string v = AsciiLower(Str(m, member_key));
      if (std::find(names.begin(), names.end(), v) != names.end()) {
        holding.insert(m.value("hostGroupNumber", -1));
        present.insert(v);
      }
    }
    for (int n : holding) refs.push_back({port, n});
    if (present.size() == names.size()) return;
    // The rest goes into host group <name> on this port (made by an earlier run, or made now).
    json groups = rest_.CallJson(common::Get(Objects() + "/host-groups?" + common::Query({{"portId", port}})),
                                 "listing the host groups on port " + port);
    int number = -1;
    for (const auto& g : Data(groups)) {
      if (Str(g, "hostGroupName") == name) number = g.value("hostGroupNumber", -1);
    }
    if (number < 0) {
      json body = {{"portId", port},
                   {"hostGroupName", name},
                   {"hostMode", kHostMode},
                   {"hostModeOptions", kHostModeOptions}};
      json job = RunJob(common::Post(Objects() + "/host-groups", body),
                        "creating host group " + name + " on port " + port);
      if (Failed(job)) {
        // Created meanwhile by another populator? Look again before giving up.
        groups = rest_.CallJson(common::Get(Objects() + "/host-groups?" + common::Query({{"portId", port}})),
                                "listing the host groups on port " + port);
        for (const auto& g : Data(groups)) {
          if (Str(g, "hostGroupName") == name) number = g.value("hostGroupNumber", -1);
        }
        if (number < 0) ThrowJobFailure(job);
      } else {
        for (const auto& res : job.value("affectedResources", json::array())) {
          std::string r = res.get<std::string>();
          size_t comma = r.rfind(',');
          if (comma != std::string::npos) number = std::stoi(r.substr(comma + 1));
        }
        if (number < 0) {
          throw TransientError("creating host group " + name + " on port " + port + " on Vantara " +
                               rest_.host() + ": the job names no host group");
        }
        log::Info(
            "storage.vantara", "created host group",
            {{"hostGroup", port + "," + std::to_string(number)}, {"name", name}, {"array", rest_.host()}});
      }
    }
    for (const auto& v : names) {
      if (present.count(v)) continue;
      json body = {{member_key, v}, {"portId", port}, {"hostGroupNumber", number}};
      json job = RunJob(common::Post(Objects() + "/" + member_res, body),
                        "adding " + v + " to host group " + port + "," + std::to_string(number));
      if (Failed(job)) {
        // Added meanwhile (an earlier attempt whose answer was lost)?
        json again = rest_.CallJson(
            common::Get(Objects() + "/" + member_res + "?" +
                        common::Query({{"portId", port}, {"hostGroupNumber", std::to_string(number)}})),
            "listing host group " + port + "," + std::to_string(number));
        bool there = false;
        for (const auto& m : Data(again)) there = there || AsciiLower(Str(m, member_key)) == v;
        if (!there) ThrowJobFailure(job);
      }
    }
    refs.push_back({port, number});
  };

  for (const auto& p : Data(ports)) {
    std::string port = Str(p, "portId");
    bool target = false;
    if (p.contains("portAttributes") && p["portAttributes"].is_array()) {
      for (const auto& a : p["portAttributes"]) target = target || a == "TAR";
    }
    if (!target || !p.value("lunSecuritySetting", true)) continue;
    std::string type = Str(p, "portType");
    if (type == "FIBRE" && !wwpns.empty()) {
      // Only WWPNs logged in to this port can use it (zoning).
      std::vector<std::string> logged;
      for (const auto& l : p.value("logins", json::array())) {
        std::string w = AsciiLower(Str(l, "loginWwn"));
        if (std::find(wwpns.begin(), wwpns.end(), w) != wwpns.end()) logged.push_back(w);
      }
      if (!logged.empty()) ensure_on_port(port, true, logged);
    } else if (type == "ISCSI" && !iqns.empty()) {
      ensure_on_port(port, false, iqns);
    }
  }
  if (refs.empty()) {
    throw PreconditionError(
        "no storage port of Vantara " + rest_.host() + " reaches " + name +
        (wwpns.empty() ? ": the array has no iSCSI target port"
                       : ": none of its WWPNs is logged in to an FC target port — check the zoning") +
        " (or name host groups in HOSTGROUP_ID_LIST)");
  }
  group.name = GroupName(refs);
  return group;
}

std::vector<std::string> VantaraArray::ListMappings(const Lun& lun) {
  json ldev = Ldev(std::stoi(lun.id), "listing the LU paths of " + lun.name);
  std::map<std::string, std::vector<HostGroupRef>> by_name;
  for (const auto& p : ldev.value("ports", json::array())) {
    by_name[Str(p, "hostGroupName")].push_back({Str(p, "portId"), p.value("hostGroupNumber", 0)});
  }
  std::vector<std::string> groups;
  for (auto& [_, refs] : by_name) groups.push_back(GroupName(refs));
  return groups;
}

Lun VantaraArray::Map(const Lun& lun, const std::string& group) {
  const int ldev_id = std::stoi(lun.id);
  auto paths_of = [&](const json& ldev) {
    std::set<HostGroupRef> have;
    for (const auto& p : ldev.value("ports", json::array()))
      have.insert({Str(p, "portId"), p.value("hostGroupNumber", 0)});
    return have;
  };
  json ldev = Ldev(ldev_id, "looking up " + lun.name);
  std::set<HostGroupRef> have = paths_of(ldev);
  for (const auto& ref : ParseGroup(group)) {
    if (have.count(ref)) continue;
    const std::string what = "adding an LU path for " + lun.name + " to host group " + ref.Id();
    json job =
        RunJob(common::Post(Objects() + "/luns",
                            json{{"portId", ref.port}, {"hostGroupNumber", ref.number}, {"ldevId", ldev_id}}),
               what);
    if (Failed(job)) {
      if (paths_of(Ldev(ldev_id, "looking up " + lun.name)).count(ref)) continue;  // made meanwhile
      ThrowJobFailure(job);
    }
    log::Info("storage.vantara", "added LU path",
              {{"ldev", ldev_id}, {"hostGroup", ref.Id()}, {"array", rest_.host()}});
  }
  Lun out = lun;
  // The LU paths as they are now: their LUN numbers (the host sees the highest of the group's), and
  // the LDEV's NAA id, which some releases report only once the LDEV has a path.
  ldev = Ldev(ldev_id, "looking up " + lun.name);
  for (const auto& ref : ParseGroup(group)) {
    for (const auto& p : ldev.value("ports", json::array())) {
      if (Str(p, "portId") == ref.port && p.value("hostGroupNumber", -1) == ref.number && p.contains("lun") &&
          p["lun"].is_number_integer())
        out.host_lun_id = std::max(out.host_lun_id, p["lun"].get<int>());
    }
  }
  if (out.naa.empty()) {
    std::string naa = Str(ldev, "naaId");
    if (naa.empty()) {
      throw TransientError("Vantara " + rest_.host() + " reports no naaId for " + lun.name +
                           " after mapping it");
    }
    out.serial = naa;
    out.naa = NaaFromWwn(naa);
  }
  return out;
}

void VantaraArray::Unmap(const Lun& lun, const std::string& group) {
  const int ldev_id = std::stoi(lun.id);
  json ldev = Ldev(ldev_id, "looking up " + lun.name);
  for (const auto& ref : ParseGroup(group)) {
    for (const auto& p : ldev.value("ports", json::array())) {
      if (Str(p, "portId") != ref.port || p.value("hostGroupNumber", -1) != ref.number) continue;
      std::string id = ref.Id() + "," + Str(p, "lun");
      const std::string what = "removing LU path " + id + " of " + lun.name;
      json job;
      try {
        job = RunJob(common::Delete(Objects() + "/luns/" + net::UrlEncode(id)), what);
      } catch (const CallError& e) {
        if (e.status() == 404) continue;
        throw;
      }
      if (Failed(job)) {
        bool still = false;
        for (const auto& q : Ldev(ldev_id, "looking up " + lun.name).value("ports", json::array())) {
          still = still || (Str(q, "portId") == ref.port && q.value("hostGroupNumber", -1) == ref.number);
        }
        if (still) ThrowJobFailure(job);
      }
      log::Info("storage.vantara", "removed LU path",
                {{"ldev", ldev_id}, {"path", id}, {"array", rest_.host()}});
    }
  }
}

void RegisterVendor(VendorRegistry& registry) { RegisterArray<VantaraArray>(registry, "vantara"); }

}  // namespace hoist::storage::vantara

#include "lab/sim/powerflex/simulator.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace hoist::lab::sim::powerflex {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Reply {
  int status = 200;
  std::string body;  // JSON text
};

Reply Err(int status, int code, const std::string& message) {
  return Reply{status, json{{"message", message}, {"httpStatusCode", status}, {"errorCode", code}}.dump()};
}
Reply Ok(const json& j) { return Reply{200, j.dump()}; }

// Gateway error codes this simulator uses.
constexpr int kUnauthorized = 0;
constexpr int kNotFound = 79;       // "Could not find the object"
constexpr int kAlreadyMapped = 81;  // "The volume is already mapped to this SDC"
constexpr int kNotMapped = 82;      // "The volume is not mapped to this SDC"
constexpr int kBadRequest = 2;

}  // namespace

struct PowerFlexSimulator::Impl {
  SimulatorOptions options;
  std::unique_ptr<common::SanPublisher> san;

  mutable std::mutex mu;
  std::mt19937_64 rng{std::random_device{}()};
  std::vector<SimVolume> volumes;
  std::vector<SimSdc> sdcs;
  std::map<std::string, std::vector<std::string>> maps;  // volume id → SDC ids
  std::set<std::string> tokens;

  SimVolume* FindVolume(const std::string& id) {
    for (auto& v : volumes) {
      if (v.id == id) return &v;
    }
    return nullptr;
  }
  SimSdc* FindSdc(const std::string& id) {
    for (auto& s : sdcs) {
      if (s.id == id) return &s;
    }
    return nullptr;
  }
  json SdcJson(const SimSdc& s) const {
    return {{"id", s.id},
            {"name", s.name},
            {"sdcGuid", s.guid},
            {"sdcIp", s.ip},
            {"osType", s.os_type},
            {"mdmConnectionState", s.connected ? "Connected" : "Disconnected"},
            {"systemId", options.system_id},
            {"sdcApproved", true},
            {"links", json::array({{{"rel", "self"}, {"href", "/api/instances/Sdc::" + s.id}}})}};
  }
  json VolumeJson(const SimVolume& v) {
    json mapped = json::array();
    for (const auto& id : maps[v.id]) {
      SimSdc* s = FindSdc(id);
      mapped.push_back({{"sdcId", id}, {"sdcIp", s ? s->ip : ""}, {"limitIops", 0}, {"limitBwInMbps", 0}});
    }
    return {{"id", v.id},
            {"name", v.name},
            {"sizeInKb", v.size_bytes / 1024},
            {"storagePoolId", "b4b6a0f500000000"},
            {"volumeType", "ThinProvisioned"},
            {"mappingToAllSdcsEnabled", false},
            {"mappedSdcInfo", mapped},
            {"links", json::array({{{"rel", "self"}, {"href", "/api/instances/Volume::" + v.id}}})}};
  }

  void Publish() {
    std::vector<std::tuple<std::string, std::string, json>> desired;
    for (const auto& [vid, ids] : maps) {
      SimVolume* v = FindVolume(vid);
      if (!v) continue;
      // No lunId: an SDC device has no SCSI LUN id.
      json entry = common::SanEntry(v->backing, options.array_name, "EMC", "ScaleIO", -1, v->size_bytes);
      for (const auto& id : ids) {
        if (SimSdc* s = FindSdc(id)) desired.emplace_back(AsciiLower(s->guid), v->eui, entry);
      }
    }
    san->Publish(desired);
  }
  json State() const {
    json j = {{"volumes", json::array()}, {"sdcs", json::array()}, {"maps", maps}};
    for (const auto& v : volumes) {
      j["volumes"].push_back(
          {{"id", v.id}, {"name", v.name}, {"backing", v.backing}, {"size", v.size_bytes}});
    }
    for (const auto& s : sdcs) {
      j["sdcs"].push_back({{"id", s.id},
                           {"name", s.name},
                           {"guid", s.guid},
                           {"ip", s.ip},
                           {"osType", s.os_type},
                           {"connected", s.connected}});
    }
    return j;
  }
  void Load(const json& j) {
    for (const auto& v : j.at("volumes")) {
      SimVolume sv;
      sv.id = v.at("id").get<std::string>();
      sv.name = v.at("name").get<std::string>();
      sv.eui = "eui." + options.system_id + sv.id;
      sv.backing = v.at("backing").get<std::string>();
      sv.size_bytes = v.at("size").get<uint64_t>();
      volumes.push_back(sv);
    }
    for (const auto& s : j.at("sdcs")) {
      sdcs.push_back({s.at("id").get<std::string>(), s.at("name").get<std::string>(),
                      s.at("guid").get<std::string>(), s.at("ip").get<std::string>(),
                      s.at("osType").get<std::string>(), s.at("connected").get<bool>()});
    }
    maps = j.at("maps").get<std::map<std::string, std::vector<std::string>>>();
  }
  void Changed() {
    Publish();
    common::SaveState(options, State());
  }

  Reply Handle(const net::ServerRequest& req) {
    const std::string& m = req.method;
    auto p = common::SplitPath(req.path);
    json body = json::object();
    if (!req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (!body.is_object()) return Err(400, kBadRequest, "Request body is not a JSON object");
    }
    if (p.size() == 2 && p[1] == "version" && m == "GET") return Ok(options.version);
    if (p.size() == 2 && p[1] == "logout" && m == "GET") {
      std::string auth = req.headers.Get("Authorization");
      std::string token = net::Base64Decode(auth.substr(6));
      tokens.erase(token.substr(1));
      return Reply{200, ""};
    }
    if (p.size() == 4 && p[1] == "types" && p[2] == "System" && p[3] == "instances" && m == "GET") {
      return Ok(json::array({{{"id", options.system_id},
                              {"name", options.array_name},
                              {"systemVersionName", "DellEMC PowerFlex Version: R3_6.0.0"},
                              {"mdmCluster", {{"clusterState", "ClusteredNormal"}}}}}));
    }
    if (p.size() == 4 && p[1] == "types" && p[2] == "Sdc" && p[3] == "instances" && m == "GET") {
      json a = json::array();
      for (const auto& s : sdcs) a.push_back(SdcJson(s));
      return Ok(a);
    }
    if (p.size() == 4 && p[1] == "instances" && p[2] == "System::" + options.system_id &&
        p[3] == "relationships") {
      return Err(404, kNotFound, "Could not find the relationship");
    }
    if (p.size() == 5 && p[1] == "instances" && p[3] == "relationships" && p[4] == "Sdc" && m == "GET") {
      if (p[2] != "System::" + options.system_id)
        return Err(404, kNotFound, "Could not find the System " + p[2]);
      json a = json::array();
      for (const auto& s : sdcs) a.push_back(SdcJson(s));
      return Ok(a);
    }
    if (p.size() == 6 && p[1] == "types" && p[2] == "Volume" && p[3] == "instances" && p[4] == "action" &&
        p[5] == "queryIdByKey" && m == "POST") {
      std::string name = body.value("name", "");
      for (const auto& v : volumes) {
        if (v.name == name) return Ok(v.id);
      }
      return Err(500, kNotFound, "Could not find the volume");
    }
    if (p.size() >= 3 && p[1] == "instances" && p[2].rfind("Volume::", 0) == 0) {
      std::string id = p[2].substr(8);
      SimVolume* v = FindVolume(id);
      if (!v) return Err(500, kNotFound, "Could not find the volume");
      if (p.size() == 3 && m == "GET") return Ok(VolumeJson(*v));
      if (p.size() == 5 && p[3] == "action" && m == "POST") {
        std::string sdc = body.value("sdcId", "");
        auto& mapped = maps[id];
        if (p[4] == "addMappedSdc") {
          if (!FindSdc(sdc)) return Err(500, kNotFound, "Could not find the SDC " + sdc);
          if (std::find(mapped.begin(), mapped.end(), sdc) != mapped.end()) {
            return Err(500, kAlreadyMapped, "The volume is already mapped to this SDC");
          }
          std::string multi = AsciiLower(body.value("allowMultipleMappings", "false"));
          if (!mapped.empty() && multi != "true") {
            return Err(500, kBadRequest,
                       "The volume is already mapped to another SDC; set allowMultipleMappings");
          }
          mapped.push_back(sdc);
          Changed();
          return Reply{200, "{}"};
        }
        if (p[4] == "removeMappedSdc") {
          if (body.contains("allSdcs")) {
            mapped.clear();
          } else {
            auto it = std::find(mapped.begin(), mapped.end(), sdc);
            if (it == mapped.end()) return Err(500, kNotMapped, "The volume is not mapped to this SDC");
            mapped.erase(it);
          }
          Changed();
          return Reply{200, "{}"};
        }
      }
    }
    return Err(404, kNotFound, "Could not find the resource " + req.path);
  }

  Reply Route(const net::ServerRequest& req) {
    std::string auth = req.headers.Get("Authorization");
    std::string decoded;
    if (auth.rfind("Basic ", 0) == 0) {
      try {
        decoded = net::Base64Decode(auth.substr(6));
      } catch (const std::exception&) {
      }
    }
    if (req.path == "/api/login" && req.method == "GET") {
      if (decoded != options.username + ":" + options.password)
        return Err(401, kUnauthorized, "Unauthorized");
      std::string token = "YWRtaW46" + common::RandomHex(rng, 40);
      tokens.insert(token);
      return Ok(token);
    }
    if (decoded.empty() || decoded[0] != ':' || !tokens.count(decoded.substr(1))) {
      return Err(401, kUnauthorized, "Unauthorized");
    }
    return Handle(req);
  }
};

PowerFlexSimulator::PowerFlexSimulator(SimulatorOptions options)
    : ArraySimulator(options, "PowerFlex", "hoist-lab-powerflex", "application/json;charset=UTF-8"),
      impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->options.system_id = AsciiLower(impl_->options.system_id);
  impl_->san = std::make_unique<common::SanPublisher>(impl_->options.san_dir);
  json state = common::LoadState(impl_->options);
  std::lock_guard lock(impl_->mu);
  if (state.is_object()) impl_->Load(state);
  impl_->Changed();
}

PowerFlexSimulator::~PowerFlexSimulator() { Stop(); }

common::Reply PowerFlexSimulator::Handle(const net::ServerRequest& req) {
  std::lock_guard lock(impl_->mu);
  Reply r = impl_->Route(req);
  return common::Reply{r.status, r.body};
}

common::Reply PowerFlexSimulator::FaultReply(int status) {
  Reply r = Err(status, 0, "injected fault: the gateway is busy");
  return common::Reply{r.status, r.body};
}

common::Reply PowerFlexSimulator::InternalError(const std::string& what) {
  return common::Reply{500, Err(500, 0, "internal error: " + what).body};
}

const std::string& PowerFlexSimulator::system_id() const { return impl_->options.system_id; }

SimVolume PowerFlexSimulator::CreateVolume(const std::string& name, uint64_t size_bytes) {
  std::lock_guard lock(impl_->mu);
  if (name.empty() || name.size() > 31)
    throw BugError("PowerFlex simulator: volume names have 1 to 31 characters");
  for (const auto& v : impl_->volumes) {
    if (v.name == name) throw BugError("PowerFlex simulator: volume " + name + " already exists");
  }
  SimVolume v;
  v.id = common::RandomHex(impl_->rng, 8) + "0000" + common::RandomHex(impl_->rng, 4);
  v.name = name;
  v.eui = "eui." + impl_->options.system_id + v.id;
  // PowerFlex allocates volumes in 8 GiB units; the lab keeps the requested size (sparse files) so the
  // PV and the volume agree byte for byte.
  v.size_bytes = (size_bytes + 1023) / 1024 * 1024;
  v.backing = (fs::path(impl_->options.lun_dir) / (v.id + ".img")).string();
  common::CreateSparseFile(v.backing, v.size_bytes);
  impl_->volumes.push_back(v);
  impl_->Changed();
  return v;
}

std::optional<SimVolume> PowerFlexSimulator::FindVolume(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  for (const auto& v : impl_->volumes) {
    if (v.name == name) return v;
  }
  return std::nullopt;
}

void PowerFlexSimulator::DeleteVolume(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  auto it = std::find_if(impl_->volumes.begin(), impl_->volumes.end(),
                         [&](const SimVolume& v) { return v.id == id; });
  if (it == impl_->volumes.end()) return;
  std::error_code ec;
  fs::remove(it->backing, ec);
  impl_->volumes.erase(it);
  impl_->maps.erase(id);
  impl_->Changed();
}

SimSdc PowerFlexSimulator::RegisterSdc(const std::string& guid, const std::string& name,
                                       const std::string& os_type, const std::string& ip) {
  std::lock_guard lock(impl_->mu);
  for (const auto& s : impl_->sdcs) {
    if (AsciiLower(s.guid) == AsciiLower(guid)) return s;
  }
  SimSdc s{common::RandomHex(impl_->rng, 8) + "0000000" + std::to_string(impl_->sdcs.size() % 10),
           name,
           AsciiLower(guid),
           ip,
           os_type,
           true};
  impl_->sdcs.push_back(s);
  impl_->Changed();
  return s;
}

void PowerFlexSimulator::SetSdcConnectedForLab(const std::string& guid, bool connected) {
  std::lock_guard lock(impl_->mu);
  for (auto& s : impl_->sdcs) {
    if (AsciiLower(s.guid) == AsciiLower(guid)) s.connected = connected;
  }
  impl_->Changed();
}

void PowerFlexSimulator::MapForLab(const std::string& volume_id, const std::string& sdc_id) {
  std::lock_guard lock(impl_->mu);
  auto& mapped = impl_->maps[volume_id];
  if (std::find(mapped.begin(), mapped.end(), sdc_id) == mapped.end()) mapped.push_back(sdc_id);
  impl_->Changed();
}

void PowerFlexSimulator::ExpireSessionsForTest() {
  std::lock_guard lock(impl_->mu);
  impl_->tokens.clear();
}

int PowerFlexSimulator::SessionCountForTest() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->tokens.size());
}

std::vector<std::string> PowerFlexSimulator::MappedSdcsForTest(const std::string& volume_id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->maps.find(volume_id);
  return it == impl_->maps.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace hoist::lab::sim::powerflex

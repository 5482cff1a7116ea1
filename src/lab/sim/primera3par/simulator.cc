#include "lab/sim/primera3par/simulator.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text.h"
#include "net/http_server.h"

namespace hoist::lab::sim::primera3par {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// WSAPI error codes this simulator answers with (named as in the HPE WSAPI reference).
constexpr int kInvalidInput = 1;        // INV_INPUT
constexpr int kMissingRequired = 2;     // INV_INPUT_MISSING_REQUIRED
constexpr int kInvalidCredentials = 5;  // login refused
constexpr int kInvalidSessionKey = 6;   // expired or unknown session key
constexpr int kExceedsLength = 10;      // INV_INPUT_EXCEEDS_LENGTH
constexpr int kParamConflict = 12;      // INV_INPUT_PARAM_CONFLICT
constexpr int kExistentHost = 16;       // EXISTENT_HOST
constexpr int kNonExistentHost = 17;    // NON_EXISTENT_HOST
constexpr int kExistentPath = 18;       // EXISTENT_PATH
constexpr int kNonExistentVlun = 19;    // NON_EXISTENT_VLUN
constexpr int kNonExistentVolume = 23;  // NON_EXISTENT_VOL
constexpr int kExistentVlun = 29;       // the export exists
constexpr int kLunInUse = 30;           // LUN id taken on a host
constexpr int kExistentSet = 101;       // EXISTENT_SET
constexpr int kNonExistentSet = 102;    // NON_EXISTENT_SET
constexpr int kMemberInSet = 104;       // MEMBER_IN_SET
constexpr int kMemberNotInSet = 105;    // MEMBER_NOT_IN_SET
constexpr int kVlunTypeHost = 3;
constexpr int kVlunTypeHostSet = 5;
// Collections go out in chunks of this size (a real array's chunks are its buffer's size).
constexpr size_t kCollectionChunkBytes = 1024;

struct Host {
  int id = 0;
  std::string name;
  int persona = 2;
  std::vector<std::string> wwns;  // 16 hex, upper
  std::vector<std::string> iqns;
};

struct HostSet {
  int id = 0;
  std::string name;
  std::vector<std::string> members;
};

struct Vlun {
  std::string volume;
  int lun = 0;
  std::string target;  // "set:<name>" or a host name
};

struct Reply {
  int status = 200;
  json body = nullptr;
  std::string location;
};

Reply Err(int status, int code, std::string desc) {
  return Reply{status, {{"code", code}, {"desc", std::move(desc)}}, ""};
}

std::string NormWwn(const std::string& w) {
  std::string out;
  for (char c : w) {
    if (c != ':' && c != '-' && c != ' ')
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsWwn(const std::string& w) {
  return w.size() == 16 && std::all_of(w.begin(), w.end(), [](char c) { return std::isxdigit(c) != 0; });
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Splits on " OR " outside brackets.
std::vector<std::string> SplitOr(const std::string& s) {
  std::vector<std::string> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') ++depth;
    if (s[i] == ']') --depth;
    if (depth == 0 && s.compare(i, 4, " OR ") == 0) {
      out.push_back(Trim(s.substr(start, i - start)));
      start = i + 4;
      i += 3;
    }
  }
  out.push_back(Trim(s.substr(start)));
  return out;
}

// "wwn EQ X" or "wwn==X" → (wwn, X).
bool ParseCondition(const std::string& c, std::string& field, std::string& value) {
  size_t eq = c.find(" EQ ");
  size_t len = 4;
  if (eq == std::string::npos) {
    eq = c.find("==");
    len = 2;
  }
  if (eq == std::string::npos) return false;
  field = Trim(c.substr(0, eq));
  value = Trim(c.substr(eq + len));
  return !field.empty() && !value.empty();
}

}  // namespace

struct Primera3parSimulator::Impl {
  SimulatorOptions options;
  std::unique_ptr<common::SanPublisher> san;

  mutable std::mutex mu;
  std::mt19937_64 rng{std::random_device{}()};
  std::string serial = "4UW0002345";
  int next_id = 1;
  std::vector<SimVolume> volumes;
  std::vector<Host> hosts;
  std::vector<HostSet> sets;
  std::vector<Vlun> vluns;
  std::set<std::string> sessions;

  SimVolume* FindVolume(const std::string& name) {
    for (auto& v : volumes) {
      if (v.name == name) return &v;
    }
    return nullptr;
  }
  Host* FindHost(const std::string& name) {
    for (auto& h : hosts) {
      if (AsciiLower(h.name) == AsciiLower(name)) return &h;
    }
    return nullptr;
  }
  HostSet* FindSet(const std::string& name) {
    for (auto& s : sets) {
      if (AsciiLower(s.name) == AsciiLower(name)) return &s;
    }
    return nullptr;
  }
  // Hosts a VLUN target reaches.
  std::vector<std::string> TargetHosts(const std::string& target) {
    if (target.rfind("set:", 0) == 0) {
      HostSet* s = FindSet(target.substr(4));
      return s ? s->members : std::vector<std::string>{};
    }
    return {target};
  }
  std::set<int> UsedLuns(const std::string& host) {
    std::set<int> used;
    for (const auto& v : vluns) {
      auto hs = TargetHosts(v.target);
      if (std::any_of(hs.begin(), hs.end(),
                      [&](const std::string& h) { return AsciiLower(h) == AsciiLower(host); })) {
        used.insert(v.lun);
      }
    }
    return used;
  }

  json VolumeJson(const SimVolume& v) const {
    return {{"id", v.id},
            {"name", v.name},
            {"wwn", v.wwn},
            {"sizeMiB", v.size_bytes >> 20},
            {"provisioningType", 2},
            {"userCPG", "SSD_r6"},
            {"state", 1},
            {"uuid", "00000000-0000-4000-a000-" + v.wwn.substr(20)}};
  }
  json HostJson(const Host& h) const {
    json fc = json::array(), iscsi = json::array();
    for (const auto& w : h.wwns)
      fc.push_back({{"wwn", w}, {"portPos", {{"node", 0}, {"slot", 1}, {"cardPort", 1}}}});
    for (const auto& i : h.iqns) iscsi.push_back({{"name", i}, {"IPAddr", "10.0.0.1"}});
    return {{"id", h.id}, {"name", h.name}, {"persona", h.persona}, {"FCPaths", fc}, {"iSCSIPaths", iscsi}};
  }
  json SetJson(const HostSet& s) const { return {{"id", s.id}, {"name", s.name}, {"setmembers", s.members}}; }
  json VlunJson(const Vlun& v) {
    SimVolume* vol = FindVolume(v.volume);
    return {{"lun", v.lun},
            {"volumeName", v.volume},
            {"volumeWWN", vol ? vol->wwn : ""},
            {"hostname", v.target},
            {"type", v.target.rfind("set:", 0) == 0 ? kVlunTypeHostSet : kVlunTypeHost},
            {"active", true},
            {"multipathing", 1},
            {"failedPathPol", 1}};
  }
  static json Collection(const json& members) { return {{"total", members.size()}, {"members", members}}; }

  void Publish() {
    std::vector<std::tuple<std::string, std::string, json>> desired;
    for (const auto& v : vluns) {
      SimVolume* vol = FindVolume(v.volume);
      if (!vol) continue;
      json entry =
          common::SanEntry(vol->backing, options.array_name, "3PARdata", "VV", v.lun, vol->size_bytes);
      for (const auto& hn : TargetHosts(v.target)) {
        Host* h = FindHost(hn);
        if (!h) continue;
        for (const auto& w : h->wwns) desired.emplace_back(w, vol->naa, entry);
        for (const auto& i : h->iqns) desired.emplace_back(AsciiLower(i), vol->naa, entry);
      }
    }
    san->Publish(desired);
  }

  json State() const {
    json j = {{"nextId", next_id},
              {"volumes", json::array()},
              {"hosts", json::array()},
              {"sets", json::array()},
              {"vluns", json::array()}};
    for (const auto& v : volumes) {
      j["volumes"].push_back(
          {{"id", v.id}, {"name", v.name}, {"wwn", v.wwn}, {"backing", v.backing}, {"size", v.size_bytes}});
    }
    for (const auto& h : hosts) {
      j["hosts"].push_back(
          {{"id", h.id}, {"name", h.name}, {"persona", h.persona}, {"wwns", h.wwns}, {"iqns", h.iqns}});
    }
    for (const auto& s : sets) j["sets"].push_back({{"id", s.id}, {"name", s.name}, {"members", s.members}});
    for (const auto& v : vluns)
      j["vluns"].push_back({{"volume", v.volume}, {"lun", v.lun}, {"target", v.target}});
    return j;
  }
  void Load(const json& j) {
    next_id = j.at("nextId").get<int>();
    for (const auto& v : j.at("volumes")) {
      SimVolume sv;
      sv.id = v.at("id").get<int>();
      sv.name = v.at("name").get<std::string>();
      sv.wwn = v.at("wwn").get<std::string>();
      sv.naa = "naa." + AsciiLower(sv.wwn);
      sv.backing = v.at("backing").get<std::string>();
      sv.size_bytes = v.at("size").get<uint64_t>();
      volumes.push_back(sv);
    }
    for (const auto& h : j.at("hosts")) {
      Host host;
      host.id = h.at("id").get<int>();
      host.name = h.at("name").get<std::string>();
      host.persona = h.at("persona").get<int>();
      host.wwns = h.at("wwns").get<std::vector<std::string>>();
      host.iqns = h.at("iqns").get<std::vector<std::string>>();
      hosts.push_back(host);
    }
    for (const auto& s : j.at("sets")) {
      sets.push_back({s.at("id").get<int>(), s.at("name").get<std::string>(),
                      s.at("members").get<std::vector<std::string>>()});
    }
    for (const auto& v : j.at("vluns")) {
      vluns.push_back(
          {v.at("volume").get<std::string>(), v.at("lun").get<int>(), v.at("target").get<std::string>()});
    }
  }
  void Changed() {
    Publish();
    common::SaveState(options, State());
  }

  Reply Hosts(const net::ServerRequest& req) {
    std::string q = req.Query("query");
    json members = json::array();
    if (q.empty()) {
      for (const auto& h : hosts) members.push_back(HostJson(h));
      return Reply{200, Collection(members), ""};
    }
    if (!options.queries) return Err(400, kInvalidInput, "invalid input: query is not supported");
    q = Trim(q);
    if (q.size() >= 2 && q.front() == '"' && q.back() == '"') q = q.substr(1, q.size() - 2);
    std::vector<std::pair<std::string, std::string>> want;  // (FCPaths|iSCSIPaths, value)
    for (const auto& term : SplitOr(q)) {
      size_t open = term.find('['), close = term.rfind(']');
      if (open == std::string::npos || close == std::string::npos || close < open) {
        return Err(400, kInvalidInput, "invalid URI syntax: query term \"" + term + "\"");
      }
      std::string kind = Trim(term.substr(0, open));
      if (kind != "FCPaths" && kind != "iSCSIPaths") {
        return Err(400, kInvalidInput, "invalid URI syntax: unknown query member " + kind);
      }
      for (const auto& cond : SplitOr(term.substr(open + 1, close - open - 1))) {
        std::string field, value;
        if (!ParseCondition(cond, field, value) || (kind == "FCPaths" ? field != "wwn" : field != "name")) {
          return Err(400, kInvalidInput, "invalid URI syntax: query condition \"" + cond + "\"");
        }
        want.emplace_back(kind, value);
      }
    }
    for (const auto& h : hosts) {
      bool match = false;
      for (const auto& [kind, value] : want) {
        if (kind == "FCPaths") {
          for (const auto& w : h.wwns) match = match || w == NormWwn(value);
        } else {
          for (const auto& i : h.iqns) match = match || AsciiLower(i) == AsciiLower(value);
        }
      }
      if (match) members.push_back(HostJson(h));
    }
    return Reply{200, Collection(members), ""};
  }

  Reply CreateHost(const json& body) {
    std::string name = body.value("name", "");
    if (name.empty()) return Err(400, kMissingRequired, "missing required input: name");
    if (name.size() > 31) return Err(400, kExceedsLength, "invalid input: host name exceeds 31 characters");
    bool has_fc = body.contains("FCWWNs"), has_iscsi = body.contains("iSCSINames");
    if (has_fc && has_iscsi)
      return Err(400, kParamConflict, "invalid input: FCWWNs and iSCSINames are both given");
    if (FindHost(name)) return Err(409, kExistentHost, "host name " + name + " is already used");
    Host h;
    h.name = name;
    h.persona = body.value("persona", 2);
    Reply r = AddPaths(h, body, &h);
    if (r.status >= 300) return r;
    h.id = next_id++;
    hosts.push_back(h);
    return Reply{201, nullptr, "/api/v1/hosts/" + name};
  }

  // Adds the body's FCWWNs / iSCSINames to `h`; `self` is the host itself (its own paths may repeat).
  Reply AddPaths(Host& h, const json& body, const Host* self) {
    if (body.contains("FCWWNs")) {
      for (const auto& w : body["FCWWNs"]) {
        std::string wwn = NormWwn(w.get<std::string>());
        if (!IsWwn(wwn))
          return Err(400, 2, "invalid input: WWN " + w.get<std::string>() + " is not 16 hex digits");
        for (const auto& other : hosts) {
          if (&other != self && std::find(other.wwns.begin(), other.wwns.end(), wwn) != other.wwns.end()) {
            return Err(409, kExistentPath, "WWN " + wwn + " is already used by host " + other.name);
          }
        }
        if (std::find(h.wwns.begin(), h.wwns.end(), wwn) == h.wwns.end()) h.wwns.push_back(wwn);
      }
    }
    if (body.contains("iSCSINames")) {
      for (const auto& i : body["iSCSINames"]) {
        std::string iqn = i.get<std::string>();
        for (const auto& other : hosts) {
          for (const auto& oi : other.iqns) {
            if (&other != self && AsciiLower(oi) == AsciiLower(iqn)) {
              return Err(409, kExistentPath, "iSCSI name " + iqn + " is already used by host " + other.name);
            }
          }
        }
        bool dup = false;
        for (const auto& hi : h.iqns) dup = dup || AsciiLower(hi) == AsciiLower(iqn);
        if (!dup) h.iqns.push_back(iqn);
      }
    }
    return Reply{200, nullptr, ""};
  }

  Reply CreateVlun(const json& body) {
    std::string volume = body.value("volumeName", ""), target = body.value("hostname", "");
    if (volume.empty() || target.empty() || !body.contains("lun")) {
      return Err(400, kMissingRequired, "missing required input: volumeName, lun and hostname");
    }
    if (!FindVolume(volume)) return Err(404, kNonExistentVolume, "volume " + volume + " does not exist");
    if (target.rfind("set:", 0) == 0) {
      if (!FindSet(target.substr(4)))
        return Err(404, kNonExistentSet, "host set " + target.substr(4) + " does not exist");
    } else if (!FindHost(target)) {
      return Err(404, kNonExistentHost, "host " + target + " does not exist");
    }
    for (const auto& v : vluns) {
      if (v.volume == volume && v.target == target) {
        return Err(409, kExistentVlun, "volume " + volume + " is already exported to " + target);
      }
    }
    int lun = body["lun"].get<int>();
    bool autolun = options.auto_lun && body.value("autoLun", false);
    std::set<int> used;
    for (const auto& h : TargetHosts(target)) {
      auto u = UsedLuns(h);
      used.insert(u.begin(), u.end());
    }
    if (used.count(lun)) {
      if (!autolun)
        return Err(409, kLunInUse,
                   "LUN " + std::to_string(lun) + " is already in use on a host of " + target);
      while (used.count(lun)) ++lun;
    }
    if (lun < 0 || lun > 16383)
      return Err(400, 3, "invalid input: LUN " + std::to_string(lun) + " out of range");
    vluns.push_back({volume, lun, target});
    return Reply{201, nullptr, "/api/v1/vluns/" + volume + "," + std::to_string(lun) + "," + target};
  }

  Reply Handle(const net::ServerRequest& req) {
    auto p = common::SplitPath(req.path);
    const std::string& m = req.method;
    if (p.size() < 2 || p[0] != "api") return Err(404, kInvalidInput, "resource not found");
    if (p[1] != "v1") return Err(404, kInvalidInput, "resource not found");
    json body = json::object();
    if (!req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (!body.is_object()) return Err(400, kInvalidInput, "invalid input: the body is not a JSON object");
    }
    const std::string res = p.size() > 2 ? p[2] : "";
    const std::string id = p.size() > 3 ? p[3] : "";
    if (res == "system" && m == "GET") {
      return Reply{200,
                   {{"id", 12345},
                    {"name", options.array_name},
                    {"model", options.model},
                    {"serialNumber", serial},
                    {"systemVersion", options.system_version}},
                   ""};
    }
    if (res == "volumes" && m == "GET") {
      if (id.empty()) {
        json members = json::array();
        for (const auto& v : volumes) members.push_back(VolumeJson(v));
        return Reply{200, Collection(members), ""};
      }
      if (SimVolume* v = FindVolume(id)) return Reply{200, VolumeJson(*v), ""};
      return Err(404, kNonExistentVolume, "volume " + id + " does not exist");
    }
    if (res == "hosts") {
      if (m == "GET" && id.empty()) return Hosts(req);
      if (m == "GET") {
        if (Host* h = FindHost(id)) return Reply{200, HostJson(*h), ""};
        return Err(404, kNonExistentHost, "host " + id + " does not exist");
      }
      if (m == "POST" && id.empty()) return CreateHost(body);
      if (m == "PUT" && !id.empty()) {
        Host* h = FindHost(id);
        if (!h) return Err(404, kNonExistentHost, "host " + id + " does not exist");
        if (body.value("pathOperation", 0) != 1)
          return Err(400, kInvalidInput, "only pathOperation 1 (add) is simulated");
        Host copy = *h;
        Reply r = AddPaths(copy, body, h);
        if (r.status >= 300) return r;
        *h = copy;
        return Reply{200, nullptr, ""};
      }
    }
    if (res == "hostsets") {
      if (m == "GET" && id.empty()) {
        json members = json::array();
        for (const auto& s : sets) members.push_back(SetJson(s));
        return Reply{200, Collection(members), ""};
      }
      if (m == "GET") {
        if (HostSet* s = FindSet(id)) return Reply{200, SetJson(*s), ""};
        return Err(404, kNonExistentSet, "host set " + id + " does not exist");
      }
      if (m == "POST" && id.empty()) {
        std::string name = body.value("name", "");
        if (name.empty()) return Err(400, kMissingRequired, "missing required input: name");
        // A VLUN names a host set as set:<name>, which must fit in 31 characters.
        if (name.size() > 27)
          return Err(400, kExceedsLength, "invalid input: set name exceeds 27 characters");
        if (FindSet(name)) return Err(409, kExistentSet, "set " + name + " already exists");
        HostSet s{next_id++, name, {}};
        for (const auto& mem : body.value("setmembers", json::array())) {
          if (!FindHost(mem.get<std::string>()))
            return Err(404, kNonExistentHost, "host " + mem.get<std::string>() + " does not exist");
          s.members.push_back(mem.get<std::string>());
        }
        sets.push_back(s);
        return Reply{201, nullptr, "/api/v1/hostsets/" + name};
      }
      if (m == "PUT" && !id.empty()) {
        HostSet* s = FindSet(id);
        if (!s) return Err(404, kNonExistentSet, "host set " + id + " does not exist");
        int action = body.value("action", 0);
        for (const auto& mem : body.value("setmembers", json::array())) {
          std::string h = mem.get<std::string>();
          auto it = std::find(s->members.begin(), s->members.end(), h);
          if (action == 1) {
            if (!FindHost(h)) return Err(404, kNonExistentHost, "host " + h + " does not exist");
            if (it != s->members.end())
              return Err(409, kMemberInSet, "host " + h + " is already a member of set " + s->name);
            s->members.push_back(h);
          } else if (action == 2) {
            if (it == s->members.end())
              return Err(404, kMemberNotInSet, "host " + h + " is not a member of set " + s->name);
            s->members.erase(it);
          } else {
            return Err(400, kInvalidInput, "invalid input: action must be 1 (add) or 2 (remove)");
          }
        }
        return Reply{200, nullptr, ""};
      }
    }
    if (res == "vluns") {
      if (m == "GET" && id.empty()) {
        // One condition: "volumeName EQ <volume>" or "hostname EQ <host or set:name>".
        std::string q = req.Query("query");
        std::string field, value;
        if (!q.empty()) {
          if (!options.queries) return Err(400, kInvalidInput, "invalid input: query is not supported");
          q = Trim(q);
          if (q.size() >= 2 && q.front() == '"' && q.back() == '"') q = q.substr(1, q.size() - 2);
          if (!ParseCondition(q, field, value) || (field != "volumeName" && field != "hostname")) {
            return Err(400, kInvalidInput, "invalid URI syntax: query \"" + q + "\"");
          }
        }
        json members = json::array();
        for (const auto& v : vluns) {
          if (field.empty() ||
              (field == "volumeName" ? v.volume == value : AsciiLower(v.target) == AsciiLower(value))) {
            members.push_back(VlunJson(v));
          }
        }
        return Reply{200, Collection(members), ""};
      }
      if (m == "POST" && id.empty()) return CreateVlun(body);
      if (m == "DELETE" && !id.empty()) {
        // <volume>,<lun>,<hostname>
        std::vector<std::string> f;
        size_t start = 0;
        while (start <= id.size() && f.size() < 2) {
          size_t c = id.find(',', start);
          if (c == std::string::npos) break;
          f.push_back(id.substr(start, c - start));
          start = c + 1;
        }
        f.push_back(id.substr(start));
        if (f.size() != 3)
          return Err(400, kMissingRequired, "missing required input: volumeName,lun,hostname");
        auto it = std::find_if(vluns.begin(), vluns.end(), [&](const Vlun& v) {
          return v.volume == f[0] && std::to_string(v.lun) == f[1] && v.target == f[2];
        });
        if (it == vluns.end()) return Err(404, kNonExistentVlun, "VLUN " + id + " does not exist");
        vluns.erase(it);
        return Reply{200, nullptr, ""};
      }
    }
    return Err(405, kInvalidInput, "the method " + m + " is not supported for " + req.path);
  }

  Reply Route(const net::ServerRequest& req) {
    auto p = common::SplitPath(req.path);
    if (req.method == "GET" && p.size() == 1 && p[0] == "api") {
      return Reply{200, {{"major", 1}, {"minor", 10}, {"revision", 0}, {"build", 40510000}}, ""};
    }
    if (req.method == "POST" && p.size() == 3 && p[1] == "v1" && p[2] == "credentials") {
      json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
      if (!body.is_object() || body.value("user", "") != options.username ||
          body.value("password", "") != options.password) {
        return Err(403, kInvalidCredentials, "invalid username or password");
      }
      std::string key = "0-" + common::RandomHex(rng, 32) + "-" + common::RandomHex(rng, 8);
      sessions.insert(key);
      return Reply{201, {{"key", key}}, ""};
    }
    std::string key = req.headers.Get("X-HP3PAR-WSAPI-SessionKey");
    if (key.empty() || !sessions.count(key)) return Err(403, kInvalidSessionKey, "invalid session key");
    if (req.method == "DELETE" && p.size() == 4 && p[2] == "credentials") {
      sessions.erase(p[3]);
      return Reply{200, nullptr, ""};
    }
    Reply r = Handle(req);
    if (req.method != "GET" && r.status < 300) Changed();
    return r;
  }
};

namespace {

common::Reply ToReply(const Reply& r) {
  common::Reply out{r.status, r.body.is_null() ? std::string() : r.body.dump()};
  if (!r.location.empty()) out.headers.emplace_back("Location", r.location);
  // WSAPI 1.3+ streams collections (a `members` array) with chunked transfer encoding.
  if (r.body.is_object() && r.body.contains("members")) out.chunk_bytes = kCollectionChunkBytes;
  return out;
}

}  // namespace

Primera3parSimulator::Primera3parSimulator(SimulatorOptions options)
    : ArraySimulator(options, "Primera/3PAR", "hoist-lab-primera3par", "application/json"),
      impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->san = std::make_unique<common::SanPublisher>(impl_->options.san_dir);
  json state = common::LoadState(impl_->options);
  std::lock_guard lock(impl_->mu);
  if (state.is_object()) impl_->Load(state);
  impl_->Changed();
}

Primera3parSimulator::~Primera3parSimulator() { Stop(); }

common::Reply Primera3parSimulator::Handle(const net::ServerRequest& req) {
  std::lock_guard lock(impl_->mu);
  return ToReply(impl_->Route(req));
}

common::Reply Primera3parSimulator::FaultReply(int status) {
  return ToReply(Err(status, 0, "injected fault: the WSAPI service is busy"));
}

common::Reply Primera3parSimulator::InternalError(const std::string& what) {
  return ToReply(Err(500, 0, "internal error: " + what));
}

SimVolume Primera3parSimulator::CreateVolume(const std::string& name, uint64_t size_bytes) {
  std::lock_guard lock(impl_->mu);
  if (name.empty() || name.size() > 31)
    throw BugError("Primera/3PAR simulator: volume names have 1 to 31 characters");
  if (impl_->FindVolume(name)) throw BugError("Primera/3PAR simulator: volume " + name + " already exists");
  SimVolume v;
  v.id = impl_->next_id++;
  v.name = name;
  char wwn[33];
  std::snprintf(wwn, sizeof wwn, "60002AC0000000000000%04X%08X", v.id & 0xffff, 0x21e4c);
  v.wwn = wwn;
  v.naa = "naa." + AsciiLower(v.wwn);
  // Volumes are sized in MiB.
  v.size_bytes = (size_bytes + (1u << 20) - 1) >> 20 << 20;
  v.backing = (fs::path(impl_->options.lun_dir) / (name + ".img")).string();
  common::CreateSparseFile(v.backing, v.size_bytes);
  impl_->volumes.push_back(v);
  impl_->Changed();
  return v;
}

std::optional<SimVolume> Primera3parSimulator::FindVolume(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  for (const auto& v : impl_->volumes) {
    if (v.name == name) return v;
  }
  return std::nullopt;
}

void Primera3parSimulator::DeleteVolume(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  auto it = std::find_if(impl_->volumes.begin(), impl_->volumes.end(),
                         [&](const SimVolume& v) { return v.name == name; });
  if (it == impl_->volumes.end()) return;
  std::error_code ec;
  fs::remove(it->backing, ec);
  impl_->volumes.erase(it);
  impl_->vluns.erase(std::remove_if(impl_->vluns.begin(), impl_->vluns.end(),
                                    [&](const Vlun& v) { return v.volume == name; }),
                     impl_->vluns.end());
  impl_->Changed();
}

void Primera3parSimulator::CreateHostForLab(const std::string& name, const std::vector<std::string>& wwpns,
                                            const std::vector<std::string>& iqns) {
  std::lock_guard lock(impl_->mu);
  if (impl_->FindHost(name)) return;
  Host h;
  h.id = impl_->next_id++;
  h.name = name;
  h.persona = 11;
  for (const auto& w : wwpns) h.wwns.push_back(NormWwn(w));
  h.iqns = iqns;
  impl_->hosts.push_back(h);
  impl_->Changed();
}

void Primera3parSimulator::CreateHostSetForLab(const std::string& name,
                                               const std::vector<std::string>& members) {
  std::lock_guard lock(impl_->mu);
  HostSet* s = impl_->FindSet(name);
  if (!s) {
    impl_->sets.push_back({impl_->next_id++, name, {}});
    s = &impl_->sets.back();
  }
  for (const auto& m : members) {
    if (std::find(s->members.begin(), s->members.end(), m) == s->members.end()) s->members.push_back(m);
  }
  impl_->Changed();
}

void Primera3parSimulator::ExportForLab(const std::string& volume, const std::string& target) {
  std::lock_guard lock(impl_->mu);
  for (const auto& v : impl_->vluns) {
    if (v.volume == volume && v.target == target) return;
  }
  std::set<int> used;
  for (const auto& h : impl_->TargetHosts(target)) {
    auto u = impl_->UsedLuns(h);
    used.insert(u.begin(), u.end());
  }
  int lun = 1;
  while (used.count(lun)) ++lun;
  impl_->vluns.push_back({volume, lun, target});
  impl_->Changed();
}

void Primera3parSimulator::ExpireSessionsForTest() {
  std::lock_guard lock(impl_->mu);
  impl_->sessions.clear();
}

int Primera3parSimulator::SessionCountForTest() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->sessions.size());
}

std::vector<std::string> Primera3parSimulator::VlunsForTest(const std::string& volume) const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& v : impl_->vluns) {
    if (v.volume == volume) out.push_back(v.target + ":" + std::to_string(v.lun));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Primera3parSimulator::HostSetMembersForTest(const std::string& set) const {
  std::lock_guard lock(impl_->mu);
  for (const auto& s : impl_->sets) {
    if (s.name == set) return s.members;
  }
  return {};
}

std::vector<std::string> Primera3parSimulator::HostsForTest() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& h : impl_->hosts) {
    std::string paths;
    for (const auto& w : h.wwns) paths += (paths.empty() ? "" : ",") + w;
    for (const auto& i : h.iqns) paths += (paths.empty() ? "" : ",") + i;
    out.push_back(h.name + ":" + paths);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hoist::lab::sim::primera3par

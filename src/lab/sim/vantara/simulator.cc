#include "lab/sim/vantara/simulator.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace hoist::lab::sim::vantara {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct HostGroup {
  std::string port;
  int number = 0;
  std::string name;
  std::string host_mode;
  std::vector<int> options;
  std::vector<std::string> members;  // WWNs (16 hex, lower) or iSCSI names (lower)
};

struct LuPath {
  std::string port;
  int hg = 0;
  int lun = 0;
  int ldev = 0;
};

struct Job {
  int id = 0;
  int polls_left = 0;
  bool failed = false;
  json error;
  std::vector<std::string> affected;
};

struct Reply {
  int status = 200;
  json body = json::object();
};

Reply Err(int status, std::string message_id, std::string message, std::string solution = "") {
  return Reply{status,
               {{"errorSource", "/ConfigurationManager/v1"},
                {"messageId", std::move(message_id)},
                {"message", std::move(message)},
                {"solution", std::move(solution)}}};
}

// The storage system's refusal of a change: (SSB1, SSB2, message).
struct Refusal {
  std::string ssb1, ssb2, message;
};

std::string Hex16(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ':' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

struct VantaraSimulator::Impl {
  SimulatorOptions options;
  std::unique_ptr<common::SanPublisher> san;

  mutable std::mutex mu;
  std::mt19937_64 rng{std::random_device{}()};
  int next_ldev = 256;
  int next_job = 1;
  std::vector<SimLdev> ldevs;
  std::vector<HostGroup> groups;
  std::vector<LuPath> paths;
  std::map<std::string, std::set<std::string>> logins;  // port → WWPNs
  std::map<std::string, std::string> sessions;          // token → session id
  int next_session = 1;
  std::map<int, Job> jobs;
  std::optional<Refusal> fail_next;

  std::string Base() const {
    return "/ConfigurationManager/v1/objects/storages/" + options.storage_device_id;
  }

  SimLdev* FindLdev(int id) {
    for (auto& l : ldevs) {
      if (l.id == id) return &l;
    }
    return nullptr;
  }
  HostGroup* FindGroup(const std::string& port, int number) {
    for (auto& g : groups) {
      if (g.port == port && g.number == number) return &g;
    }
    return nullptr;
  }
  const SimPort* FindPort(const std::string& id) const {
    for (const auto& p : options.ports) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }

  json LdevJson(const SimLdev& l) {
    json ports = json::array();
    for (const auto& p : paths) {
      if (p.ldev != l.id) continue;
      HostGroup* g = FindGroup(p.port, p.hg);
      ports.push_back({{"portId", p.port},
                       {"hostGroupNumber", p.hg},
                       {"hostGroupName", g ? g->name : ""},
                       {"lun", p.lun}});
    }
    char cap[32];
    std::snprintf(cap, sizeof cap, "%.2f M", static_cast<double>(l.size_bytes) / (1 << 20));
    return {{"ldevId", l.id},
            {"clprId", 0},
            {"emulationType", "OPEN-V-CVS"},
            {"byteFormatCapacity", cap},
            {"blockCapacity", l.size_bytes / 512},
            {"numOfPorts", ports.size()},
            {"ports", ports},
            {"attributes", {"CVS", "HDP"}},
            {"label", l.label},
            {"status", "NML"},
            {"poolId", 0},
            {"naaId", AsciiLower(l.naa_id)}};
  }
  json PortJson(const SimPort& p, size_t index, bool with_logins) const {
    json j = {{"portId", p.id},
              {"portType", p.type},
              {"portAttributes", {"TAR"}},
              {"portSpeed", p.type == "FIBRE" ? "AUT" : "10G"},
              {"loopId", "EF"},
              {"fabricMode", true},
              {"lunSecuritySetting", true}};
    if (p.type == "FIBRE") {
      char wwn[17];
      std::snprintf(wwn, sizeof wwn, "50060e80123456%02zx", index);
      j["wwn"] = wwn;
      if (with_logins) {
        json ls = json::array();
        auto it = logins.find(p.id);
        if (it != logins.end()) {
          for (const auto& w : it->second) ls.push_back({{"loginWwn", w}, {"islogin", "true"}});
        }
        j["logins"] = ls;
      }
    } else {
      j["ipv4Address"] = "127.0.0.1";
      j["tcpPort"] = 3260;
    }
    return j;
  }
  json GroupJson(const HostGroup& g) const {
    json j = {{"hostGroupId", g.port + "," + std::to_string(g.number)},
              {"portId", g.port},
              {"hostGroupNumber", g.number},
              {"hostGroupName", g.name},
              {"hostMode", g.host_mode},
              {"hostModeOptions", g.options}};
    const SimPort* p = FindPort(g.port);
    if (p && p->type == "ISCSI") {
      j["iscsiName"] =
          "iqn.1994-04.jp.co.hitachi:rsd.h8m.t.12345." + AsciiLower(g.port) + "." + std::to_string(g.number);
    }
    return j;
  }

  void Publish() {
    std::vector<std::tuple<std::string, std::string, json>> desired;
    for (const auto& p : paths) {
      SimLdev* l = FindLdev(p.ldev);
      HostGroup* g = FindGroup(p.port, p.hg);
      if (!l || !g) continue;
      json entry =
          common::SanEntry(l->backing, options.array_name, "HITACHI", "OPEN-V", p.lun, l->size_bytes);
      for (const auto& m : g->members) desired.emplace_back(m, l->naa, entry);
    }
    san->Publish(desired);
  }
  json State() const {
    json j = {{"nextLdev", next_ldev},
              {"ldevs", json::array()},
              {"groups", json::array()},
              {"paths", json::array()},
              {"logins", logins}};
    for (const auto& l : ldevs) {
      j["ldevs"].push_back({{"id", l.id},
                            {"label", l.label},
                            {"naaId", l.naa_id},
                            {"backing", l.backing},
                            {"size", l.size_bytes}});
    }
    for (const auto& g : groups) {
      j["groups"].push_back({{"port", g.port},
                             {"number", g.number},
                             {"name", g.name},
                             {"hostMode", g.host_mode},
                             {"options", g.options},
                             {"members", g.members}});
    }
    for (const auto& p : paths) {
      j["paths"].push_back({{"port", p.port}, {"hg", p.hg}, {"lun", p.lun}, {"ldev", p.ldev}});
    }
    return j;
  }
  void Load(const json& j) {
    next_ldev = j.at("nextLdev").get<int>();
    for (const auto& l : j.at("ldevs")) {
      SimLdev d;
      d.id = l.at("id").get<int>();
      d.label = l.at("label").get<std::string>();
      d.naa_id = l.at("naaId").get<std::string>();
      d.naa = "naa." + AsciiLower(d.naa_id);
      d.backing = l.at("backing").get<std::string>();
      d.size_bytes = l.at("size").get<uint64_t>();
      ldevs.push_back(d);
    }
    for (const auto& g : j.at("groups")) {
      groups.push_back({g.at("port").get<std::string>(), g.at("number").get<int>(),
                        g.at("name").get<std::string>(), g.at("hostMode").get<std::string>(),
                        g.at("options").get<std::vector<int>>(),
                        g.at("members").get<std::vector<std::string>>()});
    }
    for (const auto& p : j.at("paths")) {
      paths.push_back({p.at("port").get<std::string>(), p.at("hg").get<int>(), p.at("lun").get<int>(),
                       p.at("ldev").get<int>()});
    }
    logins = j.at("logins").get<std::map<std::string, std::set<std::string>>>();
  }
  void Changed() {
    Publish();
    common::SaveState(options, State());
  }

  // A change runs as a job: `apply` returns the affected resources or a refusal.
  Reply StartJob(const net::ServerRequest& req,
                 const std::function<std::optional<Refusal>(std::vector<std::string>&)>& apply) {
    Job job;
    job.id = next_job++;
    job.polls_left =
        req.headers.Get("Response-Job-Status").find("Completed") != std::string::npos ? 0 : options.job_polls;
    std::optional<Refusal> refusal;
    if (fail_next) {
      refusal = fail_next;
      fail_next.reset();
    } else {
      refusal = apply(job.affected);
    }
    if (refusal) {
      job.failed = true;
      job.error = {{"errorSource", req.path},
                   {"messageId", "KART40051-E"},
                   {"message", refusal->message},
                   {"cause", "The storage system refused the request."},
                   {"solution", "Check the request and the storage system's configuration, then retry."},
                   {"errorCode", {{"SSB1", refusal->ssb1}, {"SSB2", refusal->ssb2}}}};
    } else {
      Changed();
    }
    jobs[job.id] = job;
    return Reply{202, JobJson(jobs[job.id], /*poll=*/false)};
  }
  json JobJson(Job& job, bool poll) {
    bool done = job.polls_left <= 0;
    if (poll && !done) --job.polls_left;
    json j = {{"jobId", job.id},
              {"self", Base() + "/jobs/" + std::to_string(job.id)},
              {"userId", options.username},
              {"status", done ? "Completed" : "Running"},
              {"state", done ? (job.failed ? "Failed" : "Succeeded") : "Started"},
              {"createdTime", "2024-01-01T00:00:00Z"},
              {"affectedResources", job.affected}};
    if (done && job.failed) j["error"] = job.error;
    return j;
  }

  int FreeLun(const std::string& port, int hg) const {
    int lun = 0;
    while (std::any_of(paths.begin(), paths.end(),
                       [&](const LuPath& p) { return p.port == port && p.hg == hg && p.lun == lun; })) {
      ++lun;
    }
    return lun;
  }

  Reply Members(const net::ServerRequest& req, bool fc) {
    std::string port = req.Query("portId");
    std::string number = req.Query("hostGroupNumber");
    json data = json::array();
    for (const auto& g : groups) {
      if (!port.empty() && g.port != port) continue;
      if (!number.empty() && std::to_string(g.number) != number) continue;
      const SimPort* p = FindPort(g.port);
      if (!p || (p->type == "FIBRE") != fc) continue;
      for (const auto& m : g.members) {
        std::string hg = g.port + "," + std::to_string(g.number);
        if (fc) {
          data.push_back({{"hostWwnId", hg + "," + m},
                          {"portId", g.port},
                          {"hostGroupNumber", g.number},
                          {"hostGroupName", g.name},
                          {"hostWwn", m},
                          {"wwnNickname", "-"}});
        } else {
          data.push_back({{"hostIscsiId", hg + "," + m},
                          {"portId", g.port},
                          {"hostGroupNumber", g.number},
                          {"hostGroupName", g.name},
                          {"iscsiName", m},
                          {"iscsiNickname", "-"}});
        }
      }
    }
    return Reply{200, {{"data", data}}};
  }

  Reply AddMember(const net::ServerRequest& req, const json& body, bool fc) {
    const char* key = fc ? "hostWwn" : "iscsiName";
    std::string port = body.value("portId", "");
    int number = body.value("hostGroupNumber", -1);
    std::string value = body.value(key, "");
    if (port.empty() || number < 0 || value.empty()) {
      return Err(400, "KART40039-E",
                 std::string("The request body needs portId, hostGroupNumber and ") + key + ".");
    }
    HostGroup* g = FindGroup(port, number);
    if (!g)
      return Err(404, "KART30013-E",
                 "The specified object does not exist: host group " + port + "," + std::to_string(number));
    const SimPort* p = FindPort(port);
    if ((p->type == "FIBRE") != fc)
      return Err(400, "KART40039-E", "The port type does not match " + std::string(key) + ".");
    std::string v = fc ? Hex16(value) : AsciiLower(value);
    return StartJob(req, [=, this](std::vector<std::string>& affected) -> std::optional<Refusal> {
      HostGroup* hg = FindGroup(port, number);
      if (std::find(hg->members.begin(), hg->members.end(), v) != hg->members.end()) {
        return Refusal{
            "B957", "4114",
            "The " + std::string(fc ? "WWN" : "iSCSI name") + " is already registered in the host group."};
      }
      // One host group per port for a given initiator.
      for (const auto& other : groups) {
        if (other.port == port &&
            std::find(other.members.begin(), other.members.end(), v) != other.members.end()) {
          return Refusal{"B957", "4115",
                         "The " + std::string(fc ? "WWN" : "iSCSI name") +
                             " is already registered in another host group on port " + port + "."};
        }
      }
      hg->members.push_back(v);
      affected.push_back(Base() + "/" + (fc ? "host-wwns/" : "host-iscsis/") + port + "," +
                         std::to_string(number) + "," + v);
      return std::nullopt;
    });
  }

  Reply Handle(const net::ServerRequest& req, const std::vector<std::string>& p) {
    const std::string& m = req.method;
    // p: ConfigurationManager v1 objects storages <id> <res> [<id>]
    const std::string res = p.size() > 5 ? p[5] : "";
    const std::string id = p.size() > 6 ? p[6] : "";
    json body = json::object();
    if (!req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (!body.is_object()) return Err(400, "KART40039-E", "The request body is not a JSON object.");
    }
    if (res == "jobs" && m == "GET" && !id.empty()) {
      auto it = jobs.find(std::atoi(id.c_str()));
      if (it == jobs.end()) return Err(404, "KART30013-E", "The specified object does not exist: job " + id);
      return Reply{200, JobJson(it->second, /*poll=*/true)};
    }
    if (res == "ldevs" && m == "GET") {
      if (id.empty()) {
        json data = json::array();
        for (const auto& l : ldevs) data.push_back(LdevJson(l));
        return Reply{200, {{"data", data}}};
      }
      SimLdev* l = FindLdev(std::atoi(id.c_str()));
      if (!l) {
        // Undefined LDEV ids answer with emulationType NOT DEFINED, as the API does.
        return Reply{
            200,
            {{"ldevId", std::atoi(id.c_str())}, {"emulationType", "NOT DEFINED"}, {"ports", json::array()}}};
      }
      return Reply{200, LdevJson(*l)};
    }
    if (res == "ports" && m == "GET") {
      bool with_logins = req.Query("detailInfoType") == "logins";
      json data = json::array();
      for (size_t i = 0; i < options.ports.size(); ++i) {
        if (!id.empty() && options.ports[i].id != id) continue;
        data.push_back(PortJson(options.ports[i], i, with_logins));
      }
      if (!id.empty()) {
        if (data.empty()) return Err(404, "KART30013-E", "The specified object does not exist: port " + id);
        return Reply{200, data[0]};
      }
      return Reply{200, {{"data", data}}};
    }
    if (res == "host-groups") {
      if (m == "GET" && id.empty()) {
        std::string port = req.Query("portId");
        json data = json::array();
        for (const auto& g : groups) {
          if (port.empty() || g.port == port) data.push_back(GroupJson(g));
        }
        return Reply{200, {{"data", data}}};
      }
      if (m == "GET") {
        size_t comma = id.rfind(',');
        HostGroup* g = comma == std::string::npos
                           ? nullptr
                           : FindGroup(id.substr(0, comma), std::atoi(id.c_str() + comma + 1));
        if (!g) return Err(404, "KART30013-E", "The specified object does not exist: host group " + id);
        return Reply{200, GroupJson(*g)};
      }
      if (m == "POST") {
        std::string port = body.value("portId", ""), name = body.value("hostGroupName", "");
        if (port.empty() || name.empty())
          return Err(400, "KART40039-E", "The request body needs portId and hostGroupName.");
        if (!FindPort(port))
          return Err(404, "KART30013-E", "The specified object does not exist: port " + port);
        if (name.size() > 64) return Err(400, "KART40039-E", "hostGroupName is longer than 64 characters.");
        std::string mode = body.value("hostMode", "LINUX/IRIX");
        std::vector<int> opts = body.value("hostModeOptions", std::vector<int>{});
        return StartJob(req, [=, this](std::vector<std::string>& affected) -> std::optional<Refusal> {
          for (const auto& g : groups) {
            if (g.port == port && g.name == name) {
              return Refusal{"B957", "4103",
                             "The host group name " + name + " is already used on port " + port + "."};
            }
          }
          int number = 1;
          while (FindGroup(port, number)) ++number;
          groups.push_back({port, number, name, mode, opts, {}});
          affected.push_back(Base() + "/host-groups/" + port + "," + std::to_string(number));
          return std::nullopt;
        });
      }
    }
    if (res == "host-wwns") {
      if (m == "GET" && id.empty()) return Members(req, true);
      if (m == "POST") return AddMember(req, body, true);
    }
    if (res == "host-iscsis") {
      if (m == "GET" && id.empty()) return Members(req, false);
      if (m == "POST") return AddMember(req, body, false);
    }
    if (res == "luns") {
      if (m == "GET" && id.empty()) {
        std::string port = req.Query("portId"), number = req.Query("hostGroupNumber");
        json data = json::array();
        for (const auto& lp : paths) {
          if (!port.empty() && lp.port != port) continue;
          if (!number.empty() && std::to_string(lp.hg) != number) continue;
          data.push_back({{"lunId", lp.port + "," + std::to_string(lp.hg) + "," + std::to_string(lp.lun)},
                          {"portId", lp.port},
                          {"hostGroupNumber", lp.hg},
                          {"lun", lp.lun},
                          {"ldevId", lp.ldev}});
        }
        return Reply{200, {{"data", data}}};
      }
      if (m == "POST") {
        std::string port = body.value("portId", "");
        int number = body.value("hostGroupNumber", -1), ldev = body.value("ldevId", -1);
        if (port.empty() || number < 0 || ldev < 0) {
          return Err(400, "KART40039-E", "The request body needs portId, hostGroupNumber and ldevId.");
        }
        if (!FindGroup(port, number)) {
          return Err(
              404, "KART30013-E",
              "The specified object does not exist: host group " + port + "," + std::to_string(number));
        }
        if (!FindLdev(ldev))
          return Err(404, "KART30013-E", "The specified object does not exist: LDEV " + std::to_string(ldev));
        int want = body.contains("lun") ? body["lun"].get<int>() : -1;
        return StartJob(req, [=, this](std::vector<std::string>& affected) -> std::optional<Refusal> {
          for (const auto& lp : paths) {
            if (lp.port == port && lp.hg == number && lp.ldev == ldev) {
              return Refusal{"B958", "0233", "The LDEV already has an LU path in this host group."};
            }
            if (want >= 0 && lp.port == port && lp.hg == number && lp.lun == want) {
              return Refusal{"B958", "0947", "Another LDEV is already mapped to the specified LUN."};
            }
          }
          int lun = want >= 0 ? want : FreeLun(port, number);
          paths.push_back({port, number, lun, ldev});
          affected.push_back(Base() + "/luns/" + port + "," + std::to_string(number) + "," +
                             std::to_string(lun));
          return std::nullopt;
        });
      }
      if (m == "DELETE" && !id.empty()) {
        // <port>,<hg>,<lun>
        size_t c2 = id.rfind(','), c1 = c2 == std::string::npos ? std::string::npos : id.rfind(',', c2 - 1);
        if (c1 == std::string::npos)
          return Err(400, "KART40039-E", "The LU path id must be <port>,<hostGroupNumber>,<lun>.");
        std::string port = id.substr(0, c1);
        int number = std::atoi(id.c_str() + c1 + 1), lun = std::atoi(id.c_str() + c2 + 1);
        auto it = std::find_if(paths.begin(), paths.end(), [&](const LuPath& lp) {
          return lp.port == port && lp.hg == number && lp.lun == lun;
        });
        if (it == paths.end())
          return Err(404, "KART30013-E", "The specified object does not exist: LU path " + id);
        return StartJob(req, [=, this](std::vector<std::string>& affected) -> std::optional<Refusal> {
          paths.erase(std::remove_if(paths.begin(), paths.end(),
                                     [&](const LuPath& lp) {
                                       return lp.port == port && lp.hg == number && lp.lun == lun;
                                     }),
                      paths.end());
          affected.push_back(Base() + "/luns/" + id);
          return std::nullopt;
        });
      }
    }
    return Err(405, "KART40042-E", "The method " + m + " is not supported for " + req.path + ".");
  }

  Reply Route(const net::ServerRequest& req) {
    auto p = common::SplitPath(req.path);
    if (p.size() < 2 || p[0] != "ConfigurationManager") return Err(404, "KART30000-E", "Resource not found.");
    if (req.method == "GET" && p.size() == 3 && p[1] == "configuration" && p[2] == "version") {
      return Reply{200, {{"productName", "Configuration Manager REST API"}, {"apiVersion", "1.12.0"}}};
    }
    std::string basic = "Basic " + net::Base64Encode(options.username + ":" + options.password);
    std::string auth = req.headers.Get("Authorization");
    bool basic_ok = auth == basic;
    bool session_ok = auth.rfind("Session ", 0) == 0 && sessions.count(auth.substr(8));
    if (p.size() == 4 && p[1] == "v1" && p[2] == "objects" && p[3] == "storages" && req.method == "GET") {
      if (!basic_ok && !session_ok)
        return Err(401, "KART40049-E", "Authentication failed.", "Specify a valid user and password.");
      return Reply{200,
                   {{"data",
                     {{{"storageDeviceId", options.storage_device_id},
                       {"model", options.model},
                       {"serialNumber", std::stoi(options.storage_device_id.substr(6))},
                       {"ctl1Ip", "127.0.0.1"},
                       {"ctl2Ip", "127.0.0.1"}}}}}};
    }
    if (p.size() < 6 || p[1] != "v1" || p[2] != "objects" || p[3] != "storages") {
      return Err(404, "KART30000-E", "Resource not found.");
    }
    if (p[4] != options.storage_device_id) {
      return Err(404, "KART30013-E", "The specified object does not exist: storage " + p[4]);
    }
    if (p[5] == "sessions" && req.method == "POST" && p.size() == 6) {
      if (!basic_ok)
        return Err(401, "KART40049-E", "Authentication failed.", "Specify a valid user and password.");
      std::string token = common::RandomHex(rng, 40);
      int sid = next_session++;
      sessions[token] = std::to_string(sid);
      return Reply{200, {{"token", token}, {"sessionId", sid}}};
    }
    if (!session_ok) {
      return Err(401, "KART40048-E", "The session is invalid or has expired.",
                 "Create a session, then retry.");
    }
    if (p[5] == "sessions" && req.method == "DELETE" && p.size() == 7) {
      for (auto it = sessions.begin(); it != sessions.end(); ++it) {
        if (it->second == p[6]) {
          sessions.erase(it);
          return Reply{200, {{"jobId", 0}, {"status", "Completed"}, {"state", "Succeeded"}}};
        }
      }
      return Err(404, "KART30013-E", "The specified object does not exist: session " + p[6]);
    }
    return Handle(req, p);
  }
};

VantaraSimulator::VantaraSimulator(SimulatorOptions options)
    : ArraySimulator(options, "Vantara", "hoist-lab-vantara", "application/json"),
      impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.storage_device_id.size() != 12) throw BugError("storageDeviceId has 12 digits");
  impl_->san = std::make_unique<common::SanPublisher>(impl_->options.san_dir);
  json state = common::LoadState(impl_->options);
  std::lock_guard lock(impl_->mu);
  if (state.is_object()) impl_->Load(state);
  impl_->Changed();
}

VantaraSimulator::~VantaraSimulator() { Stop(); }

common::Reply VantaraSimulator::Handle(const net::ServerRequest& req) {
  std::lock_guard lock(impl_->mu);
  Reply r = impl_->Route(req);
  return common::Reply{r.status, r.body.dump()};
}

common::Reply VantaraSimulator::FaultReply(int status) {
  Reply r = status == 503
                ? Err(503, "KART00003-E", "The REST API server is busy.", "Wait a while, then retry.")
                : Err(status, "KART00001-E", "An internal error occurred (injected fault).");
  return common::Reply{r.status, r.body.dump()};
}

common::Reply VantaraSimulator::InternalError(const std::string& what) {
  return common::Reply{500, Err(500, "KART00001-E", "An internal error occurred: " + what).body.dump()};
}

const std::string& VantaraSimulator::storage_device_id() const { return impl_->options.storage_device_id; }

SimLdev VantaraSimulator::CreateLdev(uint64_t size_bytes, const std::string& label) {
  std::lock_guard lock(impl_->mu);
  SimLdev l;
  l.id = impl_->next_ldev++;
  l.label = label;
  int serial = std::stoi(impl_->options.storage_device_id.substr(6));
  char naa[40];
  std::snprintf(naa, sizeof naa, "60060E80%02X%06X0050%06X%08X", 0x22, serial & 0xffffff, serial & 0xffffff,
                l.id);
  l.naa_id = naa;
  l.naa = "naa." + AsciiLower(l.naa_id);
  // LDEVs are sized in 512-byte blocks.
  l.size_bytes = (size_bytes + 511) / 512 * 512;
  l.backing = (fs::path(impl_->options.lun_dir) / ("ldev-" + std::to_string(l.id) + ".img")).string();
  common::CreateSparseFile(l.backing, l.size_bytes);
  impl_->ldevs.push_back(l);
  impl_->Changed();
  return l;
}

std::optional<SimLdev> VantaraSimulator::FindLdevByLabel(const std::string& label) const {
  std::lock_guard lock(impl_->mu);
  for (const auto& l : impl_->ldevs) {
    if (l.label == label) return l;
  }
  return std::nullopt;
}

void VantaraSimulator::DeleteLdev(int id) {
  std::lock_guard lock(impl_->mu);
  auto it =
      std::find_if(impl_->ldevs.begin(), impl_->ldevs.end(), [&](const SimLdev& l) { return l.id == id; });
  if (it == impl_->ldevs.end()) return;
  std::error_code ec;
  fs::remove(it->backing, ec);
  impl_->ldevs.erase(it);
  impl_->paths.erase(
      std::remove_if(impl_->paths.begin(), impl_->paths.end(), [&](const LuPath& p) { return p.ldev == id; }),
      impl_->paths.end());
  impl_->Changed();
}

void VantaraSimulator::LoginForLab(const std::string& wwpn, const std::string& port) {
  std::lock_guard lock(impl_->mu);
  for (const auto& p : impl_->options.ports) {
    if (p.type == "FIBRE" && (port.empty() || p.id == port)) impl_->logins[p.id].insert(Hex16(wwpn));
  }
  impl_->Changed();
}

int VantaraSimulator::EnsureHostGroupForLab(const std::string& port, const std::string& name,
                                            const std::vector<std::string>& initiators,
                                            const std::string& host_mode) {
  std::lock_guard lock(impl_->mu);
  const SimPort* p = impl_->FindPort(port);
  if (!p) throw BugError("Vantara simulator: no port " + port);
  HostGroup* g = nullptr;
  for (auto& hg : impl_->groups) {
    if (hg.port == port && hg.name == name) g = &hg;
  }
  if (!g) {
    int number = 1;
    while (impl_->FindGroup(port, number)) ++number;
    impl_->groups.push_back({port, number, name, host_mode, {}, {}});
    g = &impl_->groups.back();
  }
  for (const auto& i : initiators) {
    std::string v = p->type == "FIBRE" ? Hex16(i) : AsciiLower(i);
    if (std::find(g->members.begin(), g->members.end(), v) == g->members.end()) g->members.push_back(v);
  }
  int number = g->number;
  impl_->Changed();
  return number;
}

void VantaraSimulator::AddLuPathForLab(const std::string& port, int host_group, int ldev) {
  std::lock_guard lock(impl_->mu);
  for (const auto& p : impl_->paths) {
    if (p.port == port && p.hg == host_group && p.ldev == ldev) return;
  }
  impl_->paths.push_back({port, host_group, impl_->FreeLun(port, host_group), ldev});
  impl_->Changed();
}

void VantaraSimulator::ExpireSessionsForTest() {
  std::lock_guard lock(impl_->mu);
  impl_->sessions.clear();
}

int VantaraSimulator::SessionCountForTest() const {
  std::lock_guard lock(impl_->mu);
  return static_cast<int>(impl_->sessions.size());
}

void VantaraSimulator::FailNextJobForTest(std::string ssb1, std::string ssb2, std::string message) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_next = Refusal{std::move(ssb1), std::move(ssb2), std::move(message)};
}

std::vector<std::string> VantaraSimulator::PathsForTest(int ldev) const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& p : impl_->paths) {
    if (p.ldev == ldev) out.push_back(p.port + "," + std::to_string(p.hg) + "," + std::to_string(p.lun));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> VantaraSimulator::HostGroupsForTest() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& g : impl_->groups) {
    std::string opts, members;
    for (int o : g.options) opts += (opts.empty() ? "" : ",") + std::to_string(o);
    for (const auto& m : g.members) members += (members.empty() ? "" : ",") + m;
    out.push_back(g.port + "," + std::to_string(g.number) + ":" + g.name + ":" + g.host_mode + ":" + opts +
                  ":" + members);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hoist::lab::sim::vantara

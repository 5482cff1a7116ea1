#include "lab/sim/ontap/simulator.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text.h"
#include "lab/sim/common/sim_common.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace hoist::lab::sim::ontap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Svm {
  std::string uuid;
  std::string name;
};

struct Igroup {
  std::string uuid;
  std::string name;
  std::string svm;
  std::string protocol;
  std::string os_type;
  std::vector<std::string> initiators;  // as stored (iSCSI names; WWPNs xx:xx:…, lower case)
};

struct LunMap {
  std::string lun_uuid;
  std::string igroup_uuid;
  int lun_id = 0;
};

using common::RandomHex;

// ONTAP query values: `*` wildcards, `|` alternatives, case-insensitive for names.
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] != '*' &&
        std::tolower(static_cast<unsigned char>(pattern[p])) ==
            std::tolower(static_cast<unsigned char>(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool QueryMatch(const std::string& pattern, const std::string& value) {
  size_t start = 0;
  while (true) {
    size_t bar = pattern.find('|', start);
    std::string alt = pattern.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (GlobMatch(alt, value)) return true;
    if (bar == std::string::npos) return false;
    start = bar + 1;
  }
}

// The value at a dotted path ("svm.uuid") as text; arrays match when any element matches.
void ValuesAt(const json& j, std::string_view path, std::vector<std::string>& out) {
  if (j.is_array()) {
    for (const auto& e : j) ValuesAt(e, path, out);
    return;
  }
  if (path.empty()) {
    if (j.is_string())
      out.push_back(j.get<std::string>());
    else if (!j.is_null() && !j.is_object())
      out.push_back(j.dump());
    return;
  }
  if (!j.is_object()) return;
  size_t dot = path.find('.');
  std::string key(path.substr(0, dot));
  if (!j.contains(key)) return;
  ValuesAt(j[key], dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1), out);
}

bool IsReservedQuery(const std::string& name) {
  return name == "fields" || name == "max_records" || name == "return_records" || name == "return_timeout" ||
         name == "start.index" || name == "order_by" || name == "allow_delete_while_mapped";
}

std::string Uuid(std::mt19937_64& rng) {
  return RandomHex(rng, 8) + "-" + RandomHex(rng, 4) + "-4" + RandomHex(rng, 3) + "-a" + RandomHex(rng, 3) +
         "-" + RandomHex(rng, 12);
}

// ONTAP serials are 12 printable characters, e.g. "80D3N$Nk7PpZ".
std::string Serial(std::mt19937_64& rng) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789$-_";
  std::string s;
  for (int i = 0; i < 12; ++i) s += kChars[rng() % (sizeof(kChars) - 1)];
  return s;
}

std::string NetAppNaa(const std::string& serial) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string naa = "naa.600a0980";
  for (unsigned char c : serial) {
    naa += kDigits[c >> 4];
    naa += kDigits[c & 0xf];
  }
  return naa;
}

struct Reply {
  int status = 200;
  json body = json::object();
};

Reply ErrorReply(int status, std::string code, std::string message, std::string target = "") {
  Reply r;
  r.status = status;
  r.body = {{"error", {{"message", std::move(message)}, {"code", std::move(code)}}}};
  if (!target.empty()) r.body["error"]["target"] = std::move(target);
  return r;
}

std::vector<std::string> Split(const std::string& path) { return common::SplitPath(path); }

}  // namespace

struct OntapSimulator::Impl {
  SimulatorOptions options;
  std::unique_ptr<common::SanPublisher> san;

  mutable std::mutex mu;
  std::mt19937_64 rng{std::random_device{}()};
  std::vector<Svm> svms;
  std::vector<SimLun> luns;
  std::vector<Igroup> igroups;
  std::vector<LunMap> maps;

  const Svm* FindSvm(const std::string& key) const {
    for (const auto& s : svms) {
      if (s.uuid == key || s.name == key) return &s;
    }
    return nullptr;
  }
  json SvmRef(const std::string& uuid) const {
    const Svm* s = FindSvm(uuid);
    return {{"uuid", uuid}, {"name", s ? s->name : ""}};
  }
  SimLun* FindLun(const std::string& uuid) {
    for (auto& l : luns) {
      if (l.uuid == uuid) return &l;
    }
    return nullptr;
  }
  Igroup* FindIgroup(const std::string& uuid) {
    for (auto& g : igroups) {
      if (g.uuid == uuid) return &g;
    }
    return nullptr;
  }

  json LunJson(const SimLun& l) const {
    json maps_json = json::array();
    for (const auto& m : maps) {
      if (m.lun_uuid != l.uuid) continue;
      for (const auto& g : igroups) {
        if (g.uuid == m.igroup_uuid) {
          maps_json.push_back(
              {{"igroup", {{"uuid", g.uuid}, {"name", g.name}}}, {"logical_unit_number", m.lun_id}});
        }
      }
    }
    auto parts = Split(l.name);
    return {{"uuid", l.uuid},
            {"name", l.name},
            {"svm", SvmRef(l.svm)},
            {"serial_number", l.serial},
            {"os_type", "vmware"},
            {"enabled", true},
            {"class", "regular"},
            {"location",
             {{"logical_unit", parts.size() == 3 ? parts[2] : ""},
              {"volume", {{"name", parts.size() == 3 ? parts[1] : ""}}}}},
            {"space", {{"size", l.size_bytes}}},
            {"status", {{"state", "online"}, {"mapped", !maps_json.empty()}}},
            {"lun_maps", maps_json},
            {"_links", {{"self", {{"href", "/api/storage/luns/" + l.uuid}}}}}};
  }

  json IgroupJson(const Igroup& g) const {
    json inits = json::array();
    for (const auto& i : g.initiators) inits.push_back({{"name", i}});
    return {{"uuid", g.uuid},
            {"name", g.name},
            {"svm", SvmRef(g.svm)},
            {"protocol", g.protocol},
            {"os_type", g.os_type},
            {"initiators", inits},
            {"_links", {{"self", {{"href", "/api/protocols/san/igroups/" + g.uuid}}}}}};
  }

  json MapJson(const LunMap& m) const {
    std::string lun_name, igroup_name, svm;
    for (const auto& l : luns) {
      if (l.uuid == m.lun_uuid) lun_name = l.name, svm = l.svm;
    }
    for (const auto& g : igroups) {
      if (g.uuid == m.igroup_uuid) igroup_name = g.name;
    }
    return {{"svm", SvmRef(svm)},
            {"lun", {{"uuid", m.lun_uuid}, {"name", lun_name}}},
            {"igroup", {{"uuid", m.igroup_uuid}, {"name", igroup_name}}},
            {"logical_unit_number", m.lun_id},
            {"_links",
             {{"self", {{"href", "/api/protocols/san/lun-maps/" + m.lun_uuid + "/" + m.igroup_uuid}}}}}};
  }

  // A collection answer: filter by the query's non-reserved names, then one page.
  Reply Collection(const net::ServerRequest& req, std::vector<json> all) const {
    std::vector<json> matched;
    for (auto& r : all) {
      bool ok = true;
      for (const auto& [name, value] : req.query) {
        if (IsReservedQuery(name)) continue;
        std::vector<std::string> values;
        ValuesAt(r, name, values);
        bool any = false;
        for (const auto& v : values) any = any || QueryMatch(value, v);
        if (!any) {
          ok = false;
          break;
        }
      }
      if (ok) matched.push_back(std::move(r));
    }
    size_t start = 0;
    std::string start_text = req.Query("start.index");
    if (!start_text.empty()) start = std::min<size_t>(std::stoul(start_text), matched.size());
    size_t page = options.page_size;
    std::string max_records = req.Query("max_records");
    if (!max_records.empty()) page = std::max<size_t>(1, std::stoul(max_records));
    size_t end = std::min(matched.size(), start + page);
    Reply reply;
    json records = json::array();
    for (size_t i = start; i < end; ++i) records.push_back(matched[i]);
    reply.body = {
        {"records", records}, {"num_records", end - start}, {"_links", {{"self", {{"href", req.target}}}}}};
    if (end < matched.size()) {
      std::string next = req.path + "?";
      for (const auto& [name, value] : req.query) {
        if (name == "start.index") continue;
        next += name + "=" + net::UrlEncode(value) + "&";
      }
      next += "start.index=" + std::to_string(end);
      reply.body["_links"]["next"] = {{"href", next}};
    }
    return reply;
  }

  // SAN contract: each LUN map presents the LUN to every initiator of the igroup.
  void Publish() {
    std::vector<std::tuple<std::string, std::string, json>> desired;
    for (const auto& m : maps) {
      SimLun* l = FindLun(m.lun_uuid);
      Igroup* g = FindIgroup(m.igroup_uuid);
      if (!l || !g) continue;
      json entry =
          common::SanEntry(l->backing, options.array_name, "NETAPP", "LUN C-Mode", m.lun_id, l->size_bytes);
      for (const auto& init : g->initiators) desired.emplace_back(init, l->naa, entry);
    }
    san->Publish(desired);
  }

  // State file: everything but faults and the request log, rewritten after each change.
  json State() const {
    json j = {{"svms", json::array()},
              {"luns", json::array()},
              {"igroups", json::array()},
              {"maps", json::array()}};
    for (const auto& s : svms) j["svms"].push_back({{"uuid", s.uuid}, {"name", s.name}});
    for (const auto& l : luns) {
      j["luns"].push_back({{"uuid", l.uuid},
                           {"name", l.name},
                           {"svm", l.svm},
                           {"serial", l.serial},
                           {"naa", l.naa},
                           {"backing", l.backing},
                           {"size", l.size_bytes}});
    }
    for (const auto& g : igroups) {
      j["igroups"].push_back({{"uuid", g.uuid},
                              {"name", g.name},
                              {"svm", g.svm},
                              {"protocol", g.protocol},
                              {"os_type", g.os_type},
                              {"initiators", g.initiators}});
    }
    for (const auto& m : maps) {
      j["maps"].push_back({{"lun", m.lun_uuid}, {"igroup", m.igroup_uuid}, {"id", m.lun_id}});
    }
    return j;
  }
  void Changed() {
    Publish();
    common::SaveState(options, State());
  }
  void Load(const json& j) {
    svms.clear();
    for (const auto& s : j.at("svms"))
      svms.push_back({s.at("uuid").get<std::string>(), s.at("name").get<std::string>()});
    for (const auto& l : j.at("luns")) {
      SimLun lun;
      lun.uuid = l.at("uuid").get<std::string>();
      lun.name = l.at("name").get<std::string>();
      lun.svm = l.at("svm").get<std::string>();
      lun.serial = l.at("serial").get<std::string>();
      lun.naa = l.at("naa").get<std::string>();
      lun.backing = l.at("backing").get<std::string>();
      lun.size_bytes = l.at("size").get<uint64_t>();
      luns.push_back(lun);
    }
    for (const auto& g : j.at("igroups")) {
      igroups.push_back({g.at("uuid").get<std::string>(), g.at("name").get<std::string>(),
                         g.at("svm").get<std::string>(), g.at("protocol").get<std::string>(),
                         g.at("os_type").get<std::string>(),
                         g.at("initiators").get<std::vector<std::string>>()});
    }
    for (const auto& m : j.at("maps")) {
      maps.push_back(
          {m.at("lun").get<std::string>(), m.at("igroup").get<std::string>(), m.at("id").get<int>()});
    }
  }

  static bool BodyJson(const net::ServerRequest& req, json& out) {
    out = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
    return out.is_object();
  }

  std::string SvmOfBody(const json& body) const {
    if (body.contains("svm") && body["svm"].is_object()) {
      for (const char* key : {"uuid", "name"}) {
        if (body["svm"].contains(key) && body["svm"][key].is_string()) {
          const Svm* s = FindSvm(body["svm"][key].get<std::string>());
          return s ? s->uuid : "";
        }
      }
    }
    return "";
  }

  // Returns the initiator name ONTAP would store, or empty when invalid.
  static std::string NormalizeInitiator(const std::string& name) {
    std::string lower = AsciiLower(name);
    if (lower.rfind("iqn.", 0) == 0 || lower.rfind("eui.", 0) == 0 || lower.rfind("naa.", 0) == 0)
      return lower;
    std::string hex;
    for (char c : lower) {
      if (c != ':') hex += c;
    }
    if (hex.size() != 16 ||
        !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(c) != 0; })) {
      return "";
    }
    std::string out;
    for (size_t i = 0; i < 16; i += 2) out += (i ? ":" : "") + hex.substr(i, 2);
    return out;
  }

  Reply AddInitiator(Igroup& g, const std::string& raw) {
    std::string name = NormalizeInitiator(raw);
    if (name.empty()) return ErrorReply(400, "1254213", "Invalid initiator name \"" + raw + "\"", "name");
    bool fc = name.find(':') != std::string::npos && name.rfind("iqn.", 0) != 0;
    if ((g.protocol == "iscsi" && fc) || (g.protocol == "fcp" && !fc)) {
      return ErrorReply(400, "1254220",
                        "The initiator \"" + raw + "\" does not match the igroup protocol " + g.protocol,
                        "name");
    }
    if (std::find(g.initiators.begin(), g.initiators.end(), name) != g.initiators.end()) {
      return ErrorReply(409, "1",
                        "duplicate entry: initiator \"" + name + "\" is already in igroup \"" + g.name + "\"",
                        "name");
    }
    g.initiators.push_back(name);  // already mapped LUNs become visible to it at the next Publish
    Reply r;
    r.status = 201;
    return r;
  }

  Reply Handle(const net::ServerRequest& req) {
    auto parts = Split(req.path);
    const std::string& m = req.method;
    auto is = [&](std::initializer_list<std::string_view> want) {
      if (parts.size() != want.size()) return false;
      size_t i = 0;
      for (auto w : want) {
        if (w != "{}" && parts[i] != w) return false;
        ++i;
      }
      return true;
    };
    if (m == "GET" && is({"api", "cluster"})) {
      return Reply{200,
                   {{"name", "hoist-lab-cluster"},
                    {"uuid", "00000000-0000-4000-a000-000000000001"},
                    {"version",
                     {{"full", "NetApp Release 9.14.1: lab simulator"},
                      {"generation", 9},
                      {"major", 14},
                      {"minor", 1}}}}};
    }
    if (m == "GET" && is({"api", "svm", "svms"})) {
      std::vector<json> all;
      for (const auto& s : svms) {
        all.push_back({{"uuid", s.uuid},
                       {"name", s.name},
                       {"_links", {{"self", {{"href", "/api/svm/svms/" + s.uuid}}}}}});
      }
      return Collection(req, std::move(all));
    }
    if (m == "GET" && is({"api", "storage", "luns"})) {
      std::vector<json> all;
      for (const auto& l : luns) all.push_back(LunJson(l));
      return Collection(req, std::move(all));
    }
    if (m == "GET" && is({"api", "storage", "luns", "{}"})) {
      if (SimLun* l = FindLun(parts[3])) return Reply{200, LunJson(*l)};
      return ErrorReply(404, "4", "entry doesn't exist", "uuid");
    }
    if (m == "GET" && is({"api", "protocols", "san", "igroups"})) {
      std::vector<json> all;
      for (const auto& g : igroups) all.push_back(IgroupJson(g));
      return Collection(req, std::move(all));
    }
    if (m == "GET" && is({"api", "protocols", "san", "igroups", "{}"})) {
      if (Igroup* g = FindIgroup(parts[4])) return Reply{200, IgroupJson(*g)};
      return ErrorReply(404, "4", "entry doesn't exist", "uuid");
    }
    if (m == "POST" && is({"api", "protocols", "san", "igroups"})) {
      json body;
      if (!BodyJson(req, body))
        return ErrorReply(400, "262179", "Unexpected argument: the body is not a JSON object");
      std::string svm = SvmOfBody(body);
      if (svm.empty())
        return ErrorReply(400, "2", "\"svm.uuid\" or \"svm.name\" must be given and exist", "svm");
      if (!body.contains("name") || !body["name"].is_string() || body["name"].get<std::string>().empty()) {
        return ErrorReply(400, "2", "Missing value for \"name\"", "name");
      }
      std::string name = body["name"];
      std::string protocol = body.value("protocol", std::string("mixed"));
      if (protocol != "iscsi" && protocol != "fcp" && protocol != "mixed") {
        return ErrorReply(400, "2", "\"" + protocol + "\" is an invalid value for field \"protocol\"",
                          "protocol");
      }
      for (const auto& g : igroups) {
        if (g.svm == svm && g.name == name) {
          return ErrorReply(409, "1", "duplicate entry: igroup \"" + name + "\" already exists", "name");
        }
      }
      Igroup g{Uuid(rng), name, svm, protocol, body.value("os_type", std::string("linux")), {}};
      igroups.push_back(g);
      if (body.contains("initiators") && body["initiators"].is_array()) {
        for (const auto& i : body["initiators"]) {
          Reply r = AddInitiator(igroups.back(), i.value("name", ""));
          if (r.status >= 400) {
            igroups.pop_back();
            return r;
          }
        }
      }
      Reply r{201, json::object()};
      if (req.Query("return_records") == "true") {
        r.body = {{"num_records", 1}, {"records", json::array({IgroupJson(igroups.back())})}};
      }
      return r;
    }
    if (m == "DELETE" && is({"api", "protocols", "san", "igroups", "{}"})) {
      Igroup* g = FindIgroup(parts[4]);
      if (!g) return ErrorReply(404, "4", "entry doesn't exist", "uuid");
      for (const auto& mp : maps) {
        if (mp.igroup_uuid == g->uuid) {
          return ErrorReply(400, "5374852", "The initiator group \"" + g->name + "\" is mapped to LUNs");
        }
      }
      igroups.erase(igroups.begin() + (g - igroups.data()));
      return Reply{200, json::object()};
    }
    if (m == "POST" && is({"api", "protocols", "san", "igroups", "{}", "initiators"})) {
      Igroup* g = FindIgroup(parts[4]);
      if (!g) return ErrorReply(404, "4", "entry doesn't exist", "igroup.uuid");
      json body;
      if (!BodyJson(req, body))
        return ErrorReply(400, "262179", "Unexpected argument: the body is not a JSON object");
      std::vector<std::string> names;
      if (body.contains("records") && body["records"].is_array()) {
        for (const auto& r : body["records"]) names.push_back(r.value("name", ""));
      } else {
        names.push_back(body.value("name", ""));
      }
      for (const auto& n : names) {
        Reply r = AddInitiator(*g, n);
        if (r.status >= 400) return r;
      }
      return Reply{201, json::object()};
    }
    if (m == "DELETE" && is({"api", "protocols", "san", "igroups", "{}", "initiators", "{}"})) {
      Igroup* g = FindIgroup(parts[4]);
      if (!g) return ErrorReply(404, "4", "entry doesn't exist", "igroup.uuid");
      std::string name = NormalizeInitiator(parts[6]);
      auto it = std::find(g->initiators.begin(), g->initiators.end(), name);
      if (it == g->initiators.end()) return ErrorReply(404, "4", "entry doesn't exist", "name");
      g->initiators.erase(it);
      return Reply{200, json::object()};
    }
    if (m == "GET" && is({"api", "protocols", "san", "lun-maps"})) {
      std::vector<json> all;
      for (const auto& mp : maps) all.push_back(MapJson(mp));
      return Collection(req, std::move(all));
    }
    if (m == "POST" && is({"api", "protocols", "san", "lun-maps"})) {
      json body;
      if (!BodyJson(req, body))
        return ErrorReply(400, "262179", "Unexpected argument: the body is not a JSON object");
      std::string svm = SvmOfBody(body);
      if (svm.empty())
        return ErrorReply(400, "2", "\"svm.uuid\" or \"svm.name\" must be given and exist", "svm");
      SimLun* lun = nullptr;
      if (body.contains("lun")) {
        std::string uuid = body["lun"].value("uuid", ""), name = body["lun"].value("name", "");
        for (auto& l : luns) {
          if (l.svm == svm && ((!uuid.empty() && l.uuid == uuid) || (uuid.empty() && l.name == name)))
            lun = &l;
        }
      }
      if (!lun)
        return ErrorReply(404, "5374875",
                          "The specified LUN does not exist or is not accessible to the caller", "lun");
      Igroup* g = nullptr;
      if (body.contains("igroup")) {
        std::string uuid = body["igroup"].value("uuid", ""), name = body["igroup"].value("name", "");
        for (auto& ig : igroups) {
          if (ig.svm == svm && ((!uuid.empty() && ig.uuid == uuid) || (uuid.empty() && ig.name == name)))
            g = &ig;
        }
      }
      if (!g) return ErrorReply(404, "5374878", "The specified initiator group does not exist", "igroup");
      for (const auto& mp : maps) {
        if (mp.lun_uuid == lun->uuid && mp.igroup_uuid == g->uuid) {
          return ErrorReply(409, "5374922", "The LUN is already mapped to this initiator group", "lun");
        }
      }
      // LUN ids are per igroup, allocated from 0 upwards.
      int id = 0;
      if (body.contains("logical_unit_number") && body["logical_unit_number"].is_number_integer()) {
        id = body["logical_unit_number"];
        for (const auto& mp : maps) {
          if (mp.igroup_uuid == g->uuid && mp.lun_id == id) {
            return ErrorReply(
                409, "5374921",
                "The LUN number " + std::to_string(id) + " is already in use by igroup \"" + g->name + "\"",
                "logical_unit_number");
          }
        }
      } else {
        while (std::any_of(maps.begin(), maps.end(),
                           [&](const LunMap& mp) { return mp.igroup_uuid == g->uuid && mp.lun_id == id; })) {
          ++id;
        }
      }
      maps.push_back({lun->uuid, g->uuid, id});
      Reply r{201, json::object()};
      if (req.Query("return_records") == "true")
        r.body = {{"num_records", 1}, {"records", json::array({MapJson(maps.back())})}};
      return r;
    }
    if (m == "DELETE" && is({"api", "protocols", "san", "lun-maps", "{}", "{}"})) {
      auto it = std::find_if(maps.begin(), maps.end(), [&](const LunMap& mp) {
        return mp.lun_uuid == parts[4] && mp.igroup_uuid == parts[5];
      });
      if (it == maps.end()) return ErrorReply(404, "4", "entry doesn't exist", "lun.uuid");
      maps.erase(it);
      return Reply{200, json::object()};
    }
    if (parts.empty() || parts[0] != "api") return ErrorReply(404, "3", "API not found", req.path);
    return ErrorReply(405, "3", "The method " + m + " is not supported for " + req.path);
  }
};

OntapSimulator::OntapSimulator(SimulatorOptions options)
    : ArraySimulator(options, "ONTAP", "hoist-lab-ontap", "application/hal+json"),
      impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->san = std::make_unique<common::SanPublisher>(impl_->options.san_dir);
  json state = common::LoadState(impl_->options);
  std::lock_guard lock(impl_->mu);
  if (state.is_object()) {
    impl_->Load(state);
  } else {
    for (const auto& name : impl_->options.svms) impl_->svms.push_back({Uuid(impl_->rng), name});
  }
  impl_->Changed();
}

OntapSimulator::~OntapSimulator() { Stop(); }

common::Reply OntapSimulator::Handle(const net::ServerRequest& req) {
  if (req.headers.Get("Authorization") !=
      "Basic " + net::Base64Encode(impl_->options.username + ":" + impl_->options.password)) {
    common::Reply r{401, ErrorReply(401, "6", "not authorized for that command").body.dump()};
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"ONTAP\"");
    return r;
  }
  std::lock_guard lock(impl_->mu);
  Reply r = impl_->Handle(req);
  if (req.method != "GET" && r.status < 300) impl_->Changed();
  return common::Reply{r.status, r.body.dump()};
}

common::Reply OntapSimulator::FaultReply(int status) {
  Reply r = ErrorReply(status, "13", "injected fault: the node is busy; retry the request");
  return common::Reply{r.status, r.body.dump()};
}

common::Reply OntapSimulator::InternalError(const std::string& what) {
  return common::Reply{500, ErrorReply(500, "13", "internal error: " + what).body.dump()};
}

SimLun OntapSimulator::CreateLun(const std::string& path, uint64_t size_bytes, const std::string& svm) {
  std::lock_guard lock(impl_->mu);
  const Svm* s = impl_->FindSvm(svm.empty() ? impl_->svms.at(0).name : svm);
  if (!s) throw BugError("ONTAP simulator: no SVM " + svm);
  auto parts = Split(path);
  if (parts.size() != 3 || parts[0] != "vol")
    throw BugError("ONTAP simulator: LUN path must be /vol/<flexvol>/<lun>");
  for (const auto& l : impl_->luns) {
    if (l.svm == s->uuid && l.name == path)
      throw BugError("ONTAP simulator: LUN " + path + " already exists");
  }
  SimLun lun;
  lun.uuid = Uuid(impl_->rng);
  lun.name = path;
  lun.svm = s->uuid;
  lun.serial = Serial(impl_->rng);
  lun.naa = NetAppNaa(lun.serial);
  lun.size_bytes = size_bytes;
  lun.backing =
      (fs::path(impl_->options.lun_dir) / (parts[1] + "_" + parts[2] + "_" + lun.uuid + ".img")).string();
  common::CreateSparseFile(lun.backing, size_bytes);
  impl_->luns.push_back(lun);
  impl_->Changed();
  return lun;
}

std::optional<SimLun> OntapSimulator::FindLun(const std::string& path, const std::string& svm) const {
  std::lock_guard lock(impl_->mu);
  const Svm* s = impl_->FindSvm(svm.empty() ? impl_->svms.at(0).name : svm);
  for (const auto& l : impl_->luns) {
    if (s && l.svm == s->uuid && l.name == path) return l;
  }
  return std::nullopt;
}

void OntapSimulator::DeleteLun(const std::string& path, const std::string& svm) {
  std::lock_guard lock(impl_->mu);
  const Svm* s = impl_->FindSvm(svm.empty() ? impl_->svms.at(0).name : svm);
  auto it = std::find_if(impl_->luns.begin(), impl_->luns.end(),
                         [&](const SimLun& l) { return s && l.svm == s->uuid && l.name == path; });
  if (it == impl_->luns.end()) return;
  const std::string uuid = it->uuid;
  impl_->maps.erase(std::remove_if(impl_->maps.begin(), impl_->maps.end(),
                                   [&](const LunMap& m) { return m.lun_uuid == uuid; }),
                    impl_->maps.end());
  std::error_code ec;
  fs::remove(it->backing, ec);
  impl_->luns.erase(it);
  impl_->Changed();
}

void OntapSimulator::MapLunForLab(const std::string& path, const std::string& igroup,
                                  const std::vector<std::string>& initiators) {
  std::lock_guard lock(impl_->mu);
  SimLun* lun = nullptr;
  for (auto& l : impl_->luns) {
    if (l.name == path) lun = &l;
  }
  if (!lun) throw BugError("ONTAP simulator: no LUN " + path);
  Igroup* g = nullptr;
  for (auto& ig : impl_->igroups) {
    if (ig.svm == lun->svm && ig.name == igroup) g = &ig;
  }
  if (!g) {
    impl_->igroups.push_back({Uuid(impl_->rng), igroup, lun->svm, "iscsi", "linux", {}});
    g = &impl_->igroups.back();
  }
  for (const auto& i : initiators) {
    std::string name = Impl::NormalizeInitiator(i);
    if (!name.empty() && std::find(g->initiators.begin(), g->initiators.end(), name) == g->initiators.end()) {
      impl_->AddInitiator(*g, name);
    }
  }
  bool mapped = false;
  for (const auto& m : impl_->maps) mapped = mapped || (m.lun_uuid == lun->uuid && m.igroup_uuid == g->uuid);
  if (mapped) {
    impl_->Changed();  // initiators may have joined the igroup
    return;
  }
  int id = 0;
  while (std::any_of(impl_->maps.begin(), impl_->maps.end(),
                     [&](const LunMap& mp) { return mp.igroup_uuid == g->uuid && mp.lun_id == id; })) {
    ++id;
  }
  impl_->maps.push_back({lun->uuid, g->uuid, id});
  impl_->Changed();
}

std::vector<std::string> OntapSimulator::MappingsForTest(const std::string& lun_path) const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& m : impl_->maps) {
    bool match = false;
    for (const auto& l : impl_->luns) match = match || (l.uuid == m.lun_uuid && l.name == lun_path);
    if (!match) continue;
    for (const auto& g : impl_->igroups) {
      if (g.uuid == m.igroup_uuid) out.push_back(g.name + ":" + std::to_string(m.lun_id));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hoist::lab::sim::ontap

#include "lab/apiserver_table.h"

#include <ctime>

#include "core/text.h"

namespace hoist::lab {
namespace {

using nlohmann::json;

struct Column {
  std::string name;
  std::string type = "string";
  std::string format;
  int priority = 0;
  std::string description;
};

int64_t ParseTime(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string HumanDuration(int64_t secs) {
  if (secs < 0) secs = 0;
  if (secs < 120) return std::to_string(secs) + "s";
  int64_t mins = secs / 60;
  if (mins < 10) {
    int64_t s = secs % 60;
    return std::to_string(mins) + "m" + (s ? std::to_string(s) + "s" : "");
  }
  if (mins < 180) return std::to_string(mins) + "m";
  int64_t hours = secs / 3600;
  if (hours < 8) {
    int64_t m = mins % 60;
    return std::to_string(hours) + "h" + (m ? std::to_string(m) + "m" : "");
  }
  if (hours < 48) return std::to_string(hours) + "h";
  int64_t days = hours / 24;
  if (days < 8) {
    int64_t h = hours % 24;
    return std::to_string(days) + "d" + (h ? std::to_string(h) + "h" : "");
  }
  if (days < 365 * 2) return std::to_string(days) + "d";
  int64_t years = days / 365;
  if (years < 8) {
    int64_t d = days % 365;
    return std::to_string(years) + "y" + (d ? std::to_string(d) + "d" : "");
  }
  return std::to_string(years) + "y";
}

std::string Str(const json& obj, std::initializer_list<const char*> path, std::string fallback = "") {
  const json* cur = &obj;
  for (const char* p : path) {
    if (!cur->is_object()) return fallback;
    auto it = cur->find(p);
    if (it == cur->end()) return fallback;
    cur = &*it;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_null()) return fallback;
  return cur->dump();
}

std::string AccessModes(const json& modes) {
  std::string out;
  if (!modes.is_array()) return out;
  for (const auto& m : modes) {
    std::string s = m.is_string() ? m.get<std::string>() : "";
    std::string a = s == "ReadWriteOnce"      ? "RWO"
                    : s == "ReadOnlyMany"     ? "ROX"
                    : s == "ReadWriteMany"    ? "RWX"
                    : s == "ReadWriteOncePod" ? "RWOP"
                                              : s;
    if (out.find(a) != std::string::npos) continue;
    out += (out.empty() ? "" : ",") + a;
  }
  return out;
}

std::string OrNone(std::string s) { return s.empty() ? "<none>" : s; }
std::string OrUnset(std::string s) { return s.empty() ? "<unset>" : s; }

json JsonPathValue(const json& obj, const std::string& path);

// `@.a.b=="v"` (or 'v') of a JSONPath filter: true when `item` has that string at that path.
bool FilterMatches(const json& item, const std::string& expr) {
  size_t eq = expr.find("==");
  if (eq == std::string::npos || expr.rfind("@", 0) != 0) return false;
  std::string lhs = expr.substr(1, eq - 1);
  std::string rhs = expr.substr(eq + 2);
  while (!lhs.empty() && lhs.back() == ' ') lhs.pop_back();
  while (!rhs.empty() && rhs.front() == ' ') rhs.erase(0, 1);
  if (rhs.size() < 2 || (rhs.front() != '"' && rhs.front() != '\'') || rhs.back() != rhs.front())
    return false;
  json v = JsonPathValue(item, lhs);
  return v.is_string() && v.get<std::string>() == rhs.substr(1, rhs.size() - 2);
}

// Evaluates the simple JSONPath of additionalPrinterColumns (".spec.a.b", ".status.x[0].y",
// ".status.conditions[?(@.status=="True")].type"; a filter picks the first matching element).
json JsonPathValue(const json& obj, const std::string& path) {
  const json* cur = &obj;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path.compare(i, 3, "[?(") == 0) {
      size_t close = path.find(")]", i);
      if (close == std::string::npos || !cur->is_array()) return nullptr;
      std::string expr = path.substr(i + 3, close - i - 3);
      i = close + 2;
      const json* match = nullptr;
      for (const auto& item : *cur) {
        if (FilterMatches(item, expr)) {
          match = &item;
          break;
        }
      }
      if (match == nullptr) return nullptr;
      cur = match;
      continue;
    }
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) return nullptr;
      std::string idx = path.substr(i + 1, close - i - 1);
      i = close + 1;
      if (!cur->is_array()) return nullptr;
      try {
        size_t n = std::stoul(idx);
        if (n >= cur->size()) return nullptr;
        cur = &(*cur)[n];
      } catch (const std::exception&) {
        return nullptr;
      }
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
    i = end == std::string::npos ? path.size() : end;
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
  }
  return *cur;
}

void Columns(const ResourceType& t, std::vector<Column>* cols) {
  auto add = [&](std::string name, std::string type = "string", int priority = 0, std::string format = "") {
    cols->push_back(Column{std::move(name), std::move(type), std::move(format), priority, ""});
  };
  add("Name", "string", 0, "name");
  const std::string& k = t.kind;
  if (t.custom) {
    // As the apiextensions server: the CRD's columns, or Age when it defines none.
    for (const auto& c : t.printer_columns) {
      add(c.value("name", ""), c.value("type", "string"), c.value("priority", 0), c.value("format", ""));
    }
    if (t.printer_columns.empty()) add("Age", "date");
    return;
  }
  if (k == "Event" && (t.group.empty() || t.group == "events.k8s.io")) {
    // core/v1 and events.k8s.io/v1 Events print alike (kubectl get events).
    cols->clear();
    add("Last Seen");
    add("Type");
    add("Reason");
    add("Object");
    add("Message");
    return;
  }
  if (t.group.empty()) {
    if (k == "Namespace") {
      add("Status");
    } else if (k == "Pod") {
      add("Ready");
      add("Status");
      add("Restarts");
      add("Age", "string");
      add("IP", "string", 1);
      add("Node", "string", 1);
      add("Nominated Node", "string", 1);
      add("Readiness Gates", "string", 1);
      return;
    } else if (k == "PersistentVolumeClaim") {
      add("Status");
      add("Volume");
      add("Capacity");
      add("Access Modes");
      add("StorageClass");
      add("VolumeAttributesClass");
      add("Age", "string");
      add("VolumeMode", "string", 1);
      return;
    } else if (k == "PersistentVolume") {
      add("Capacity");
      add("Access Modes");
      add("Reclaim Policy");
      add("Status");
      add("Claim");
      add("StorageClass");
      add("VolumeAttributesClass");
      add("Reason");
      add("Age", "string");
      add("VolumeMode", "string", 1);
      return;
    } else if (k == "Secret") {
      add("Type");
      add("Data", "string");
    } else if (k == "ConfigMap") {
      add("Data", "string");
    } else if (k == "Service") {
      add("Type");
      add("Cluster-IP");
      add("External-IP");
      add("Port(s)");
      add("Age", "string");
      add("Selector", "string", 1);
      return;
    } else if (k == "ServiceAccount") {
      add("Secrets", "string");
    } else if (k == "Node") {
      add("Status");
      add("Roles");
      add("Age", "string");
      add("Version");
      return;
    }
  } else if (k == "StorageClass") {
    add("Provisioner");
    add("ReclaimPolicy");
    add("VolumeBindingMode");
    add("AllowVolumeExpansion");
  } else if (k == "Lease") {
    add("Holder");
  } else if (k == "CustomResourceDefinition") {
    add("Created At", "date");
    return;
  }
  add("Age", "string");
}

json Cells(const ResourceType& t, const json& o, int64_t now) {
  const std::string& k = t.kind;
  std::string name = Str(o, {"metadata", "name"});
  std::string age = AgeSince(Str(o, {"metadata", "creationTimestamp"}), now);
  json cells = json::array({name});
  if (t.custom) {
    for (const auto& c : t.printer_columns) {
      json v = JsonPathValue(o, c.value("jsonPath", ""));
      std::string type = c.value("type", "string");
      if (v.is_null()) {
        cells.push_back(nullptr);
      } else if (type == "date" && v.is_string()) {
        cells.push_back(AgeSince(v.get<std::string>(), now));
      } else {
        cells.push_back(v);
      }
    }
    if (t.printer_columns.empty()) cells.push_back(age);
    return cells;
  }
  if (t.group.empty()) {
    if (k == "Namespace") {
      cells.push_back(Str(o, {"status", "phase"}));
    } else if (k == "Pod") {
      const json& status = o.value("status", json::object());
      int total = static_cast<int>(o.value("spec", json::object()).value("containers", json::array()).size());
      int ready = 0, restarts = 0;
      std::string reason = status.value("phase", "");
      if (!status.value("reason", "").empty()) reason = status.value("reason", "");
      for (const auto& cs : status.value("containerStatuses", json::array())) {
        if (cs.value("ready", false)) ++ready;
        restarts += cs.value("restartCount", 0);
        const json& state = cs.value("state", json::object());
        if (state.contains("waiting") && !state["waiting"].value("reason", "").empty()) {
          reason = state["waiting"].value("reason", "");
        } else if (state.contains("terminated")) {
          std::string r = state["terminated"].value("reason", "");
          if (!r.empty()) reason = r;
        }
      }
      if (o.value("metadata", json::object()).contains("deletionTimestamp")) reason = "Terminating";
      cells.push_back(std::to_string(ready) + "/" + std::to_string(total));
      cells.push_back(reason);
      cells.push_back(restarts);
      cells.push_back(age);
      cells.push_back(OrNone(status.value("podIP", "")));
      cells.push_back(OrNone(Str(o, {"spec", "nodeName"})));
      cells.push_back(OrNone(status.value("nominatedNodeName", "")));
      cells.push_back("<none>");
      return cells;
    } else if (k == "PersistentVolumeClaim") {
      std::string phase = Str(o, {"status", "phase"});
      if (o["metadata"].contains("deletionTimestamp")) phase = "Terminating";
      bool bound = !Str(o, {"spec", "volumeName"}).empty();
      cells.push_back(phase);
      cells.push_back(Str(o, {"spec", "volumeName"}));
      cells.push_back(bound ? Str(o, {"status", "capacity", "storage"}) : "");
      cells.push_back(
          bound ? AccessModes(o.value("status", json::object()).value("accessModes", json::array())) : "");
      cells.push_back(Str(o, {"spec", "storageClassName"}));
      cells.push_back(OrUnset(Str(o, {"spec", "volumeAttributesClassName"})));
      cells.push_back(age);
      cells.push_back(Str(o, {"spec", "volumeMode"}));
      return cells;
    } else if (k == "PersistentVolume") {
      std::string claim;
      if (o.value("spec", json::object()).contains("claimRef")) {
        claim = Str(o, {"spec", "claimRef", "namespace"}) + "/" + Str(o, {"spec", "claimRef", "name"});
      }
      std::string phase = Str(o, {"status", "phase"});
      if (o["metadata"].contains("deletionTimestamp")) phase = "Terminating";
      cells.push_back(Str(o, {"spec", "capacity", "storage"}));
      cells.push_back(AccessModes(o.value("spec", json::object()).value("accessModes", json::array())));
      cells.push_back(Str(o, {"spec", "persistentVolumeReclaimPolicy"}));
      cells.push_back(phase);
      cells.push_back(claim);
      cells.push_back(Str(o, {"spec", "storageClassName"}));
      cells.push_back(OrUnset(Str(o, {"spec", "volumeAttributesClassName"})));
      cells.push_back(Str(o, {"status", "reason"}));
      cells.push_back(age);
      cells.push_back(Str(o, {"spec", "volumeMode"}));
      return cells;
    } else if (k == "Secret") {
      cells.push_back(Str(o, {"type"}));
      cells.push_back(o.value("data", json::object()).size());
    } else if (k == "ConfigMap") {
      cells.push_back(o.value("data", json::object()).size() + o.value("binaryData", json::object()).size());
    } else if (k == "Service") {
      const json& spec = o.value("spec", json::object());
      std::string ports;
      for (const auto& p : spec.value("ports", json::array())) {
        if (!ports.empty()) ports += ",";
        ports += p.contains("port") ? p["port"].dump() : "";
        if (p.contains("nodePort")) ports += ":" + p["nodePort"].dump();
        ports += "/" + p.value("protocol", "TCP");
      }
      std::string selector;
      const json selector_map = spec.value("selector", json::object());
      for (const auto& [sk, sv] : selector_map.items()) {
        selector +=
            (selector.empty() ? "" : ",") + sk + "=" + (sv.is_string() ? sv.get<std::string>() : sv.dump());
      }
      cells.push_back(spec.value("type", "ClusterIP"));
      cells.push_back(OrNone(spec.value("clusterIP", "")));
      cells.push_back("<none>");
      cells.push_back(OrNone(ports));
      cells.push_back(age);
      cells.push_back(OrNone(selector));
      return cells;
    } else if (k == "ServiceAccount") {
      cells.push_back(o.value("secrets", json::array()).size());
    } else if (k == "Node") {
      std::string status = "Unknown";
      for (const auto& c : o.value("status", json::object()).value("conditions", json::array())) {
        if (c.value("type", "") == "Ready") status = c.value("status", "") == "True" ? "Ready" : "NotReady";
      }
      if (o.value("spec", json::object()).value("unschedulable", false)) status += ",SchedulingDisabled";
      std::string roles;
      const json labels = o.value("metadata", json::object()).value("labels", json::object());
      for (const auto& [lk, lv] : labels.items()) {
        static const std::string kPrefix = "node-role.kubernetes.io/";
        if (lk.rfind(kPrefix, 0) == 0) roles += (roles.empty() ? "" : ",") + lk.substr(kPrefix.size());
      }
      cells.push_back(status);
      cells.push_back(OrNone(roles));
      cells.push_back(age);
      cells.push_back(Str(o, {"status", "nodeInfo", "kubeletVersion"}));
      return cells;
    } else if (k == "Event") {
      std::string last = Str(o, {"lastTimestamp"});
      if (last.empty()) last = Str(o, {"eventTime"});
      if (last.empty()) last = Str(o, {"metadata", "creationTimestamp"});
      cells = json::array(
          {AgeSince(last, now), Str(o, {"type"}), Str(o, {"reason"}),
           AsciiLower(Str(o, {"involvedObject", "kind"})) + "/" + Str(o, {"involvedObject", "name"}),
           Str(o, {"message"})});
      return cells;
    }
  } else if (k == "StorageClass") {
    std::string def = Str(o, {"metadata", "annotations", "storageclass.kubernetes.io/is-default-class"});
    cells[0] = name + (def == "true" ? " (default)" : "");
    cells.push_back(Str(o, {"provisioner"}));
    cells.push_back(Str(o, {"reclaimPolicy"}, "Delete"));
    cells.push_back(Str(o, {"volumeBindingMode"}, "Immediate"));
    cells.push_back(o.value("allowVolumeExpansion", false));
  } else if (k == "Lease") {
    cells.push_back(Str(o, {"spec", "holderIdentity"}));
  } else if (k == "CustomResourceDefinition") {
    cells.push_back(Str(o, {"metadata", "creationTimestamp"}));
    return cells;
  } else if (k == "Event") {
    std::string last = Str(o, {"deprecatedLastTimestamp"});
    if (last.empty()) last = Str(o, {"eventTime"});
    if (last.empty()) last = Str(o, {"metadata", "creationTimestamp"});
    cells = json::array({AgeSince(last, now), Str(o, {"type"}), Str(o, {"reason"}),
                         AsciiLower(Str(o, {"regarding", "kind"})) + "/" + Str(o, {"regarding", "name"}),
                         Str(o, {"note"})});
    return cells;
  }
  cells.push_back(age);
  return cells;
}

}  // namespace

std::string AgeSince(const std::string& rfc3339, int64_t now) {
  if (rfc3339.empty()) return "<unknown>";
  return HumanDuration(now - ParseTime(rfc3339));
}

json MakeTable(const ResourceType& type, const std::vector<json>& items, int64_t now,
               const std::string& include_object, bool with_column_definitions) {
  std::vector<Column> cols;
  Columns(type, &cols);
  json defs = json::array();
  if (with_column_definitions) {
    for (const auto& c : cols) {
      defs.push_back({{"name", c.name},
                      {"type", c.type},
                      {"format", c.format},
                      {"description", c.description},
                      {"priority", c.priority}});
    }
  }
  json rows = json::array();
  for (const auto& o : items) {
    json row = {{"cells", Cells(type, o, now)}};
    if (include_object == "Object") {
      row["object"] = o;
    } else if (include_object != "None") {
      json meta = o.value("metadata", json::object());
      row["object"] = {
          {"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta}};
    }
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", json::object()},
          {"columnDefinitions", defs},
          {"rows", rows}};
}

}  // namespace hoist::lab

#include "planner/populations.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "controller/kinds.h"
#include "controller/names.h"
#include "kube/kube_client.h"
#include "kube/objects.h"
#include "kube/selectors.h"
#include "planner/names.h"
#include "planner/status.h"

namespace hoist::planner {

using nlohmann::json;

namespace {

std::string Str(const json& o, std::initializer_list<std::string_view> path) { return kube::StringAt(o, path); }

int64_t Bytes(const json& pvc) {
  try {
    return controller::RequestedBytes(pvc);
  } catch (const std::exception&) {
    return 0;
  }
}

// The latest Warning event per object name ("ns/name"), as note.
struct LastWarning {
  std::string when;
  std::string note;
};

std::map<std::string, LastWarning> Warnings(const std::vector<json>& events) {
  std::map<std::string, LastWarning> out;
  for (const json& e : events) {
    if (Str(e, {"type"}) != "Warning") continue;
    std::string name = Str(e, {"regarding", "name"}), ns = Str(e, {"regarding", "namespace"});
    std::string note = Str(e, {"note"});
    if (name.empty()) {  // core/v1
      name = Str(e, {"involvedObject", "name"});
      ns = Str(e, {"involvedObject", "namespace"});
      note = Str(e, {"message"});
    }
    if (ns.empty()) ns = kube::Namespace(e);
    std::string when = Str(e, {"series", "lastObservedTime"});
    for (auto p : {std::initializer_list<std::string_view>{"eventTime"}, {"deprecatedLastTimestamp"}, {"lastTimestamp"},
                   {"metadata", "creationTimestamp"}}) {
      if (!when.empty()) break;
      when = Str(e, p);
    }
    LastWarning& w = out[ns + "/" + name];
    if (when >= w.when) w = {when, note};
  }
  return out;
}

std::string DiskOf(controller::PopulatorKind kind, const json& cr) {
  switch (kind) {
    case controller::PopulatorKind::kVSphereXcopy:
      return Str(cr, {"spec", "vmdkPath"});
    case controller::PopulatorKind::kOvirt:
      return Str(cr, {"spec", "diskId"});
    case controller::PopulatorKind::kOpenstack:
      return Str(cr, {"spec", "imageId"});
  }
  return "";
}

}  // namespace

std::vector<Population> Populations(const std::vector<json>& crs, const std::vector<json>& pvcs,
                                    const std::vector<json>& events, std::chrono::system_clock::time_point now) {
  // ns/kind/name of the CR → the PVC that asks for it.
  std::map<std::string, const json*> pvc_by_ref;
  for (const json& pvc : pvcs) {
    auto ref = kube::pvc::DataSourceRef(pvc);
    if (!ref || ref->api_group != controller::kGroup) continue;
    pvc_by_ref[kube::Namespace(pvc) + "/" + ref->kind + "/" + ref->name] = &pvc;
  }
  auto warnings = Warnings(events);
  std::string now_text = FormatTime(now);

  std::vector<Population> rows;
  for (const json& cr : crs) {
    const controller::KindInfo* kind = controller::FindKind(Str(cr, {"kind"}));
    if (kind == nullptr) continue;
    Population p;
    p.ns = kube::Namespace(cr);
    p.name = kube::Name(cr);
    p.kind = std::string(kind->kind_name);
    p.plan_uid = kube::Label(cr, kPlanLabel);
    auto it = pvc_by_ref.find(p.ns + "/" + p.kind + "/" + p.name);
    const json* pvc = it == pvc_by_ref.end() ? nullptr : it->second;
    if (pvc != nullptr) p.pvc = kube::Name(*pvc);

    p.vm = kube::Annotation(cr, kVmNameAnnotation);
    if (p.vm.empty() && pvc != nullptr) p.vm = kube::Annotation(*pvc, kVmNameAnnotation);
    if (p.vm.empty()) p.vm = Str(cr, {"spec", "vmId"});
    if (p.vm.empty()) p.vm = kube::Label(cr, kVmIdLabel);
    p.disk = DiskOf(kind->kind, cr);
    if (kind->kind == controller::PopulatorKind::kVSphereXcopy) {
      p.vendor = Str(cr, {"status", "storageVendor"});
      if (p.vendor.empty()) p.vendor = Str(cr, {"spec", "storageVendorProduct"});
      p.method = Str(cr, {"status", "cloneMethod"});
      std::string used = Str(cr, {"status", "xcopyUsed"});
      p.xcopy = used == "1" ? "yes" : used == "0" ? "no" : "";
    } else {
      p.method = kind->kind == controller::PopulatorKind::kOvirt ? "imageio" : "glance";
    }

    p.total_bytes = pvc != nullptr ? Bytes(*pvc) : 0;
    p.percent = ProgressPercent(Str(cr, {"status", "progress"}));
    const json* failed = TrueCondition(cr, "Failed");
    const json* running = TrueCondition(cr, "Running");
    const json* pending = TrueCondition(cr, "Pending");
    bool bound = pvc != nullptr && kube::pvc::Phase(*pvc) == "Bound";
    if (running != nullptr) p.started = Str(*running, {"lastTransitionTime"});
    std::string vm_failed = kube::Annotation(cr, kVmFailedAnnotation);
    if (bound) {
      p.state = "Succeeded";
      p.percent = 100;
    } else if (failed != nullptr || Str(cr, {"status", "result"}) == "failure") {
      p.state = "Failed";
      p.reason = failed != nullptr ? Str(*failed, {"reason"}) : "CopyFailed";
      if (failed != nullptr) p.message = Str(*failed, {"message"});
    } else if (pvc == nullptr && !vm_failed.empty()) {
      // Stopped by the planner because another disk of the VM failed; its PVC is gone.
      p.state = "Failed";
      p.reason = "VmFailed";
      p.message = vm_failed;
    } else if (pvc == nullptr && (running != nullptr || p.percent > 0)) {
      p.state = "Failed";
      p.reason = "PvcGone";
      p.message = "the PVC was deleted before the copy finished";
    } else if (running != nullptr || p.percent > 0 || TrueCondition(cr, "Succeeded") != nullptr) {
      p.state = "Running";
    } else {
      p.state = "Pending";
      if (pending != nullptr) {
        p.reason = Str(*pending, {"reason"});
        p.message = Str(*pending, {"message"});
      }
      if (pvc == nullptr) {
        p.reason = "NoPvc";
        p.message = "no PVC in " + p.ns + " has a dataSourceRef naming this " + p.kind;
      }
    }
    p.transferred_bytes = p.total_bytes / 100 * p.percent + p.total_bytes % 100 * p.percent / 100;
    if (p.message.empty() && p.state != "Succeeded" && p.state != "Running") {
      for (const std::string& who : {p.name, p.pvc}) {
        auto w = warnings.find(p.ns + "/" + who);
        if (!who.empty() && w != warnings.end()) p.message = w->second.note;
      }
    }

    // Rate: over the whole copy when it reported its duration, else since it started running.
    double seconds = 0;
    if (std::string d = Str(cr, {"status", "copyDurationSeconds"}); !d.empty() && p.done()) {
      seconds = std::strtod(d.c_str(), nullptr);
    } else if (!p.started.empty() && p.state == "Running") {
      seconds = static_cast<double>(SecondsBetween(p.started, now_text));
    }
    if (seconds > 0 && p.transferred_bytes > 0) {
      p.bytes_per_second = static_cast<double>(p.transferred_bytes) / seconds;
      if (p.state == "Running" && *p.bytes_per_second > 0) {
        p.eta_seconds = static_cast<int64_t>(std::ceil(static_cast<double>(p.total_bytes - p.transferred_bytes) / *p.bytes_per_second));
      }
    }
    rows.push_back(std::move(p));
  }
  std::sort(rows.begin(), rows.end(), [](const Population& a, const Population& b) {
    return std::tie(a.ns, a.vm, a.disk, a.name) < std::tie(b.ns, b.vm, b.disk, b.name);
  });
  return rows;
}

std::vector<Population> ListPopulations(kube::KubeClient& client, const PopulationQuery& q,
                                        std::chrono::system_clock::time_point now) {
  kube::ListOptions by_plan;
  if (!q.plan_uid.empty()) by_plan.label_selector = kube::LabelSelector().Equals(std::string(kPlanLabel), q.plan_uid).String();
  std::vector<json> crs;
  for (const controller::KindInfo& k : controller::AllKinds()) {
    kube::ResourceType t{std::string(controller::kGroup), std::string(controller::kVersion), std::string(k.plural),
                         std::string(k.kind_name), true};
    if (!client.Serves(t)) continue;
    for (json& cr : kube::ListAll(client, t, q.ns, by_plan).items) {
      if (!cr.contains("kind")) cr["kind"] = t.kind;  // list items may come without kind
      crs.push_back(std::move(cr));
    }
  }
  std::vector<json> pvcs, events;
  if (!crs.empty()) {
    pvcs = kube::ListAll(client, kube::resources::kPersistentVolumeClaim, q.ns).items;
    if (q.events) {
      const kube::ResourceType& ev = client.Serves(kube::resources::kEvent) ? kube::resources::kEvent : kube::resources::kCoreEvent;
      kube::ListOptions warn;
      warn.field_selector = "type=Warning";
      try {
        events = kube::ListAll(client, ev, q.ns, warn).items;
      } catch (const std::exception&) {
        events = kube::ListAll(client, ev, q.ns).items;  // a server without that field selector
      }
    }
  }
  return Populations(crs, pvcs, events, now);
}

std::string FormatBytes(int64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

std::string FormatRate(double bps) { return FormatBytes(static_cast<int64_t>(bps)) + "/s"; }

std::string FormatDuration(int64_t s) {
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(std::max<int64_t>(s, 0)));
  }
  return buf;
}

std::string PopulationTable(const std::vector<Population>& rows, bool with_namespace, int width) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header = {"VM", "DISK", "VENDOR", "METHOD", "PROGRESS", "RATE", "ETA", "XCOPY", "RESULT", "MESSAGE"};
  if (with_namespace) header.insert(header.begin(), "NAMESPACE");
  cells.push_back(header);
  for (const Population& p : rows) {
    std::string result = p.state + (p.reason.empty() || p.state == "Succeeded" ? "" : " (" + p.reason + ")");
    std::vector<std::string> r = {p.vm.empty() ? "-" : p.vm,
                                  p.disk.empty() ? p.name : p.disk,
                                  p.vendor.empty() ? "-" : p.vendor,
                                  p.method.empty() ? "-" : p.method,
                                  std::to_string(p.percent) + "%",
                                  p.bytes_per_second ? FormatRate(*p.bytes_per_second) : "-",
                                  p.eta_seconds ? FormatDuration(*p.eta_seconds) : "-",
                                  p.xcopy.empty() ? "-" : p.xcopy,
                                  result,
                                  p.message};
    if (with_namespace) r.insert(r.begin(), p.ns);
    cells.push_back(std::move(r));
  }
  size_t n = header.size();
  std::vector<size_t> w(n, 0);
  for (const auto& r : cells) {
    for (size_t i = 0; i + 1 < n; ++i) w[i] = std::max(w[i], r[i].size());
  }
  std::string out;
  for (const auto& r : cells) {
    std::string line;
    for (size_t i = 0; i < n; ++i) {
      if (i + 1 < n) {
        line += r[i] + std::string(w[i] - r[i].size() + 3, ' ');
      } else {
        std::string msg = r[i];
        if (width > 0 && static_cast<int>(line.size() + msg.size()) > width) {
          int room = width - static_cast<int>(line.size());
          msg = room > 3 ? msg.substr(0, room - 3) + "..." : "";
        }
        line += msg;
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

json PopulationsJson(const std::vector<Population>& rows) {
  json out = json::array();
  for (const Population& p : rows) {
    json j = {{"namespace", p.ns},       {"name", p.name},       {"kind", p.kind},         {"pvc", p.pvc},
              {"vm", p.vm},              {"disk", p.disk},       {"vendor", p.vendor},     {"method", p.method},
              {"percent", p.percent},    {"totalBytes", p.total_bytes}, {"transferredBytes", p.transferred_bytes},
              {"xcopy", p.xcopy},        {"state", p.state},     {"reason", p.reason},     {"message", p.message},
              {"started", p.started}};
    if (p.bytes_per_second) j["bytesPerSecond"] = *p.bytes_per_second;
    if (p.eta_seconds) j["etaSeconds"] = *p.eta_seconds;
    if (!p.plan_uid.empty()) j["planUid"] = p.plan_uid;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace hoist::planner

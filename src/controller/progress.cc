#include "controller/progress.h"
#include "kube/objects.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "controller/names.h"
#include "prom/text.h"

namespace hoist::controller {

using nlohmann::json;

namespace {

constexpr std::string_view kXcopyPrefix = "vsphere_xcopy_volume_populator_";

std::string XcopyMetric(std::string_view suffix) { return std::string(kXcopyPrefix) + std::string(suffix); }

// Integer-valued readings (bytes, 0/1 flags) as plain digits; others in Prometheus' shortest form.
std::string Text(double v) { return prom::FormatValue(v); }

int ParseProgress(const json& status) {
  std::string p = kube::StringAt(status, {"progress"});
  if (p.empty()) return 0;
  std::optional<double> v = prom::ParseValue(p);
  if (!v || std::isnan(*v)) return 0;
  return static_cast<int>(std::clamp(*v, 0.0, 100.0));
}

json ObjectOrEmpty(const json& j) { return j.is_object() ? j : json::object(); }

}  // namespace

ScrapeReading ReadScrape(PopulatorKind kind, const prom::Scrape& scrape, std::string_view owner_uid) {
  const KindInfo& info = Info(kind);
  ScrapeReading r;
  prom::LabelSet owner = {{std::string(info.owner_uid_label), std::string(owner_uid)}};
  if (const prom::Sample* s = scrape.FindSample(info.progress_metric, owner)) r.progress = s->value;
  if (kind != PopulatorKind::kVSphereXcopy) return r;

  if (const prom::Sample* s = scrape.FindSample(XcopyMetric("xcopy_used"), owner))
    r.xcopy_used = Text(s->value);
  if (const prom::Sample* s = scrape.FindSample(XcopyMetric("vib_version"), owner)) {
    r.vib_version = std::string(s->Label("version"));
  }
  const prom::Sample* done = scrape.FindSample(XcopyMetric("copy_duration_seconds"), owner);
  if (done == nullptr) return r;
  r.completed = true;
  r.copy_duration_seconds = Text(done->value);
  r.result = done->Label("result");
  r.storage_vendor = done->Label("storage_vendor");
  r.clone_method = done->Label("clone_method");
  r.storage_protocol = done->Label("storage_protocol");
  if (!r.xcopy_used && !done->Label("xcopy_used").empty())
    r.xcopy_used = std::string(done->Label("xcopy_used"));
  for (auto [type, field] : {std::pair{"provisioned", &r.provisioned_bytes},
                             std::pair{"datastore_allocated", &r.allocated_bytes}}) {
    prom::LabelSet m = owner;
    m.emplace("type", type);
    const prom::Sample* b = scrape.FindSample(XcopyMetric("source_disk_bytes"), m);
    if (b != nullptr && b->value > 0 && std::isfinite(b->value)) *field = Text(b->value);
  }
  return r;
}

json NextStatus(PopulatorKind kind, const json& current, const ScrapeReading& reading) {
  json status = ObjectOrEmpty(current);
  int before = ParseProgress(status);
  int now = before;
  if (reading.progress && !std::isnan(*reading.progress) && *reading.progress >= 0) {
    now = std::max(before, static_cast<int>(std::min(*reading.progress, 100.0)));
  }
  if (now != before || !status.contains("progress")) status["progress"] = std::to_string(now);
  if (kind != PopulatorKind::kVSphereXcopy) return status;

  if (reading.xcopy_used) status["xcopyUsed"] = *reading.xcopy_used;
  if (reading.vib_version && !reading.vib_version->empty()) status["vibVersion"] = *reading.vib_version;
  if (reading.completed) {
    // Only non-empty values, as Forklift does: an empty label must not erase an earlier value.
    for (auto [key, value] :
         {std::pair{"copyDurationSeconds", &reading.copy_duration_seconds},
          std::pair{"result", &reading.result}, std::pair{"storageVendor", &reading.storage_vendor},
          std::pair{"cloneMethod", &reading.clone_method},
          std::pair{"storageProtocol", &reading.storage_protocol},
          std::pair{"provisionedBytes", &reading.provisioned_bytes},
          std::pair{"allocatedBytes", &reading.allocated_bytes}}) {
      if (!value->empty()) status[key] = *value;
    }
  }
  return status;
}

json CompletedStatus(const json& current) {
  json status = ObjectOrEmpty(current);
  status["progress"] = "100";
  return status;
}

json FailedStatus(PopulatorKind kind, const json& current) {
  json status = ObjectOrEmpty(current);
  if (kind == PopulatorKind::kVSphereXcopy && kube::StringAt(status, {"result"}).empty())
    status["result"] = "failure";
  return status;
}

json OffloadCompletedLabelPatch(PopulatorKind kind, const json& cr, const ScrapeReading& reading) {
  if (kind != PopulatorKind::kVSphereXcopy || !reading.completed) return nullptr;
  if (kube::Label(cr, kOffloadCompletedLabel) == "true") return nullptr;
  return json{{"metadata", {{"labels", {{std::string(kOffloadCompletedLabel), "true"}}}}}};
}

std::chrono::milliseconds NextScrapeDelay(std::chrono::milliseconds interval, int consecutive_failures) {
  if (interval.count() <= 0) interval = std::chrono::milliseconds(1);
  const std::chrono::milliseconds cap = interval * 12;
  std::chrono::milliseconds delay = interval;
  for (int i = 0; i < consecutive_failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

bool ShouldScrape(const json& pod) {
  return kube::StringAt(pod, {"status", "phase"}) == "Running" && !kube::StringAt(pod, {"status", "podIP"}).empty();
}

std::string MetricsUrl(const json& pod) {
  std::string ip = kube::StringAt(pod, {"status", "podIP"});
  if (ip.empty()) return "";
  int port = kMetricsPort;
  const json* containers = kube::At(pod, {"spec", "containers"});
  if (containers != nullptr && containers->is_array()) {
    for (const auto& c : *containers) {
      const json* ports = kube::At(c, {"ports"});
      if (ports == nullptr || !ports->is_array()) continue;
      for (const auto& p : *ports) {
        if (kube::StringAt(p, {"name"}) == kMetricsPortName && p.contains("containerPort") &&
            p["containerPort"].is_number_integer()) {
          port = p["containerPort"].get<int>();
        }
      }
    }
  }
  std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;  // IPv6 pod IPs
  return "https://" + host + ":" + std::to_string(port) + std::string(kMetricsPath);
}

// ---- conditions --------------------------------------------------------------------------------

std::string_view PopulationStateName(PopulationState state) {
  switch (state) {
    case PopulationState::kPending:
      return "Pending";
    case PopulationState::kRunning:
      return "Running";
    case PopulationState::kSucceeded:
      return "Succeeded";
    case PopulationState::kFailed:
      return "Failed";
  }
  return "Pending";
}

namespace {

std::string Truncate(std::string s, size_t max) {
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

const json* PopulateContainerStatus(const json& pod) {
  const json* statuses = kube::At(pod, {"status", "containerStatuses"});
  if (statuses == nullptr || !statuses->is_array()) return nullptr;
  for (const auto& s : *statuses) {
    if (kube::StringAt(s, {"name"}) == kContainerName) return &s;
  }
  return statuses->empty() ? nullptr : &(*statuses)[0];
}

// "exit code 3 (Error): <termination message>" for a terminated populator container.
std::string TerminationDetail(const json& pod) {
  const json* cs = PopulateContainerStatus(pod);
  if (cs == nullptr) return "";
  const json* t = kube::At(*cs, {"state", "terminated"});
  if (t == nullptr || !t->is_object()) return "";
  std::string out;
  if (t->contains("exitCode") && (*t)["exitCode"].is_number_integer()) {
    out = "exit code " + std::to_string((*t)["exitCode"].get<int>());
  }
  std::string reason = kube::StringAt(*t, {"reason"});
  if (!reason.empty()) out += (out.empty() ? "" : " ") + ("(" + reason + ")");
  std::string msg = kube::StringAt(*t, {"message"});
  if (!msg.empty()) out += (out.empty() ? "" : ": ") + Truncate(msg, 300);
  return out;
}

// "ImagePullBackOff: Back-off pulling image ..." for a waiting populator container.
std::string WaitingDetail(const json& pod) {
  const json* cs = PopulateContainerStatus(pod);
  if (cs == nullptr) return "";
  const json* w = kube::At(*cs, {"state", "waiting"});
  if (w == nullptr || !w->is_object()) return "";
  std::string out = kube::StringAt(*w, {"reason"});
  std::string msg = kube::StringAt(*w, {"message"});
  if (!msg.empty()) out += (out.empty() ? "" : ": ") + Truncate(msg, 300);
  return out;
}

}  // namespace

ConditionSummary Summarize(const Observation& o) {
  ConditionSummary c;
  const json empty = json::object();
  const json& pvc = o.target_pvc != nullptr ? *o.target_pvc : empty;
  std::string ns = kube::StringAt(pvc, {"metadata", "namespace"});
  std::string uid = kube::StringAt(pvc, {"metadata", "uid"});
  std::string pvc_name = kube::ObjectKey(pvc);
  std::string pod_name = PopulatorPodName(uid);
  std::string pod_ref = ns + "/" + pod_name;
  std::string prime_ref = ns + "/" + PrimePvcName(uid);
  std::string logs = "kubectl logs -n " + ns + " " + pod_name;
  std::string describe = "kubectl describe pod -n " + ns + " " + pod_name;

  std::string volume = kube::StringAt(pvc, {"spec", "volumeName"});
  bool bound = !volume.empty() && kube::StringAt(pvc, {"status", "phase"}) == "Bound";
  bool prime_lost = o.prime_pvc == nullptr || kube::StringAt(*o.prime_pvc, {"status", "phase"}) == "Lost";
  if (o.in_place && o.populated_in_place) {
    c.state = PopulationState::kSucceeded;
    c.reason = "PopulatedInPlace";
    c.message = "PVC " + pvc_name + " is bound to the static volume " + volume + ", which was populated in place";
    return c;
  }
  if (bound && prime_lost && !o.in_place) {
    c.state = PopulationState::kSucceeded;
    c.reason = "Populated";
    c.message = "PVC " + pvc_name + " is bound to the populated volume " + volume;
    return c;
  }

  if (o.result == "failure" && (o.pod == nullptr || kube::StringAt(*o.pod, {"status", "phase"}) != "Failed")) {
    c.state = PopulationState::kFailed;
    c.reason = "CopyFailed";
    c.message = "populator pod " + pod_ref + " reported that the copy failed; check its logs (" + logs + ")";
    return c;
  }

  if (o.pod == nullptr) {
    c.state = PopulationState::kPending;
    if (!o.waiting_reason.empty()) {
      c.reason = o.waiting_reason;
      c.message = o.waiting_message;
    } else {
      c.reason = "CreatingPod";
      c.message = o.in_place ? "creating populator pod " + pod_ref + " to populate static volume " + volume +
                                   " in place"
                             : "creating populator pod " + pod_ref + " and prime PVC " + prime_ref;
    }
    return c;
  }

  std::string phase = kube::StringAt(*o.pod, {"status", "phase"});
  if (phase == "Failed") {
    std::string detail = TerminationDetail(*o.pod);
    std::string what =
        o.retry ? o.retry->message : "populator pod " + pod_ref + " failed; check its logs (" + logs + ")";
    if (!detail.empty()) what += "; container ended with " + detail;
    if (o.retry && o.retry->recreate) {
      c.state = PopulationState::kPending;
      c.reason = "Retrying";
    } else {
      c.state = PopulationState::kFailed;
      c.reason = "PopulatorFailed";
    }
    c.message = what;
    return c;
  }
  if (phase == "Succeeded" && o.in_place) {
    c.state = PopulationState::kRunning;
    c.reason = "Finishing";
    c.message = "populator pod " + pod_ref + " finished; marking volume " + volume + " as populated";
    return c;
  }
  if (phase == "Succeeded") {
    c.state = PopulationState::kRunning;
    c.reason = "Rebinding";
    std::string prime_volume =
        o.prime_pvc != nullptr ? kube::StringAt(*o.prime_pvc, {"spec", "volumeName"}) : "";
    c.message = "populator pod " + pod_ref + " finished; waiting for the volume " +
                (prime_volume.empty() ? std::string("of ") + prime_ref : prime_volume) +
                " to be bound to PVC " + pvc_name +
                " (if this takes long, check the PV's claimRef and the events of both PVCs)";
    return c;
  }
  if (phase == "Running") {
    c.state = PopulationState::kRunning;
    c.reason = "Populating";
    c.message = "populator pod " + pod_ref + " is copying (" + std::to_string(o.progress) + "%)";
    return c;
  }
  // Pending (or Unknown): say what holds it.
  c.state = PopulationState::kPending;
  c.reason = "PodPending";
  std::string waiting = WaitingDetail(*o.pod);
  std::string prime_phase = o.prime_pvc != nullptr ? kube::StringAt(*o.prime_pvc, {"status", "phase"}) : "";
  if (!waiting.empty()) {
    // The container's own reason (CreateContainerConfigError, ImagePullBackOff, ...) says what to fix.
    const json* cs = PopulateContainerStatus(*o.pod);
    std::string why = cs != nullptr ? kube::StringAt(*cs, {"state", "waiting", "reason"}) : "";
    if (!why.empty() && why != "ContainerCreating") c.reason = why;
    c.message = "populator pod " + pod_ref + " is waiting: " + waiting;
  } else if (o.in_place) {
    c.message = "populator pod " + pod_ref + " is pending";
  } else if (o.prime_pvc == nullptr) {
    c.message = "populator pod " + pod_ref + " is pending and prime PVC " + prime_ref + " does not exist yet";
  } else if (prime_phase != "Bound") {
    c.message = "populator pod " + pod_ref + " is pending because prime PVC " + prime_ref + " is " +
                (prime_phase.empty() ? std::string("not bound") : prime_phase) +
                "; check the storage class provisioner and the events of " + prime_ref;
  } else {
    c.message = "populator pod " + pod_ref + " is pending";
  }
  c.message += " (" + describe + ")";
  return c;
}

json UpdateConditions(const json& existing, const ConditionSummary& summary, std::string_view now,
                      int64_t observed_generation) {
  json out = json::array();
  for (PopulationState s : {PopulationState::kPending, PopulationState::kRunning, PopulationState::kSucceeded,
                            PopulationState::kFailed}) {
    std::string type(PopulationStateName(s));
    bool active = s == summary.state;
    std::string status = active ? "True" : "False";
    std::string since(now);
    if (existing.is_array()) {
      for (const auto& e : existing) {
        if (kube::StringAt(e, {"type"}) == type && kube::StringAt(e, {"status"}) == status) {
          std::string t = kube::StringAt(e, {"lastTransitionTime"});
          if (!t.empty()) since = t;
        }
      }
    }
    json c = {{"type", type},
              {"status", status},
              {"reason", summary.reason},
              {"message", active ? summary.message : std::string()},
              {"lastTransitionTime", since},
              {"observedGeneration", observed_generation}};
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace hoist::controller

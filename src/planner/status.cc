#include "planner/status.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "kube/objects.h"

namespace hoist::planner {

using nlohmann::json;

namespace {

constexpr int64_t kMiB = 1024 * 1024;

std::string Str(const json& obj, std::initializer_list<std::string_view> path) { return kube::StringAt(obj, path); }

int64_t Int(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return 0;
  return it->get<int64_t>();
}

}  // namespace

const json* TrueCondition(const json& cr, std::string_view type) {
  const json* conds = kube::At(cr, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return nullptr;
  for (const json& c : *conds) {
    if (Str(c, {"type"}) == type && Str(c, {"status"}) == "True") return &c;
  }
  return nullptr;
}

int ProgressPercent(std::string_view progress) {
  std::string s(progress);
  if (s.empty()) return 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !(v >= 0)) return 0;
  return static_cast<int>(std::min(100.0, v));
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseTime(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  if (*end == '.') {  // fractional seconds: ignored
    ++end;
    while (*end >= '0' && *end <= '9') ++end;
  }
  long offset = 0;
  if (*end == 'Z' || *end == 'z') {
    ++end;
  } else if (*end == '+' || *end == '-') {
    int hh = 0, mm = 0;
    if (std::sscanf(end + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    offset = (hh * 3600L + mm * 60L) * (*end == '-' ? -1 : 1);
    end += 6;
  } else {
    return std::nullopt;
  }
  if (*end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm) - offset);
}

int64_t SecondsBetween(std::string_view from, std::string_view to) {
  auto a = ParseTime(from), b = ParseTime(to);
  if (!a || !b || *b < *a) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(*b - *a).count();
}

DiskVerdict EvaluateDisk(const DiskObservation& d) {
  DiskVerdict v;
  if (d.pvc == nullptr) {
    v.phase = kPhaseFailed;
    v.reason = "PvcMissing";
    v.message = "target PVC " + d.name + " is gone (deleted outside the plan); the disk was not copied";
    return v;
  }
  std::string pvc_phase = kube::pvc::Phase(*d.pvc);
  if (pvc_phase == "Bound") {
    v.phase = kPhaseCompleted;
    v.percent = 100;
    v.transferred_bytes = d.capacity_bytes;
    if (d.cr != nullptr) {
      if (const json* r = TrueCondition(*d.cr, "Running")) v.running_since = Str(*r, {"lastTransitionTime"});
    }
    return v;
  }
  if (pvc_phase == "Lost") {
    v.phase = kPhaseFailed;
    v.reason = "PvcLost";
    v.message = "target PVC " + d.name + " is Lost: its volume is gone — check the storage class's provisioner";
    return v;
  }
  if (d.cr == nullptr) {
    v.phase = kPhaseFailed;
    v.reason = "PopulatorMissing";
    v.message = "VSphereXcopyVolumePopulator " + d.name + " is gone (deleted outside the plan); nothing will fill PVC " + d.name;
    return v;
  }
  const json& cr = *d.cr;
  v.percent = ProgressPercent(Str(cr, {"status", "progress"}));
  v.transferred_bytes = d.capacity_bytes / 100 * v.percent + d.capacity_bytes % 100 * v.percent / 100;
  const json* failed = TrueCondition(cr, "Failed");
  if (failed != nullptr || Str(cr, {"status", "result"}) == "failure") {
    v.phase = kPhaseFailed;
    v.reason = failed != nullptr && !Str(*failed, {"reason"}).empty() ? Str(*failed, {"reason"}) : "CopyFailed";
    v.message = failed != nullptr && !Str(*failed, {"message"}).empty()
                    ? Str(*failed, {"message"})
                    : "the populator reported result failure for " + d.file +
                          " — see the populator pod's log (pod populate-<PVC uid> in the target namespace)";
    return v;
  }
  const json* running = TrueCondition(cr, "Running");
  const json* succeeded = TrueCondition(cr, "Succeeded");
  if (running != nullptr || succeeded != nullptr || v.percent > 0) {
    v.phase = kPhaseRunning;
    if (running != nullptr) v.running_since = Str(*running, {"lastTransitionTime"});
    if (succeeded != nullptr) v.reason = "Finishing";  // copied; the volume is being handed to the PVC
    return v;
  }
  v.phase = kPhasePending;
  if (const json* pending = TrueCondition(cr, "Pending")) {
    v.reason = Str(*pending, {"reason"});
    v.message = Str(*pending, {"message"});
  }
  return v;
}

json DiskTask(const DiskObservation& d, const json& previous, const std::string& now) {
  DiskVerdict v = EvaluateDisk(d);
  json annotations = {{"unit", "MB"}};
  if (d.cr != nullptr) {
    for (const char* key : {"xcopyUsed", "vibVersion", "copyDurationSeconds", "result", "storageVendor", "cloneMethod",
                            "storageProtocol", "provisionedBytes", "allocatedBytes"}) {
      std::string value = Str(*d.cr, {"status", key});
      if (!value.empty()) annotations[key] = value;
    }
  }
  json t = {{"name", d.file},
            {"description", "disk " + std::to_string(d.index) + " (device key " + std::to_string(d.key) + ") to PVC " + d.name},
            {"phase", v.phase},
            {"index", d.index},
            {"deviceKey", d.key},
            {"pvc", d.name},
            {"datastore", d.datastore},
            {"progress", {{"total", d.capacity_bytes / kMiB}, {"completed", v.transferred_bytes / kMiB}}},
            {"totalBytes", d.capacity_bytes},
            {"transferredBytes", v.transferred_bytes},
            {"percent", v.percent},
            {"annotations", annotations}};
  if (!v.reason.empty()) t["reason"] = v.reason;
  if (!v.message.empty() && v.phase == kPhasePending) t["message"] = v.message;

  std::string started = previous.is_object() ? Str(previous, {"started"}) : "";
  std::string completed = previous.is_object() ? Str(previous, {"completed"}) : "";
  bool ran = v.phase == kPhaseRunning || v.phase == kPhaseCompleted || (v.phase == kPhaseFailed && v.percent > 0);
  if (started.empty() && ran) started = !v.running_since.empty() ? v.running_since : now;
  bool done = v.phase == kPhaseCompleted || v.phase == kPhaseFailed;
  if (completed.empty() && done) completed = now;
  if (!done) completed.clear();
  if (!started.empty()) t["started"] = started;
  if (!completed.empty()) t["completed"] = completed;
  if (!started.empty()) t["durationSeconds"] = SecondsBetween(started, completed.empty() ? now : completed);
  if (v.phase == kPhaseFailed) t["error"] = {{"phase", kStepDiskTransfer}, {"reasons", {v.message}}};
  return t;
}

namespace {

json VmBase(const VmIdentity& vm) {
  json j = {{"id", vm.id}, {"name", vm.name}};
  if (!vm.host.empty()) j["host"] = vm.host;
  return j;
}

json Conditions(const std::string& type, const std::string& message, const json& previous, const std::string& now) {
  std::string since = now;
  if (previous.is_object()) {
    if (const json* prev = kube::At(previous, {"conditions"}); prev != nullptr && prev->is_array()) {
      for (const json& c : *prev) {
        if (Str(c, {"type"}) == type && !Str(c, {"lastTransitionTime"}).empty()) since = Str(c, {"lastTransitionTime"});
      }
    }
  }
  return json::array({{{"type", type},
                       {"status", "True"},
                       {"category", kAdvisory},
                       {"message", message},
                       {"lastTransitionTime", since}}});
}

}  // namespace

json StartedVmStatus(const VmIdentity& vm, const std::vector<json>& tasks, const json& previous, const std::string& now) {
  int64_t total = 0, done_bytes = 0, total_mb = 0, done_mb = 0;
  int completed_tasks = 0;
  std::vector<std::string> failures;
  for (const json& t : tasks) {
    total += Int(t, "totalBytes");
    done_bytes += Int(t, "transferredBytes");
    total_mb += Int(t["progress"], "total");
    done_mb += Int(t["progress"], "completed");
    std::string phase = Str(t, {"phase"});
    if (phase == kPhaseCompleted) ++completed_tasks;
    if (phase == kPhaseFailed) {
      std::string why;
      if (const json* r = kube::At(t, {"error", "reasons"}); r != nullptr && r->is_array() && !r->empty()) why = (*r)[0];
      failures.push_back(Str(t, {"name"}) + ": " + why);
    }
  }
  std::string phase = !failures.empty()                                 ? kPhaseFailed
                      : completed_tasks == static_cast<int>(tasks.size()) ? kPhaseCompleted
                                                                         : kVmPhaseCopyDisks;
  bool done = phase != kVmPhaseCopyDisks;

  json j = VmBase(vm);
  j["phase"] = phase;
  std::string started = previous.is_object() ? Str(previous, {"started"}) : "";
  if (started.empty()) started = now;
  std::string completed = previous.is_object() ? Str(previous, {"completed"}) : "";
  if (done && completed.empty()) completed = now;
  if (!done) completed.clear();
  j["started"] = started;
  if (!completed.empty()) j["completed"] = completed;
  j["totalBytes"] = total;
  j["transferredBytes"] = done_bytes;
  j["durationSeconds"] = SecondsBetween(started, completed.empty() ? now : completed);

  // The step's times span its tasks: first start, last completion.
  std::string step_started, step_completed;
  for (const json& t : tasks) {
    std::string s = Str(t, {"started"}), c = Str(t, {"completed"});
    if (!s.empty() && (step_started.empty() || s < step_started)) step_started = s;
    if (!c.empty() && c > step_completed) step_completed = c;
  }
  json step = {{"name", kStepDiskTransfer},
               {"description", "Copy the disks on the storage array (XCOPY offload)"},
               {"phase", phase == kVmPhaseCopyDisks ? kPhaseRunning : phase},
               {"progress", {{"total", total_mb}, {"completed", done_mb}}},
               {"annotations", {{"unit", "MB"}}},
               {"tasks", tasks}};
  if (!step_started.empty()) step["started"] = step_started;
  if (done && !step_completed.empty()) step["completed"] = step_completed;
  if (phase == kPhaseFailed) step["error"] = {{"phase", kStepDiskTransfer}, {"reasons", failures}};
  j["pipeline"] = json::array({step});
  if (phase == kPhaseFailed) {
    j["error"] = {{"phase", kVmPhaseCopyDisks}, {"reasons", failures}};
    j["conditions"] = Conditions(kPhaseFailed, "The VM migration has FAILED.", previous, now);
  } else if (phase == kPhaseCompleted) {
    j["conditions"] = Conditions("Succeeded", "The VM migration has SUCCEEDED.", previous, now);
  }
  return j;
}

json PendingVmStatus(const VmIdentity& vm, const std::string& reason, const json& previous) {
  (void)previous;
  json j = VmBase(vm);
  j["phase"] = kPhasePending;
  if (!reason.empty()) j["reason"] = reason;
  return j;
}

json FailedVmStatus(const VmIdentity& vm, const std::vector<std::string>& reasons, const json& previous,
                    const std::string& now) {
  json j = previous.is_object() ? previous : VmBase(vm);
  for (const auto& [k, v] : VmBase(vm).items()) j[k] = v;
  j["phase"] = kPhaseFailed;
  j.erase("reason");
  if (Str(j, {"started"}).empty()) j["started"] = now;
  if (Str(j, {"completed"}).empty()) j["completed"] = now;
  j["error"] = {{"phase", kVmPhaseCopyDisks}, {"reasons", reasons}};
  j["conditions"] = Conditions(kPhaseFailed, "The VM migration has FAILED.", previous, now);
  return j;
}

bool VmDone(const json& vm) {
  std::string phase = Str(vm, {"phase"});
  return phase == kPhaseCompleted || phase == kPhaseFailed;
}

json PlanStatus(const json& previous, const std::vector<Condition>& validation, bool started, const std::vector<json>& vms,
                const std::string& now, int64_t generation) {
  std::vector<Condition> conds = validation;
  Condition ready;
  ready.type = condition::kReady;
  ready.category = kRequired;
  if (AnyCritical(validation)) {
    ready.status = "False";
    ready.reason = "NotReady";
    ready.message = "The migration plan has critical conditions; it will start once they are resolved.";
  } else {
    ready.reason = "Ready";
    ready.message = "The migration plan is ready.";
  }
  conds.insert(conds.begin(), ready);

  json migration = previous.is_object() && previous.contains("migration") ? previous["migration"] : json::object();
  if (started) {
    if (Str(migration, {"started"}).empty()) migration["started"] = now;
    int done = 0, failed = 0;
    std::vector<std::string> failed_vms;
    for (const json& vm : vms) {
      if (VmDone(vm)) ++done;
      if (Str(vm, {"phase"}) == kPhaseFailed) {
        ++failed;
        failed_vms.push_back(Str(vm, {"name"}) + " (" + Str(vm, {"id"}) + ")");
      }
    }
    std::string counts = std::to_string(done) + " of " + std::to_string(vms.size()) + " VMs done";
    Condition c;
    c.category = kAdvisory;
    if (done < static_cast<int>(vms.size())) {
      c.type = condition::kExecuting;
      c.reason = "Running";
      c.message = "The plan is EXECUTING: " + counts + (failed ? ", " + std::to_string(failed) + " failed" : "") + ".";
      migration.erase("completed");
    } else if (failed == 0) {
      c.type = condition::kSucceeded;
      c.reason = "Completed";
      c.message = "The plan execution has SUCCEEDED: " + counts + ".";
    } else {
      c.type = condition::kFailed;
      c.reason = "Completed";
      std::string list;
      for (const auto& v : failed_vms) list += (list.empty() ? "" : ", ") + v;
      c.message = "The plan execution has FAILED: " + std::to_string(failed) + " of " + std::to_string(vms.size()) +
                  " VMs failed (" + list + ") — see status.migration.vms[].error";
    }
    if (c.type != condition::kExecuting && Str(migration, {"completed"}).empty()) migration["completed"] = now;
    conds.push_back(c);
    migration["vms"] = vms;
  }
  json status = previous.is_object() ? previous : json::object();
  status["conditions"] = ConditionsJson(conds, previous.is_object() && previous.contains("conditions") ? previous["conditions"] : json(), now);
  status["observedGeneration"] = generation;
  if (started) status["migration"] = migration;
  return status;
}

const json* FindVmStatus(const json& status, std::string_view vm_id) {
  const json* vms = kube::At(status, {"migration", "vms"});
  if (vms == nullptr || !vms->is_array()) return nullptr;
  for (const json& vm : *vms) {
    if (Str(vm, {"id"}) == vm_id) return &vm;
  }
  return nullptr;
}

const json* FindTask(const json& vm_status, std::string_view name) {
  const json* pipeline = kube::At(vm_status, {"pipeline"});
  if (pipeline == nullptr || !pipeline->is_array()) return nullptr;
  for (const json& step : *pipeline) {
    const json* tasks = kube::At(step, {"tasks"});
    if (tasks == nullptr || !tasks->is_array()) continue;
    for (const json& t : *tasks) {
      if (Str(t, {"name"}) == name) return &t;
    }
  }
  return nullptr;
}

}  // namespace hoist::planner

#include "lab/scheduler.h"

#include <algorithm>
#include <map>

#include "core/log.h"
#include "lab/binder.h"
#include "lab/cluster_objects.h"
#include "lab/nodes.h"

namespace hoist::lab {
namespace {

constexpr char kComponent[] = "default-scheduler";

bool Terminal(const Json& pod) {
  std::string phase = GetString(pod, "/status/phase");
  return phase == "Succeeded" || phase == "Failed";
}

bool NodeReady(const Json& node) {
  const Json& conds = GetNode(node, "/status/conditions");
  if (!conds.is_array()) return false;
  for (const auto& c : conds)
    if (GetString(c, "/type") == "Ready") return GetString(c, "/status") == "True";
  return false;
}

}  // namespace

Scheduler::Scheduler(Store& store, std::vector<std::string> node_names)
    : store_(store),
      pods_(store.MustType("", "pods")),
      pvcs_(store.MustType("", "persistentvolumeclaims")),
      pvs_(store.MustType("", "persistentvolumes")),
      classes_(store.MustType("storage.k8s.io", "storageclasses")),
      nodes_(store.MustType("", "nodes")),
      node_names_(std::move(node_names)) {}

bool Scheduler::Sync() {
  pod_list_ = store_.List(pods_, "").items;
  // Nothing to place (the common case): skip listing everything else.
  bool any_pending = false;
  for (const auto& pod : pod_list_) {
    if (GetString(pod, "/spec/nodeName").empty() && !IsDeleting(pod) && !Terminal(pod)) {
      any_pending = true;
      break;
    }
  }
  if (!any_pending) return false;
  claim_list_ = store_.List(pvcs_, "").items;
  pv_list_ = store_.List(pvs_, "").items;
  // Lookups by name for SchedulePod, so that a pass stays linear in the number of objects.
  claim_index_.clear();
  for (const auto& c : claim_list_) claim_index_[NamespacedName(c)] = &c;
  pv_index_.clear();
  for (const auto& pv : pv_list_) pv_index_[GetString(pv, "/metadata/name")] = &pv;
  node_load_.clear();
  for (const auto& p : pod_list_)
    if (!Terminal(p)) node_load_[GetString(p, "/spec/nodeName")]++;
  class_list_ = store_.List(classes_, "").items;
  node_list_.clear();
  for (auto& n : store_.List(nodes_, "").items)
    if (std::find(node_names_.begin(), node_names_.end(), GetString(n, "/metadata/name")) !=
        node_names_.end())
      node_list_.push_back(std::move(n));
  std::sort(node_list_.begin(), node_list_.end(), [](const Json& a, const Json& b) {
    return GetString(a, "/metadata/name") < GetString(b, "/metadata/name");
  });
  // Oldest first, as the scheduling queue would.
  std::vector<const Json*> pending;
  for (const auto& pod : pod_list_) {
    if (!GetString(pod, "/spec/nodeName").empty() || IsDeleting(pod) || Terminal(pod)) continue;
    std::string scheduler = GetString(pod, "/spec/schedulerName", "default-scheduler");
    if (scheduler != "default-scheduler") continue;
    pending.push_back(&pod);
  }
  std::sort(pending.begin(), pending.end(), [](const Json* a, const Json* b) {
    return GetString(*a, "/metadata/creationTimestamp") < GetString(*b, "/metadata/creationTimestamp");
  });
  // Every pending pod in one pass (node_load_ counts the pods placed so far in it).
  bool wrote = false;
  for (const Json* pod : pending) {
    try {
      if (SchedulePod(*pod)) wrote = true;
    } catch (const std::exception& e) {
      log::Warn("lab.scheduler", "could not schedule pod",
                {{"pod", NamespacedName(*pod)}, {"error", e.what()}});
    }
  }
  return wrote;
}

bool Scheduler::MarkUnschedulable(const Json& pod, const std::string& message) {
  const Json& conds = GetNode(pod, "/status/conditions");
  if (conds.is_array())
    for (const auto& c : conds)
      if (GetString(c, "/type") == "PodScheduled" && GetString(c, "/status") == "False" &&
          GetString(c, "/message") == message)
        return false;
  store_.Mutate(
      pods_, GetString(pod, "/metadata/namespace"), GetString(pod, "/metadata/name"),
      [&](Json& p) {
        Json& cs = p["status"]["conditions"];
        if (!cs.is_array()) cs = Json::array();
        Json cond = {{"type", "PodScheduled"},    {"status", "False"},
                     {"reason", "Unschedulable"}, {"message", message},
                     {"lastProbeTime", nullptr},  {"lastTransitionTime", NowTimestamp()}};
        for (auto& c : cs)
          if (GetString(c, "/type") == "PodScheduled") {
            c = cond;
            return true;
          }
        cs.push_back(cond);
        return true;
      },
      true);
  RecordEvent(store_, pod, "Warning", "FailedScheduling", message, kComponent);
  return true;
}

bool Scheduler::SchedulePod(const Json& pod) {
  const std::string ns = GetString(pod, "/metadata/namespace");
  const std::string name = GetString(pod, "/metadata/name");
  const std::string total = std::to_string(node_list_.size());

  // The pod's claims.
  std::vector<const Json*> claims;
  const Json& volumes = GetNode(pod, "/spec/volumes");
  if (volumes.is_array()) {
    for (const auto& v : volumes) {
      std::string claim_name = GetString(v, "/persistentVolumeClaim/claimName");
      if (claim_name.empty()) continue;
      auto found = claim_index_.find(ns + "/" + claim_name);
      const Json* claim = found == claim_index_.end() ? nullptr : found->second;
      if (!claim)
        return MarkUnschedulable(pod, "0/" + total + " nodes are available: persistentvolumeclaim \"" +
                                          claim_name + "\" not found.");
      if (IsDeleting(*claim))
        return MarkUnschedulable(pod, "0/" + total + " nodes are available: persistentvolumeclaim \"" +
                                          claim_name + "\" is being deleted.");
      claims.push_back(claim);
    }
  }

  // Filter nodes.
  std::vector<const Json*> fit;
  std::string preferred;  // a node a WaitForFirstConsumer claim already selected
  for (const Json* c : claims)
    if (GetString(*c, "/status/phase") != "Bound" && !Annotation(*c, kAnnSelectedNode).empty())
      preferred = Annotation(*c, kAnnSelectedNode);
  for (const auto& node : node_list_) {
    if (!NodeReady(node) || !PodFitsNode(pod, node)) continue;
    bool ok = true;
    for (const Json* c : claims) {
      std::string vol = GetString(*c, "/spec/volumeName");
      if (vol.empty()) continue;
      auto pv = pv_index_.find(vol);
      if (pv != pv_index_.end() && !VolumeFitsNode(*pv->second, node)) ok = false;
    }
    if (ok) fit.push_back(&node);
  }
  if (fit.empty())
    return MarkUnschedulable(
        pod, "0/" + total + " nodes are available: " + total +
                 " node(s) didn't match Pod's node affinity/selector or volume node affinity.");

  std::map<std::string, int>& load = node_load_;
  const Json* chosen = nullptr;
  for (const Json* n : fit) {
    std::string nn = GetString(*n, "/metadata/name");
    if (!preferred.empty()) {
      if (nn == preferred) chosen = n;
      continue;
    }
    if (!chosen || load[nn] < load[GetString(*chosen, "/metadata/name")]) chosen = n;
  }
  if (!chosen) chosen = fit.front();
  const std::string node_name = GetString(*chosen, "/metadata/name");

  // Volume binding: WaitForFirstConsumer claims get the node; every claim must be Bound first.
  bool waiting = false;
  for (const Json* c : claims) {
    if (GetString(*c, "/status/phase") == "Bound") continue;
    waiting = true;
    const Json* sc = nullptr;
    for (const auto& k : class_list_)
      if (GetString(k, "/metadata/name") == ClaimClass(*c)) sc = &k;
    bool delay = sc && GetString(*sc, "/volumeBindingMode") == "WaitForFirstConsumer";
    if (delay && Annotation(*c, kAnnSelectedNode).empty() && GetString(*c, "/spec/volumeName").empty()) {
      store_.Mutate(pvcs_, ns, GetString(*c, "/metadata/name"), [&](Json& claim) {
        if (!Annotation(claim, kAnnSelectedNode).empty()) return false;
        claim["metadata"]["annotations"][kAnnSelectedNode] = node_name;
        return true;
      });
      log::Info("lab.scheduler", "selected a node for a WaitForFirstConsumer claim",
                {{"pod", ns + "/" + name}, {"claim", NamespacedName(*c)}, {"node", node_name}});
      return true;
    }
  }
  if (waiting) return false;  // the binder and provisioner act; the pod is retried on the next pass

  node_load_[node_name]++;
  store_.Mutate(pods_, ns, name, [&](Json& p) {
    if (!GetString(p, "/spec/nodeName").empty()) return false;
    p["spec"]["nodeName"] = node_name;
    return true;
  });
  store_.Mutate(
      pods_, ns, name,
      [&](Json& p) {
        Json& cs = p["status"]["conditions"];
        if (!cs.is_array()) cs = Json::array();
        Json cond = {{"type", "PodScheduled"},
                     {"status", "True"},
                     {"lastProbeTime", nullptr},
                     {"lastTransitionTime", NowTimestamp()}};
        for (auto& c : cs)
          if (GetString(c, "/type") == "PodScheduled") {
            c = cond;
            return true;
          }
        cs.push_back(cond);
        return true;
      },
      true);
  RecordEvent(store_, pod, "Normal", "Scheduled",
              "Successfully assigned " + ns + "/" + name + " to " + node_name, kComponent);
  log::Info("lab.scheduler", "scheduled pod", {{"pod", ns + "/" + name}, {"node", node_name}});
  return true;
}

}  // namespace hoist::lab

#include "lab/nodes.h"

#include <algorithm>

#include "lab/cluster_objects.h"

namespace hoist::lab {
namespace {

Json NodeObject(const std::string& name) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", name},
        {"labels",
         {{"kubernetes.io/hostname", name},
          {"kubernetes.io/os", "linux"},
          {"kubernetes.io/arch", "amd64"},
          {"beta.kubernetes.io/os", "linux"},
          {"beta.kubernetes.io/arch", "amd64"},
          {"topology.kubernetes.io/zone", "lab"}}}}},
      {"spec", {{"podCIDR", "127.10.0.0/16"}}},
  };
}

Json NodeStatus(const std::string& now) {
  auto cond = [&](const char* type, const char* status, const char* reason, const char* message) {
    return Json{{"type", type},       {"status", status},         {"reason", reason},
                {"message", message}, {"lastHeartbeatTime", now}, {"lastTransitionTime", now}};
  };
  return {
      {"capacity", {{"cpu", "2"}, {"memory", "8Gi"}, {"pods", "110"}, {"ephemeral-storage", "100Gi"}}},
      {"allocatable", {{"cpu", "2"}, {"memory", "8Gi"}, {"pods", "110"}, {"ephemeral-storage", "100Gi"}}},
      {"conditions",
       Json::array(
           {cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                 "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "hoist lab kubelet is posting ready status")})},
      {"addresses", Json::array({{{"type", "InternalIP"}, {"address", "127.0.0.1"}}})},
      {"nodeInfo",
       {{"kubeletVersion", "v1.32.0-hoist"},
        {"kubeProxyVersion", "v1.32.0-hoist"},
        {"operatingSystem", "linux"},
        {"architecture", "amd64"},
        {"containerRuntimeVersion", "hoist-lab://0.1"},
        {"osImage", "hoist lab"},
        {"kernelVersion", ""},
        {"machineID", ""},
        {"systemUUID", ""},
        {"bootID", ""}}},
  };
}

bool MatchExpression(const Json& expr, const std::string& value, bool present) {
  std::string op = GetString(expr, "/operator");
  const Json& values = GetNode(expr, "/values");
  auto in = [&]() {
    if (!values.is_array()) return false;
    for (const auto& v : values)
      if (v.is_string() && v.get<std::string>() == value) return true;
    return false;
  };
  if (op == "In") return present && in();
  if (op == "NotIn") return !present || !in();
  if (op == "Exists") return present;
  if (op == "DoesNotExist") return !present;
  if (op == "Gt" || op == "Lt") {
    if (!present || !values.is_array() || values.empty() || !values[0].is_string()) return false;
    try {
      long long have = std::stoll(value), want = std::stoll(values[0].get<std::string>());
      return op == "Gt" ? have > want : have < want;
    } catch (...) {
      return false;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> EnsureNodes(Store& store, const NodesOptions& options) {
  ResourceType nodes = store.MustType("", "nodes");
  std::vector<std::string> names;
  std::string now = NowTimestamp();
  for (int i = 1; i <= options.count; ++i) {
    std::string name = options.name_prefix + std::to_string(i);
    names.push_back(name);
    if (!store.TryGet(nodes, "", name)) {
      try {
        store.Create(nodes, "", NodeObject(name));
      } catch (const StatusError& e) {
        if (e.code() != 409) throw;
      }
    }
    store.Mutate(
        nodes, "", name,
        [&](Json& node) {
          node["status"] = NodeStatus(now);
          return true;
        },
        /*status=*/true);
  }
  return names;
}

bool MatchesNodeSelectorMap(const Json& selector, const Json& node) {
  if (!selector.is_object()) return true;
  const Json& labels = GetNode(node, "/metadata/labels");
  for (auto it = selector.begin(); it != selector.end(); ++it) {
    if (!labels.is_object() || !labels.contains(it.key())) return false;
    if (labels[it.key()] != it.value()) return false;
  }
  return true;
}

bool MatchesNodeSelector(const Json& node_selector, const Json& node) {
  if (node_selector.is_null()) return true;
  const Json& terms = GetNode(node_selector, "/nodeSelectorTerms");
  if (!terms.is_array() || terms.empty()) return false;  // Kubernetes: an empty term list matches nothing
  const Json& labels = GetNode(node, "/metadata/labels");
  for (const auto& term : terms) {
    const Json& exprs = GetNode(term, "/matchExpressions");
    const Json& fields = GetNode(term, "/matchFields");
    if ((!exprs.is_array() || exprs.empty()) && (!fields.is_array() || fields.empty())) continue;
    bool ok = true;
    if (exprs.is_array()) {
      for (const auto& e : exprs) {
        std::string key = GetString(e, "/key");
        bool present = labels.is_object() && labels.contains(key) && labels[key].is_string();
        if (!MatchExpression(e, present ? labels[key].get<std::string>() : "", present)) ok = false;
      }
    }
    if (fields.is_array()) {
      for (const auto& e : fields) {
        // Only metadata.name is supported by Kubernetes for matchFields.
        if (GetString(e, "/key") != "metadata.name")
          ok = false;
        else if (!MatchExpression(e, GetString(node, "/metadata/name"), true))
          ok = false;
      }
    }
    if (ok) return true;
  }
  return false;
}

bool PodFitsNode(const Json& pod, const Json& node) {
  if (!MatchesNodeSelectorMap(GetNode(pod, "/spec/nodeSelector"), node)) return false;
  return MatchesNodeSelector(
      GetNode(pod, "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"), node);
}

bool VolumeFitsNode(const Json& pv, const Json& node) {
  return MatchesNodeSelector(GetNode(pv, "/spec/nodeAffinity/required"), node);
}

}  // namespace hoist::lab

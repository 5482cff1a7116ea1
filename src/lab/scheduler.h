#pragma once
// The lab's scheduler: assigns spec.nodeName to pending pods (those without one and with schedulerName
// unset or "default-scheduler") among the lab's Ready nodes. Filters: nodeSelector, required node
// affinity, the node affinity of the volumes of bound claims. Choice: the node with the fewest
// non-terminated pods (simple spreading), ties by name.
// Claims of WaitForFirstConsumer classes: as kube-scheduler's VolumeBinding plugin does, the claim is
// first annotated `volume.kubernetes.io/selected-node: <node>` and the pod is bound only once all its
// claims are Bound. A pod whose claim is missing stays Pending with PodScheduled=False (Unschedulable).
// Pods created with spec.nodeName bypass the scheduler, as in Kubernetes (their WaitForFirstConsumer
// claims are not given a node by anyone but the pod's creator).
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "lab/store.h"

namespace hoist::lab {

class Scheduler {
 public:
  Scheduler(Store& store, std::vector<std::string> node_names);
  // One pass; stops after the first write and returns true.
  bool Sync();

 private:
  bool SchedulePod(const Json& pod);
  bool MarkUnschedulable(const Json& pod, const std::string& message);

  Store& store_;
  ResourceType pods_, pvcs_, pvs_, classes_, nodes_;
  std::vector<std::string> node_names_;
  std::vector<Json> pod_list_, claim_list_, pv_list_, class_list_, node_list_;
  std::unordered_map<std::string, const Json*> claim_index_;  // "ns/name" → claim_list_ entry
  std::unordered_map<std::string, const Json*> pv_index_;     // name → pv_list_ entry
  std::map<std::string, int> node_load_;                      // node → pods not terminated
};

}  // namespace hoist::lab

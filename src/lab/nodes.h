#pragma once
// The lab's virtual nodes: Node objects (lab-node-1..N, Ready, address 127.0.0.1) that the scheduler
// places pods on and the kubelet-lite serves, plus node-selector matching shared by the scheduler and
// the PV binder (PV nodeAffinity, pod nodeSelector / required node affinity).
#include <string>
#include <vector>

#include "lab/store.h"

namespace hoist::lab {

struct NodesOptions {
  int count = 3;
  std::string name_prefix = "lab-node-";
};

// Creates the lab's Node objects when missing and (re)marks them Ready with a fresh heartbeat.
// Returns the node names.
std::vector<std::string> EnsureNodes(Store& store, const NodesOptions& options);

// True when `labels` (an object) satisfy a `{"key": "value"}` nodeSelector map.
bool MatchesNodeSelectorMap(const Json& selector, const Json& node);
// True when `node` satisfies a v1.NodeSelector ({"nodeSelectorTerms": [...]}: terms ORed, the
// matchExpressions / matchFields of a term ANDed). A null selector matches every node.
bool MatchesNodeSelector(const Json& node_selector, const Json& node);
// A pod's nodeSelector and required node affinity against a node.
bool PodFitsNode(const Json& pod, const Json& node);
// A PersistentVolume's spec.nodeAffinity.required against a node.
bool VolumeFitsNode(const Json& pv, const Json& node);

}  // namespace hoist::lab

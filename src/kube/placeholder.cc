namespace hoist::kube {}

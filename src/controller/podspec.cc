#include "controller/podspec.h"
#include "kube/objects.h"

#include <nlohmann/json.hpp>

#include "controller/names.h"
#include "core/error.h"

namespace hoist::controller {

using nlohmann::json;

PopulatorResources ResourcesFromSettings(
    const std::function<std::optional<std::string>(std::string_view)>& lookup,
    std::vector<std::string>* warnings) {
  PopulatorResources r;
  struct Setting {
    std::string_view env;
    std::string* field;
  };
  for (Setting s : {Setting{"POPULATOR_CONTAINER_LIMITS_CPU", &r.limits_cpu},
                    Setting{"POPULATOR_CONTAINER_LIMITS_MEMORY", &r.limits_memory},
                    Setting{"POPULATOR_CONTAINER_REQUESTS_CPU", &r.requests_cpu},
                    Setting{"POPULATOR_CONTAINER_REQUESTS_MEMORY", &r.requests_memory}}) {
    std::optional<std::string> v = lookup(s.env);
    if (!v || v->empty()) continue;
    try {
      ParseStorageQuantity(*v);  // same grammar for cpu ("500m") and memory ("1Gi")
      *s.field = *v;
    } catch (const Error&) {
      if (warnings != nullptr) {
        warnings->push_back(std::string(s.env) + "=\"" + *v + "\" is not a Kubernetes quantity; using " +
                            *s.field);
      }
    }
  }
  return r;
}

BindingDecision DecideBinding(const json& target_pvc, const json* storage_class) {
  BindingDecision d;
  const json* class_name = kube::At(target_pvc, {"spec", "storageClassName"});
  if (class_name == nullptr || !class_name->is_string()) return d;
  std::string pvc = kube::ObjectKey(target_pvc);
  if (class_name->get<std::string>().empty()) {
    d.action = BindingAction::kStaticVolume;
    d.message = "PVC " + pvc + " has storageClassName \"\", so only a pre-created PersistentVolume without a class can be "
                "bound to it; it is populated once the PV controller binds it";
    return d;
  }
  if (storage_class == nullptr) {
    d.action = BindingAction::kWaitForStorageClass;
    d.message = "StorageClass \"" + class_name->get<std::string>() + "\" of PVC " + pvc +
                " does not exist; create it or fix spec.storageClassName";
    return d;
  }
  std::string provisioner = kube::StringAt(*storage_class, {"provisioner"});
  if (provisioner == "kubernetes.io/no-provisioner" || provisioner.empty()) {
    d.action = BindingAction::kStaticVolume;
    d.message = "StorageClass \"" + class_name->get<std::string>() +
                "\" has no provisioner, so PVC " + pvc +
                " needs a pre-created PersistentVolume; it is populated once the PV controller binds it";
    return d;
  }
  if (provisioner.rfind("kubernetes.io/", 0) == 0 &&
      kube::Annotation(target_pvc, kMigratedToAnnotation).empty()) {
    d.action = BindingAction::kSkipInTree;
    d.message = "StorageClass \"" + class_name->get<std::string>() + "\" uses the in-tree provisioner " +
                provisioner + ", which volume populators cannot fill; use a CSI storage class";
    return d;
  }
  if (kube::StringAt(*storage_class, {"volumeBindingMode"}) == "WaitForFirstConsumer") {
    d.node_name = kube::Annotation(target_pvc, kSelectedNodeAnnotation);
    if (d.node_name.empty()) {
      d.action = BindingAction::kWaitForNode;
      d.message = "StorageClass \"" + class_name->get<std::string>() + "\" binds on first consumer and PVC " +
                  pvc + " has no " + std::string(kSelectedNodeAnnotation) +
                  " annotation yet; a pod using the PVC must be scheduled first";
    }
  }
  return d;
}

bool StaticVolumeMatches(const json& pv, const json& target_pvc) {
  if (kube::StringAt(pv, {"status", "phase"}) != "Available") return false;
  const json* ref = kube::At(pv, {"spec", "claimRef"});
  if (ref != nullptr && ref->is_object() &&
      (kube::StringAt(*ref, {"namespace"}) != kube::Namespace(target_pvc) ||
       kube::StringAt(*ref, {"name"}) != kube::Name(target_pvc))) {
    return false;
  }
  if (kube::StringAt(pv, {"spec", "storageClassName"}) != kube::StringAt(target_pvc, {"spec", "storageClassName"}))
    return false;
  std::string pv_mode = kube::StringAt(pv, {"spec", "volumeMode"});
  std::string pvc_mode = kube::StringAt(target_pvc, {"spec", "volumeMode"});
  if ((pv_mode.empty() ? "Filesystem" : pv_mode) != (pvc_mode.empty() ? "Filesystem" : pvc_mode)) return false;
  const json* offered = kube::At(pv, {"spec", "accessModes"});
  const json* wanted = kube::At(target_pvc, {"spec", "accessModes"});
  if (wanted != nullptr && wanted->is_array()) {
    for (const auto& m : *wanted) {
      bool found = false;
      if (offered != nullptr && offered->is_array()) {
        for (const auto& o : *offered) found = found || o == m;
      }
      if (!found) return false;
    }
  }
  try {
    const json* cap = kube::At(pv, {"spec", "capacity", "storage"});
    if (cap == nullptr || !cap->is_string()) return false;
    return ParseStorageQuantity(cap->get<std::string>()) >= RequestedBytes(target_pvc);
  } catch (const Error&) {
    return false;
  }
}

std::string RuntimeHost(const json& cr) {
  std::string host = kube::StringAt(cr, {"spec", "migrationHost"});
  return host.empty() ? kube::Label(cr, kSourceHostLabel) : host;
}

json OwnerReferenceTo(const json& target_pvc) {
  return json{{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"name", kube::StringAt(target_pvc, {"metadata", "name"})},
              {"uid", kube::StringAt(target_pvc, {"metadata", "uid"})}};
}

json BuildPopulatorPod(const PodInputs& in, const json& cr, const json& target_pvc) {
  std::vector<std::string> args = PopulatorArgs(in.kind, cr, target_pvc);
  std::string ns = kube::StringAt(target_pvc, {"metadata", "namespace"});
  std::string uid = kube::StringAt(target_pvc, {"metadata", "uid"});
  std::string secret = SecretName(in.kind, cr);

  json labels = json::object();
  auto put_label = [&](std::string_view key, const std::string& value) {
    if (IsValidLabelValue(value)) labels[std::string(key)] = value;
  };
  put_label(kPvcNameLabel, kube::StringAt(target_pvc, {"metadata", "name"}));
  if (HasLabel(cr, kMigrationLabel)) put_label(kMigrationLabel, kube::Label(cr, kMigrationLabel));
  for (std::string_view key : {kVmIdLabel, kPlanLabel}) {
    std::string v = kube::Label(cr, key);
    if (!v.empty()) put_label(key, v);
  }
  std::string host = RuntimeHost(cr);
  if (!host.empty()) put_label(kSourceHostLabel, host);

  json metadata = {{"name", PopulatorPodName(uid)},
                   {"namespace", ns},
                   {"labels", labels},
                   {"ownerReferences", json::array({OwnerReferenceTo(target_pvc)})}};
  const json* net = kube::At(cr, {"spec", "transferNetwork"});
  if (net != nullptr && net->is_object()) {
    std::string net_name = kube::StringAt(*net, {"name"});
    std::string net_ns = kube::StringAt(*net, {"namespace"});
    if (!net_name.empty()) {
      metadata["annotations"] = {
          {std::string(kNetworksAnnotation), net_ns.empty() ? net_name : net_ns + "/" + net_name}};
    }
  }

  json container = {
      {"name", kContainerName},
      {"image", in.image},
      {"args", args},
      {"ports", json::array({{{"name", kMetricsPortName}, {"containerPort", kMetricsPort}}})},
      {"securityContext",
       {{"allowPrivilegeEscalation", false},
        {"runAsNonRoot", true},
        {"runAsUser", kQemuUid},
        {"capabilities", {{"drop", json::array({"ALL"})}}}}},
      {"envFrom", json::array({{{"secretRef", {{"name", secret}}}}})},
      // ca.crt has a dot, so envFrom drops it; pass it explicitly as `cacert`.
      {"env",
       json::array({{{"name", kCaCertEnv},
                     {"valueFrom",
                      {{"secretKeyRef", {{"name", secret}, {"key", kCaCertKey}, {"optional", true}}}}}}})},
      {"resources",
       {{"limits", {{"cpu", in.resources.limits_cpu}, {"memory", in.resources.limits_memory}}},
        {"requests", {{"cpu", in.resources.requests_cpu}, {"memory", in.resources.requests_memory}}}}},
  };
  if (kube::StringAt(target_pvc, {"spec", "volumeMode"}) == "Block") {
    container["volumeDevices"] = json::array({{{"name", kTargetVolumeName}, {"devicePath", kDevicePath}}});
  } else {
    container["volumeMounts"] = json::array({{{"name", kTargetVolumeName}, {"mountPath", kMountPath}}});
  }

  json spec = {
      {"restartPolicy", "Never"},
      {"securityContext", {{"fsGroup", kQemuUid}, {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"containers", json::array({container})},
      {"volumes", json::array({{{"name", kTargetVolumeName},
                                {"persistentVolumeClaim",
                                 {{"claimName", in.claim_name.empty() ? PrimePvcName(uid) : in.claim_name}}}}})},
  };
  if (in.kind == PopulatorKind::kVSphereXcopy) {
    spec["serviceAccountName"] = kXcopyServiceAccount;
  } else {
    std::string sa = kube::Annotation(target_pvc, kServiceAccountAnnotation);
    if (!sa.empty()) spec["serviceAccountName"] = sa;
  }
  if (!in.node_name.empty()) spec["nodeName"] = in.node_name;

  return json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata}, {"spec", spec}};
}

json BuildPrimePvc(const json& target_pvc, std::string_view node_name) {
  std::string uid = kube::StringAt(target_pvc, {"metadata", "uid"});
  json labels = json::object();
  for (std::string_view key : {kMigrationLabel, kPlanLabel, kVmIdLabel}) {
    if (HasLabel(target_pvc, key)) labels[std::string(key)] = kube::Label(target_pvc, key);
  }
  json metadata = {{"name", PrimePvcName(uid)},
                   {"namespace", kube::StringAt(target_pvc, {"metadata", "namespace"})},
                   {"ownerReferences", json::array({OwnerReferenceTo(target_pvc)})}};
  if (!labels.empty()) metadata["labels"] = labels;
  if (!node_name.empty())
    metadata["annotations"] = {{std::string(kSelectedNodeAnnotation), std::string(node_name)}};

  json spec = json::object();
  for (std::string_view field : {"accessModes", "resources", "storageClassName", "volumeMode"}) {
    const json* v = kube::At(target_pvc, {"spec", field});
    if (v != nullptr && !v->is_null()) spec[std::string(field)] = *v;
  }
  return json{
      {"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"}, {"metadata", metadata}, {"spec", spec}};
}

bool NeedsRebind(const json& pv, const json& target_pvc) {
  const json* ref = kube::At(pv, {"spec", "claimRef"});
  if (ref == nullptr || !ref->is_object()) return true;
  return kube::StringAt(*ref, {"namespace"}) != kube::StringAt(target_pvc, {"metadata", "namespace"}) ||
         kube::StringAt(*ref, {"name"}) != kube::StringAt(target_pvc, {"metadata", "name"}) ||
         kube::StringAt(*ref, {"uid"}) != kube::StringAt(target_pvc, {"metadata", "uid"});
}

json BuildPvRebindPatch(std::string_view pv_name, const json& target_pvc) {
  std::string ns = kube::StringAt(target_pvc, {"metadata", "namespace"});
  std::string source = kube::StringAt(target_pvc, {"spec", "dataSourceRef", "name"});
  return json{{"metadata",
               {{"name", std::string(pv_name)},
                {"annotations", {{std::string(kPopulatedFromAnnotation), ns + "/" + source}}}}},
              {"spec",
               {{"claimRef",
                 {{"namespace", ns},
                  {"name", kube::StringAt(target_pvc, {"metadata", "name"})},
                  {"uid", kube::StringAt(target_pvc, {"metadata", "uid"})},
                  {"resourceVersion", kube::StringAt(target_pvc, {"metadata", "resourceVersion"})}}}}}};
}

}  // namespace hoist::controller

#include "planner/builders.h"

#include <nlohmann/json.hpp>

#include "controller/kinds.h"
#include "controller/names.h"
#include "kube/objects.h"
#include "net/tls.h"
#include "planner/names.h"

namespace hoist::planner {

using nlohmann::json;

std::string MigrationUid(const Plan& plan) { return plan.uid; }

std::string DiskName(const DiskRef& d) {
  return DiskObjectName(d.plan->name, d.vm->name, d.index, MigrationUid(*d.plan), d.vm->id, d.disk->key,
                        d.disk->file);
}

std::map<std::string, std::string> DiskLabels(const DiskRef& d) {
  std::map<std::string, std::string> l = {
      {std::string(kMigrationLabel), MigrationUid(*d.plan)},
      {std::string(kPlanLabel), d.plan->uid},
      {std::string(kVmIdLabel), d.vm->id},
      {std::string(kVmdkKeyLabel), std::to_string(d.disk->key)},
  };
  if (!d.vm->host_id.empty() && controller::IsValidLabelValue(d.vm->host_id)) {
    l[std::string(kSourceHostLabel)] = d.vm->host_id;
  }
  if (!d.disk->datastore_naa.empty() && controller::IsValidLabelValue(d.disk->datastore_naa)) {
    l[std::string(kAffinityNaaLabel)] = d.disk->datastore_naa;
  }
  return l;
}

std::string MigrationHost(const DiskRef& d) {
  if (d.pair == nullptr || !d.pair->xcopy || d.pair->xcopy->dedicated_migration_hosts.empty()) return "";
  const auto& hosts = d.pair->xcopy->dedicated_migration_hosts;
  std::string h = ShortHash(d.vm->id + "/" + std::to_string(d.disk->key));
  return hosts[std::stoul(h, nullptr, 16) % hosts.size()];
}

std::string AccessMode(const StoragePair& pair) {
  return pair.access_mode.empty() ? "ReadWriteMany" : pair.access_mode;
}

namespace {

json Metadata(const DiskRef& d, const std::string& name) {
  return {{"name", name}, {"namespace", d.plan->target_namespace}, {"labels", DiskLabels(d)}};
}

}  // namespace

json BuildTargetPvc(const DiskRef& d) {
  std::string name = DiskName(d);
  json pvc = kube::NewObject(kube::resources::kPersistentVolumeClaim, d.plan->target_namespace, name);
  pvc["metadata"] = Metadata(d, name);
  json annotations = {
      {std::string(kDiskSourceAnnotation), d.disk->file},
      {std::string(kCopyOffloadAnnotation), d.disk->file},
      {std::string(kPlanRefAnnotation), d.plan->ns + "/" + d.plan->name},
      {std::string(kVmNameAnnotation), d.vm->name},
      {std::string(kDiskIndexAnnotation), std::to_string(d.index)},
  };
  if (!d.plan->service_account.empty()) annotations[std::string(kServiceAccountAnnotation)] = d.plan->service_account;
  pvc["metadata"]["annotations"] = annotations;
  const controller::KindInfo& kind = controller::Info(controller::PopulatorKind::kVSphereXcopy);
  pvc["spec"] = {
      {"accessModes", json::array({AccessMode(*d.pair)})},
      // Always Block: the populator maps the volume's LUN to ESXi as a raw device (Forklift ignores the
      // mapping's volumeMode here too).
      {"volumeMode", "Block"},
      {"storageClassName", d.pair->storage_class},
      {"resources", {{"requests", {{"storage", std::to_string(d.disk->capacity_bytes)}}}}},
      {"dataSourceRef",
       {{"apiGroup", std::string(controller::kGroup)}, {"kind", std::string(kind.kind_name)}, {"name", name}}},
  };
  return pvc;
}

json OwnerReference(const json& obj) {
  return {{"apiVersion", kube::StringAt(obj, {"apiVersion"}).empty() ? "v1" : kube::StringAt(obj, {"apiVersion"})},
          {"kind", kube::StringAt(obj, {"kind"}).empty() ? "PersistentVolumeClaim" : kube::StringAt(obj, {"kind"})},
          {"name", kube::Name(obj)},
          {"uid", kube::Uid(obj)},
          {"controller", false},
          {"blockOwnerDeletion", true}};
}

json BuildPopulatorCr(const DiskRef& d, const json& pvc) {
  std::string name = DiskName(d);
  json cr = {{"apiVersion", std::string(controller::kApiVersion)},
             {"kind", resources::kXcopyPopulator.kind},
             {"metadata", Metadata(d, name)}};
  cr["metadata"]["annotations"] = {{std::string(kVmNameAnnotation), d.vm->name},
                                   {std::string(kPlanRefAnnotation), d.plan->ns + "/" + d.plan->name}};
  cr["metadata"]["ownerReferences"] = json::array({OwnerReference(pvc)});
  cr["spec"] = {{"vmId", d.vm->id},
                {"vmdkPath", d.disk->file},
                {"secretName", name},
                {"storageVendorProduct", d.pair->xcopy ? d.pair->xcopy->storage_vendor_product : ""}};
  if (std::string host = MigrationHost(d); !host.empty()) cr["spec"]["migrationHost"] = host;
  return cr;
}

json BuildDiskSecret(const DiskRef& d, const json& pvc, const std::map<std::string, std::string>& data) {
  std::string name = DiskName(d);
  json s = kube::NewObject(kube::resources::kSecret, d.plan->target_namespace, name);
  s["metadata"] = Metadata(d, name);
  s["metadata"]["ownerReferences"] = json::array({OwnerReference(pvc)});
  s["type"] = "Opaque";
  json encoded = json::object();
  for (const auto& [k, v] : data) encoded[k] = net::Base64Encode(v);
  s["data"] = encoded;
  return s;
}

std::vector<std::pair<kube::ResourceType, json>> PopulatorRbac(const std::string& ns, const std::string& lease_ns) {
  const json subject = {{"kind", "ServiceAccount"}, {"name", std::string(kPopulatorServiceAccount)}, {"namespace", ns}};
  auto meta = [](const std::string& name, const std::string& in_ns) {
    json m = {{"name", name}, {"labels", {{"app.kubernetes.io/part-of", "hoist"}}}};
    if (!in_ns.empty()) m["namespace"] = in_ns;
    return m;
  };
  std::vector<std::pair<kube::ResourceType, json>> out;
  out.push_back({kube::resources::kServiceAccount,
                 {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", meta(std::string(kPopulatorServiceAccount), ns)}}});
  out.push_back({resources::kRole,
                 {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "Role"},
                  {"metadata", meta(std::string(kPvcReaderRole), ns)},
                  {"rules",
                   {{{"apiGroups", {""}}, {"resources", {"persistentvolumeclaims"}}, {"verbs", {"get", "list", "watch"}}},
                    {{"apiGroups", {"coordination.k8s.io"}},
                     {"resources", {"leases"}},
                     {"verbs", {"get", "list", "watch", "create", "update", "patch"}}}}}}});
  out.push_back({resources::kRoleBinding,
                 {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "RoleBinding"},
                  {"metadata", meta(std::string(kPvcReaderBinding), ns)},
                  {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", std::string(kPvcReaderRole)}}},
                  {"subjects", json::array({subject})}}});
  if (!lease_ns.empty()) {
    out.push_back({resources::kRole,
                   {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                    {"kind", "Role"},
                    {"metadata", meta(std::string(kLeaseRole), lease_ns)},
                    {"rules",
                     {{{"apiGroups", {"coordination.k8s.io"}},
                       {"resources", {"leases"}},
                       {"verbs", {"get", "list", "watch", "create", "update", "patch", "delete"}}},
                      {{"apiGroups", {""}},
                       {"resources", {"secrets"}},
                       {"resourceNames", {std::string(kStorageArraySecret)}},
                       {"verbs", {"get", "update", "patch"}}}}}}});
    out.push_back({resources::kRoleBinding,
                   {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                    {"kind", "RoleBinding"},
                    {"metadata", meta(LeaseBindingName(ns), lease_ns)},
                    {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", std::string(kLeaseRole)}}},
                    {"subjects", json::array({subject})}}});
    out.push_back({kube::resources::kSecret,
                   {{"apiVersion", "v1"},
                    {"kind", "Secret"},
                    {"type", "Opaque"},
                    {"metadata", meta(std::string(kStorageArraySecret), lease_ns)}}});
  }
  out.push_back({resources::kClusterRole,
                 {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "ClusterRole"},
                  {"metadata", meta(std::string(kPvReaderClusterRole), "")},
                  {"rules", {{{"apiGroups", {""}}, {"resources", {"persistentvolumes"}}, {"verbs", {"get"}}}}}}});
  out.push_back({resources::kClusterRoleBinding,
                 {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                  {"kind", "ClusterRoleBinding"},
                  {"metadata", meta(PvReaderBindingName(ns), "")},
                  {"roleRef",
                   {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", std::string(kPvReaderClusterRole)}}},
                  {"subjects", json::array({subject})}}});
  return out;
}

}  // namespace hoist::planner

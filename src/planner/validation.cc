#include "planner/validation.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "kube/objects.h"
#include "planner/names.h"
#include "planner/secret.h"

namespace hoist::planner {

using nlohmann::json;

namespace {

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

Condition Critical(const char* type, std::string reason, std::string message,
                   std::vector<std::string> items = {}) {
  Condition c;
  c.type = type;
  c.reason = std::move(reason);
  c.message = std::move(message);
  c.items = std::move(items);
  return c;
}

// Several findings of one type become one condition listing every item (Forklift's shape).
void Collect(std::vector<Condition>& out, const char* type, const std::string& reason,
             const std::string& lead, const std::vector<std::string>& items, const std::string& fix) {
  if (items.empty()) return;
  out.push_back(Critical(type, reason, lead + ": " + Join(items, "; ") + " — " + fix, items));
}

}  // namespace

bool AnyCritical(const std::vector<Condition>& conditions) {
  return std::any_of(conditions.begin(), conditions.end(), [](const Condition& c) { return c.critical(); });
}

std::string VmLabel(const SourceVm& vm) { return (vm.name.empty() ? vm.id : vm.name) + " (" + vm.id + ")"; }

std::string DiskLabel(const SourceDisk& disk) {
  std::string ds = disk.datastore_name.empty() ? disk.datastore_id : disk.datastore_name;
  if (!disk.datastore_id.empty() && disk.datastore_id != ds) ds += " (" + disk.datastore_id + ")";
  return disk.file + " on datastore " + ds;
}

std::vector<Condition> ValidateSpec(const Plan& plan) {
  std::vector<Condition> out;
  if (plan.target_namespace.empty()) {
    out.push_back(Critical(condition::kNamespaceNotValid, "NotSet",
                           "Plan " + plan.ns + "/" + plan.name +
                               " has no spec.targetNamespace — set the namespace the disks' PVCs go to"));
  } else if (!IsDnsLabel(plan.target_namespace)) {
    out.push_back(
        Critical(condition::kNamespaceNotValid, "NotValid",
                 "spec.targetNamespace \"" + plan.target_namespace +
                     "\" is not a valid namespace name (lower-case letters, digits and '-', at most 63)"));
  }
  if (plan.vms.empty()) {
    out.push_back(Critical(condition::kVmNotFound, "NotSet",
                           "Plan " + plan.ns + "/" + plan.name + " lists no VMs in spec.vms"));
  }
  std::set<std::string> seen;
  std::vector<std::string> dup, unnamed;
  for (size_t i = 0; i < plan.vms.size(); ++i) {
    const PlanVm& v = plan.vms[i];
    if (v.id.empty() && v.name.empty()) {
      unnamed.push_back("spec.vms[" + std::to_string(i) + "]");
      continue;
    }
    std::string key = v.id.empty() ? "name:" + v.name : "id:" + v.id;
    if (!seen.insert(key).second) dup.push_back(v.Describe());
  }
  Collect(out, condition::kVmNotFound, "NotSet", "VM entries without id or name", unnamed,
          "give each VM its id (vm-123) or its name");
  Collect(out, condition::kDuplicateVm, "Duplicate", "VMs listed more than once", dup, "list each VM once");
  if (plan.warm) {
    out.push_back(
        Critical(condition::kWarmNotSupported, "NotSupported",
                 "Plan " + plan.ns + "/" + plan.name +
                     " is a warm migration; hoist's planner copies disks of stopped VMs (cold) through "
                     "copy offload only — set spec.warm to false"));
  }
  return out;
}

std::vector<Condition> ValidateProviders(const Plan& plan, const std::optional<Provider>& source,
                                         const std::optional<std::map<std::string, std::string>>& secret,
                                         bool destination_given, const std::optional<Provider>& destination) {
  std::vector<Condition> out;
  if (plan.source_provider.empty()) {
    out.push_back(Critical(condition::kSourceProviderNotValid, "NotSet",
                           "spec.provider.source is not set — name the vSphere Provider"));
  } else if (!source) {
    out.push_back(Critical(condition::kSourceProviderNotValid, "NotFound",
                           "source Provider " + plan.source_provider.ToString() +
                               " does not exist — create it or fix spec.provider.source"));
  } else if (source->type != "vsphere") {
    out.push_back(Critical(condition::kSourceProviderNotValid, "TypeNotValid",
                           "source Provider " + plan.source_provider.ToString() + " is of type \"" +
                               source->type +
                               "\"; hoist's planner migrates from vSphere (type vsphere) only"));
  } else if (source->url.empty()) {
    out.push_back(Critical(condition::kSourceProviderNotValid, "UrlNotSet",
                           "source Provider " + plan.source_provider.ToString() +
                               " has no spec.url — set the vCenter SDK URL (https://vcenter/sdk)"));
  } else if (source->secret.empty()) {
    out.push_back(Critical(condition::kSourceProviderNotValid, "SecretNotSet",
                           "source Provider " + plan.source_provider.ToString() +
                               " has no spec.secret — name the Secret with the vCenter user and password"));
  } else if (!secret) {
    out.push_back(Critical(condition::kSourceProviderNotValid, "SecretNotFound",
                           "Secret " + source->secret.ToString() + " of source Provider " +
                               plan.source_provider.ToString() +
                               " does not exist — create it with keys user and password (and cacert)"));
  } else if (auto missing = MissingProviderKeys(*secret); !missing.empty()) {
    out.push_back(Critical(condition::kSourceProviderNotValid, "SecretNotValid",
                           "Secret " + source->secret.ToString() + " of source Provider " +
                               plan.source_provider.ToString() + " lacks " + Join(missing) +
                               " — add the vCenter credentials"));
  }
  if (destination_given) {
    if (!destination) {
      out.push_back(
          Critical(condition::kDestinationProviderNotValid, "NotFound",
                   "destination Provider " + plan.destination_provider.ToString() + " does not exist"));
    } else if (!destination->IsHost()) {
      out.push_back(Critical(
          condition::kDestinationProviderNotValid, "NotSupported",
          "destination Provider " + plan.destination_provider.ToString() +
              " is not this cluster; hoist's planner creates the disks' PVCs in the cluster it runs in "
              "(a Provider of type openshift without url)"));
    }
  }
  return out;
}

std::vector<Condition> ValidateStorageMap(const Plan& plan, const std::optional<StorageMap>& map,
                                          const Provider& source, const OffloadSecrets& secrets) {
  std::vector<Condition> out;
  if (plan.storage_map.empty()) {
    out.push_back(Critical(condition::kStorageMapNotValid, "NotSet",
                           "spec.map.storage is not set — name the StorageMap"));
    return out;
  }
  if (!map) {
    out.push_back(Critical(
        condition::kStorageMapNotValid, "NotFound",
        "StorageMap " + plan.storage_map.ToString() + " does not exist — create it or fix spec.map.storage"));
    return out;
  }
  std::string where = "StorageMap " + plan.storage_map.ToString();
  if (!map->UsesOffload()) {
    out.push_back(Critical(
        condition::kOffloadNotConfigured, "NotConfigured",
        where + " has no entry with offloadPlugin.vsphereXcopyConfig; hoist's planner copies disks through "
                "storage copy offload (XCOPY) only — add the array's secretRef and storageVendorProduct to "
                "the entries"));
    return out;
  }
  std::vector<std::string> incomplete, unknown, csi, no_class, missing_secret, bad_secret;
  for (const StoragePair& p : map->pairs) {
    if (p.storage_class.empty()) no_class.push_back(p.Describe());
    if (p.csi_volume_import && !p.xcopy) csi.push_back(p.Describe());
    if (!p.xcopy) continue;
    std::vector<std::string> lacks;
    if (p.xcopy->secret_ref.empty()) lacks.push_back("secretRef");
    if (p.xcopy->storage_vendor_product.empty()) lacks.push_back("storageVendorProduct");
    if (!lacks.empty()) incomplete.push_back(p.Describe() + " lacks " + Join(lacks, " and "));
    if (!p.xcopy->storage_vendor_product.empty() && !IsKnownStorageVendor(p.xcopy->storage_vendor_product)) {
      unknown.push_back(p.Describe() + ": \"" + p.xcopy->storage_vendor_product + "\"");
    }
    if (!p.xcopy->secret_ref.empty()) {
      auto it = secrets.storage.find(p.xcopy->secret_ref);
      std::string name = source.ns + "/" + p.xcopy->secret_ref;
      if (it == secrets.storage.end() || !it->second) {
        missing_secret.push_back(p.Describe() + ": Secret " + name + " does not exist");
      } else if (auto missing = MissingStorageKeys(*it->second); !missing.empty()) {
        bad_secret.push_back(p.Describe() + ": Secret " + name + " lacks " + Join(missing));
      }
    }
  }
  Collect(out, condition::kStorageMapNotValid, "StorageClassNotSet",
          where + " has entries without a destination", no_class, "set destination.storageClass");
  Collect(out, condition::kOffloadPluginNotValid, "MissingDetails",
          "the offload plugin configuration has missing details in " + where, incomplete,
          "set secretRef and storageVendorProduct in offloadPlugin.vsphereXcopyConfig");
  Collect(out, condition::kOffloadPluginNotValid, "NotSupported",
          where + " uses offloadPlugin.csiVolumeImport", csi,
          "hoist populates through vsphereXcopyConfig only; migrate those datastores with Forklift");
  std::string vendors = Join(StorageVendorProducts());
  Collect(out, condition::kUnknownStorageVendor, "NotValid", "unknown storageVendorProduct in " + where,
          unknown, "use one of " + vendors);
  Collect(out, condition::kStorageSecretNotValid, "NotFound", "storage Secrets not found", missing_secret,
          "create the Secret in the source Provider's namespace " + source.ns +
              " with the array's address and credentials");
  Collect(out, condition::kStorageSecretNotValid, "NotValid", "storage Secrets incomplete", bad_secret,
          "add the missing keys (values are never shown here)");

  std::string method = source.CloneMethod();
  if (!IsKnownCloneMethod(method)) {
    out.push_back(Critical(condition::kCloneMethodNotValid, "NotValid",
                           "Provider " + source.ns + "/" + source.name + " asks for esxiCloneMethod \"" +
                               method + "\" — use vib (the vmkfstools-wrapper VIB, default) or ssh"));
  } else if (method == "ssh" && (!secrets.ssh_private_found || !secrets.ssh_public_found)) {
    std::vector<std::string> missing;
    if (!secrets.ssh_private_found)
      missing.push_back(source.ns + "/offload-ssh-keys-" + source.name + "-private (key private-key)");
    if (!secrets.ssh_public_found)
      missing.push_back(source.ns + "/offload-ssh-keys-" + source.name + "-public (key public-key)");
    out.push_back(Critical(
        condition::kSshKeysNotFound, "NotFound",
        "Provider " + source.ns + "/" + source.name + " clones over SSH but " + Join(missing) +
            " not found — create the key pair Secrets (and put the public key on the ESXi hosts with "
            "`hoist esxi ssh-key-line`)",
        missing));
  }
  return out;
}

std::vector<Condition> ValidateVms(const Plan& plan, const StorageMap& map,
                                   const std::vector<VmLookup>& vms) {
  std::vector<Condition> out;
  std::vector<std::string> not_found, unreachable, not_mapped, mixed, empty_disk, no_disks, dup;
  std::map<std::string, std::string> seen_ids;  // moref → how the plan named it
  for (const VmLookup& l : vms) {
    if (!l.vm) {
      (l.transient ? unreachable : not_found).push_back(l.wanted.Describe() + ": " + l.error);
      continue;
    }
    const SourceVm& vm = *l.vm;
    if (auto [it, fresh] = seen_ids.emplace(vm.id, l.wanted.Describe()); !fresh) {
      dup.push_back(VmLabel(vm) + " is listed as " + it->second + " and as " + l.wanted.Describe());
    }
    if (vm.disks.empty()) no_disks.push_back(VmLabel(vm));
    for (const SourceDisk& d : vm.disks) {
      std::string what = "VM " + VmLabel(vm) + ": disk " + DiskLabel(d);
      const StoragePair* p = map.Find(d.datastore_id, d.datastore_name);
      if (p == nullptr) {
        not_mapped.push_back(what);
      } else if (!p->xcopy) {
        mixed.push_back(what + ", mapped by " + p->Describe() + " without offloadPlugin");
      }
      if (d.capacity_bytes <= 0) empty_disk.push_back(what + " reports no capacity");
    }
  }
  std::string where = "StorageMap " + plan.storage_map.ToString();
  Collect(out, condition::kSourceNotReachable, "ConnectionFailed", "vCenter could not be asked about",
          unreachable, "check the Provider URL, the network and vCenter; the planner retries");
  Collect(out, condition::kVmNotFound, "NotFound", "VMs not found", not_found, "fix spec.vms");
  Collect(out, condition::kDuplicateVm, "Duplicate", "VMs listed more than once", dup, "list each VM once");
  Collect(out, condition::kVmStorageNotMapped, "NotMapped", "disks on datastores " + where + " does not map",
          not_mapped, "add the datastores to the StorageMap with offloadPlugin.vsphereXcopyConfig");
  Collect(out, condition::kMixedUsage, "MixedCopyMethods",
          "the plan copies through storage offload but these disks are on datastores mapped without it, and "
          "a plan does "
          "not support mixed copy methods",
          mixed,
          "give those entries of " + where +
              " an offloadPlugin.vsphereXcopyConfig, or migrate these VMs in a plan without copy offload");
  Collect(out, condition::kDiskNotValid, "NoCapacity", "disks without a size", empty_disk,
          "check the VMs' disks in vCenter");
  Collect(out, condition::kDiskNotValid, "NoDisks", "VMs without disks", no_disks,
          "remove them from the plan");
  return out;
}

json ConditionsJson(const std::vector<Condition>& conditions, const json& previous, const std::string& now) {
  // One entry per type: findings of one type from different checks are joined.
  std::vector<Condition> merged;
  for (const Condition& c : conditions) {
    auto it =
        std::find_if(merged.begin(), merged.end(), [&](const Condition& m) { return m.type == c.type; });
    if (it == merged.end()) {
      merged.push_back(c);
    } else {
      it->message += "; " + c.message;
      it->items.insert(it->items.end(), c.items.begin(), c.items.end());
    }
  }
  json out = json::array();
  for (const Condition& c : merged) {
    json j = {{"type", c.type}, {"status", c.status}, {"category", c.category}, {"message", c.message}};
    if (!c.reason.empty()) j["reason"] = c.reason;
    if (!c.items.empty()) j["items"] = c.items;
    std::string since = now;
    if (previous.is_array()) {
      for (const json& p : previous) {
        if (kube::StringAt(p, {"type"}) == c.type && kube::StringAt(p, {"status"}) == c.status &&
            !kube::StringAt(p, {"lastTransitionTime"}).empty()) {
          since = kube::StringAt(p, {"lastTransitionTime"});
        }
      }
    }
    j["lastTransitionTime"] = since;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace hoist::planner

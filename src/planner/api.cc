#include "planner/api.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "kube/objects.h"
#include "net/tls.h"

namespace hoist::planner {

using nlohmann::json;

namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

ObjectReference RefAt(const json& obj, std::initializer_list<std::string_view> path,
                      const std::string& default_ns) {
  ObjectReference r;
  const json* ref = kube::At(obj, path);
  if (ref == nullptr || !ref->is_object()) return r;
  r.name = kube::StringAt(*ref, {"name"});
  r.ns = kube::StringAt(*ref, {"namespace"});
  if (r.ns.empty() && !r.name.empty()) r.ns = default_ns;
  return r;
}

bool BoolAt(const json& obj, std::initializer_list<std::string_view> path) {
  const json* v = kube::At(obj, path);
  if (v == nullptr) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) return AsciiLower(v->get<std::string>()) == "true";
  return false;
}

}  // namespace

const std::vector<std::string>& StorageVendorProducts() {
  static const std::vector<std::string> kVendors = {"flashsystem", "vantara",        "ontap",
                                                    "primera3par", "pureFlashArray", "powerflex",
                                                    "powermax",    "powerstore",     "infinibox"};
  return kVendors;
}

bool IsKnownStorageVendor(std::string_view vendor) {
  const auto& v = StorageVendorProducts();
  return std::find(v.begin(), v.end(), vendor) != v.end();
}

bool IsKnownCloneMethod(std::string_view method) { return method == "vib" || method == "ssh"; }

std::string ObjectReference::ToString() const { return ns.empty() ? name : ns + "/" + name; }

std::string Provider::CloneMethod() const {
  auto it = settings.find("esxiCloneMethod");
  std::string m = it == settings.end() ? "" : AsciiLower(Trim(it->second));
  return m.empty() ? "vib" : m;
}

Provider ParseProvider(const json& obj) {
  Provider p;
  p.name = kube::Name(obj);
  p.ns = kube::Namespace(obj);
  p.uid = kube::Uid(obj);
  p.type = kube::StringAt(obj, {"spec", "type"});
  p.url = Trim(kube::StringAt(obj, {"spec", "url"}));
  p.secret = RefAt(obj, {"spec", "secret"}, p.ns);
  if (const json* s = kube::At(obj, {"spec", "settings"}); s != nullptr && s->is_object()) {
    for (const auto& [k, v] : s->items()) {
      if (v.is_string()) p.settings[k] = v.get<std::string>();
    }
  }
  return p;
}

std::string StoragePair::Describe() const {
  std::string src = !source_id.empty() ? "datastore id " + source_id : "datastore " + source_name;
  return "map[" + std::to_string(index) + "] (" + src + " -> storage class " +
         (storage_class.empty() ? "<none>" : storage_class) + ")";
}

bool StorageMap::UsesOffload() const {
  return std::any_of(pairs.begin(), pairs.end(), [](const StoragePair& p) { return p.offload(); });
}

const StoragePair* StorageMap::Find(std::string_view datastore_id, std::string_view datastore_name) const {
  if (!datastore_id.empty()) {
    for (const auto& p : pairs) {
      if (!p.source_id.empty() && p.source_id == datastore_id) return &p;
    }
  }
  if (!datastore_name.empty()) {
    for (const auto& p : pairs) {
      if (p.source_id.empty() && p.source_name == datastore_name) return &p;
    }
  }
  return nullptr;
}

StorageMap ParseStorageMap(const json& obj) {
  StorageMap m;
  m.name = kube::Name(obj);
  m.ns = kube::Namespace(obj);
  m.uid = kube::Uid(obj);
  const json* list = kube::At(obj, {"spec", "map"});
  if (list == nullptr || !list->is_array()) return m;
  int i = 0;
  for (const json& entry : *list) {
    StoragePair p;
    p.index = i++;
    p.source_id = kube::StringAt(entry, {"source", "id"});
    p.source_name = kube::StringAt(entry, {"source", "name"});
    p.storage_class = kube::StringAt(entry, {"destination", "storageClass"});
    p.volume_mode = kube::StringAt(entry, {"destination", "volumeMode"});
    p.access_mode = kube::StringAt(entry, {"destination", "accessMode"});
    if (const json* x = kube::At(entry, {"offloadPlugin", "vsphereXcopyConfig"});
        x != nullptr && x->is_object()) {
      XcopyConfig c;
      c.secret_ref = Trim(kube::StringAt(*x, {"secretRef"}));
      c.storage_vendor_product = Trim(kube::StringAt(*x, {"storageVendorProduct"}));
      if (const json* h = kube::At(*x, {"dedicatedMigrationHosts"}); h != nullptr && h->is_array()) {
        for (const json& host : *h) {
          if (host.is_string() && !host.get<std::string>().empty())
            c.dedicated_migration_hosts.push_back(host);
        }
      }
      p.xcopy = std::move(c);
    }
    if (const json* c = kube::At(entry, {"offloadPlugin", "csiVolumeImport"});
        c != nullptr && c->is_object()) {
      p.csi_volume_import = true;
    }
    m.pairs.push_back(std::move(p));
  }
  return m;
}

std::string PlanVm::Describe() const { return !id.empty() ? id : "name " + name; }

Plan ParsePlan(const json& obj) {
  Plan p;
  p.name = kube::Name(obj);
  p.ns = kube::Namespace(obj);
  p.uid = kube::Uid(obj);
  if (const json* g = kube::At(obj, {"metadata", "generation"}); g != nullptr && g->is_number_integer()) {
    p.generation = g->get<int64_t>();
  }
  p.source_provider = RefAt(obj, {"spec", "provider", "source"}, p.ns);
  p.destination_provider = RefAt(obj, {"spec", "provider", "destination"}, p.ns);
  p.storage_map = RefAt(obj, {"spec", "map", "storage"}, p.ns);
  p.target_namespace = Trim(kube::StringAt(obj, {"spec", "targetNamespace"}));
  p.warm = BoolAt(obj, {"spec", "warm"});
  p.archived = BoolAt(obj, {"spec", "archived"});
  p.service_account = kube::StringAt(obj, {"spec", "serviceAccount"});
  if (const json* vms = kube::At(obj, {"spec", "vms"}); vms != nullptr && vms->is_array()) {
    for (const json& vm : *vms) {
      PlanVm v;
      v.id = Trim(kube::StringAt(vm, {"id"}));
      v.name = Trim(kube::StringAt(vm, {"name"}));
      p.vms.push_back(std::move(v));
    }
  }
  p.being_deleted = kube::IsBeingDeleted(obj);
  return p;
}

std::map<std::string, std::string> SecretData(const json& secret) {
  std::map<std::string, std::string> out;
  if (const json* d = kube::At(secret, {"data"}); d != nullptr && d->is_object()) {
    for (const auto& [k, v] : d->items()) {
      if (!v.is_string()) continue;
      try {
        out[k] = net::Base64Decode(v.get<std::string>());
      } catch (const std::exception&) {
        // Not base64: an API server would not have accepted it; leave the key out.
      }
    }
  }
  if (const json* d = kube::At(secret, {"stringData"}); d != nullptr && d->is_object()) {
    for (const auto& [k, v] : d->items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

}  // namespace hoist::planner

// `hoist plan create NAME`: a copy-offload migration Plan from flags, with what it needs (the vSphere
// Provider and its Secret, the storage Secret, the StorageMap) unless existing ones are named — the
// quick start; for anything more, write the Forklift objects (docs/plans.md).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd/common/commands.h"
#include "cmd/hoist/cluster_flags.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/objects.h"
#include "net/tls.h"
#include "planner/api.h"

namespace hoist::cli {
namespace {

using nlohmann::json;

const char kAbout[] =
    "Creates a Plan that copies the disks of the given VMs through storage copy offload (XCOPY) into\n"
    "PVCs in --target-namespace, plus, unless --provider / --storage-map name existing ones:\n"
    "  Secret <name>-vcenter and Provider <name>-vcenter     from --vcenter, --vcenter-user and the password\n"
    "  Secret <name>-storage                                 from --storage-hostname, --storage-user, the password,\n"
    "                                                        --storage-key K=V,... (or --storage-secret)\n"
    "  StorageMap <name>                                     from --datastore DS=STORAGECLASS,... and --vendor\n"
    "Passwords are read from --vcenter-password-file / --storage-password-file, else from\n"
    "HOIST_VCENTER_PASSWORD / HOIST_STORAGE_PASSWORD; never from the command line.\n"
    "hoist-controller with FEATURE_COPY_OFFLOAD=true then runs the Plan; follow it with\n"
    "  hoist watch -n <namespace> --plan <name>\n";

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string ReadSecretFile(const std::string& path, const char* env, const char* what) {
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw PreconditionError("cannot read the " + std::string(what) + " password file " + path);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  const char* v = std::getenv(env);
  if (v != nullptr && *v != '\0') return v;
  throw PreconditionError(std::string("the ") + what + " password is needed: give --" + what + "-password-file or set " + env);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PreconditionError("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

json SecretObject(const std::string& ns, const std::string& name, const std::map<std::string, std::string>& data) {
  json d = json::object();
  for (const auto& [k, v] : data) d[k] = net::Base64Encode(v);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"type", "Opaque"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app.kubernetes.io/created-by", "hoist-plan-create"}}}}},
          {"data", d}};
}

bool AllOf(const std::string& s, size_t from, bool (*ok)(char)) {
  if (from >= s.size()) return false;
  for (size_t i = from; i < s.size(); ++i) {
    if (!ok(s[i])) return false;
  }
  return true;
}
bool Digit(char c) { return c >= '0' && c <= '9'; }
bool Hex(char c) { return Digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-'; }

// A VM reference from the command line: a moref value (vm-123) or a UUID is an id, anything else a name.
json VmRef(const std::string& v) {
  bool moref = v.rfind("vm-", 0) == 0 && AllOf(v, 3, Digit);
  bool uuid = v.size() == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-' && AllOf(v, 0, Hex);
  if (moref || uuid) return {{"id", v}};
  return {{"name", v}};
}

// A datastore's moref value (datastore-12) is an id, anything else a name.
bool IsDatastoreId(const std::string& ds) { return ds.rfind("datastore-", 0) == 0 && AllOf(ds, 10, Digit); }

int PlanCreate(const std::vector<std::string>& args) {
  return RunCommand("plan create", [&] {
    FlagSet fs("hoist plan create NAME");
    ClusterFlags cf;
    cf.Add(fs, false);
    auto& target = fs.String("target-namespace", "", "namespace of the disks' PVCs (required)");
    auto& vms = fs.String("vm", "", "VMs: names or ids (vm-123), comma-separated (required)");
    auto& provider = fs.String("provider", "", "an existing vSphere Provider (instead of --vcenter …)");
    auto& vcenter = fs.String("vcenter", "", "vCenter SDK URL, https://vcenter.example.com/sdk");
    auto& vc_user = fs.String("vcenter-user", "", "vCenter user");
    auto& vc_pw = fs.String("vcenter-password-file", "", "file holding the vCenter password");
    auto& vc_ca = fs.String("vcenter-ca-file", "", "PEM file of the CA vCenter's certificate chains to");
    auto& vc_insecure = fs.Bool("vcenter-insecure", false, "do not verify vCenter's certificate");
    auto& clone = fs.String("clone-method", "", "vib (default) or ssh");
    auto& map = fs.String("storage-map", "", "an existing StorageMap (instead of --datastore …)");
    auto& datastores = fs.String("datastore", "", "DATASTORE=STORAGECLASS pairs, comma-separated (name or id datastore-12)");
    auto& vendor = fs.String("vendor", "", "storageVendorProduct: ontap, pureFlashArray, primera3par, …");
    auto& access = fs.String("access-mode", "", "ReadWriteOnce, ReadWriteMany (default) or ReadOnlyMany");
    auto& hosts = fs.String("migration-hosts", "", "ESXi host ids that run the clones (dedicatedMigrationHosts), comma-separated");
    auto& st_secret = fs.String("storage-secret", "", "an existing Secret with the array's credentials");
    auto& st_host = fs.String("storage-hostname", "", "array management address");
    auto& st_user = fs.String("storage-user", "", "array user");
    auto& st_pw = fs.String("storage-password-file", "", "file holding the array password");
    auto& st_keys = fs.String("storage-key", "", "more array Secret keys, K=V comma-separated (ONTAP_SVM=svm0, …)");
    auto& st_insecure = fs.Bool("storage-skip-ssl-verification", false, "do not verify the array's certificate");
    auto& dry = fs.Bool("dry-run", false, "print what would be created (Secret values hidden) and create nothing");
    fs.Parse(args);
    if (fs.help_requested()) {
      std::printf("%s\n%s", fs.Usage().c_str(), kAbout);
      return 0;
    }
    if (fs.positional().size() != 1) throw PreconditionError("give the Plan's name: hoist plan create NAME [flags] (--help)");
    const std::string name = fs.positional()[0];
    if ((*target).empty()) throw PreconditionError("--target-namespace is required");
    std::vector<std::string> vm_list = SplitList(*vms);
    if (vm_list.empty()) throw PreconditionError("--vm is required (names or ids, comma-separated)");
    // A dry run needs no cluster: the namespace is -n's, else the kubeconfig's if there is one.
    kube::RestConfig config;
    bool have_config = true;
    try {
      config = cf.Config();
    } catch (const Error&) {
      if (!*dry) throw;
      have_config = false;
    }
    const std::string ns = have_config ? cf.Namespace(config) : cf.Namespace(kube::RestConfig{});

    std::vector<std::pair<kube::ResourceType, json>> objects;
    std::string provider_name = *provider;
    if (provider_name.empty()) {
      if ((*vcenter).empty() || (*vc_user).empty()) {
        throw PreconditionError("name an existing Provider with --provider, or give --vcenter and --vcenter-user");
      }
      provider_name = name + "-vcenter";
      std::map<std::string, std::string> data = {{"user", *vc_user}, {"password", ReadSecretFile(*vc_pw, "HOIST_VCENTER_PASSWORD", "vcenter")}};
      if (!(*vc_ca).empty()) data["cacert"] = ReadFile(*vc_ca);
      if (*vc_insecure) data["insecureSkipVerify"] = "true";
      objects.push_back({kube::resources::kSecret, SecretObject(ns, provider_name, data)});
      json p = {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                {"kind", "Provider"},
                {"metadata", {{"name", provider_name}, {"namespace", ns}}},
                {"spec", {{"type", "vsphere"}, {"url", *vcenter}, {"secret", {{"name", provider_name}, {"namespace", ns}}}}}};
      if (!(*clone).empty()) p["spec"]["settings"] = {{"esxiCloneMethod", *clone}};
      objects.push_back({planner::resources::kProvider, p});
    } else if (!(*vcenter).empty()) {
      throw PreconditionError("--provider and --vcenter exclude each other");
    }

    std::string map_name = *map;
    if (map_name.empty()) {
      std::vector<std::string> pairs = SplitList(*datastores);
      if (pairs.empty()) throw PreconditionError("name an existing StorageMap with --storage-map, or give --datastore DS=CLASS,...");
      if ((*vendor).empty()) throw PreconditionError("--vendor is required with --datastore (" + [] {
        std::string v;
        for (const auto& x : planner::StorageVendorProducts()) v += (v.empty() ? "" : ", ") + x;
        return v;
      }() + ")");
      std::string secret = *st_secret;
      if (secret.empty()) {
        if ((*st_host).empty() || (*st_user).empty()) {
          throw PreconditionError("name an existing storage Secret with --storage-secret, or give --storage-hostname and --storage-user");
        }
        secret = name + "-storage";
        std::map<std::string, std::string> data = {{"STORAGE_HOSTNAME", *st_host},
                                                   {"STORAGE_USERNAME", *st_user},
                                                   {"STORAGE_PASSWORD", ReadSecretFile(*st_pw, "HOIST_STORAGE_PASSWORD", "storage")}};
        if (*st_insecure) data["STORAGE_SKIP_SSL_VERIFICATION"] = "true";
        for (const std::string& kv : SplitList(*st_keys)) {
          auto eq = kv.find('=');
          if (eq == std::string::npos || eq == 0) throw PreconditionError("--storage-key wants K=V, got \"" + kv + "\"");
          data[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        objects.push_back({kube::resources::kSecret, SecretObject(ns, secret, data)});
      }
      json xcopy = {{"secretRef", secret}, {"storageVendorProduct", *vendor}};
      if (!(*hosts).empty()) xcopy["dedicatedMigrationHosts"] = SplitList(*hosts);
      json entries = json::array();
      for (const std::string& pair : pairs) {
        auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
          throw PreconditionError("--datastore wants DATASTORE=STORAGECLASS, got \"" + pair + "\"");
        }
        std::string ds = pair.substr(0, eq);
        json e = {{"source", IsDatastoreId(ds) ? json{{"id", ds}} : json{{"name", ds}}},
                  {"destination", {{"storageClass", pair.substr(eq + 1)}}},
                  {"offloadPlugin", {{"vsphereXcopyConfig", xcopy}}}};
        if (!(*access).empty()) e["destination"]["accessMode"] = *access;
        entries.push_back(e);
      }
      map_name = name;
      objects.push_back({planner::resources::kStorageMap,
                         {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                          {"kind", "StorageMap"},
                          {"metadata", {{"name", map_name}, {"namespace", ns}}},
                          {"spec", {{"provider", {{"source", {{"name", provider_name}, {"namespace", ns}}}}}, {"map", entries}}}}});
    } else if (!(*datastores).empty()) {
      throw PreconditionError("--storage-map and --datastore exclude each other");
    }

    json vm_refs = json::array();
    for (const auto& v : vm_list) vm_refs.push_back(VmRef(v));
    objects.push_back({planner::resources::kPlan,
                       {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                        {"kind", "Plan"},
                        {"metadata", {{"name", name}, {"namespace", ns}}},
                        {"spec",
                         {{"provider", {{"source", {{"name", provider_name}, {"namespace", ns}}}}},
                          {"map", {{"storage", {{"name", map_name}, {"namespace", ns}}}}},
                          {"targetNamespace", *target},
                          {"vms", vm_refs}}}}});

    if (*dry) {
      for (auto& [type, obj] : objects) {
        json shown = obj;
        if (shown.contains("data")) {
          for (auto it = shown["data"].begin(); it != shown["data"].end(); ++it) *it = "<hidden>";
        }
        std::printf("%s\n", shown.dump(2).c_str());
      }
      return 0;
    }
    kube::Client client(config);
    std::string created;
    try {
      client.Get(kube::resources::kNamespace, "", ns);
    } catch (const std::exception& e) {
      if (!kube::IsNotFound(e)) throw;
      client.Create(kube::resources::kNamespace, "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
      created = "Namespace " + ns;
      std::printf("created Namespace %s\n", ns.c_str());
    }
    for (const auto& [type, obj] : objects) {
      try {
        client.Create(type, ns, obj);
      } catch (const std::exception& e) {
        if (kube::IsAlreadyExists(e)) {
          throw PreconditionError(type.kind + " " + ns + "/" + kube::Name(obj) +
                                  " already exists (created so far: " + (created.empty() ? "nothing" : created) +
                                  ") — choose another plan name, or reuse it with --provider / --storage-map / --storage-secret");
        }
        throw;
      }
      created += (created.empty() ? "" : ", ") + type.kind + " " + ns + "/" + kube::Name(obj);
      std::printf("created %s %s/%s\n", type.kind.c_str(), ns.c_str(), kube::Name(obj).c_str());
    }
    std::printf("follow it: hoist watch -n %s --plan %s\n", ns.c_str(), name.c_str());
    return 0;
  });
}

HOIST_REGISTER_COMMAND({{"plan", "create"}, "a copy-offload Plan (with Provider, StorageMap, Secrets) from flags", PlanCreate});

}  // namespace
}  // namespace hoist::cli

#include "lab/provisioner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "lab/binder.h"
#include "lab/cluster_objects.h"

namespace hoist::lab {
namespace {

constexpr char kComponent[] = "hoist-lab-provisioner";

// Drivers the lab answers for by default: its own, and names of real CSI drivers it imitates.
const std::vector<std::string>& DefaultDrivers() {
  static const std::vector<std::string> d = {
      "lab.hoist.io/file",
      "csi.trident.netapp.io",
      "pure-csi",
      "csi.hpe.com",
      "csi-powerstore.dellemc.com",
      "csi-powermax.dellemc.com",
      "csi-vxflexos.dellemc.com",
      "block.csi.ibm.com",
      "infinibox-csi-driver",
      "hspc.csi.hitachi.com",
  };
  return d;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// `n` hex digits derived from `seed` (deterministic, so a repeated Create yields the same handle).
std::string Hex(std::string_view seed, size_t n) {
  std::string out;
  uint64_t h = Fnv1a(seed);
  while (out.size() < n) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    out += buf;
    h = Fnv1a(std::string(buf) + std::string(seed));
  }
  out.resize(n);
  return out;
}

std::string Param(const std::map<std::string, std::string>& p, const std::string& key,
                  std::string fallback = "") {
  auto it = p.find(key);
  return it == p.end() ? fallback : it->second;
}

std::string ProvisionerIdentity(const std::string& driver) {
  static const long long start = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  return std::to_string(start) + "-" + std::to_string(start % 10000) + "-" + driver;
}

}  // namespace

std::string DefaultShapeForDriver(const std::string& driver) {
  if (driver == "csi.trident.netapp.io") return "trident";
  if (driver == "pure-csi" || driver == "pxd.portworx.com") return "pure";
  if (driver == "csi.hpe.com") return "hpe";
  if (driver == "csi-powerstore.dellemc.com") return "powerstore";
  if (driver == "csi-powermax.dellemc.com") return "powermax";
  if (driver == "csi-vxflexos.dellemc.com") return "powerflex";
  if (driver == "block.csi.ibm.com") return "flashsystem";
  if (driver == "infinibox-csi-driver") return "infinibox";
  if (driver == "hspc.csi.hitachi.com") return "vantara";
  return "file";
}

HandleShape MakeHandle(const std::string& shape, const VolumeRequest& r) {
  HandleShape h;
  const std::string& seed = r.pv_name;
  const std::string proto = Param(r.parameters, "lab.hoist.io/protocol", "iscsi");
  if (shape == "trident") {
    // Trident: the handle is the PV name; the ONTAP LUN is /vol/<internalName>/lun0.
    std::string internal = Param(r.parameters, "lab.hoist.io/storage-prefix", "trident_") + r.pv_name;
    std::replace(internal.begin(), internal.end(), '-', '_');
    h.volume_handle = r.pv_name;
    h.volume_attributes = {{"backendUUID", Hex(r.class_name, 8) + "-" + Hex(r.class_name + "1", 4) + "-" +
                                               Hex(r.class_name + "2", 4) + "-" + Hex(r.class_name + "3", 4) +
                                               "-" + Hex(r.class_name + "4", 12)},
                           {"internalName", internal},
                           {"name", r.pv_name},
                           {"protocol", r.block || proto != "nfs" ? "block" : "file"}};
  } else if (shape == "pure") {
    // Pure FlashArray: the handle is the array's volume id; the array volume is <prefix>-<pv name>.
    h.volume_handle = Hex(seed, 8) + "-" + Hex(seed + "a", 4) + "-" + Hex(seed + "b", 4) + "-" +
                      Hex(seed + "c", 4) + "-" + Hex(seed + "d", 12);
    h.volume_attributes = {{"backend", "block"},
                           {"createoptions", ""},
                           {"namespace", Param(r.parameters, "lab.hoist.io/cluster-prefix", "lab")}};
  } else if (shape == "hpe") {
    // HPE CSI (3PAR/Primera): the array volume name is the first 31 characters of the handle.
    h.volume_handle = r.pv_name;
    h.volume_attributes = {{"volumeAccessMode", r.block ? "block" : "mount"},
                           {"description", "Volume created by the HPE CSI Driver for Kubernetes"},
                           {"cpg", Param(r.parameters, "cpg", "SSD_r6")},
                           {"provisioningType", Param(r.parameters, "provisioningType", "tpvv")}};
  } else if (shape == "powerstore") {
    h.volume_handle = Hex(seed, 8) + "-" + Hex(seed + "a", 4) + "-" + Hex(seed + "b", 4) + "-" +
                      Hex(seed + "c", 4) + "-" + Hex(seed + "d", 12) + "/" +
                      Param(r.parameters, "arrayID", "PS" + Hex(r.class_name, 10)) + "/" + "scsi";
    h.volume_attributes = {{"Name", r.pv_name}, {"Protocol", "scsi"}};
  } else if (shape == "powermax") {
    std::string symid = Param(r.parameters, "SYMID", "000197900123");
    std::string dev = Hex(seed, 5);
    std::transform(dev.begin(), dev.end(), dev.begin(), ::toupper);
    h.volume_handle = "csi-lab-" + r.pv_name + "-" + symid + "-" + dev;
    h.volume_attributes = {{"powermax/SYMID", symid},
                           {"StorageGroup", Param(r.parameters, "StorageGroup", "csi-lab-sg")}};
  } else if (shape == "powerflex") {
    h.volume_handle = Param(r.parameters, "systemID", Hex(r.class_name, 16)) + "-" + Hex(seed, 16);
    h.volume_attributes = {{"Name", r.pv_name.substr(0, 31)}};
  } else if (shape == "flashsystem") {
    std::string uid = Hex(seed, 32);
    std::transform(uid.begin(), uid.end(), uid.begin(), ::toupper);
    h.volume_handle = "SVC:5;" + uid;
    h.volume_attributes = {{"pool_name", Param(r.parameters, "pool", "pool0")}};
  } else if (shape == "infinibox") {
    h.volume_handle = std::to_string(Fnv1a(seed) % 100000000) + "$$" + proto;
    h.volume_attributes = {{"Name", r.pv_name}, {"storage_protocol", proto}};
  } else if (shape == "vantara") {
    h.volume_handle = "01--" + proto + "--" + Param(r.parameters, "storageDeviceId", "800000012345") + "--" +
                      std::to_string(Fnv1a(seed) % 65000) + "--" + r.pv_name.substr(0, 32);
    h.volume_attributes = {{"nickname", r.pv_name.substr(0, 32)}};
  } else {
    h.volume_handle = "lab-file/" + r.pv_name;
    h.volume_attributes = {};
  }
  h.volume_attributes["storage.kubernetes.io/csiProvisionerIdentity"] = ProvisionerIdentity(r.driver);
  return h;
}

FileVolumeBackend::FileVolumeBackend(std::string volumes_dir) : dir_(std::move(volumes_dir)) {}

ProvisionedVolume FileVolumeBackend::Create(const VolumeRequest& r) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw TransientError("creating the lab's volume directory " + dir_ + " for claim " + r.claim_namespace +
                         "/" + r.claim_name + ": " + ec.message() + " — check free space and permissions");
  ProvisionedVolume v;
  v.data_path = dir_ + "/" + r.pv_name;
  if (r.block) {
    int fd = ::open(v.data_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    if (fd < 0 || ::ftruncate(fd, r.size_bytes) != 0) {
      int err = errno;
      if (fd >= 0) ::close(fd);
      throw TransientError("creating the sparse file " + v.data_path + " (" + std::to_string(r.size_bytes) +
                           " bytes) for claim " + r.claim_namespace + "/" + r.claim_name + ": " +
                           std::strerror(err) + " — check free space and permissions");
    }
    ::close(fd);
  } else {
    fs::create_directories(v.data_path, ec);
    if (ec)
      throw TransientError("creating the volume directory " + v.data_path + " for claim " +
                           r.claim_namespace + "/" + r.claim_name + ": " + ec.message());
    v.fs_type = Param(r.parameters, "csi.storage.k8s.io/fstype", Param(r.parameters, "fsType", "ext4"));
  }
  std::string shape = Param(r.parameters, "lab.hoist.io/handle-shape", DefaultShapeForDriver(r.driver));
  HandleShape h = MakeHandle(shape, r);
  v.volume_handle = h.volume_handle;
  v.volume_attributes = h.volume_attributes;
  if (Param(r.parameters, "lab.hoist.io/node-local") == "true" && !r.selected_node.empty()) {
    v.node_affinity = {{"required",
                        {{"nodeSelectorTerms",
                          Json::array({{{"matchExpressions",
                                         Json::array({{{"key", "kubernetes.io/hostname"},
                                                       {"operator", "In"},
                                                       {"values", Json::array({r.selected_node})}}})}}})}}}};
  }
  return v;
}

void FileVolumeBackend::Delete(const Json& pv) {
  namespace fs = std::filesystem;
  std::string path = Annotation(pv, kAnnDataPath);
  if (path.empty()) return;
  // Only ever remove what this backend made.
  if (fs::path(path).parent_path() != fs::path(dir_)) {
    log::Warn("lab.provisioner", "not deleting data outside the lab's volume directory",
              {{"volume", GetString(pv, "/metadata/name")}, {"path", path}});
    return;
  }
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    throw TransientError("deleting the data of volume " + GetString(pv, "/metadata/name") + " at " + path +
                         ": " + ec.message());
}

Provisioner::Provisioner(Store& store, std::string volumes_dir)
    : store_(store),
      pvcs_(store.MustType("", "persistentvolumeclaims")),
      pvs_(store.MustType("", "persistentvolumes")),
      classes_(store.MustType("storage.k8s.io", "storageclasses")),
      drivers_(DefaultDrivers()) {
  backends_["file"] = std::make_shared<FileVolumeBackend>(std::move(volumes_dir));
}

void Provisioner::AddDriver(const std::string& driver) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Serves(driver)) drivers_.push_back(driver);
}

void Provisioner::RegisterBackend(const std::string& name, std::shared_ptr<VolumeBackend> backend) {
  std::lock_guard<std::mutex> lock(mu_);
  backends_[name] = std::move(backend);
}

bool Provisioner::Serves(const std::string& driver) const {
  return std::find(drivers_.begin(), drivers_.end(), driver) != drivers_.end();
}

std::shared_ptr<VolumeBackend> Provisioner::BackendFor(const std::map<std::string, std::string>& params) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string name = Param(params, "lab.hoist.io/backend", "file");
  auto it = backends_.find(name);
  if (it == backends_.end())
    throw PreconditionError("the StorageClass asks for lab volume backend \"" + name +
                            "\" (parameter lab.hoist.io/backend), which is not registered in this lab");
  return it->second;
}

bool Provisioner::Sync() {
  bool wrote = false;
  std::vector<Json> classes = store_.List(classes_, "").items;
  auto class_named = [&](const std::string& name) -> const Json* {
    for (const auto& c : classes)
      if (GetString(c, "/metadata/name") == name) return &c;
    return nullptr;
  };
  for (const auto& claim : store_.List(pvcs_, "").items) {
    if (IsDeleting(claim) || !GetString(claim, "/spec/volumeName").empty()) continue;
    if (!Annotation(claim, kAnnBindCompleted).empty()) continue;
    std::string driver = Annotation(claim, kAnnStorageProvisioner);
    if (driver.empty()) driver = Annotation(claim, kAnnBetaStorageProvisioner);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (driver.empty() || !Serves(driver)) continue;
    }
    const Json* sc = class_named(ClaimClass(claim));
    if (!sc || GetString(*sc, "/provisioner") != driver) continue;
    if (GetString(*sc, "/volumeBindingMode") == "WaitForFirstConsumer" &&
        Annotation(claim, kAnnSelectedNode).empty())
      continue;
    const Json& ref = GetNode(claim, "/spec/dataSourceRef");
    if (ref.is_object()) {
      std::string kind = GetString(ref, "/kind");
      if (kind != "PersistentVolumeClaim" && kind != "VolumeSnapshot") continue;  // a populator's job
    }
    std::string pv_name = "pvc-" + GetString(claim, "/metadata/uid");
    if (store_.TryGet(pvs_, "", pv_name)) continue;
    try {
      // Claims are provisioned independently (each its own PV, pvc-<uid>): all in one pass.
      if (Provision(claim, *sc)) wrote = true;
    } catch (const std::exception& e) {
      std::string uid = GetString(claim, "/metadata/uid");
      if (failed_[uid] != e.what()) {
        failed_[uid] = e.what();
        RecordEvent(store_, claim, "Warning", "ProvisioningFailed",
                    std::string("failed to provision volume with StorageClass \"") + ClaimClass(claim) +
                        "\": " + e.what(),
                    kComponent);
        log::Warn("lab.provisioner", "provisioning failed",
                  {{"claim", NamespacedName(claim)}, {"error", e.what()}});
      }
    }
  }
  if (wrote) return true;
  for (const auto& pv : store_.List(pvs_, "").items) {
    if (IsDeleting(pv) || GetString(pv, "/status/phase") != "Released") continue;
    if (GetString(pv, "/spec/persistentVolumeReclaimPolicy") != "Delete") continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!Serves(Annotation(pv, kAnnProvisionedBy))) continue;
    }
    try {
      if (DeleteVolume(pv)) return true;
    } catch (const std::exception& e) {
      log::Warn("lab.provisioner", "deleting a volume failed",
                {{"volume", NamespacedName(pv)}, {"error", e.what()}});
    }
  }
  return false;
}

bool Provisioner::Provision(const Json& claim, const Json& sc) {
  VolumeRequest r;
  r.claim_namespace = GetString(claim, "/metadata/namespace");
  r.claim_name = GetString(claim, "/metadata/name");
  r.claim_uid = GetString(claim, "/metadata/uid");
  r.pv_name = "pvc-" + r.claim_uid;
  r.driver = GetString(sc, "/provisioner");
  r.class_name = GetString(sc, "/metadata/name");
  const Json& params = GetNode(sc, "/parameters");
  if (params.is_object())
    for (auto it = params.begin(); it != params.end(); ++it)
      if (it->is_string()) r.parameters[it.key()] = it->get<std::string>();
  std::string request = GetString(claim, "/spec/resources/requests/storage");
  if (request.empty())
    throw PreconditionError("claim " + r.claim_namespace + "/" + r.claim_name +
                            " has no spec.resources.requests.storage; say how big the volume must be");
  r.size_bytes = ParseQuantity(request);
  r.block = GetString(claim, "/spec/volumeMode") == "Block";
  r.selected_node = Annotation(claim, kAnnSelectedNode);

  RecordEvent(store_, claim, "Normal", "Provisioning",
              "External provisioner is provisioning volume for claim \"" + r.claim_namespace + "/" +
                  r.claim_name + "\"",
              kComponent);
  ProvisionedVolume v = BackendFor(r.parameters)->Create(r);

  Json csi = {{"driver", r.driver}, {"volumeHandle", v.volume_handle}, {"volumeAttributes", Json::object()}};
  for (const auto& [k, val] : v.volume_attributes) csi["volumeAttributes"][k] = val;
  if (!r.block && !v.fs_type.empty()) csi["fsType"] = v.fs_type;
  Json pv = {
      {"apiVersion", "v1"},
      {"kind", "PersistentVolume"},
      {"metadata",
       {{"name", r.pv_name}, {"annotations", {{kAnnProvisionedBy, r.driver}, {kAnnDataPath, v.data_path}}}}},
      {"spec",
       {{"accessModes", GetNode(claim, "/spec/accessModes").is_array() ? GetNode(claim, "/spec/accessModes")
                                                                       : Json::array({"ReadWriteOnce"})},
        {"capacity", {{"storage", request}}},
        {"claimRef",
         {{"kind", "PersistentVolumeClaim"},
          {"apiVersion", "v1"},
          {"namespace", r.claim_namespace},
          {"name", r.claim_name},
          {"uid", r.claim_uid},
          {"resourceVersion", GetString(claim, "/metadata/resourceVersion")}}},
        {"persistentVolumeReclaimPolicy", GetString(sc, "/reclaimPolicy", "Delete")},
        {"storageClassName", r.class_name},
        {"volumeMode", r.block ? "Block" : "Filesystem"},
        {"csi", csi}}},
  };
  if (GetNode(sc, "/mountOptions").is_array()) pv["spec"]["mountOptions"] = GetNode(sc, "/mountOptions");
  if (!v.node_affinity.is_null()) pv["spec"]["nodeAffinity"] = v.node_affinity;
  try {
    store_.Create(pvs_, "", pv);
  } catch (const StatusError& e) {
    if (e.code() != 409) throw;
  }
  failed_.erase(r.claim_uid);
  RecordEvent(store_, claim, "Normal", "ProvisioningSucceeded",
              "Successfully provisioned volume " + r.pv_name, kComponent);
  log::Info("lab.provisioner", "provisioned volume",
            {{"claim", r.claim_namespace + "/" + r.claim_name},
             {"volume", r.pv_name},
             {"driver", r.driver},
             {"handle", v.volume_handle},
             {"path", v.data_path},
             {"bytes", r.size_bytes}});
  return true;
}

bool Provisioner::DeleteVolume(const Json& pv) {
  std::map<std::string, std::string> params;
  // The class may be gone by now; the backend name is then the default one.
  if (auto sc = store_.TryGet(classes_, "", GetString(pv, "/spec/storageClassName"))) {
    const Json& p = GetNode(*sc, "/parameters");
    if (p.is_object())
      for (auto it = p.begin(); it != p.end(); ++it)
        if (it->is_string()) params[it.key()] = it->get<std::string>();
  }
  BackendFor(params)->Delete(pv);
  DeleteOptions opts;
  opts.precondition_uid = GetString(pv, "/metadata/uid");
  try {
    store_.Delete(pvs_, "", GetString(pv, "/metadata/name"), opts);
  } catch (const StatusError& e) {
    if (e.code() != 404 && e.code() != 409) throw;
  }
  log::Info("lab.provisioner", "deleted volume", {{"volume", GetString(pv, "/metadata/name")}});
  return true;
}

}  // namespace hoist::lab

#include "lab/arrays/lab_arrays.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "lab/cluster.h"
#include "lab/cluster_objects.h"
#include "lab/provisioner.h"
#include "lab/sim/common/sim_common.h"

namespace hoist::lab::arrays {
namespace fs = std::filesystem;

nlohmann::json StorageClassFor(const ArrayInfo& info) {
  nlohmann::json params = {{"lab.hoist.io/backend", info.name}};
  if (info.vendor == "ontap") params["backendType"] = "ontap-san";
  if (info.vendor == "primera3par") params["cpg"] = "SSD_r6", params["provisioningType"] = "tpvv";
  if (info.vendor == "vantara")
    params["storageDeviceId"] =
        info.details.count("storageDeviceId") ? info.details.at("storageDeviceId") : "";
  if (info.vendor == "powerflex")
    params["systemID"] = info.details.count("systemId") ? info.details.at("systemId") : "";
  return {{"apiVersion", "storage.k8s.io/v1"},
          {"kind", "StorageClass"},
          {"metadata",
           {{"name", info.storage_class},
            {"labels", {{"lab.hoist.io/array", info.name}, {"lab.hoist.io/vendor", info.vendor}}}}},
          {"provisioner", info.driver},
          {"parameters", params},
          {"reclaimPolicy", "Delete"},
          {"volumeBindingMode", "Immediate"},
          {"allowVolumeExpansion", false}};
}

LabArrays::LabArrays(Cluster& cluster, const std::vector<ArraySpec>& specs) {
  const std::string dir = cluster.dir();
  san_dir_ = dir + "/san";
  json_path_ = dir + "/arrays.json";
  fs::create_directories(san_dir_);

  // Ports of the last run, so that Secrets made from arrays.json stay valid across restarts.
  nlohmann::json previous = sim::common::LoadJsonFile(json_path_);
  std::vector<std::string> nodes;
  for (const auto& n : cluster.store().List(cluster.store().MustType("", "nodes"), "").items) {
    nodes.push_back(GetString(n, "/metadata/name"));
  }
  try {
    for (ArraySpec spec : specs) {
      for (const auto& a : arrays_) {
        if (a->info().name == spec.name) throw PreconditionError("--array " + spec.name + " is given twice");
      }
      bool reused = false;
      if (spec.port == 0 && previous.is_object() && previous.contains("arrays") &&
          previous["arrays"].contains(spec.name)) {
        spec.port = previous["arrays"][spec.name].value("port", 0);
        reused = spec.port != 0;
      }
      LabArrayOptions o;
      o.state_dir = dir + "/arrays/" + spec.name;
      o.san_dir = san_dir_;
      o.node_names = nodes;
      std::unique_ptr<LabArray> array;
      try {
        array = StartLabArray(spec, o);
      } catch (const Error& e) {
        if (!reused || e.error_class() == ErrorClass::kBug) throw;
        log::Warn("lab.arrays", "the array's previous port is taken; picking another (update Secrets)",
                  {{"array", spec.name}, {"port", spec.port}});
        spec.port = 0;
        array = StartLabArray(spec, o);
      }
      cluster.provisioner().RegisterBackend(spec.name, array->backend());
      cluster.provisioner().AddDriver(array->info().driver);
      auto classes = cluster.store().MustType("storage.k8s.io", "storageclasses");
      if (!cluster.store().TryGet(classes, "", array->info().storage_class)) {
        cluster.store().Create(classes, "", StorageClassFor(array->info()));
      }
      log::Info("lab.arrays", "array is up",
                {{"array", spec.name}, {"vendor", spec.vendor}, {"url", array->info().url}});
      arrays_.push_back(std::move(array));
    }
    nlohmann::json j = {{"sanDir", san_dir_}, {"arrays", nlohmann::json::object()}};
    for (const auto& a : arrays_) j["arrays"][a->info().name] = ArrayInfoJson(a->info());
    sim::common::SaveJsonFile(json_path_, j);
  } catch (...) {
    Stop();
    throw;
  }
  cluster.Poke();
}

LabArrays::~LabArrays() { Stop(); }

void LabArrays::Stop() {
  for (auto& a : arrays_) a->Stop();
}

}  // namespace hoist::lab::arrays

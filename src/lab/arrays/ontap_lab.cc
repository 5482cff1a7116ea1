// ONTAP in the lab: the ONTAP REST simulator, and volumes shaped as Trident's ontap-san driver makes
// them (volumeHandle = the PV name, volumeAttributes.internalName = trident_pvc_…, LUN
// /vol/<internalName>/lun0).
#include <memory>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "lab/arrays/simulated_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/ontap/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::ontap::OntapSimulator;

constexpr char kDriver[] = "csi.trident.netapp.io";
constexpr char kNodeIgroup[] = "lab-nodes";

class OntapBackend : public ArrayVolumeBackend {
 public:
  OntapBackend(std::shared_ptr<OntapSimulator> sim, std::string svm, std::vector<std::string> nodes)
      : sim_(std::move(sim)), svm_(std::move(svm)), nodes_(std::move(nodes)) {}

  void Delete(const Json& pv) override {
    std::string internal = GetString(pv, "/spec/csi/volumeAttributes/internalName");
    if (internal.empty()) return;
    sim_->DeleteLun("/vol/" + internal + "/lun0", svm_);
  }

 private:
  ProvisionedVolume Provision(const VolumeRequest& r, bool map_to_nodes) override {
    HandleShape h = MakeHandle("trident", r);
    const std::string path = "/vol/" + h.volume_attributes["internalName"] + "/lun0";
    auto lun = sim_->FindLun(path, svm_);
    if (!lun) lun = sim_->CreateLun(path, static_cast<uint64_t>(r.size_bytes), svm_);
    if (map_to_nodes) {
      std::vector<std::string> iqns;
      for (const auto& n : nodes_) iqns.push_back(NodeIqn(n));
      sim_->MapLunForLab(path, kNodeIgroup, iqns);
    }
    ProvisionedVolume v;
    v.volume_handle = h.volume_handle;
    v.volume_attributes = h.volume_attributes;
    v.data_path = lun->backing;
    log::Info("lab.arrays", "created ONTAP LUN for volume",
              {{"volume", r.pv_name}, {"lun", path}, {"naa", lun->naa}});
    return v;
  }

  std::shared_ptr<OntapSimulator> sim_;
  std::string svm_;
  std::vector<std::string> nodes_;
};

class OntapLabArray : public SimulatedArray {
 public:
  OntapLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    const std::string svm = spec.Option("svm", "svm0");
    sim::ontap::SimulatorOptions so;
    SetLabSimulatorOptions(spec, options, so);
    so.svms = {svm};
    auto sim = std::make_shared<OntapSimulator>(so);
    Start(sim, spec, options, so, kDriver);
    backend_ = std::make_shared<OntapBackend>(sim, svm, options.node_names);
    info_.secret["STORAGE_HOSTNAME"] = sim->host();
    info_.secret["ONTAP_SVM"] = svm;
    info_.details = {{"svm", svm}, {"nodeIgroup", kNodeIgroup}};
  }
};

}  // namespace

std::unique_ptr<LabArray> StartOntapLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<OntapLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

// HPE Primera/3PAR in the lab: the WSAPI simulator, and volumes shaped as the HPE CSI Driver makes
// them (volumeHandle = the PV name; the array's volume is named after its first 31 characters).
#include <memory>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "lab/arrays/simulated_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/primera3par/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::primera3par::Primera3parSimulator;

constexpr char kDriver[] = "csi.hpe.com";
constexpr char kNodeSet[] = "lab-nodes";

// The HPE CSI driver names the array volume after the first 31 characters of the handle.
std::string VolumeName(const std::string& handle) { return handle.substr(0, 31); }

class Primera3parBackend : public ArrayVolumeBackend {
 public:
  explicit Primera3parBackend(std::shared_ptr<Primera3parSimulator> sim) : sim_(std::move(sim)) {}

  void Delete(const Json& pv) override {
    std::string handle = GetString(pv, "/spec/csi/volumeHandle");
    if (!handle.empty()) sim_->DeleteVolume(VolumeName(handle));
  }

 private:
  ProvisionedVolume Provision(const VolumeRequest& r, bool map_to_nodes) override {
    HandleShape h = MakeHandle("hpe", r);
    const std::string name = VolumeName(h.volume_handle);
    auto vol = sim_->FindVolume(name);
    if (!vol) vol = sim_->CreateVolume(name, static_cast<uint64_t>(r.size_bytes));
    if (map_to_nodes) sim_->ExportForLab(name, std::string("set:") + kNodeSet);
    ProvisionedVolume v;
    v.volume_handle = h.volume_handle;
    v.volume_attributes = h.volume_attributes;
    v.data_path = vol->backing;
    log::Info("lab.arrays", "created Primera/3PAR volume for volume",
              {{"volume", r.pv_name}, {"arrayVolume", name}, {"naa", vol->naa}});
    return v;
  }

  std::shared_ptr<Primera3parSimulator> sim_;
};

class Primera3parLabArray : public SimulatedArray {
 public:
  Primera3parLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    sim::primera3par::SimulatorOptions so;
    SetLabSimulatorOptions(spec, options, so);
    auto sim = std::make_shared<Primera3parSimulator>(so);
    // The lab's nodes are hosts of the array (iSCSI), in one host set the CSI driver exports to.
    std::vector<std::string> members;
    for (const auto& n : options.node_names) {
      sim->CreateHostForLab(n, {}, {NodeIqn(n)});
      members.push_back(n);
    }
    sim->CreateHostSetForLab(kNodeSet, members);
    Start(sim, spec, options, so, kDriver);
    backend_ = std::make_shared<Primera3parBackend>(sim);
    info_.secret["STORAGE_HOSTNAME"] = sim->url();
    info_.details = {{"nodeHostSet", kNodeSet}};
  }
};

}  // namespace

std::unique_ptr<LabArray> StartPrimera3parLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<Primera3parLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

// Dell PowerFlex in the lab: the gateway REST API simulator, and volumes shaped as csi-vxflexos makes
// them (volumeHandle `<systemId>-<volumeId>`, volumeAttributes.Name = the array volume's name).
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "lab/arrays/simulated_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/powerflex/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::powerflex::PowerFlexSimulator;

constexpr char kDriver[] = "csi-vxflexos.dellemc.com";

// A stable SDC GUID for a lab node (the SDC of a Kubernetes node).
std::string NodeSdcGuid(const std::string& node) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : node) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-a%03llx-%012llx", (unsigned long long)(h >> 32),
                (unsigned long long)(h >> 16 & 0xffff), (unsigned long long)(h >> 4 & 0xfff),
                (unsigned long long)(h & 0xfff), (unsigned long long)(h * 31 & 0xffffffffffffull));
  return buf;
}

class PowerFlexBackend : public ArrayVolumeBackend {
 public:
  PowerFlexBackend(std::shared_ptr<PowerFlexSimulator> sim, std::string node_sdc)
      : sim_(std::move(sim)), node_sdc_(std::move(node_sdc)) {}

  void Delete(const Json& pv) override {
    std::string handle = GetString(pv, "/spec/csi/volumeHandle");
    size_t dash = handle.rfind('-');
    if (dash != std::string::npos) sim_->DeleteVolume(handle.substr(dash + 1));
  }

 private:
  ProvisionedVolume Provision(const VolumeRequest& r, bool map_to_nodes) override {
    // PowerFlex volume names have at most 31 characters.
    const std::string name = r.pv_name.substr(0, 31);
    auto vol = sim_->FindVolume(name);
    if (!vol) vol = sim_->CreateVolume(name, static_cast<uint64_t>(r.size_bytes));
    if (!node_sdc_.empty() && map_to_nodes) sim_->MapForLab(vol->id, node_sdc_);
    HandleShape h = MakeHandle("powerflex", r);
    ProvisionedVolume v;
    v.volume_handle = sim_->system_id() + "-" + vol->id;
    v.volume_attributes = h.volume_attributes;
    v.volume_attributes["Name"] = name;
    v.data_path = vol->backing;
    log::Info("lab.arrays", "created PowerFlex volume for volume",
              {{"volume", r.pv_name}, {"arrayVolume", vol->id}, {"eui", vol->eui}});
    return v;
  }

  std::shared_ptr<PowerFlexSimulator> sim_;
  std::string node_sdc_;
};

class PowerFlexLabArray : public SimulatedArray {
 public:
  PowerFlexLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    sim::powerflex::SimulatorOptions so;
    SetLabSimulatorOptions(spec, options, so);
    auto sim = std::make_shared<PowerFlexSimulator>(so);
    // The lab nodes run SDCs (Linux); the ESXi hosts' SDCs named with `sdc=` are connected too. A volume
    // is mapped to the first node's SDC, as csi-vxflexos maps it to the node that attaches it.
    std::string node_sdc;
    for (const auto& n : options.node_names) {
      auto sdc = sim->RegisterSdc(NodeSdcGuid(n), n, "Linux");
      if (node_sdc.empty()) node_sdc = sdc.id;
    }
    int esx = 0;
    for (auto [it, end] = spec.options.equal_range("sdc"); it != end; ++it) {
      sim->RegisterSdc(it->second, "esx-sdc-" + std::to_string(++esx), "Esx");
    }
    Start(sim, spec, options, so, kDriver);
    backend_ = std::make_shared<PowerFlexBackend>(sim, node_sdc);
    info_.secret["STORAGE_HOSTNAME"] = sim->host();
    info_.secret["POWERFLEX_SYSTEM_ID"] = sim->system_id();
    info_.details = {{"systemId", sim->system_id()}, {"nodeSdc", node_sdc}};
  }
};

}  // namespace

std::unique_ptr<LabArray> StartPowerFlexLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<PowerFlexLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

// Hitachi Vantara in the lab: the Configuration Manager REST API simulator, and volumes shaped as the
// Hitachi Storage Plug-in for Containers (hspc.csi.hitachi.com) makes them: volumeHandle
// `01--<protocol>--<storageDeviceId>--<ldevId>--<nickname>`.
#include <memory>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "lab/arrays/simulated_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/vantara/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::vantara::VantaraSimulator;

constexpr char kDriver[] = "hspc.csi.hitachi.com";
constexpr char kNodeGroup[] = "lab-nodes";
constexpr char kNodePort[] = "CL1-B";  // the iSCSI port the lab's nodes use

class VantaraBackend : public ArrayVolumeBackend {
 public:
  VantaraBackend(std::shared_ptr<VantaraSimulator> sim, int node_group)
      : sim_(std::move(sim)), node_group_(node_group) {}

  void Delete(const Json& pv) override {
    std::string handle = GetString(pv, "/spec/csi/volumeHandle");
    // 01--<protocol>--<storageDeviceId>--<ldevId>--<nickname>
    size_t a = handle.find("--");
    size_t b = a == std::string::npos ? a : handle.find("--", a + 2);
    size_t c = b == std::string::npos ? b : handle.find("--", b + 2);
    size_t d = c == std::string::npos ? c : handle.find("--", c + 2);
    if (d == std::string::npos) return;
    sim_->DeleteLdev(std::atoi(handle.substr(c + 2, d - c - 2).c_str()));
  }

 private:
  ProvisionedVolume Provision(const VolumeRequest& r, bool map_to_nodes) override {
    // HSPC names the LDEV after the PV (its label, the handle's nickname).
    const std::string nickname = r.pv_name.substr(0, 32);
    auto ldev = sim_->FindLdevByLabel(nickname);
    if (!ldev) ldev = sim_->CreateLdev(static_cast<uint64_t>(r.size_bytes), nickname);
    if (map_to_nodes) sim_->AddLuPathForLab(kNodePort, node_group_, ldev->id);
    auto protocol = r.parameters.find("lab.hoist.io/protocol");
    HandleShape h = MakeHandle("vantara", r);
    ProvisionedVolume v;
    v.volume_handle = "01--" + (protocol == r.parameters.end() ? std::string("iscsi") : protocol->second) +
                      "--" + sim_->storage_device_id() + "--" + std::to_string(ldev->id) + "--" + nickname;
    v.volume_attributes = h.volume_attributes;
    v.volume_attributes["ldevIDDec"] = std::to_string(ldev->id);
    v.data_path = ldev->backing;
    log::Info("lab.arrays", "created Vantara LDEV for volume",
              {{"volume", r.pv_name}, {"ldev", ldev->id}, {"naa", ldev->naa}});
    return v;
  }

  std::shared_ptr<VantaraSimulator> sim_;
  int node_group_;
};

class VantaraLabArray : public SimulatedArray {
 public:
  VantaraLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    sim::vantara::SimulatorOptions so;
    SetLabSimulatorOptions(spec, options, so);
    auto sim = std::make_shared<VantaraSimulator>(so);
    // The lab's nodes reach the array through an iSCSI target on CL1-B; the ESXi hosts' FC ports
    // named with `login=` are zoned to every FC port.
    std::vector<std::string> iqns;
    for (const auto& n : options.node_names) iqns.push_back(NodeIqn(n));
    int group = sim->EnsureHostGroupForLab(kNodePort, kNodeGroup, iqns);
    for (auto [it, end] = spec.options.equal_range("login"); it != end; ++it) sim->LoginForLab(it->second);
    Start(sim, spec, options, so, kDriver, "/ConfigurationManager");
    backend_ = std::make_shared<VantaraBackend>(sim, group);
    info_.secret["STORAGE_HOSTNAME"] = "127.0.0.1";
    info_.secret["STORAGE_PORT"] = std::to_string(sim->port());
    info_.secret["STORAGE_ID"] = sim->storage_device_id();
    info_.details = {{"storageDeviceId", sim->storage_device_id()},
                     {"nodeHostGroup", std::string(kNodePort) + "," + std::to_string(group)}};
  }
};

}  // namespace

std::unique_ptr<LabArray> StartVantaraLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<VantaraLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

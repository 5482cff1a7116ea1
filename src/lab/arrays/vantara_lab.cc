// Hitachi Vantara in the lab: the Configuration Manager REST API simulator, and volumes shaped as the
// Hitachi Storage Plug-in for Containers (hspc.csi.hitachi.com) makes them: volumeHandle
// `01--<protocol>--<storageDeviceId>--<ldevId>--<nickname>`.
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "lab/arrays/lab_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/vantara/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::vantara::VantaraSimulator;

constexpr char kDriver[] = "hspc.csi.hitachi.com";
constexpr char kNodeGroup[] = "lab-nodes";
constexpr char kNodePort[] = "CL1-B";  // the iSCSI port the lab's nodes use

std::string Param(const std::map<std::string, std::string>& p, const std::string& key,
                  const std::string& fallback = "") {
  auto it = p.find(key);
  return it == p.end() ? fallback : it->second;
}

class VantaraBackend : public VolumeBackend {
 public:
  VantaraBackend(std::shared_ptr<VantaraSimulator> sim, int node_group)
      : sim_(std::move(sim)), node_group_(node_group) {}

  ProvisionedVolume Create(const VolumeRequest& r) override {
    if (!r.block) {
      throw PreconditionError(
          "lab array classes provision raw block volumes: set volumeMode: Block on claim " +
          r.claim_namespace + "/" + r.claim_name);
    }
    // HSPC names the LDEV after the PV (its label, the handle's nickname).
    const std::string nickname = r.pv_name.substr(0, 32);
    auto ldev = sim_->FindLdevByLabel(nickname);
    if (!ldev) ldev = sim_->CreateLdev(static_cast<uint64_t>(r.size_bytes), nickname);
    if (Param(r.parameters, "lab.hoist.io/map-to-nodes", "true") == "true") {
      sim_->AddLuPathForLab(kNodePort, node_group_, ldev->id);
    }
    HandleShape h = MakeHandle("vantara", r);
    ProvisionedVolume v;
    v.volume_handle = "01--" + Param(r.parameters, "lab.hoist.io/protocol", "iscsi") + "--" +
                      sim_->storage_device_id() + "--" + std::to_string(ldev->id) + "--" + nickname;
    v.volume_attributes = h.volume_attributes;
    v.volume_attributes["ldevIDDec"] = std::to_string(ldev->id);
    v.data_path = ldev->backing;
    log::Info("lab.arrays", "created Vantara LDEV for volume",
              {{"volume", r.pv_name}, {"ldev", ldev->id}, {"naa", ldev->naa}});
    return v;
  }

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
  std::shared_ptr<VantaraSimulator> sim_;
  int node_group_;
};

class VantaraLabArray : public LabArray {
 public:
  VantaraLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    sim::vantara::SimulatorOptions so;
    so.state_dir = options.state_dir;
    so.lun_dir = options.state_dir + "/luns";
    so.san_dir = options.san_dir;
    so.username = "maintenance";
    so.password = LoadOrCreatePassword(options.state_dir + "/password");
    so.array_name = spec.name;
    so.port = spec.port;
    sim_ = std::make_shared<VantaraSimulator>(so);
    // The lab's nodes reach the array through an iSCSI target on CL1-B; the ESXi hosts' FC ports
    // named with `login=` are zoned to every FC port.
    std::vector<std::string> iqns;
    for (const auto& n : options.node_names) iqns.push_back(NodeIqn(n));
    int group = sim_->EnsureHostGroupForLab(kNodePort, kNodeGroup, iqns);
    for (auto [it, end] = spec.options.equal_range("login"); it != end; ++it) sim_->LoginForLab(it->second);
    sim_->Start();
    backend_ = std::make_shared<VantaraBackend>(sim_, group);

    info_.name = spec.name;
    info_.vendor = "vantara";
    info_.driver = kDriver;
    info_.storage_class = spec.name;
    info_.url = "https://" + sim_->host() + "/ConfigurationManager";
    info_.port = sim_->port();
    info_.username = so.username;
    info_.password = so.password;
    info_.ca_pem = sim_->ca_pem();
    info_.ca_file = options.state_dir + "/tls.crt";
    info_.state_dir = options.state_dir;
    info_.secret = {{"STORAGE_HOSTNAME", "127.0.0.1"},         {"STORAGE_PORT", std::to_string(sim_->port())},
                    {"STORAGE_ID", sim_->storage_device_id()}, {"STORAGE_USERNAME", so.username},
                    {"STORAGE_PASSWORD", so.password},         {"STORAGE_CA_CERT", sim_->ca_pem()}};
    info_.details = {{"storageDeviceId", sim_->storage_device_id()},
                     {"nodeHostGroup", std::string(kNodePort) + "," + std::to_string(group)}};
  }

  const ArrayInfo& info() const override { return info_; }
  std::shared_ptr<VolumeBackend> backend() override { return backend_; }
  void Stop() override { sim_->Stop(); }
  void InjectFaultForTest(const sim::common::Fault& fault) override { sim_->InjectFaultForTest(fault); }

 private:
  std::shared_ptr<VantaraSimulator> sim_;
  std::shared_ptr<VantaraBackend> backend_;
  ArrayInfo info_;
};

}  // namespace

std::unique_ptr<LabArray> StartVantaraLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<VantaraLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

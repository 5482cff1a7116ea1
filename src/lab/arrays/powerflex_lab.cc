// Dell PowerFlex in the lab: the gateway REST API simulator, and volumes shaped as csi-vxflexos makes
// them (volumeHandle `<systemId>-<volumeId>`, volumeAttributes.Name = the array volume's name).
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "lab/arrays/lab_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/powerflex/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::powerflex::PowerFlexSimulator;

constexpr char kDriver[] = "csi-vxflexos.dellemc.com";

std::string Param(const std::map<std::string, std::string>& p, const std::string& key,
                  const std::string& fallback = "") {
  auto it = p.find(key);
  return it == p.end() ? fallback : it->second;
}

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

class PowerFlexBackend : public VolumeBackend {
 public:
  PowerFlexBackend(std::shared_ptr<PowerFlexSimulator> sim, std::string node_sdc)
      : sim_(std::move(sim)), node_sdc_(std::move(node_sdc)) {}

  ProvisionedVolume Create(const VolumeRequest& r) override {
    if (!r.block) {
      throw PreconditionError(
          "lab array classes provision raw block volumes: set volumeMode: Block on claim " +
          r.claim_namespace + "/" + r.claim_name);
    }
    // PowerFlex volume names have at most 31 characters.
    const std::string name = r.pv_name.substr(0, 31);
    auto vol = sim_->FindVolume(name);
    if (!vol) vol = sim_->CreateVolume(name, static_cast<uint64_t>(r.size_bytes));
    if (!node_sdc_.empty() && Param(r.parameters, "lab.hoist.io/map-to-nodes", "true") == "true") {
      sim_->MapForLab(vol->id, node_sdc_);
    }
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

  void Delete(const Json& pv) override {
    std::string handle = GetString(pv, "/spec/csi/volumeHandle");
    size_t dash = handle.rfind('-');
    if (dash != std::string::npos) sim_->DeleteVolume(handle.substr(dash + 1));
  }

 private:
  std::shared_ptr<PowerFlexSimulator> sim_;
  std::string node_sdc_;
};

class PowerFlexLabArray : public LabArray {
 public:
  PowerFlexLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    sim::powerflex::SimulatorOptions so;
    so.state_dir = options.state_dir;
    so.lun_dir = options.state_dir + "/luns";
    so.san_dir = options.san_dir;
    so.username = "admin";
    so.password = LoadOrCreatePassword(options.state_dir + "/password");
    so.array_name = spec.name;
    so.port = spec.port;
    sim_ = std::make_shared<PowerFlexSimulator>(so);
    // The lab nodes run SDCs (Linux); the ESXi hosts' SDCs named with `sdc=` are connected too. A volume
    // is mapped to the first node's SDC, as csi-vxflexos maps it to the node that attaches it.
    std::string node_sdc;
    for (const auto& n : options.node_names) {
      auto sdc = sim_->RegisterSdc(NodeSdcGuid(n), n, "Linux");
      if (node_sdc.empty()) node_sdc = sdc.id;
    }
    int esx = 0;
    for (auto [it, end] = spec.options.equal_range("sdc"); it != end; ++it) {
      sim_->RegisterSdc(it->second, "esx-sdc-" + std::to_string(++esx), "Esx");
    }
    sim_->Start();
    backend_ = std::make_shared<PowerFlexBackend>(sim_, node_sdc);

    info_.name = spec.name;
    info_.vendor = "powerflex";
    info_.driver = kDriver;
    info_.storage_class = spec.name;
    info_.url = "https://" + sim_->host();
    info_.port = sim_->port();
    info_.username = so.username;
    info_.password = so.password;
    info_.ca_pem = sim_->ca_pem();
    info_.ca_file = options.state_dir + "/tls.crt";
    info_.state_dir = options.state_dir;
    info_.secret = {{"STORAGE_HOSTNAME", sim_->host()},
                    {"STORAGE_USERNAME", so.username},
                    {"STORAGE_PASSWORD", so.password},
                    {"STORAGE_CA_CERT", sim_->ca_pem()},
                    {"POWERFLEX_SYSTEM_ID", sim_->system_id()}};
    info_.details = {{"systemId", sim_->system_id()}, {"nodeSdc", node_sdc}};
  }

  const ArrayInfo& info() const override { return info_; }
  std::shared_ptr<VolumeBackend> backend() override { return backend_; }
  void Stop() override { sim_->Stop(); }
  void InjectFaultForTest(const sim::common::Fault& fault) override { sim_->InjectFaultForTest(fault); }

 private:
  std::shared_ptr<PowerFlexSimulator> sim_;
  std::shared_ptr<PowerFlexBackend> backend_;
  ArrayInfo info_;
};

}  // namespace

std::unique_ptr<LabArray> StartPowerFlexLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<PowerFlexLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

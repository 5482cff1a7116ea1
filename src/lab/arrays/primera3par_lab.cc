// HPE Primera/3PAR in the lab: the WSAPI simulator, and volumes shaped as the HPE CSI Driver makes
// them (volumeHandle = the PV name; the array's volume is named after its first 31 characters).
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "lab/arrays/lab_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/primera3par/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::primera3par::Primera3parSimulator;

constexpr char kDriver[] = "csi.hpe.com";
constexpr char kNodeSet[] = "lab-nodes";

std::string Param(const std::map<std::string, std::string>& p, const std::string& key,
                  const std::string& fallback = "") {
  auto it = p.find(key);
  return it == p.end() ? fallback : it->second;
}

// The HPE CSI driver names the array volume after the first 31 characters of the handle.
std::string VolumeName(const std::string& handle) { return handle.substr(0, 31); }

class Primera3parBackend : public VolumeBackend {
 public:
  explicit Primera3parBackend(std::shared_ptr<Primera3parSimulator> sim) : sim_(std::move(sim)) {}

  ProvisionedVolume Create(const VolumeRequest& r) override {
    if (!r.block) {
      throw PreconditionError(
          "lab array classes provision raw block volumes: set volumeMode: Block on claim " +
          r.claim_namespace + "/" + r.claim_name);
    }
    HandleShape h = MakeHandle("hpe", r);
    const std::string name = VolumeName(h.volume_handle);
    auto vol = sim_->FindVolume(name);
    if (!vol) vol = sim_->CreateVolume(name, static_cast<uint64_t>(r.size_bytes));
    if (Param(r.parameters, "lab.hoist.io/map-to-nodes", "true") == "true") {
      sim_->ExportForLab(name, std::string("set:") + kNodeSet);
    }
    ProvisionedVolume v;
    v.volume_handle = h.volume_handle;
    v.volume_attributes = h.volume_attributes;
    v.data_path = vol->backing;
    log::Info("lab.arrays", "created Primera/3PAR volume for volume",
              {{"volume", r.pv_name}, {"arrayVolume", name}, {"naa", vol->naa}});
    return v;
  }

  void Delete(const Json& pv) override {
    std::string handle = GetString(pv, "/spec/csi/volumeHandle");
    if (!handle.empty()) sim_->DeleteVolume(VolumeName(handle));
  }

 private:
  std::shared_ptr<Primera3parSimulator> sim_;
};

class Primera3parLabArray : public LabArray {
 public:
  Primera3parLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    sim::primera3par::SimulatorOptions so;
    so.state_dir = options.state_dir;
    so.lun_dir = options.state_dir + "/luns";
    so.san_dir = options.san_dir;
    so.username = "3paradm";
    so.password = LoadOrCreatePassword(options.state_dir + "/password");
    so.array_name = spec.name;
    so.port = spec.port;
    sim_ = std::make_shared<Primera3parSimulator>(so);
    // The lab's nodes are hosts of the array (iSCSI), in one host set the CSI driver exports to.
    std::vector<std::string> members;
    for (const auto& n : options.node_names) {
      sim_->CreateHostForLab(n, {}, {NodeIqn(n)});
      members.push_back(n);
    }
    sim_->CreateHostSetForLab(kNodeSet, members);
    sim_->Start();
    backend_ = std::make_shared<Primera3parBackend>(sim_);

    info_.name = spec.name;
    info_.vendor = "primera3par";
    info_.driver = kDriver;
    info_.storage_class = spec.name;
    info_.url = sim_->url();
    info_.port = sim_->port();
    info_.username = so.username;
    info_.password = so.password;
    info_.ca_pem = sim_->ca_pem();
    info_.ca_file = options.state_dir + "/tls.crt";
    info_.state_dir = options.state_dir;
    info_.secret = {{"STORAGE_HOSTNAME", sim_->url()},
                    {"STORAGE_USERNAME", so.username},
                    {"STORAGE_PASSWORD", so.password},
                    {"STORAGE_CA_CERT", sim_->ca_pem()}};
    info_.details = {{"nodeHostSet", kNodeSet}};
  }

  const ArrayInfo& info() const override { return info_; }
  std::shared_ptr<VolumeBackend> backend() override { return backend_; }
  void Stop() override { sim_->Stop(); }
  void InjectFaultForTest(const sim::common::Fault& fault) override { sim_->InjectFaultForTest(fault); }

 private:
  std::shared_ptr<Primera3parSimulator> sim_;
  std::shared_ptr<Primera3parBackend> backend_;
  ArrayInfo info_;
};

}  // namespace

std::unique_ptr<LabArray> StartPrimera3parLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<Primera3parLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

// ONTAP in the lab: the ONTAP REST simulator, and volumes shaped as Trident's ontap-san driver makes
// them (volumeHandle = the PV name, volumeAttributes.internalName = trident_pvc_…, LUN
// /vol/<internalName>/lun0).
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "lab/arrays/lab_array.h"
#include "lab/cluster_objects.h"
#include "lab/sim/ontap/simulator.h"

namespace hoist::lab::arrays {
namespace {

using sim::ontap::OntapSimulator;

constexpr char kDriver[] = "csi.trident.netapp.io";
constexpr char kNodeIgroup[] = "lab-nodes";

std::string Param(const std::map<std::string, std::string>& p, const std::string& key,
                  const std::string& fallback = "") {
  auto it = p.find(key);
  return it == p.end() ? fallback : it->second;
}

class OntapBackend : public VolumeBackend {
 public:
  OntapBackend(std::shared_ptr<OntapSimulator> sim, std::string svm, std::vector<std::string> nodes)
      : sim_(std::move(sim)), svm_(std::move(svm)), nodes_(std::move(nodes)) {}

  ProvisionedVolume Create(const VolumeRequest& r) override {
    if (!r.block) {
      throw PreconditionError(
          "lab array classes provision raw block volumes: set volumeMode: Block on claim " +
          r.claim_namespace + "/" + r.claim_name);
    }
    HandleShape h = MakeHandle("trident", r);
    const std::string path = "/vol/" + h.volume_attributes["internalName"] + "/lun0";
    auto lun = sim_->FindLun(path, svm_);
    if (!lun) lun = sim_->CreateLun(path, static_cast<uint64_t>(r.size_bytes), svm_);
    if (Param(r.parameters, "lab.hoist.io/map-to-nodes", "true") == "true") {
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

  void Delete(const Json& pv) override {
    std::string internal = GetString(pv, "/spec/csi/volumeAttributes/internalName");
    if (internal.empty()) return;
    sim_->DeleteLun("/vol/" + internal + "/lun0", svm_);
  }

 private:
  std::shared_ptr<OntapSimulator> sim_;
  std::string svm_;
  std::vector<std::string> nodes_;
};

class OntapLabArray : public LabArray {
 public:
  OntapLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
    const std::string svm = spec.Option("svm", "svm0");
    sim::ontap::SimulatorOptions so;
    so.state_dir = options.state_dir;
    so.lun_dir = options.state_dir + "/luns";
    so.san_dir = options.san_dir;
    so.username = "admin";
    so.password = LoadOrCreatePassword(options.state_dir + "/password");
    so.svms = {svm};
    so.array_name = spec.name;
    so.port = spec.port;
    sim_ = std::make_shared<OntapSimulator>(so);
    sim_->Start();
    backend_ = std::make_shared<OntapBackend>(sim_, svm, options.node_names);

    info_.name = spec.name;
    info_.vendor = "ontap";
    info_.driver = kDriver;
    info_.storage_class = spec.name;
    info_.url = sim_->url();
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
                    {"ONTAP_SVM", svm}};
    info_.details = {{"svm", svm}, {"nodeIgroup", kNodeIgroup}};
  }

  const ArrayInfo& info() const override { return info_; }
  std::shared_ptr<VolumeBackend> backend() override { return backend_; }
  void Stop() override { sim_->Stop(); }
  void InjectFaultForTest(const sim::common::Fault& fault) override { sim_->InjectFaultForTest(fault); }

 private:
  std::shared_ptr<OntapSimulator> sim_;
  std::shared_ptr<OntapBackend> backend_;
  ArrayInfo info_;
};

}  // namespace

std::unique_ptr<LabArray> StartOntapLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  return std::make_unique<OntapLabArray>(spec, options);
}

}  // namespace hoist::lab::arrays

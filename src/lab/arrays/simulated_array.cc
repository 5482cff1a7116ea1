#include "lab/arrays/simulated_array.h"

#include "core/error.h"

namespace hoist::lab::arrays {

void SetLabSimulatorOptions(const ArraySpec& spec, const LabArrayOptions& options,
                            sim::common::SimulatorOptionsBase& so) {
  so.state_dir = options.state_dir;
  so.lun_dir = options.state_dir + "/luns";
  so.san_dir = options.san_dir;
  so.password = LoadOrCreatePassword(options.state_dir + "/password");
  so.array_name = spec.name;
  so.port = spec.port;
}

ProvisionedVolume ArrayVolumeBackend::Create(const VolumeRequest& r) {
  if (!r.block) {
    throw PreconditionError("lab array classes provision raw block volumes: set volumeMode: Block on claim " +
                            r.claim_namespace + "/" + r.claim_name);
  }
  auto it = r.parameters.find("lab.hoist.io/map-to-nodes");
  return Provision(r, it == r.parameters.end() || it->second == "true");
}

void SimulatedArray::Start(std::shared_ptr<sim::common::ArraySimulator> simulator, const ArraySpec& spec,
                           const LabArrayOptions& options, const sim::common::SimulatorOptionsBase& so,
                           std::string driver, const std::string& url_path) {
  simulator_ = std::move(simulator);
  simulator_->Start();
  info_.name = spec.name;
  info_.vendor = spec.vendor;
  info_.driver = std::move(driver);
  info_.storage_class = spec.name;
  info_.url = simulator_->url() + url_path;
  info_.port = simulator_->port();
  info_.username = so.username;
  info_.password = so.password;
  info_.ca_pem = simulator_->ca_pem();
  info_.ca_file = options.state_dir + "/tls.crt";
  info_.state_dir = options.state_dir;
  info_.secret = {{"STORAGE_USERNAME", so.username},
                  {"STORAGE_PASSWORD", so.password},
                  {"STORAGE_CA_CERT", simulator_->ca_pem()}};
}

}  // namespace hoist::lab::arrays

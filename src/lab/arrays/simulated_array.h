#pragma once
// What the vendors' lab arrays (<vendor>_lab.cc) share: a running simulator behind the LabArray
// interface, the ArrayInfo every vendor fills the same way, and the rules of every array class's
// volume backend (raw block claims only; the node mapping unless the class turns it off).
#include <memory>
#include <string>

#include "lab/arrays/lab_array.h"
#include "lab/provisioner.h"
#include "lab/sim/common/sim_common.h"

namespace hoist::lab::arrays {

// The simulator options a lab array sets for every vendor: the state directory (certificate, objects),
// LUN files below it, the lab SAN directory, the array user's password kept across restarts, the
// array's name on the SAN and the port. The user name stays the vendor's default.
void SetLabSimulatorOptions(const ArraySpec& spec, const LabArrayOptions& options,
                            sim::common::SimulatorOptionsBase& so);

// A volume backend on an array: Create refuses anything but a raw block claim, then Provision makes the
// array's LUN (mapped to the lab's nodes, as the CSI driver maps an attached volume, unless the class
// parameter lab.hoist.io/map-to-nodes is "false").
class ArrayVolumeBackend : public VolumeBackend {
 public:
  ProvisionedVolume Create(const VolumeRequest& request) final;

 protected:
  virtual ProvisionedVolume Provision(const VolumeRequest& request, bool map_to_nodes) = 0;
};

class SimulatedArray : public LabArray {
 public:
  const ArrayInfo& info() const override { return info_; }
  std::shared_ptr<VolumeBackend> backend() override { return backend_; }
  void Stop() override { simulator_->Stop(); }
  void InjectFaultForTest(const sim::common::Fault& fault) override { simulator_->InjectFaultForTest(fault); }

 protected:
  // Starts the simulator and fills in what every vendor's ArrayInfo has: the array's name, vendor, CSI
  // driver and StorageClass, the URL of its API (the simulator's URL + `url_path`), the user, the CA,
  // the state directory, and the secret's STORAGE_USERNAME, STORAGE_PASSWORD and STORAGE_CA_CERT. The
  // vendor adds STORAGE_HOSTNAME (in its API's form), its own keys and the details.
  void Start(std::shared_ptr<sim::common::ArraySimulator> simulator, const ArraySpec& spec,
             const LabArrayOptions& options, const sim::common::SimulatorOptionsBase& so, std::string driver,
             const std::string& url_path = "");

  std::shared_ptr<VolumeBackend> backend_;
  ArrayInfo info_;

 private:
  std::shared_ptr<sim::common::ArraySimulator> simulator_;
};

}  // namespace hoist::lab::arrays

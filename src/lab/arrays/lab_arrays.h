#pragma once
// The arrays of a running lab cluster (`hoist lab up --array NAME=VENDOR …`): starts each simulator,
// registers its volume backend with the lab's provisioner under NAME, creates StorageClass NAME whose
// provisioner is the vendor's CSI driver name, and writes DIR/arrays.json for tests and the demo.
//
//   DIR/arrays.json          {"sanDir": "DIR/san", "arrays": {"<name>": {vendor, driver, storageClass, url,
//                            port, username, password, caFile, stateDir, secret{…}, details{…}}}}
//   DIR/arrays/<name>/       the simulator's certificate, password, objects (state.json) and LUN files
//   DIR/san/                 the SAN directory the simulators write and the lab vCenter reads
#include <memory>
#include <string>
#include <vector>

#include "lab/arrays/lab_array.h"

namespace hoist::lab {
class Cluster;
}

namespace hoist::lab::arrays {

class LabArrays {
 public:
  // Starts the arrays for a started cluster. Throws hoist::Error (nothing is left running then).
  LabArrays(Cluster& cluster, const std::vector<ArraySpec>& specs);
  ~LabArrays();  // Stop()
  LabArrays(const LabArrays&) = delete;
  LabArrays& operator=(const LabArrays&) = delete;

  void Stop();
  const std::vector<std::unique_ptr<LabArray>>& arrays() const { return arrays_; }
  const std::string& san_dir() const { return san_dir_; }
  const std::string& json_path() const { return json_path_; }

 private:
  std::vector<std::unique_ptr<LabArray>> arrays_;
  std::string san_dir_;
  std::string json_path_;
};

// The StorageClass the lab creates for an array.
nlohmann::json StorageClassFor(const ArrayInfo& info);

}  // namespace hoist::lab::arrays

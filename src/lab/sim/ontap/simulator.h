#pragma once
// An ONTAP REST API stand-in for the lab: SVMs, LUNs backed by sparse files, igroups and LUN maps,
// with ONTAP's JSON shapes (records/num_records/_links, error {code,message,target}), HTTP Basic auth,
// `_links.next` pagination and injectable faults. Mapping a LUN to an igroup presents it to every
// initiator of the igroup through the lab SAN directory (`<san-dir>/<initiator>/<naa>`, see ../README.md),
// so the lab vCenter's hosts see the LUN after a rescan; unmapping removes the entries.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab/sim/common/sim_common.h"

namespace hoist::lab::sim::ontap {

struct SimulatorOptions : common::SimulatorOptionsBase {
  SimulatorOptions() {
    username = "admin";
    password = "netapp1!";
    array_name = "ontap1";
  }
  std::vector<std::string> svms = {"svm0"};
  size_t page_size = 20;  // records per page; more are behind _links.next
};

// An injected fault; the answer carries an ONTAP error body.
using Fault = common::Fault;

struct SimLun {
  std::string uuid;
  std::string name;  // /vol/<flexvol>/<lun>
  std::string svm;
  std::string serial;   // 12 characters
  std::string naa;      // naa.600a0980 + hex(serial)
  std::string backing;  // sparse file
  uint64_t size_bytes = 0;
};

// Start, Stop, port, host (what STORAGE_HOSTNAME holds), url, ca_pem and the fault hooks: ArraySimulator.
class OntapSimulator : public common::ArraySimulator {
 public:
  explicit OntapSimulator(SimulatorOptions options);
  ~OntapSimulator() override;

  // Creates a LUN (a sparse file of `size_bytes`) in `svm` (default: the first SVM).
  SimLun CreateLun(const std::string& path, uint64_t size_bytes, const std::string& svm = "");

  // What a storage administrator or the CSI driver does on the array itself (the lab's volume backend).
  std::optional<SimLun> FindLun(const std::string& path, const std::string& svm = "") const;
  // Removes the LUN, its mappings (and their SAN entries) and its backing file. Missing: no-op.
  void DeleteLun(const std::string& path, const std::string& svm = "");
  // Maps the LUN to igroup `igroup` (created as an iSCSI igroup when missing, in the LUN's SVM) holding
  // at least `initiators` — the mapping a CSI driver makes when a node attaches the volume.
  void MapLunForLab(const std::string& path, const std::string& igroup,
                    const std::vector<std::string>& initiators);

  // "igroup-name:lun-id" of each mapping of the LUN, sorted.
  std::vector<std::string> MappingsForTest(const std::string& lun_path) const;

 private:
  common::Reply Handle(const net::ServerRequest& request) override;
  common::Reply FaultReply(int status) override;
  common::Reply InternalError(const std::string& what) override;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::ontap

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

struct SimulatorOptions {
  std::string lun_dir;  // where LUN backing files live (created if missing)
  std::string san_dir;  // the lab SAN directory; empty: LUNs are presented to nobody
  std::string username = "admin";
  std::string password = "netapp1!";
  std::vector<std::string> svms = {"svm0"};
  std::string array_name = "ontap1";  // the SAN entries' "array" (same array ⇒ XCOPY in the lab vCenter)
  bool tls = true;                    // https with a self-signed certificate for 127.0.0.1/localhost
  size_t page_size = 20;              // records per page; more are behind _links.next
  uint16_t port = 0;
  // Keeps the certificate (tls.crt, tls.key) and the array's objects (state.json) across restarts;
  // empty: a fresh certificate and an empty array each time.
  std::string state_dir;
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

class OntapSimulator {
 public:
  explicit OntapSimulator(SimulatorOptions options);
  ~OntapSimulator();
  OntapSimulator(const OntapSimulator&) = delete;
  OntapSimulator& operator=(const OntapSimulator&) = delete;

  void Start();
  void Stop();
  uint16_t port() const;
  std::string url() const;            // https://127.0.0.1:<port>
  std::string host() const;           // 127.0.0.1:<port>, what STORAGE_HOSTNAME would hold
  const std::string& ca_pem() const;  // the self-signed certificate clients trust

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

  // Test hooks.
  void InjectFaultForTest(Fault fault);
  // Requests seen whose method (empty: any) and path prefix match.
  int RequestCountForTest(std::string_view method, std::string_view path_prefix) const;
  // "igroup-name:lun-id" of each mapping of the LUN, sorted.
  std::vector<std::string> MappingsForTest(const std::string& lun_path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::ontap

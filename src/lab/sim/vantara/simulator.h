#pragma once
// A Hitachi Configuration Manager REST API stand-in for the lab (one storage system): sessions
// (Basic auth → token, `Authorization: Session <token>`), asynchronous jobs for every change (202 with a
// job that reads Running for a few polls, then Completed with state Succeeded or Failed and the
// storage's SSB codes), LDEVs backed by sparse files, FC and iSCSI target ports with host logins, host
// groups / iSCSI targets with WWNs and iSCSI names, LU paths, and injectable faults (503 "busy"
// included). An LU path presents the LDEV to every WWN / iSCSI name of its host group through the lab
// SAN directory (`<san-dir>/<initiator>/<naa>`, see ../README.md).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab/sim/common/sim_common.h"

namespace hoist::lab::sim::vantara {

struct SimPort {
  std::string id;    // CL1-A
  std::string type;  // FIBRE or ISCSI
};

struct SimulatorOptions : common::SimulatorOptionsBase {
  SimulatorOptions() {
    username = "maintenance";
    password = "raid-maintenance";
    array_name = "vsp1";
  }
  std::string storage_device_id = "800000012345";
  std::string model = "VSP E990";
  std::vector<SimPort> ports = {
      {"CL1-A", "FIBRE"}, {"CL2-A", "FIBRE"}, {"CL1-B", "ISCSI"}, {"CL2-B", "ISCSI"}};
  int job_polls = 1;  // polls of a new job that still read "Running"
};

// An injected fault; the answer carries a REST API error body (503: KART00003-E, the server is busy).
using Fault = common::Fault;

struct SimLdev {
  int id = 0;
  std::string label;
  std::string naa_id;  // 32 hex digits, upper case, 60060E80…
  std::string naa;     // naa.<naa_id lower case>
  std::string backing;
  uint64_t size_bytes = 0;
};

// Start, Stop, port, host, ca_pem and the fault hooks: ArraySimulator.
class VantaraSimulator : public common::ArraySimulator {
 public:
  explicit VantaraSimulator(SimulatorOptions options);
  ~VantaraSimulator() override;

  const std::string& storage_device_id() const;

  // What a storage administrator, the fabric or the CSI driver does.
  SimLdev CreateLdev(uint64_t size_bytes, const std::string& label);
  std::optional<SimLdev> FindLdevByLabel(const std::string& label) const;
  void DeleteLdev(int id);  // and its LU paths
  // The FC initiator logs in to port (zoning); without a port: to every FC port.
  void LoginForLab(const std::string& wwpn, const std::string& port = "");
  // Host group `name` on `port` (created with `host_mode` when missing) holding `initiators` (WWPNs for
  // FC ports, iSCSI names for iSCSI ports). Returns its number.
  int EnsureHostGroupForLab(const std::string& port, const std::string& name,
                            const std::vector<std::string>& initiators,
                            const std::string& host_mode = "LINUX/IRIX");
  void AddLuPathForLab(const std::string& port, int host_group, int ldev);

  // Test hooks.
  void ExpireSessionsForTest();  // every token becomes invalid (401)
  int SessionCountForTest() const;
  void FailNextJobForTest(std::string ssb1, std::string ssb2, std::string message);
  // "<port>,<hg>,<lun>" of each LU path of the LDEV, sorted.
  std::vector<std::string> PathsForTest(int ldev) const;
  // "<port>,<hg>:<name>:<hostMode>:<options>:<initiators>" of every host group, sorted.
  std::vector<std::string> HostGroupsForTest() const;

 private:
  common::Reply Handle(const net::ServerRequest& request) override;
  common::Reply FaultReply(int status) override;
  common::Reply InternalError(const std::string& what) override;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::vantara

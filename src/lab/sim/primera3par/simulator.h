#pragma once
// An HPE Primera / 3PAR Web Services API (WSAPI) stand-in for the lab: session keys
// (POST /api/v1/credentials, header X-HP3PAR-WSAPI-SessionKey), virtual volumes backed by sparse files,
// hosts with FC and iSCSI paths, host sets, VLUNs, WSAPI's error body {"code","desc"}, host and VLUN
// queries, and injectable faults. Exporting a volume presents it to every path of every host the VLUN
// reaches through the lab SAN directory (`<san-dir>/<initiator>/<naa>`, see ../README.md).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab/sim/common/sim_common.h"

namespace hoist::lab::sim::primera3par {

struct SimulatorOptions : common::SimulatorOptionsBase {
  SimulatorOptions() {
    username = "3paradm";
    password = "3pardata";
    array_name = "primera1";
  }
  std::string model = "HPE Primera 630";
  std::string system_version = "4.5.10";
  // Older WSAPI releases answer `?query=` with 400; the client must then filter whole lists.
  bool queries = true;
  // Primera takes `autoLun` and picks the next free LUN id from `lun`; false: 3PAR OS, which exports at
  // `lun` and refuses a taken one (409 code 30).
  bool auto_lun = true;
};

// An injected fault; the answer carries a WSAPI error body.
using Fault = common::Fault;

struct SimVolume {
  int id = 0;
  std::string name;
  std::string wwn;  // 32 hex digits, upper case, 60002AC…
  std::string naa;  // naa.<wwn lower case>
  std::string backing;
  uint64_t size_bytes = 0;
};

// Start, Stop, port, url (what STORAGE_HOSTNAME holds: WSAPI takes the URL), ca_pem and the fault
// hooks: ArraySimulator.
class Primera3parSimulator : public common::ArraySimulator {
 public:
  explicit Primera3parSimulator(SimulatorOptions options);
  ~Primera3parSimulator() override;

  // What a storage administrator or the CSI driver does on the array itself.
  SimVolume CreateVolume(const std::string& name, uint64_t size_bytes);
  std::optional<SimVolume> FindVolume(const std::string& name) const;
  void DeleteVolume(const std::string& name);  // and its VLUNs
  // Defines host `name` with FC WWPNs or iSCSI names (a brownfield host: zoned and defined already).
  void CreateHostForLab(const std::string& name, const std::vector<std::string>& wwpns,
                        const std::vector<std::string>& iqns);
  // Defines host set `name` (when missing) and adds `members` to it.
  void CreateHostSetForLab(const std::string& name, const std::vector<std::string>& members);
  // Exports the volume to `target` (a host, or `set:<name>`), as the CSI driver does when a node
  // attaches it.
  void ExportForLab(const std::string& volume, const std::string& target);

  // Test hooks.
  void ExpireSessionsForTest();  // every session key becomes invalid (403 code 6)
  int SessionCountForTest() const;
  // "<hostname>:<lun>" of each VLUN of the volume, sorted.
  std::vector<std::string> VlunsForTest(const std::string& volume) const;
  std::vector<std::string> HostSetMembersForTest(const std::string& set) const;
  // Host names and their paths, "name:PATH,PATH".
  std::vector<std::string> HostsForTest() const;

 private:
  common::Reply Handle(const net::ServerRequest& request) override;
  common::Reply FaultReply(int status) override;
  common::Reply InternalError(const std::string& what) override;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::primera3par

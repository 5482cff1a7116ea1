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

struct SimulatorOptions {
  std::string lun_dir;  // where volume backing files live (created if missing)
  std::string san_dir;  // the lab SAN directory; empty: volumes are presented to nobody
  std::string username = "3paradm";
  std::string password = "3pardata";
  std::string array_name = "primera1";  // the SAN entries' "array" (same array ⇒ XCOPY in the lab vCenter)
  std::string model = "HPE Primera 630";
  std::string system_version = "4.5.10";
  bool tls = true;
  uint16_t port = 0;
  // Older WSAPI releases answer `?query=` with 400; the client must then filter whole lists.
  bool queries = true;
  std::string state_dir;  // certificate and objects kept across restarts; empty: none
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

class Primera3parSimulator {
 public:
  explicit Primera3parSimulator(SimulatorOptions options);
  ~Primera3parSimulator();
  Primera3parSimulator(const Primera3parSimulator&) = delete;
  Primera3parSimulator& operator=(const Primera3parSimulator&) = delete;

  void Start();
  void Stop();
  uint16_t port() const;
  std::string url() const;  // https://127.0.0.1:<port>, what STORAGE_HOSTNAME holds (WSAPI takes the URL)
  const std::string& ca_pem() const;

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
  void InjectFaultForTest(Fault fault);
  int RequestCountForTest(std::string_view method, std::string_view path_prefix) const;
  // "<hostname>:<lun>" of each VLUN of the volume, sorted.
  std::vector<std::string> VlunsForTest(const std::string& volume) const;
  std::vector<std::string> HostSetMembersForTest(const std::string& set) const;
  // Host names and their paths, "name:PATH,PATH".
  std::vector<std::string> HostsForTest() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::primera3par

#pragma once
// A Dell PowerFlex Gateway REST API (3.x) stand-in for the lab: token login (GET /api/login with HTTP
// Basic; the token is then the password of Basic with an empty user), one system, SDCs, volumes backed by
// sparse files, volume-to-SDC mappings, the gateway's error body {"message","httpStatusCode","errorCode"}
// and injectable faults. Mapping a volume to an SDC presents it to that SDC through the lab SAN directory
// (`<san-dir>/<sdc guid>/eui.<systemId><volumeId>`, see ../README.md); the lab vCenter shows it on the
// ESXi host whose scini module has that GUID.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lab/sim/common/sim_common.h"

namespace hoist::lab::sim::powerflex {

struct SimulatorOptions : common::SimulatorOptionsBase {
  SimulatorOptions() {
    username = "admin";
    password = "Scaleio123";
    array_name = "pflex1";
  }
  std::string system_id = "3cbd4d8c6a3e04bf";  // 16 hex digits
  std::string version = "3.6";
};

// An injected fault; the answer carries a gateway error body.
using Fault = common::Fault;

struct SimVolume {
  std::string id;  // 16 hex digits
  std::string name;
  std::string eui;  // eui.<systemId><id>
  std::string backing;
  uint64_t size_bytes = 0;
};

struct SimSdc {
  std::string id;  // 16 hex digits
  std::string name;
  std::string guid;
  std::string ip;
  std::string os_type;  // "Esx" or "Linux"
  bool connected = true;
};

// Start, Stop, port, host, ca_pem and the fault hooks: ArraySimulator.
class PowerFlexSimulator : public common::ArraySimulator {
 public:
  explicit PowerFlexSimulator(SimulatorOptions options);
  ~PowerFlexSimulator() override;

  const std::string& system_id() const;

  // What the administrator, an SDC or the CSI driver does.
  SimVolume CreateVolume(const std::string& name, uint64_t size_bytes);
  std::optional<SimVolume> FindVolume(const std::string& name) const;
  void DeleteVolume(const std::string& id);
  // An SDC connecting to the MDM (an ESXi host with the scini module, or a Kubernetes node). Returns it
  // (the existing one for a known GUID).
  SimSdc RegisterSdc(const std::string& guid, const std::string& name, const std::string& os_type,
                     const std::string& ip = "127.0.0.1");
  void SetSdcConnectedForLab(const std::string& guid, bool connected);
  void MapForLab(const std::string& volume_id, const std::string& sdc_id);

  // Test hooks.
  void ExpireSessionsForTest();  // every token becomes invalid (401)
  int SessionCountForTest() const;
  std::vector<std::string> MappedSdcsForTest(const std::string& volume_id) const;

 private:
  common::Reply Handle(const net::ServerRequest& request) override;
  common::Reply FaultReply(int status) override;
  common::Reply InternalError(const std::string& what) override;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::powerflex

#pragma once
// Hitachi Vantara VSP (E, F, G, 5000 series) as a StorageArray, over the Configuration Manager REST API
// (/ConfigurationManager/v1/objects/storages/<storageDeviceId>/…): sessions, asynchronous jobs, LDEVs
// found from the Hitachi Storage Plug-in for Containers (HSPC) volume handle, host groups (FC) and
// iSCSI targets — both "host groups" in the API — on the storage ports, and LU paths.
//
// An initiator group here is a set of host groups, one per storage port the ESXi host reaches, named
// by their ids: `CL1-A,3;CL2-A,3` (sorted). A host WWN can be in one host group per port only, so
// EnsureInitiatorGroup uses the host groups that already hold the ESXi host's WWNs / iSCSI names, and
// creates host group <name> (host mode VMWARE_EX, options 54 and 63 for VAAI) only on ports where
// none does.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/common/session_array.h"
#include "storage/config.h"

namespace hoist::storage {
class VendorRegistry;
}

namespace hoist::storage::vantara {

// What the REST API said: {"errorSource","messageId","message","cause","solution",
// "errorCode":{"SSB1","SSB2"}} (also inside a failed job's "error").
struct ApiError {
  int status = 0;
  std::string message_id;  // "KART30013-E"
  std::string message;
  std::string solution;
  std::string ssb1, ssb2;  // the storage system's sense bytes, when the array refused the change
};
ApiError ParseApiError(int status, std::string_view body);

// The HSPC volume handle `01--<protocol>--<storageDeviceId>--<ldevId>--<nickname>`.
struct VolumeHandle {
  std::string protocol;  // "fc", "iscsi", "nvme"
  std::string storage_device_id;
  int ldev_id = -1;
  std::string nickname;
};
// kPrecondition naming the handle when it is not of that shape.
VolumeHandle ParseVolumeHandle(std::string_view handle);

// A host group on a port: `CL1-A,3`.
struct HostGroupRef {
  std::string port;
  int number = 0;
  std::string Id() const { return port + "," + std::to_string(number); }
  bool operator==(const HostGroupRef& o) const { return port == o.port && number == o.number; }
  bool operator<(const HostGroupRef& o) const { return Id() < o.Id(); }
};
// "CL1-A,3;CL2-A,3" ⇄ host groups (sorted, duplicates dropped). kPrecondition on a malformed id.
std::vector<HostGroupRef> ParseGroup(std::string_view group);
std::string GroupName(std::vector<HostGroupRef> refs);
// HOSTGROUP_ID_LIST `CL1-A,1:CL2-B,2` (Forklift's format) → host groups.
std::vector<HostGroupRef> ParseHostGroupList(std::string_view list);

// Knobs for tests (and very slow arrays).
struct Tuning {
  common::Tuning rest;
  std::chrono::milliseconds job_poll{200};        // first wait between job polls, doubled up to 5 s
  std::chrono::milliseconds job_timeout{600000};  // a job still running after this fails the call
};

class VantaraArray : public common::SessionArray {
 public:
  // Secret keys: STORAGE_HOSTNAME (host, host:port or URL), STORAGE_PORT (the REST API's port, when not
  // in the host name), STORAGE_ID (storageDeviceId; optional when the API manages one storage system),
  // HOSTGROUP_ID_LIST (use these host groups instead of finding them).
  explicit VantaraArray(const ArrayConfig& config, Tuning tuning = {});
  ~VantaraArray() override;  // discards the session

  Capabilities capabilities() const override { return {}; }
  Lun ResolveVolume(const VolumeRef& volume) override;
  InitiatorGroup EnsureInitiatorGroup(const std::string& name,
                                      const std::vector<std::string>& initiators) override;
  // The LDEV's LU paths grouped by host group name: one group (host group ids joined) per name.
  std::vector<std::string> ListMappings(const Lun& lun) override;
  // Adds an LU path on every host group of `group`; the LUN's `naa` comes from the LDEV's naaId.
  Lun Map(const Lun& lun, const std::string& group) override;
  void Unmap(const Lun& lun, const std::string& group) override;

  // STORAGE_ID, or the only storage system the REST API manages.
  std::string storage_device_id();

 private:
  // SessionArray, RestVendor
  Session Login() override;
  void Present(net::HttpRequest& request, const Session& session) override;
  bool SessionExpired(const common::Response& response) override;
  common::CallError ErrorFor(std::string_view what, const common::Response& response) override;

  std::string Objects();  // /ConfigurationManager/v1/objects/storages/<id>
  // A POST/PUT/DELETE whose answer is a job: waits for it and returns the completed job. A failed job
  // throws a CallError carrying the job's error (SSB codes in code()).
  nlohmann::json RunJob(const common::Request& request, std::string_view what);
  nlohmann::json Ldev(int ldev_id, std::string_view what);

  std::string configured_id_;
  std::vector<HostGroupRef> configured_groups_;
  Tuning tuning_;
  common::CachedValue device_id_;
};

// Registers "vantara" in the registry.
void RegisterVendor(VendorRegistry& registry);

}  // namespace hoist::storage::vantara

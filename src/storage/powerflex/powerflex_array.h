#pragma once
// Dell PowerFlex (ScaleIO) as a StorageArray, over the PowerFlex Gateway REST API (/api/…, 3.x):
// token login, volumes found from the csi-vxflexos handle, SDCs (the storage data client in the ESXi
// kernel, module `scini`) as the "initiator groups", volume-to-SDC mappings.
//
// PowerFlex hosts attach through their SDC, not SCSI initiators: the xcopy flow passes the ESXi host's
// SDC GUID (the scini module's IoctlIniGuidStr) to EnsureInitiatorGroup, which returns the SDC's id
// as the group. Volumes appear on ESXi as eui.<systemId><volumeId>. PowerFlex does not offload XCOPY:
// clones are copies through the host (capabilities().xcopy is false).
#include <string>
#include <string_view>
#include <vector>

#include "storage/common/session_array.h"
#include "storage/config.h"

namespace hoist::storage {
class VendorRegistry;
}

namespace hoist::storage::powerflex {

// What the gateway said: {"message", "httpStatusCode", "errorCode"}.
struct ApiError {
  int status = 0;
  std::string code;
  std::string message;
};
ApiError ParseApiError(int status, std::string_view body);

// The csi-vxflexos volume handle `<systemId>-<volumeId>` (older drivers: the bare volume id).
struct VolumeHandle {
  std::string system_id;  // empty for a bare id
  std::string volume_id;
};
VolumeHandle ParseVolumeHandle(std::string_view handle);

// True for an SDC GUID as ESXi's scini module reports it (8-4-4-4-12 hex digits).
bool IsSdcGuid(std::string_view id);

class PowerFlexArray : public common::SessionArray {
 public:
  // Secret keys: STORAGE_HOSTNAME (the gateway), STORAGE_USERNAME, STORAGE_PASSWORD,
  // POWERFLEX_SYSTEM_ID (optional when the gateway manages one system).
  explicit PowerFlexArray(const ArrayConfig& config, common::Tuning tuning = {});
  ~PowerFlexArray() override;  // logs out

  Capabilities capabilities() const override { return Capabilities{false, false}; }
  Lun ResolveVolume(const VolumeRef& volume) override;
  // `initiators` holds the ESXi host's SDC GUID; the group is the SDC's id.
  InitiatorGroup EnsureInitiatorGroup(const std::string& name,
                                      const std::vector<std::string>& initiators) override;
  // Ids of the SDCs the volume is mapped to.
  std::vector<std::string> ListMappings(const Lun& lun) override;
  Lun Map(const Lun& lun, const std::string& group) override;
  void Unmap(const Lun& lun, const std::string& group) override;

  // POWERFLEX_SYSTEM_ID (checked against the gateway), or the gateway's only system.
  std::string system_id();

 private:
  // SessionArray, RestVendor
  Session Login() override;
  void Present(net::HttpRequest& request, const Session& session) override;
  bool SessionExpired(const common::Response& response) override;
  common::CallError ErrorFor(std::string_view what, const common::Response& response) override;
  // The gateway answers refusals ("already mapped", "could not find") with HTTP 500 and an errorCode:
  // those are answers, not failures worth repeating.
  bool Retryable(const common::Response& response) override;

  nlohmann::json Volume(const std::string& id, std::string_view what);
  std::vector<std::string> MappedSdcs(const nlohmann::json& volume);

  std::string configured_system_;
  common::CachedValue system_id_;
};

// Registers "powerflex" in the registry.
void RegisterVendor(VendorRegistry& registry);

}  // namespace hoist::storage::powerflex

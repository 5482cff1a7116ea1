#pragma once
// HPE Primera, 3PAR and Alletra 9000 as a StorageArray, over the Web Services API (WSAPI,
// /api/v1/…): session keys, volumes (virtual volumes) found by name, hosts found by their FC WWNs or
// iSCSI names, a host set per ESXi host, VLUNs exporting a volume to a host set.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "storage/common/session_array.h"
#include "storage/config.h"

namespace hoist::storage {
class VendorRegistry;
}

namespace hoist::storage::primera3par {

// WSAPI object name limits: volumes and hosts 31 characters; sets 27, since a VLUN names a host set
// as `set:<name>` and that must fit in 31 as well.
inline constexpr size_t kMaxObjectName = 31;
inline constexpr size_t kMaxSetName = 27;

// What WSAPI said in an error body {"code": N, "desc": "…", "ref": "…"}.
struct ApiError {
  int status = 0;
  std::string code;  // as text, "" when the body is not WSAPI's shape
  std::string desc;
};
ApiError ParseApiError(int status, std::string_view body);

// WSAPI error codes the client acts on (the HPE WSAPI reference's numbering, as the lab simulator uses it).
inline constexpr std::string_view kCodeInvalidSessionKey = "6";
inline constexpr std::string_view kCodeMemberInSet = "104";

// The volume behind an HPE CSI PV: the array names it after the first 31 characters of volumeHandle.
std::string VolumeNameFromHandle(std::string_view volume_handle);
// The host set for an initiator group name: the name itself when it fits in 27 characters, else
// `xcopy-` + the first 21 hex digits of its SHA-256 (stable, so every run finds the same set).
std::string HostSetName(std::string_view group_name);
// A host name (≤ 31 characters) for hosts the client creates, from the group name and a suffix.
std::string HostName(std::string_view group_name, std::string_view suffix);
// The WSAPI host query for FC WWPNs and iSCSI names: `FCPaths[wwn EQ …] OR iSCSIPaths[name EQ …]`,
// quoted, as the `query` parameter expects.
std::string HostQuery(const std::vector<std::string>& wwpns, const std::vector<std::string>& iqns);

class Primera3parArray : public common::SessionArray {
 public:
  explicit Primera3parArray(const ArrayConfig& config, common::Tuning tuning = {});
  ~Primera3parArray() override;  // deletes the session on the array

  Capabilities capabilities() const override { return {}; }
  Lun ResolveVolume(const VolumeRef& volume) override;
  // Finds the array's hosts holding the initiators (creating hosts for initiators no host has, with
  // persona 11 "VMware"), makes host set HostSetName(name) hold them, and returns the group
  // `set:<host set>` — the hostname VLUNs to that set carry.
  InitiatorGroup EnsureInitiatorGroup(const std::string& name,
                                      const std::vector<std::string>& initiators) override;
  // VLUN hostnames for the volume: `set:<name>` for host-set exports, the host name for host exports.
  std::vector<std::string> ListMappings(const Lun& lun) override;
  // Exports the volume to `group` (`set:<name>` or a host name) at the lowest LUN id free on every
  // host it reaches.
  Lun Map(const Lun& lun, const std::string& group) override;
  void Unmap(const Lun& lun, const std::string& group) override;

 private:
  // SessionArray, RestVendor
  Session Login() override;
  void Present(net::HttpRequest& request, const Session& session) override;
  bool SessionExpired(const common::Response& response) override;
  common::CallError ErrorFor(std::string_view what, const common::Response& response) override;

  // VLUNs whose `field` (volumeName, hostname) is `value`: WSAPI's query "<field> EQ <value>"; when the
  // WSAPI has no VLUN queries (400), the whole list, kept in `whole` for the next call, filtered here.
  nlohmann::json VlunsWhere(const char* field, const std::string& value,
                            std::optional<nlohmann::json>& whole);
  nlohmann::json Vluns(const std::string& volume);  // VLUNs of one volume
  std::vector<std::string> HostsOfGroup(const std::string& group);
};

// Registers "primera3par" in the registry.
void RegisterVendor(VendorRegistry& registry);

}  // namespace hoist::storage::primera3par

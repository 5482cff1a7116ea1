#pragma once
// Glance v2: the image record (status, size, checksums) and the URL of its data.
#include <cstdint>
#include <optional>
#include <string>

namespace hoist::populators::openstack {

struct ImageInfo {
  std::string id;
  std::string name;
  std::string status;  // queued, saving, uploading, importing, active, killed, deleted, deactivated, …
  std::string disk_format;
  uint64_t size = 0;  // bytes of the stored data (what is downloaded)
  std::optional<uint64_t> virtual_size;
  std::string os_hash_algo;  // e.g. sha512 (Glance's multihash)
  std::string os_hash_value;
  std::string checksum;  // md5 (legacy)
};

// Parses GET /v2/images/<id>. Throws hoist::Error (kTransient) on unreadable JSON.
ImageInfo ParseImage(const std::string& body);

// `<endpoint>/v2/images/<id>` for a catalog endpoint given with or without `/v2`.
std::string ImageUrl(const std::string& endpoint, const std::string& image_id);

// What a status means for a download: "active" ok; uploading states are worth waiting for; others
// (killed, deleted, pending_delete, deactivated) will not become downloadable by themselves.
enum class ImageReadiness { kReady, kWait, kUnusable };
ImageReadiness ReadinessOf(const std::string& status);

}  // namespace hoist::populators::openstack

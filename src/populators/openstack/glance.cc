#include "populators/openstack/glance.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hoist::populators::openstack {

ImageInfo ParseImage(const std::string& body) {
  try {
    auto j = nlohmann::json::parse(body);
    ImageInfo i;
    auto str = [&](const char* k) {
      return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
    };
    i.id = str("id");
    i.name = str("name");
    i.status = str("status");
    i.disk_format = str("disk_format");
    if (j.contains("size") && j["size"].is_number_unsigned()) i.size = j["size"].get<uint64_t>();
    if (j.contains("virtual_size") && j["virtual_size"].is_number_unsigned()) {
      i.virtual_size = j["virtual_size"].get<uint64_t>();
    }
    i.os_hash_algo = str("os_hash_algo");
    i.os_hash_value = str("os_hash_value");
    i.checksum = str("checksum");
    return i;
  } catch (const std::exception& e) {
    throw TransientError(std::string("Glance returned an unreadable image record: ") + e.what());
  }
}

std::string ImageUrl(const std::string& endpoint, const std::string& image_id) {
  std::string u = endpoint;
  while (!u.empty() && u.back() == '/') u.pop_back();
  if (!(u.size() >= 3 && u.substr(u.size() - 3) == "/v2")) u += "/v2";
  return u + "/images/" + image_id;
}

ImageReadiness ReadinessOf(const std::string& status) {
  if (status == "active") return ImageReadiness::kReady;
  if (status == "queued" || status == "saving" || status == "uploading" || status == "importing") {
    return ImageReadiness::kWait;
  }
  return ImageReadiness::kUnusable;
}

}  // namespace hoist::populators::openstack

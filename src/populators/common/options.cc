#include "populators/common/options.h"

#include <cstdlib>

#include "core/error.h"

namespace hoist::populators {

CommonFlagSet::CommonFlagSet(FlagSet& flags)
    : volume_path_(flags.String("volume-path", "", "where the disk goes: /mnt/disk.img or /dev/block")),
      secret_name_(flags.String("secret-name", "", "the secret the pod's environment comes from")),
      cr_name_(flags.String("cr-name", "", "the populator custom resource")),
      cr_namespace_(flags.String("cr-namespace", "", "its namespace")),
      owner_uid_(flags.String("owner-uid", "", "the target PVC's UID (label of the progress metric)")),
      pvc_size_(flags.Int("pvc-size", 0, "the target PVC's size in bytes")),
      metrics_listen_(
          flags.String("metrics-listen", "", "host:port of /metrics (default: the pod's address, 8443)")
              .Env("HOIST_METRICS_LISTEN")),
      final_scrape_wait_(
          flags.Duration("final-scrape-wait", 10000, "how long a finished populator waits to be scraped")
              .Env("HOIST_FINAL_SCRAPE_WAIT")) {}

CommonFlags CommonFlagSet::Read(std::string_view program) const {
  CommonFlags c;
  c.volume_path = *volume_path_;
  c.secret_name = *secret_name_;
  c.cr_name = *cr_name_;
  c.cr_namespace = *cr_namespace_;
  c.owner_uid = *owner_uid_;
  c.metrics_listen = *metrics_listen_;
  c.final_scrape_wait_ms = *final_scrape_wait_;
  if (c.volume_path.empty()) {
    throw PreconditionError(
        std::string(program) +
        ": --volume-path is required (/mnt/disk.img for volumeMode Filesystem, /dev/block "
        "for volumeMode Block)");
  }
  if (*pvc_size_ <= 0) {
    throw PreconditionError(std::string(program) + ": --pvc-size must be a positive number of bytes, got " +
                            std::to_string(*pvc_size_));
  }
  c.pvc_size = static_cast<uint64_t>(*pvc_size_);
  return c;
}

bool IsBlockVolumePath(std::string_view volume_path) {
  return !(volume_path.size() >= 4 && volume_path.substr(volume_path.size() - 4) == ".img");
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool EnvBool(const char* key, bool fallback) {
  std::string v = Env(key);
  if (v.empty()) return fallback;
  auto b = ParseGoBool(v);
  if (!b) {
    throw PreconditionError("the secret's key " + std::string(key) + " must be true or false, got '" + v +
                            "'");
  }
  return *b;
}

}  // namespace hoist::populators

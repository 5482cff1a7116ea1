#pragma once
// The flags every HTTP populator receives from the populator controller (Forklift's contract):
// `--volume-path=/mnt/disk.img|/dev/block --secret-name=… --cr-name=… --cr-namespace=…
// --owner-uid=<target PVC UID> --pvc-size=<bytes>`, and the secret's keys, which arrive as
// environment variables (envFrom). Parsing is core/flags.h's.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/flags.h"

namespace hoist::populators {

struct CommonFlags {
  std::string volume_path;  // /mnt/disk.img (Filesystem) or /dev/block (Block)
  std::string secret_name;
  std::string cr_name;
  std::string cr_namespace;
  std::string owner_uid;  // target PVC UID: the ownerUID label of the progress metric
  uint64_t pvc_size = 0;  // bytes, > 0
  // hoist's own: where /metrics listens ("" = the pod's address, port 8443) and how long a finished
  // populator waits for the controller's last scrape.
  std::string metrics_listen;
  int64_t final_scrape_wait_ms = 10000;
};

// Registers the common flags on `flags`; after Parse, Read() checks and returns them
// (--volume-path and a positive --pvc-size are required).
class CommonFlagSet {
 public:
  explicit CommonFlagSet(FlagSet& flags);
  CommonFlags Read(std::string_view program) const;

 private:
  TypedFlag<std::string>& volume_path_;
  TypedFlag<std::string>& secret_name_;
  TypedFlag<std::string>& cr_name_;
  TypedFlag<std::string>& cr_namespace_;
  TypedFlag<std::string>& owner_uid_;
  TypedFlag<int64_t>& pvc_size_;
  TypedFlag<std::string>& metrics_listen_;
  TypedFlag<int64_t>& final_scrape_wait_;
};

// Forklift's rule for the volume: a path ending in `.img` is a file the populator creates on the
// PVC's filesystem; anything else (`/dev/block`) is a block volume that must exist.
bool IsBlockVolumePath(std::string_view volume_path);

// An environment variable (a secret key), or "" when unset.
std::string Env(const char* name);
// A boolean secret key read as Go's strconv.ParseBool does; "" gives `fallback`; anything else is a
// PreconditionError naming the key.
bool EnvBool(const char* key, bool fallback);

}  // namespace hoist::populators

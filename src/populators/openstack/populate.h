#pragma once
// `hoist-populator openstack`: authenticate to Keystone, find Glance in the catalog, wait for the
// image to be `active`, and copy its data into the volume, verified against `os_hash_value` (or the
// md5 `checksum`). See docs/populators-ovirt-openstack.md.
#include <chrono>
#include <stop_token>
#include <string>

#include "populators/common/copy.h"
#include "populators/common/options.h"
#include "populators/openstack/keystone.h"

namespace hoist::prom {
class Counter;
class Gauge;
}  // namespace hoist::prom

namespace hoist::populators::openstack {

struct PopulateOptions {
  std::string identity_url;  // --endpoint
  std::string image_id;      // --image-id
  populators::CommonFlags flags;
  Credentials credentials;
  bool insecure_skip_verify = false;
  std::string ca_pem;  // `cacert`
  populators::DownloadOptions download;
  std::chrono::milliseconds wait_for_active{15 * 60 * 1000};  // an image still uploading
  std::chrono::milliseconds poll_interval{5000};
  std::chrono::milliseconds checkpoint_every{10000};
};

// Reads the flags (Forklift's: --endpoint, --image-id, --secret-name, --volume-path, --cr-name,
// --cr-namespace, --owner-uid, --pvc-size) and the secret's keys from the environment.
PopulateOptions OptionsFromCommandLine(const std::vector<std::string>& args);

populators::CopyResult Populate(const PopulateOptions& options, prom::Counter& progress,
                                prom::Gauge* bytes_done, std::stop_token stop);

}  // namespace hoist::populators::openstack

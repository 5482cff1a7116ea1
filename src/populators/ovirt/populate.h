#pragma once
// `hoist-populator ovirt`: log in to the oVirt engine, start an image transfer (download, raw) of the
// disk, wait for it to be transferring, read imageio's options and zero extents, copy the data extents
// over parallel connections into the volume, verify it against imageio's block checksum, and finalize
// the transfer (cancel it on failure, so the disk is not left locked). See
// docs/populators-ovirt-openstack.md.
#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "populators/common/copy.h"
#include "populators/common/options.h"

namespace hoist::prom {
class Counter;
class Gauge;
}  // namespace hoist::prom

namespace hoist::populators::ovirt {

struct PopulateOptions {
  std::string engine_url;  // --engine-url (scheme://host)
  std::string disk_id;     // --disk-id
  CommonFlags flags;
  std::string user;
  std::string password;
  std::string ca_pem;  // `cacert`
  bool insecure_skip_verify = false;
  bool verify = true;  // imageio's checksum (costs the host one read of the disk's data)
  DownloadOptions download;
  int inactivity_timeout_seconds = 60;
  std::chrono::milliseconds transfer_start_timeout{5 * 60 * 1000};
  std::chrono::milliseconds checkpoint_every{10000};
};

// Forklift's flags (--engine-url, --disk-id, --volume-path, --secret-name, --cr-name, --cr-namespace,
// --owner-uid, --pvc-size) and the secret's keys user, password, cacert, insecureSkipVerify.
PopulateOptions OptionsFromCommandLine(const std::vector<std::string>& args);

CopyResult Populate(const PopulateOptions& options, prom::Counter& progress, prom::Gauge* bytes_done,
                    std::stop_token stop);

}  // namespace hoist::populators::ovirt

#pragma once
// The copy both HTTP populators share: open the volume through the sink (resuming from its
// checkpoint), declare known-zero ranges, download what is still missing over parallel ranged
// connections, verify the bytes on the volume against the source's checksum, sync, and report
// progress throughout. On failure the checkpoint is written (so a retried pod resumes), except when
// verification failed (then it is dropped, so the retry starts over).
#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "populators/common/download.h"
#include "sink/range_set.h"

namespace hoist::net {
class HttpClient;
}
namespace hoist::prom {
class Counter;
class Gauge;
}  // namespace hoist::prom

namespace hoist::populators {

struct Verification {
  enum class Kind { kNone, kStream, kBlocks };
  Kind kind = Kind::kNone;
  std::string algorithm;          // OpenSSL digest name: sha512, sha256, md5
  uint64_t block_size = 4 << 20;  // kBlocks
  // The source's checksum (lowercase hex), asked for after the download; may block (a server
  // computing it). "" means the source could not say: the copy is not verified (logged).
  std::function<std::string()> expected;
  std::string expected_from;  // names it in messages: "Glance's os_hash_value"
};

struct CopyPlan {
  std::string what;             // `Glance image 5f1c… ("rhel9")`
  std::string volume_path;      // /mnt/disk.img or /dev/block
  uint64_t size = 0;            // bytes of the image
  std::string source_identity;  // checkpoint identity: same source object and size
  FetchTarget target;
  std::vector<sink::Range> zero_ranges;  // known to read as zeros: never fetched
  DownloadOptions download;
  Verification verification;
  std::chrono::milliseconds checkpoint_every = std::chrono::seconds(10);
  uint64_t checkpoint_every_bytes = 256ull << 20;
};

struct CopyResult {
  bool resumed = false;
  uint64_t resumed_bytes = 0;  // done before this attempt started
  uint64_t fetched_bytes = 0;
  uint64_t zero_bytes = 0;  // declared zero, not fetched
  uint64_t bytes_written = 0;
  uint64_t allocated_bytes = 0;
  std::string checksum;  // what was verified ("" when not verified)
  DownloadStats download;
  double seconds = 0;
};

// Runs the copy. `progress` is the kind's percent counter; `bytes_done` (optional) a gauge.
CopyResult CopyImage(net::HttpClient& client, const CopyPlan& plan, prom::Counter& progress,
                     prom::Gauge* bytes_done, std::stop_token stop);

// The parts of `zero` that are also in `pending` (both sorted and disjoint).
std::vector<sink::Range> Intersect(const std::vector<sink::Range>& zero,
                                   const std::vector<sink::Range>& pending);
// `all` minus `remove` (both sorted and disjoint).
std::vector<sink::Range> Subtract(const std::vector<sink::Range>& all,
                                  const std::vector<sink::Range>& remove);

}  // namespace hoist::populators

#pragma once
// Parallel ranged download of a disk image into the sink: the byte ranges still to be written are cut
// into chunks aligned to a grid, and several connections fetch them with `Range` requests at once,
// each streaming into a bounded buffer that goes to the sink in large aligned writes (where the sink
// skips zero blocks). A server that ignores `Range` (200 instead of 206) gets one stream of the whole
// image. A cut or failed chunk is resumed from its last byte; 401 re-authenticates once per chunk.
//
// Memory: connections × (write_bytes + libcurl's receive buffer), whatever the image size.
#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

#include "net/http.h"
#include "sink/range_set.h"

namespace hoist::net {
class HttpClient;
}
namespace hoist::sink {
class DiskSink;
}

namespace hoist::populators {

struct FetchTarget {
  std::string url;   // the image data (Glance `/v2/images/<id>/file`, imageio `/images/<ticket>`)
  std::string what;  // names the source in messages: `Glance image 5f1c… ("rhel9")`
  // Request headers (authentication), asked for each request so that a refreshed token is used.
  std::function<net::Headers()> headers;
  // Called when a request is answered 401 with the headers that were refused: refresh the credentials
  // and return true to retry. Empty: 401 is an error.
  std::function<bool(const net::Headers& refused)> reauthenticate;
};

struct DownloadOptions {
  int connections = 4;
  uint64_t chunk_bytes = 8ull << 20;        // one Range request (at most)
  uint64_t write_bytes = 1ull << 20;        // a connection's buffer: the size of writes to the sink
  size_t receive_buffer_bytes = 256 << 10;  // libcurl's buffer
  std::chrono::milliseconds idle_timeout{60000};
  int attempts = 5;                            // per chunk, counted since its last progress
  std::chrono::milliseconds retry_delay{500};  // doubled after each failed attempt
  uint64_t coalesce_gap = 1ull << 20;  // CopyImage: known-zero gaps smaller than this are fetched through
};

struct DownloadStats {
  uint64_t bytes_fetched = 0;
  uint64_t requests = 0;
  uint64_t retries = 0;
  bool ranged = true;  // false: the server ignored Range and the whole image came in one stream
};

// Merges ranges whose gap is below `gap` (fetching a few zeros costs less than another request).
std::vector<sink::Range> Coalesce(const std::vector<sink::Range>& ranges, uint64_t gap);
// Cuts ranges at multiples of `chunk` so that requests and writes stay aligned.
std::vector<sink::Range> SplitIntoChunks(const std::vector<sink::Range>& ranges, uint64_t chunk);

// Fetches `ranges` (sorted, disjoint) of the image into `sink`. Throws hoist::Error: the class of the
// first failure (kTransient for network trouble and 5xx after the attempts, kPrecondition for 4xx,
// kCancelled when `stop` is requested); bytes already written stay marked done in the sink.
DownloadStats Download(net::HttpClient& client, const FetchTarget& target, sink::DiskSink& sink,
                       const std::vector<sink::Range>& ranges, const DownloadOptions& options,
                       std::stop_token stop);

}  // namespace hoist::populators

#pragma once
// The ovirt-imageio HTTP API on a transfer URL (`https://host:54322/images/<ticket>` or the engine's
// proxy): OPTIONS for features and max_readers, GET /extents for the zero extents (never fetched), and
// GET /checksum for the block checksum the copy is verified against.
#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "sink/range_set.h"

namespace hoist::net {
class HttpClient;
}

namespace hoist::populators::ovirt {

struct ImageioOptions {
  bool extents = false;
  int max_readers = 1;  // without max_readers, one connection (the server may not support more)
};

// OPTIONS <url>. An old server (405, or 204 from an old proxy) supports plain GET only.
ImageioOptions GetOptions(net::HttpClient& client, const std::string& url);
// The zero extents of GET <url>/extents?context=zero, merged and sorted.
std::vector<sink::Range> GetZeroExtents(net::HttpClient& client, const std::string& url);
// Parses an extents document (exposed for tests).
std::vector<sink::Range> ParseZeroExtents(const std::string& body, uint64_t size);
// GET <url>/checksum?algorithm=…&block_size=…: the hex checksum, or "" when the server has no
// checksum API (older imageio) or not this algorithm.
// `cancel` abandons the request (the copy failed).
std::string GetChecksum(net::HttpClient& client, const std::string& url, const std::string& algorithm,
                        uint64_t block_size, std::stop_token cancel = {});

}  // namespace hoist::populators::ovirt

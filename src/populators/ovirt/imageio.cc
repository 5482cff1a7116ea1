#include "populators/ovirt/imageio.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "net/http_client.h"

namespace hoist::populators::ovirt {
namespace {

using nlohmann::json;

uint64_t Num(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return static_cast<uint64_t>(std::max<int64_t>(0, v.get<int64_t>()));
  if (v.is_string()) return std::stoull(v.get<std::string>());
  throw std::runtime_error("not a number");
}

}  // namespace

ImageioOptions GetOptions(net::HttpClient& client, const std::string& url) {
  net::HttpRequest req;
  req.method = "OPTIONS";
  req.url = url;
  req.timeout = std::chrono::milliseconds(30000);
  auto resp = client.Do(req);
  ImageioOptions o;
  if (resp.status == 405 || resp.status == 204) return o;
  if (resp.status == 403) {
    throw TransientError(
        "the imageio server refused the transfer ticket (403): the transfer was paused, "
        "cancelled or has expired");
  }
  if (resp.status != 200)
    throw TransientError("OPTIONS on the imageio server: HTTP " + std::to_string(resp.status));
  try {
    json j = json::parse(resp.body);
    if (j.contains("features")) {
      for (const auto& f : j["features"]) {
        if (f == "extents") o.extents = true;
      }
    }
    if (j.contains("max_readers")) o.max_readers = std::max<int>(1, static_cast<int>(Num(j["max_readers"])));
  } catch (const std::exception& e) {
    throw TransientError(std::string("the imageio server's OPTIONS answer is unreadable: ") + e.what());
  }
  return o;
}

std::vector<sink::Range> ParseZeroExtents(const std::string& body, uint64_t size) {
  std::vector<sink::Range> out;
  json j = json::parse(body);
  for (const auto& e : j) {
    if (!e.value("zero", false)) continue;
    uint64_t start = Num(e.at("start")), length = Num(e.at("length"));
    uint64_t end = std::min(size, start + length);
    if (start >= end) continue;
    if (!out.empty() && out.back().end >= start) {
      out.back().end = std::max(out.back().end, end);
    } else {
      out.push_back({start, end});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const sink::Range& a, const sink::Range& b) { return a.begin < b.begin; });
  return out;
}

std::vector<sink::Range> GetZeroExtents(net::HttpClient& client, const std::string& url) {
  net::HttpRequest req;
  req.url = url + "/extents?context=zero";
  req.timeout = std::chrono::milliseconds(120000);
  auto resp = client.Do(req);
  if (resp.status != 200) {
    throw TransientError("reading the disk's extents from imageio: HTTP " + std::to_string(resp.status));
  }
  try {
    return ParseZeroExtents(resp.body, UINT64_MAX);
  } catch (const std::exception& e) {
    throw TransientError(std::string("the imageio extents are unreadable: ") + e.what());
  }
}

std::string GetChecksum(net::HttpClient& client, const std::string& url, const std::string& algorithm,
                        uint64_t block_size, std::stop_token cancel) {
  net::HttpRequest req;
  req.cancel = cancel;
  req.url = url + "/checksum?algorithm=" + algorithm + "&block_size=" + std::to_string(block_size);
  req.timeout = std::chrono::milliseconds(0);  // the server reads the whole disk
  auto resp = client.Do(req);
  if (resp.status == 404 || resp.status == 405) {
    log::Warn("ovirt",
              "this imageio server has no checksum API (imageio before 2.4); the copy is not verified");
    return "";
  }
  if (resp.status == 400) {
    log::Warn("ovirt", "the imageio server cannot compute this checksum; the copy is not verified",
              {{"algorithm", algorithm}, {"answer", resp.body.substr(0, 200)}});
    return "";
  }
  if (resp.status != 200) {
    throw TransientError("reading the disk's checksum from imageio: HTTP " + std::to_string(resp.status));
  }
  try {
    json j = json::parse(resp.body);
    if (j.value("algorithm", "") != algorithm || j.value("block_size", uint64_t{0}) != block_size) {
      throw std::runtime_error("it describes another algorithm or block size");
    }
    return j.at("checksum").get<std::string>();
  } catch (const std::exception& e) {
    throw TransientError(std::string("the imageio checksum answer is unusable: ") + e.what());
  }
}

}  // namespace hoist::populators::ovirt

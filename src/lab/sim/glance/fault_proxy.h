#pragma once
// A fault injector in front of the real Glance, for the cases real Glance cannot be made to produce
// on demand: a transfer stalled in the middle (so a test can kill the populator mid-copy), an expired
// token (401), a failing server (503), wrong bytes in flight. Everything else is forwarded unchanged,
// and every image-data request is recorded with its Range, so a test can assert which bytes were
// fetched (a resumed copy must not fetch again what its checkpoint holds).
//
// Point the catalog's image endpoint at url() (lab::OpenStack::SetImageEndpoint).
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hoist::net {
class HttpClient;
class HttpServer;
}  // namespace hoist::net

namespace hoist::lab::sim::glance {

struct DataRequest {
  std::string path;
  uint64_t begin = 0;   // first byte asked for
  uint64_t end = 0;     // one past the last byte asked for (0: to the end, no Range)
  uint64_t served = 0;  // bytes sent before the response ended
  int status = 0;
};

class FaultProxy {
 public:
  explicit FaultProxy(std::string upstream);  // Glance's base URL
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  void Start();
  void Stop();
  std::string url() const;

  // Image-data responses hold (without closing) before sending byte `offset` of the image until
  // Release(); responses entirely before it are served. Stalled() tells whether one is held now.
  void StallAt(uint64_t offset);
  void Release();
  bool Stalled() const;
  // Flips the byte at `offset` of the image in every data response that carries it.
  void CorruptAt(uint64_t offset);
  // The next `times` image-data requests are answered `status` (401, 503, …) without forwarding.
  void FailNext(int status, int times = 1);

  std::vector<DataRequest> requests() const;
  void ClearRequests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::glance

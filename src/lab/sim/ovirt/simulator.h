#pragma once
// An oVirt engine + ovirt-imageio stand-in for the lab (nothing of oVirt is packaged for Debian).
// It follows the oVirt REST API and the imageio HTTP API as documented:
//   engine (HTTPS):  POST /ovirt-engine/sso/oauth/token (grant_type=password, scope=ovirt-app-api)
//                    GET  /ovirt-engine/api/disks/<id>
//                    POST /ovirt-engine/api/imagetransfers            {disk:{id}, direction, format, …}
//                    GET  /ovirt-engine/api/imagetransfers/<id>       phase initializing → transferring
//                    POST /ovirt-engine/api/imagetransfers/<id>/finalize | /cancel
//   imageio (HTTPS, a "daemon" for transfer_url and a "proxy" for proxy_url):
//                    OPTIONS /images/<ticket>   features, max_readers
//                    GET     /images/<ticket>   Range → 206 Content-Range bytes a-b/*
//                    GET     /images/<ticket>/extents?context=zero
//                    GET     /images/<ticket>/checksum?algorithm=&block_size=   (block checksum)
// with JSON shapes as the engine writes them (numbers as strings, `href`/`id`), the disk `locked`
// during a transfer, tickets removed when a transfer ends, and the inactivity timeout: a transfer
// whose ticket sees no request for `inactivity_timeout` seconds is paused by the system
// (`paused_system`, the legacy timeout policy) and its ticket removed. Faults can be injected on the
// imageio data path (wrong bytes, a stall, error statuses) and every data request is recorded.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hoist::lab::sim::ovirt {

struct SimDisk {
  std::string id;
  std::string name;
  std::string path;  // raw image file holding the disk's data (its size is the provisioned size)
  std::string image_id;
};

struct SimulatorOptions {
  std::string username = "admin@internal";
  std::string password = "ovirt-lab";
  std::chrono::milliseconds initializing_for{200};  // a new transfer stays `initializing` this long
  std::chrono::milliseconds finalizing_for{200};
  int max_readers = 8;
  bool extents = true;                 // report the `extents` feature
  bool checksum = true;                // serve /checksum
  bool transfer_url_reachable = true;  // false: transfer_url names a closed port; proxy_url works
};

struct DataRequest {
  std::string server;  // "daemon" or "proxy"
  uint64_t begin = 0;
  uint64_t end = 0;  // exclusive; the whole image without Range
  uint64_t served = 0;
  int status = 0;
};

struct TransferRecord {
  std::string id;
  std::string disk_id;
  std::vector<std::string> phases;  // in order
  int inactivity_timeout = 0;
};

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  void Start();
  void Stop();
  std::string engine_url() const;     // https://127.0.0.1:<port> (Forklift's engineUrl: scheme+host)
  const std::string& ca_pem() const;  // the lab CA every server certificate is signed by

  void AddDisk(SimDisk disk);

  // Faults on imageio GET data responses.
  void CorruptAt(uint64_t offset);  // flip the byte at this image offset in every response carrying it
  void StallAt(uint64_t offset);    // hold responses before sending this byte until Release()
  void Release();
  bool Stalled() const;
  void FailNextData(int status, int times = 1);

  std::vector<DataRequest> data_requests() const;
  void ClearDataRequests();
  std::vector<TransferRecord> transfers() const;
  // Live transfers (not finished or cancelled) — a populator must not leave one behind.
  int active_transfers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoist::lab::sim::ovirt

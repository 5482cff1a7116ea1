#pragma once
// The oVirt engine's REST API as the populator uses it: an SSO token (resource-owner password grant,
// scope ovirt-app-api), the disk, and an image transfer for download (create, wait for
// `transferring`, finalize or cancel, wait for the end). JSON, as the engine writes it (numbers as
// strings).
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace hoist::net {
class HttpClient;
}

namespace hoist::populators::ovirt {

struct DiskInfo {
  std::string id;
  std::string name;
  std::string status;  // ok, locked, illegal
  std::string format;  // raw, cow
  std::string image_id;
  uint64_t provisioned_size = 0;  // the virtual size: what a raw download delivers
};

struct TransferInfo {
  std::string id;
  std::string disk_id;
  std::string direction;
  std::string phase;  // initializing, transferring, paused_system, finalizing_success, finished_success, …
  std::string transfer_url;  // the host's imageio daemon
  std::string proxy_url;     // the engine's imageio proxy
};

// Reads the engine's JSON documents (exposed for tests).
DiskInfo ParseDisk(const std::string& body);
TransferInfo ParseTransfer(const std::string& body);
// `https://engine` (Forklift passes scheme and host) → `https://engine/ovirt-engine`.
std::string EngineBase(const std::string& engine_url);

class Engine {
 public:
  Engine(net::HttpClient& client, std::string engine_url, std::string user, std::string password);

  // Obtains an SSO token. Throws PreconditionError when the engine refuses the credentials.
  void Login();
  DiskInfo GetDisk(const std::string& disk_id);
  TransferInfo CreateDownload(const std::string& disk_id, int inactivity_timeout_seconds);
  // nullopt when the engine no longer knows the transfer (it forgets finished ones).
  std::optional<TransferInfo> GetTransfer(const std::string& id);
  std::vector<TransferInfo> ListTransfers();
  // Polls until `transferring`; throws with the phase when it ends otherwise or `timeout` passes.
  TransferInfo WaitTransferring(const std::string& id, std::chrono::milliseconds timeout,
                                std::stop_token stop);
  void Finalize(const std::string& id);
  void Cancel(const std::string& id);
  // Polls until finished (phase finished_* or gone); returns the last phase seen ("" when gone).
  std::string WaitFinished(const std::string& id, std::chrono::milliseconds timeout);

  const std::string& engine_url() const { return engine_url_; }

 private:
  // An API call with the token; logs in again once on 401. Returns status and body.
  std::pair<int, std::string> Call(const std::string& method, const std::string& path,
                                   const std::string& body);

  net::HttpClient& client_;
  std::string engine_url_;
  std::string base_;
  std::string user_;
  std::string password_;
  std::mutex mu_;
  std::string token_;
};

}  // namespace hoist::populators::ovirt

#pragma once
// The flow's host interfaces (host.h) over their production implementations: esxi::HostStorage
// (remote esxcli) and kube::LeaseSemaphore with Forklift's lease names.
#include <memory>
#include <string>

#include "esxi/host_storage.h"
#include "kube/lease_semaphore.h"
#include "populators/xcopy/host.h"

namespace hoist::populators::xcopy {

class EsxiHostStorage final : public HostStorage {
 public:
  explicit EsxiHostStorage(std::unique_ptr<esxi::EsxcliRunner> runner, esxi::HostStorageOptions options = {})
      : runner_(std::move(runner)), storage_(*runner_, options) {}
  void WaitForDevice(const std::string& naa, int lun_id, std::stop_token stop) override {
    storage_.WaitForDevice(naa, stop, lun_id >= 0 ? std::optional<int>(lun_id) : std::nullopt);
  }
  void DetachDevice(const std::string& naa) override { storage_.DetachDevice(naa); }
  void RescanDeadPaths(const std::string& adapter) override { storage_.RescanDeadPaths(adapter); }
  esxi::EsxcliRunner& runner() { return *runner_; }

 private:
  std::unique_ptr<esxi::EsxcliRunner> runner_;
  esxi::HostStorage storage_;
};

// `esxi-lock-<host id>-slot-<n>` Leases in `lease_namespace`, shared with Forklift's populators.
class LeaseHostLock final : public HostLock {
 public:
  LeaseHostLock(kube::KubeClient& client, kube::LeaseSemaphoreConfig base) : client_(client), base_(std::move(base)) {}
  void WithLock(const std::string& host_id, const std::function<void(std::stop_token)>& work,
                std::stop_token stop) override;

 private:
  kube::KubeClient& client_;
  kube::LeaseSemaphoreConfig base_;  // namespace, identity, durations, slots
};

}  // namespace hoist::populators::xcopy

#include "populators/xcopy/host_adapters.h"

#include "core/log.h"
#include "esxi/clone_executor.h"

namespace hoist::populators::xcopy {

void LeaseHostLock::WithLock(const std::string& host_id, const std::function<void(std::stop_token)>& work,
                             std::stop_token stop) {
  kube::LeaseSemaphoreConfig config = base_;
  std::string first = esxi::HostLeaseName(host_id, 0);
  config.name_prefix = first.substr(0, first.size() - 1);  // "esxi-lock-<host>-slot-"
  config.on_wait = [host_id](const std::vector<std::string>& holders) {
    std::string who;
    for (const auto& h : holders) who += (who.empty() ? "" : ", ") + h;
    log::Info("xcopy", "waiting for a free host lease slot", {{"host", host_id}, {"holders", who}});
  };
  kube::LeaseSemaphore sem(client_, config);
  sem.Run(stop, work);
}

}  // namespace hoist::populators::xcopy

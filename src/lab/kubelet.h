#pragma once
// The lab's kubelet-lite: runs the pods bound to the lab's nodes as local processes.
//
// Per container: argv from the image table (images.h) with Kubernetes' command/args rules and $(VAR)
// expansion; environment from env, envFrom (Secrets, ConfigMaps; keys that are not valid variable names
// are skipped, as the kubelet does), secretKeyRef/configMapKeyRef (optional honoured) and the downward
// API; the process runs in a mount namespace of its own (unshare(CLONE_NEWNS), private propagation) where
// every volumeMount is a bind mount of the volume's directory onto mountPath and every volumeDevice a bind
// mount of the volume's file onto devicePath, so programs run unchanged. Volumes: persistentVolumeClaim
// (the PV's lab.hoist.io/data-path, spec.hostPath or spec.local), emptyDir, hostPath, secret, configMap,
// and the service-account token directory (token, ca.crt, namespace of the lab API server). Each pod gets
// a loopback address of its own (127.10.x.y) as status.podIP. stdout/stderr go to
// DIR/pods/<ns>_<name>_<uid>/<container>/<restartCount>.log, served to `kubectl logs` (PodLogSource).
// Phases, container states, restartPolicy with back-off, conditions and graceful deletion follow the
// kubelet. securityContext and resources are accepted and ignored (processes run as the lab's user).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lab/apiserver.h"
#include "lab/images.h"
#include "lab/store.h"

namespace hoist::lab {

struct KubeletOptions {
  std::string dir;                      // the lab directory (pods/ goes under it)
  std::vector<std::string> node_names;  // nodes this kubelet serves
  // The API server as pods see it (KUBERNETES_SERVICE_HOST/PORT and the service-account directory).
  std::string api_host = "127.0.0.1";
  int api_port = 0;  // 0: pods get no in-cluster configuration
  std::string ca_pem;
  std::string token;
  std::chrono::milliseconds restart_backoff_initial{1000};
  std::chrono::milliseconds restart_backoff_max{30000};
  // Upper bound on how long a container may take to stop after SIGTERM at lab shutdown.
  std::chrono::seconds shutdown_grace{10};
};

class Kubelet : public PodLogSource {
 public:
  Kubelet(Store& store, std::shared_ptr<const ImageTable> images, KubeletOptions options);
  ~Kubelet() override;  // Stop()
  Kubelet(const Kubelet&) = delete;
  Kubelet& operator=(const Kubelet&) = delete;

  // Called (from any thread) when something happened that needs a Sync soon (a container exited).
  void SetWakeup(std::function<void()> wakeup);
  // One pass over the pods bound to our nodes. Returns true when it wrote to the store.
  bool Sync();
  // True while a timer (back-off, grace period) wants another Sync soon.
  bool HasPendingTimers();
  // Stops every container (SIGTERM, then SIGKILL after the grace period) and waits for them. Pod
  // statuses are not rewritten: a restarted lab finds them as a rebooted node would (see Sync).
  void Stop();

  void StreamLog(const std::string& ns, const std::string& pod, const Options& options,
                 const std::function<bool(std::string_view)>& sink,
                 const std::function<bool()>& cancelled) override;

  // Expands Kubernetes $(VAR) references: $(NAME) → value when defined, else left as is; $$ → $.
  static std::string ExpandVars(const std::string& text, const std::map<std::string, std::string>& vars);
  // Kubernetes' IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]*
  static bool IsEnvVarName(const std::string& name);

 private:
  struct ContainerRun;
  struct PodRun;

  bool SyncPod(const Json& pod);
  bool FinishDeletion(const Json& pod, PodRun& run);
  void Recover(const Json& pod, PodRun& run);
  bool ClaimsReady(const Json& pod, std::string* why);
  void StartContainer(const Json& pod, PodRun& run, ContainerRun& c, const Json& spec);
  void Reap(std::string pod_uid, std::string container, bool init, pid_t pid);
  // A container that ended (or failed to start) and will run again: keep its last state, back off.
  void ScheduleRestart(ContainerRun& c, const PodRun& run);
  Json BuildStatus(const Json& pod, const PodRun& run) const;
  std::string AllocateIp(const std::vector<Json>& pods);
  std::string PodDir(const Json& pod) const;
  void KillRun(PodRun& run, int sig);

  Store& store_;
  std::shared_ptr<const ImageTable> images_;
  KubeletOptions options_;
  ResourceType pods_, pvcs_, pvs_, secrets_, configmaps_;

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<PodRun>> runs_;  // by pod uid
  std::function<void()> wakeup_;
  std::vector<std::thread> waiters_;
  int next_ip_ = 0;
  bool stopped_ = false;
};

}  // namespace hoist::lab

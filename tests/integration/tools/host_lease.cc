// it_tool_host_lease: takes a slot of a LeaseSemaphore (the xcopy populator's per-host lease) and
// holds it until SIGTERM, printing what happens, for the host-lease integration test. SIGTERM
// stops the guarded work and releases the slot, as the populator does on SIGTERM.
//
//   it_tool_host_lease --kubeconfig F --identity ID --prefix P [--namespace NS] [--slots N]
//                      [--lease-duration-ms N] [--renew-interval-ms N] [--renew-deadline-ms N] [--retry-ms N]
// Prints (flushed) "waiting <holders>" once while all slots are busy, "acquired <lease>",
// "lost lease <namespace>/<lease> …" when the lease is lost, "released" after a graceful stop, "error
// <message>".
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/lease_semaphore.h"

int main(int argc, char** argv) {
  using namespace hoist;
  std::string kubeconfig;
  kube::LeaseSemaphoreConfig config;
  config.lease_namespace = "default";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    auto ms = [&] { return std::chrono::milliseconds(std::atol(value.c_str())); };
    if (flag == "--kubeconfig")
      kubeconfig = value;
    else if (flag == "--identity")
      config.identity = value;
    else if (flag == "--prefix")
      config.name_prefix = value;
    else if (flag == "--namespace")
      config.lease_namespace = value;
    else if (flag == "--slots")
      config.slots = std::atoi(value.c_str());
    else if (flag == "--lease-duration-ms")
      config.lease_duration = ms();
    else if (flag == "--renew-interval-ms")
      config.renew_interval = ms();
    else if (flag == "--renew-deadline-ms")
      config.renew_deadline = ms();
    else if (flag == "--retry-ms")
      config.retry_interval = ms();
  }
  if (kubeconfig.empty() || config.identity.empty() || config.name_prefix.empty()) {
    std::fprintf(stderr, "usage: it_tool_host_lease --kubeconfig F --identity ID --prefix P [...]\n");
    return 2;
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  log::SetLevel(log::Level::kWarn);
  std::mutex out_mu;
  auto say = [&](const std::string& line) {
    std::lock_guard<std::mutex> l(out_mu);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  bool said_waiting = false;
  config.on_wait = [&](const std::vector<std::string>& holders) {
    if (said_waiting) return;
    said_waiting = true;
    std::string h;
    for (const auto& x : holders) h += (h.empty() ? "" : ",") + x;
    say("waiting " + h);
  };
  int rc = 0;
  try {
    kube::Client client(kube::LoadKubeconfig({kubeconfig, ""}));
    kube::LeaseSemaphore sem(client, config);
    std::stop_source stop;
    std::thread run([&] {
      try {
        sem.Run(stop.get_token(), [&](std::stop_token guarded) {
          std::mutex mu;
          std::condition_variable_any cv;
          std::unique_lock<std::mutex> l(mu);
          say("acquired");
          cv.wait(l, guarded, [] { return false; });
        });
        say("released");
      } catch (const Error& e) {
        if (e.error_class() != ErrorClass::kCancelled) {
          std::string what = e.what();
          say(what.rfind("lost lease", 0) == 0 ? what : "error " + what);
          rc = 1;
        }
      }
      ::kill(::getpid(), SIGTERM);  // done: let main return
    });
    int sig = 0;
    sigwait(&sigs, &sig);
    stop.request_stop();
    run.join();
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "it_tool_host_lease: %s\n", e.what());
    return 1;
  }
}

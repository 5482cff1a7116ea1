// it_tool_kube_leader: campaigns for a Lease with hoist's LeaderElector and prints what happens, for
// the leader-election integration test. SIGTERM stops it gracefully (the lease is released).
//
//   it_tool_kube_leader --kubeconfig F --identity ID [--namespace NS] [--lease NAME]
//                       [--lease-duration-ms N] [--renew-deadline-ms N] [--retry-period-ms N]
// Prints "leading <id>", "stopped <id>", "leader <observed id>" lines (flushed).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/log.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/leader_election.h"

int main(int argc, char** argv) {
  using namespace hoist;
  std::string kubeconfig, identity, ns = "default", lease = "hoist-it-leader";
  long duration_ms = 4000, renew_ms = 3000, retry_ms = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--kubeconfig")
      kubeconfig = value;
    else if (flag == "--identity")
      identity = value;
    else if (flag == "--namespace")
      ns = value;
    else if (flag == "--lease")
      lease = value;
    else if (flag == "--lease-duration-ms")
      duration_ms = std::atol(value.c_str());
    else if (flag == "--renew-deadline-ms")
      renew_ms = std::atol(value.c_str());
    else if (flag == "--retry-period-ms")
      retry_ms = std::atol(value.c_str());
  }
  if (kubeconfig.empty() || identity.empty()) {
    std::fprintf(stderr, "usage: it_tool_kube_leader --kubeconfig F --identity ID [...]\n");
    return 2;
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  log::SetLevel(log::Level::kWarn);
  try {
    kube::Client client(kube::LoadKubeconfig({kubeconfig, ""}));
    kube::LeaderElectionConfig config;
    config.lease_namespace = ns;
    config.lease_name = lease;
    config.identity = identity;
    config.lease_duration = std::chrono::milliseconds(duration_ms);
    config.renew_deadline = std::chrono::milliseconds(renew_ms);
    config.retry_period = std::chrono::milliseconds(retry_ms);
    config.on_started_leading = [&](std::stop_token) {
      std::printf("leading %s\n", identity.c_str());
      std::fflush(stdout);
    };
    config.on_stopped_leading = [&] {
      std::printf("stopped %s\n", identity.c_str());
      std::fflush(stdout);
    };
    config.on_new_leader = [](const std::string& leader) {
      std::printf("leader %s\n", leader.c_str());
      std::fflush(stdout);
    };
    kube::LeaderElector elector(client, config);
    std::stop_source stop;
    std::thread run([&] {
      elector.Run(stop.get_token());
      // Leadership lost (or never won before stop): tell main to exit.
      ::kill(::getpid(), SIGTERM);
    });
    int sig = 0;
    sigwait(&sigs, &sig);
    stop.request_stop();
    run.join();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "it_tool_kube_leader: %s\n", e.what());
    return 1;
  }
}

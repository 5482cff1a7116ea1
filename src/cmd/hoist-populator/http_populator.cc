#include "cmd/hoist-populator/http_populator.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "populators/common/metrics_endpoint.h"
#include "prom/metrics.h"

namespace hoist::cli {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Kubernetes shows this file's content as the container's termination message; only written when the
// runtime provides it (never created: outside a container /dev is the host's).
void WriteTerminationMessage(const std::string& message) {
  if (access("/dev/termination-log", W_OK) != 0) return;
  std::ofstream("/dev/termination-log") << message << "\n";
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int RunHttpPopulator(std::string_view program, const populators::CommonFlags& flags,
                     const char* progress_metric, const CopyFn& copy) {
  prom::Registry registry;
  prom::Counter& progress =
      registry.AddCounterFamily(progress_metric, "Progress of volume population", {"ownerUID"})
          .WithLabels({flags.owner_uid});
  prom::Gauge& bytes = registry
                           .AddGaugeFamily("hoist_populator_copied_bytes",
                                           "Bytes of the disk image on the volume", {"ownerUID"})
                           .WithLabels({flags.owner_uid});

  populators::MetricsEndpointOptions mo;
  mo.listen = flags.metrics_listen;
  populators::MetricsEndpoint endpoint(registry, mo);
  try {
    endpoint.Start();
  } catch (const Error& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), e.what());
    return 1;
  }
  log::Info("populator", "metrics endpoint listening", {{"url", endpoint.url()}});

  // SIGTERM/SIGINT → stop the copy; it writes its checkpoint on the way out.
  std::stop_source stop;
  std::atomic<bool> finished{false};
  std::atomic<int> signal_seen{0};
  std::thread waiter([&] {
    sigset_t set = TerminationSignals();
    timespec tick{0, 200 * 1000 * 1000};
    while (!finished.load()) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig > 0) {
        signal_seen = sig;
        log::Warn("populator", "stopping on a signal; the checkpoint is written so a new pod resumes",
                  {{"signal", sig}});
        stop.request_stop();
      }
    }
  });

  int rc = 0;
  try {
    populators::CopyResult r = copy(progress, &bytes, stop.get_token());
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f",
                  r.seconds > 0 ? static_cast<double>(r.fetched_bytes) / r.seconds / (1 << 20) : 0.0);
    log::Info("populator", "finished populating the volume",
              {{"progress", "100"},
               {"resumed_bytes", r.resumed_bytes},
               {"fetched_bytes", r.fetched_bytes},
               {"zero_bytes", r.zero_bytes},
               {"allocated_bytes", r.allocated_bytes},
               {"checksum", r.checksum.empty() ? "not verified" : r.checksum},
               {"seconds", std::to_string(r.seconds)},
               {"fetch_MiB_per_s", rate}});
    if (flags.final_scrape_wait_ms > 0 &&
        !endpoint.WaitForScrape(std::chrono::milliseconds(flags.final_scrape_wait_ms))) {
      log::Info("populator", "no final scrape arrived; exiting anyway");
    }
  } catch (const Error& e) {
    rc =
        (e.error_class() == ErrorClass::kCancelled && signal_seen.load() != 0) ? 128 + signal_seen.load() : 1;
    log::Error("populator", "failed",
               {{"class", std::string(ErrorClassName(e.error_class()))}, {"error", e.what()}});
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), e.what());
    WriteTerminationMessage(e.what());
  } catch (const std::exception& e) {
    rc = 1;
    log::Error("populator", "failed", {{"error", e.what()}});
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), e.what());
    WriteTerminationMessage(e.what());
  }
  finished = true;
  waiter.join();
  endpoint.Stop();
  return rc;
}

}  // namespace hoist::cli

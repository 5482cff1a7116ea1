// bench_apiserver_throughput: the lab API server under hoist's own Kubernetes client.
// Starts `hoist lab apiserver` as a subprocess, creates N PersistentVolumeClaims from a few threads,
// lists them in pages, and measures watches (live, while creating, and replaying from a
// resourceVersion); prints objects/s for each and the server's peak RSS (VmHWM).
//
//   bench_apiserver_throughput [--objects 10000] [--threads 4] [--page 500] [--hoist PATH/TO/hoist]
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "../tests/integration/kube_lab_apiserver.h"
#include "core/log.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/objects.h"

namespace {

using namespace hoist;
using namespace hoist::kube;
using Steady = std::chrono::steady_clock;

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

std::string ExeDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

Json Pvc(int i) {
  Json pvc = NewObject(resources::kPersistentVolumeClaim, "bench", "disk-" + std::to_string(i));
  pvc["metadata"]["labels"] = {{"app", "bench"}};
  pvc["spec"] = {{"accessModes", {"ReadWriteOnce"}},
                 {"resources", {{"requests", {{"storage", "1Gi"}}}}},
                 {"storageClassName", "bench-none"},
                 {"dataSourceRef",
                  {{"apiGroup", "forklift.konveyor.io"},
                   {"kind", "VSphereXcopyVolumePopulator"},
                   {"name", "pop-" + std::to_string(i)}}}};
  return pvc;
}

}  // namespace

int main(int argc, char** argv) {
  int objects = 10000, threads = 4, page = 500;
  std::string hoist_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--objects")
      objects = std::atoi(argv[i + 1]);
    else if (flag == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (flag == "--page")
      page = std::atoi(argv[i + 1]);
    else if (flag == "--hoist")
      hoist_path = argv[i + 1];
  }
  if (!hoist_path.empty()) {
    ::setenv("HOIST_BIN_DIR", hoist_path.substr(0, hoist_path.rfind('/')).c_str(), 1);
  } else if (std::getenv("HOIST_BIN_DIR") == nullptr) {
    ::setenv("HOIST_BIN_DIR", (ExeDir() + "/../src").c_str(), 1);
  }
  log::SetLevel(log::Level::kWarn);
  try {
    testing::LabApiServer server;
    server.Start();
    Client client(server.Config());
    client.Create(resources::kNamespace, "", NewObject(resources::kNamespace, "", "bench"));
    std::string start_rv = client.List(resources::kPersistentVolumeClaim, "bench").resource_version;

    // Live watch while creating.
    std::atomic<int> live_seen{0};
    Steady::time_point live_last;
    std::stop_source stop;
    Client watch_client(server.Config());
    std::thread live([&] {
      WatchOptions opts;
      opts.resource_version = start_rv;
      WatchWithResume(
          watch_client, resources::kPersistentVolumeClaim, "bench", opts,
          [&](const WatchEvent& ev) {
            if (ev.type == WatchEvent::Type::kAdded && live_seen.fetch_add(1) + 1 == objects) {
              live_last = Steady::now();
              return false;
            }
            return true;
          },
          stop.get_token());
    });

    auto create_start = Steady::now();
    std::atomic<int> failures{0};
    std::vector<std::thread> creators;
    for (int t = 0; t < threads; ++t) {
      creators.emplace_back([&, t] {
        Client c(server.Config());
        for (int i = t; i < objects; i += threads) {
          try {
            c.Create(resources::kPersistentVolumeClaim, "bench", Pvc(i));
          } catch (const std::exception& e) {
            if (failures.fetch_add(1) == 0) std::fprintf(stderr, "create failed: %s\n", e.what());
          }
        }
      });
    }
    for (auto& t : creators) t.join();
    double create_s = Seconds(Steady::now() - create_start);
    auto live_deadline = Steady::now() + std::chrono::seconds(120);
    while (live_seen.load() < objects && Steady::now() < live_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop.request_stop();
    live.join();
    double live_s = live_seen.load() >= objects ? Seconds(live_last - create_start) : -1;

    auto list_start = Steady::now();
    ListOptions opts;
    opts.limit = page;
    ListResult all = ListAll(client, resources::kPersistentVolumeClaim, "bench", opts);
    double list_s = Seconds(Steady::now() - list_start);

    // Replay: a new watch from before the first create receives every ADDED event.
    int replayed = 0;
    auto replay_start = Steady::now();
    WatchOptions replay_opts;
    replay_opts.resource_version = start_rv;
    std::stop_source replay_stop;
    try {
      WatchWithResume(
          watch_client, resources::kPersistentVolumeClaim, "bench", replay_opts,
          [&](const WatchEvent& ev) {
            return !(ev.type == WatchEvent::Type::kAdded && ++replayed == objects);
          },
          replay_stop.get_token());
    } catch (const ApiError& e) {
      if (!IsGone(e)) throw;
      std::printf(
          "  watch replay: the server no longer keeps the first events (410 Gone); use fewer --objects\n");
    }
    double replay_s = Seconds(Steady::now() - replay_start);

    long rss_kib = server.PeakRssKib();
    std::printf("apiserver_throughput: %d PVCs, %d client threads, page size %d\n", objects, threads, page);
    std::printf("  create        %8.0f objects/s  (%.2f s, %d failures)\n", objects / create_s, create_s,
                failures.load());
    if (live_s > 0) {
      std::printf("  watch (live)  %8.0f objects/s  (last event %.2f s after the first create)\n",
                  objects / live_s, live_s);
    } else {
      std::printf("  watch (live)  incomplete: %d of %d events\n", live_seen.load(), objects);
    }
    std::printf("  list (paged)  %8.0f objects/s  (%zu objects in %.2f s)\n", all.items.size() / list_s,
                all.items.size(), list_s);
    std::printf("  watch replay  %8.0f objects/s  (%d events in %.2f s)\n", replayed / replay_s, replayed,
                replay_s);
    std::printf("  server peak RSS (VmHWM) %.1f MiB\n", rss_kib / 1024.0);
    server.Stop();
    return failures.load() == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_apiserver_throughput: %s\n", e.what());
    return 1;
  }
}

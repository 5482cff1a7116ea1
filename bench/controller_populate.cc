// bench_controller_populate: hoist-controller populating N PVCs at once in the lab.
// Brings up `hoist lab up` (temp dir) with the test populator as the populator image, starts
// hoist-controller, creates N OvirtVolumePopulator CRs and N PVCs (Filesystem, Immediate class) as fast
// as the API server takes them, and waits until every PVC is Bound to its populated volume, its prime
// PVC is gone and its CR says Succeeded. Prints the controller's CPU seconds and peak RSS, the
// Kubernetes API requests it made per PVC (its hoist_controller_api_requests_total), and p50/p99 of
// the time from a PVC's creation to its populator pod's creation (both as seen by this program: the
// create's response, and the pod's ADDED event on a watch).
//
//   bench_controller_populate [--pvcs 1000] [--qps 20] [--workers 2] [--scrape-interval 5s]
//
// --qps is the controller's client-side rate limit (--kube-api-qps; its default is 20): with N PVCs
// created at once, the time to pod creation is mostly the wait for that budget, so the run also prints
// the requests per second the controller achieved.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "../tests/integration/controller_lab.h"
#include "core/log.h"
#include "kube/objects.h"

namespace {

using namespace hoist;
using Steady = std::chrono::steady_clock;
using hoist::controller::testing::ControllerLab;
using hoist::controller::testing::Eventually;
namespace res = kube::resources;

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ApiRequests(const std::string& metrics) {
  double total = 0;
  size_t pos = 0;
  const std::string name = "hoist_controller_api_requests_total{";
  while ((pos = metrics.find(name, pos)) != std::string::npos) {
    size_t space = metrics.find("} ", pos);
    if (space == std::string::npos) break;
    total += std::atof(metrics.c_str() + space + 2);
    pos = space;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  int pvcs = 1000, qps = 20, workers = 2;
  std::string scrape = "5s";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--pvcs") {
      pvcs = std::atoi(argv[i + 1]);
    } else if (flag == "--qps") {
      qps = std::atoi(argv[i + 1]);
    } else if (flag == "--workers") {
      workers = std::atoi(argv[i + 1]);
    } else if (flag == "--scrape-interval") {
      scrape = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: %s [--pvcs N] [--qps N] [--workers N] [--scrape-interval D]\n", argv[0]);
      return 2;
    }
  }
  log::SetLevel(log::Level::kWarn);
  try {
    ControllerLab lab;
    lab.Apply(R"(apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: lab-file}
provisioner: lab.hoist.io/file
volumeBindingMode: Immediate
)");
    lab.Namespace("bench", {{"TEST_POPULATOR_BYTES", "4096"}, {"TEST_POPULATOR_STEPS", "1"}, {"TEST_POPULATOR_STEP_MS", "0"}});
    lab.StartController({"--kube-api-qps=" + std::to_string(qps),
                         "--kube-api-burst=" + std::to_string(std::max(30, qps + qps / 2)),
                         "--workers=" + std::to_string(workers), "--scrape-interval=" + scrape, "--log-level=warn"});
    kube::Client& client = lab.client();
    net::HttpClient http;
    net::HttpRequest ready;
    ready.url = "http://" + lab.controller()->metrics_address() + "/readyz";
    if (!Eventually([&] { return http.Do(ready).status == 200; }, std::chrono::seconds(30))) {
      throw std::runtime_error("the controller did not become ready");
    }
    double requests_before = ApiRequests(lab.Metrics());
    double cpu_before = lab.controller()->CpuSeconds();

    // Pod creations as they happen.
    std::mutex mu;
    std::map<std::string, Steady::time_point> pod_added;  // target PVC uid → when its pod appeared
    std::map<std::string, Steady::time_point> pvc_bound;  // target PVC uid → when it was Bound
    std::jthread pvc_watch([&](std::stop_token stop) {
      kube::WatchOptions o;
      o.resource_version = "0";
      try {
        kube::WatchWithResume(
            client, res::kPersistentVolumeClaim, "bench", o,
            [&](const kube::WatchEvent& e) {
              if (kube::Name(e.object).rfind("disk-", 0) == 0 && kube::pvc::Phase(e.object) == "Bound") {
                std::lock_guard<std::mutex> l(mu);
                pvc_bound.emplace(kube::Uid(e.object), Steady::now());
              }
              return true;
            },
            stop);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "PVC watch ended: %s\n", e.what());
      }
    });
    std::jthread pod_watch([&](std::stop_token stop) {
      kube::WatchOptions o;
      o.resource_version = "0";
      try {
        kube::WatchWithResume(
            client, res::kPod, "bench", o,
            [&](const kube::WatchEvent& e) {
              std::string name = kube::Name(e.object);
              if (e.type == kube::WatchEvent::Type::kAdded && name.rfind("populate-", 0) == 0) {
                std::lock_guard<std::mutex> l(mu);
                pod_added.emplace(name.substr(9), Steady::now());
              }
              return true;
            },
            stop);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "pod watch ended: %s\n", e.what());
      }
    });

    for (int i = 0; i < pvcs; ++i) {
      kube::Json cr = kube::NewObject(kube::ResourceType{"forklift.konveyor.io", "v1beta1", "ovirtvolumepopulators",
                                                         "OvirtVolumePopulator", true},
                                      "bench", "disk-" + std::to_string(i));
      cr["spec"] = {{"engineUrl", "https://engine.example.com"}, {"engineSecretName", "knobs"},
                    {"diskId", "d-" + std::to_string(i)}};
      client.Create(kube::ResourceType{"forklift.konveyor.io", "v1beta1", "ovirtvolumepopulators",
                                       "OvirtVolumePopulator", true},
                    "bench", cr);
    }
    std::map<std::string, Steady::time_point> pvc_created;
    Steady::time_point start = Steady::now();
    {
      std::atomic<int> next{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
          for (int i = next++; i < pvcs; i = next++) {
            kube::Json pvc = kube::NewObject(res::kPersistentVolumeClaim, "bench", "disk-" + std::to_string(i));
            pvc["spec"] = {{"storageClassName", "lab-file"},
                           {"accessModes", {"ReadWriteOnce"}},
                           {"volumeMode", "Filesystem"},
                           {"resources", {{"requests", {{"storage", "1Mi"}}}}},
                           {"dataSourceRef",
                            {{"apiGroup", "forklift.konveyor.io"},
                             {"kind", "OvirtVolumePopulator"},
                             {"name", "disk-" + std::to_string(i)}}}};
            kube::Json created = client.Create(res::kPersistentVolumeClaim, "bench", pvc);
            std::lock_guard<std::mutex> l(mu);
            pvc_created[kube::Uid(created)] = Steady::now();
          }
        });
      }
      for (auto& t : threads) t.join();
    }
    double create_seconds = Seconds(Steady::now() - start);

    // Done when every PVC is Bound, no prime PVC is left and every CR says Succeeded.
    int bound = 0, primes = 0, succeeded = 0;
    bool done = Eventually(
        [&] {
          bound = primes = 0;
          for (const auto& p : client.List(res::kPersistentVolumeClaim, "bench").items) {
            if (kube::Name(p).rfind("prime-", 0) == 0) {
              ++primes;
            } else if (kube::pvc::Phase(p) == "Bound") {
              ++bound;
            }
          }
          succeeded = 0;
          for (const auto& c : client
                                   .List(kube::ResourceType{"forklift.konveyor.io", "v1beta1", "ovirtvolumepopulators",
                                                            "OvirtVolumePopulator", true},
                                         "bench")
                                   .items) {
            succeeded += hoist::controller::testing::TrueCondition(c) == "Succeeded/Populated" ? 1 : 0;
          }
          if (bound < pvcs || primes > 0 || succeeded < pvcs) {
            std::this_thread::sleep_for(std::chrono::seconds(2));
            return false;
          }
          return true;
        },
        std::chrono::seconds(3600));
    double total_seconds = Seconds(Steady::now() - start);
    double cpu = lab.controller()->CpuSeconds() - cpu_before;
    long rss_kib = lab.controller()->PeakRssKib();
    double requests = ApiRequests(lab.Metrics()) - requests_before;
    pod_watch.request_stop();
    pvc_watch.request_stop();

    std::vector<double> latency, populated;
    {
      std::lock_guard<std::mutex> l(mu);
      for (const auto& [uid, t] : pvc_created) {
        auto it = pod_added.find(uid);
        if (it != pod_added.end()) latency.push_back(Seconds(it->second - t));
        auto b = pvc_bound.find(uid);
        if (b != pvc_bound.end()) populated.push_back(Seconds(b->second - t));
      }
    }
    std::printf("controller populating %d PVCs in the lab (controller --kube-api-qps=%d --workers=%d "
                "--scrape-interval=%s; test populator writing 4 KiB)\n",
                pvcs, qps, workers, scrape.c_str());
    std::printf("  all populated:                 %s (bound %d, prime PVCs left %d, CRs Succeeded %d)\n",
                done ? "yes" : "NO", bound, primes, succeeded);
    std::printf("  PVCs created in:               %.1f s\n", create_seconds);
    std::printf("  all populated after:           %.1f s (%.1f PVCs/s)\n", total_seconds, pvcs / total_seconds);
    std::printf("  controller CPU:                %.2f s (%.1f ms per PVC)\n", cpu, 1000 * cpu / pvcs);
    std::printf("  controller peak RSS:           %.1f MiB\n", rss_kib / 1024.0);
    std::printf("  API requests:                  %.0f (%.1f per PVC, %.1f per second)\n", requests, requests / pvcs,
                requests / total_seconds);
    std::printf("  PVC creation → pod creation:   p50 %.2f s, p99 %.2f s (%zu pods seen)\n", Percentile(latency, 0.5),
                Percentile(latency, 0.99), latency.size());
    std::printf("  PVC creation → PVC Bound:      p50 %.2f s, p99 %.2f s\n", Percentile(populated, 0.5),
                Percentile(populated, 0.99));
    std::string breakdown;
    std::string m = lab.Metrics();
    std::istringstream lines(m);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("hoist_controller_api_requests_total{", 0) == 0) breakdown += "    " + line + "\n";
    }
    std::printf("  requests by verb and resource:\n%s", breakdown.c_str());
    return done ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_controller_populate: %s\n", e.what());
    return 1;
  }
}

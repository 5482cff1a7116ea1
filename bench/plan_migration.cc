// A migration Plan at scale through the copy-offload planner: by default 50 VMs × 2 disks spread over
// 4 ESXi hosts in the lab (src/lab/xcopy world: the lab cluster, an ONTAP simulator, hoist-vcsim, and
// hoist-controller with FEATURE_COPY_OFFLOAD=true running the planner and the populator machinery; the
// xcopy populators run as lab pods). It prints
//   - the time from Plan creation to the last PVC Bound, beside the bound the per-host limits allow
//     (ceil(disks per host / concurrent clones per host) × one clone's time) and their ratio;
//   - per ESXi host the peak number of clones running at once (the wrapper's task directories on the
//     host), of populator pods Pending or Running (label sourceHost) and of held host Leases, against
//     MAX_POPULATOR_INFLIGHT and the 2 lease slots — a peak above a limit is reported and fails the run;
//   - hoist-controller's Kubernetes API requests (hoist_controller_api_requests_total) per disk, by verb.
//
//   HOIST_BIN_DIR=build/release/src build/release/bench/bench_plan_migration
//       [--vms 50] [--disks 2] [--hosts 4] [--disk-mib 4] [--clone-seconds 2] [--pods-per-host 4]
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/objects.h"
#include "kube/selectors.h"
#include "lab/cluster.h"
#include "lab/store.h"
#include "lab/xcopy/world.h"
#include "net/tls.h"
#include "planner/api.h"

namespace {

namespace fs = std::filesystem;
using hoist::lab::xcopy::World;
using hoist::lab::xcopy::WorldOptions;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

json SecretObject(const std::string& ns, const std::string& name,
                  const std::map<std::string, std::string>& data) {
  json d = json::object();
  for (const auto& [k, v] : data) d[k] = hoist::net::Base64Encode(v);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", d}};
}

int Arg(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == "--" + name) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

struct Peaks {
  std::map<std::string, int> clones, pods, leases;  // host moref → peak
};

struct Requests {
  double total = 0;
  std::map<std::string, double> by_verb, by_resource;
  Requests operator-(const Requests& o) const {
    Requests r = *this;
    r.total -= o.total;
    for (const auto& [k, v] : o.by_verb) r.by_verb[k] -= v;
    for (const auto& [k, v] : o.by_resource) r.by_resource[k] -= v;
    return r;
  }
};

// hoist-controller's hoist_controller_api_requests_total{verb,resource}, from its metrics endpoint
// (its address is the first line it prints).
Requests ScrapeRequests(const std::string& controller_log) {
  Requests r;
  auto at = controller_log.find("metrics-address=");
  if (at == std::string::npos) return r;
  std::string addr = controller_log.substr(at + 16, controller_log.find('\n', at) - at - 16);
  std::istringstream lines(Run("curl -s http://" + addr + "/metrics"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("hoist_controller_api_requests_total{", 0) != 0) continue;
    double v = std::atof(line.substr(line.rfind(' ') + 1).c_str());
    auto label = [&](const std::string& key) {
      auto b = line.find(key + "=\"");
      return b == std::string::npos
                 ? std::string("?")
                 : line.substr(b + key.size() + 2, line.find('"', b + key.size() + 2) - b - key.size() - 2);
    };
    r.by_verb[label("verb")] += v;
    r.by_resource[label("resource")] += v;
    r.total += v;
  }
  return r;
}

void PrintRequests(const char* what, const Requests& r, int disks) {
  std::printf("%s: %.0f API requests, %.1f per disk (", what, r.total, r.total / disks);
  bool first = true;
  for (const auto& [verb, n] : r.by_verb) {
    if (n < 0.5) continue;
    std::printf("%s%s %.1f", first ? "" : ", ", verb.c_str(), n / disks);
    first = false;
  }
  std::printf(")\n  by resource:");
  for (const auto& [res, n] : r.by_resource) {
    if (n >= 0.5) std::printf(" %s %.2f", res.c_str(), n / disks);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const int vms = Arg(argc, argv, "vms", 50);
  const int disks = Arg(argc, argv, "disks", 2);
  const int hosts = Arg(argc, argv, "hosts", 4);
  const int disk_mib = Arg(argc, argv, "disk-mib", 4);
  const int clone_seconds = Arg(argc, argv, "clone-seconds", 2);
  const int pods_per_host = Arg(argc, argv, "pods-per-host", 4);
  const int lease_slots = 2;  // the xcopy populator's per-host rescan slots (Forklift's)
  const char* bin = std::getenv("HOIST_BIN_DIR");
  if (bin == nullptr) {
    std::fprintf(stderr,
                 "set HOIST_BIN_DIR to the directory with hoist-controller, hoist-populator, hoist-vcsim\n");
    return 2;
  }
  std::string tmpl = (fs::temp_directory_path() / "bench-plan.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 2;
  std::string dir = tmpl;

  WorldOptions o;
  o.dir = dir + "/world";
  o.bin_dir = fs::absolute(bin).string();  // pods run the populator from their own directory
  o.hosts.clear();
  for (int h = 1; h <= hosts; ++h) {
    hoist::lab::xcopy::HostSpec s;
    s.name = "esx" + std::to_string(h) + ".lab";
    s.iqn = "iqn.1998-01.com.vmware:esx" + std::to_string(h) + "-bench";
    s.settings["/Disk/MaxLUN"] = 4096;
    o.hosts.push_back(s);
  }
  o.datastores[0].lun_bytes =
      static_cast<uint64_t>(vms) * disks * (static_cast<uint64_t>(disk_mib) << 20) * 2;
  o.vms.clear();
  for (int v = 0; v < vms; ++v) {
    hoist::lab::xcopy::VmSpec s;
    s.name = "vm" + std::to_string(v + 1);
    s.host = o.hosts[v % hosts].name;
    s.disks = disks;
    s.disk_bytes = static_cast<uint64_t>(disk_mib) << 20;
    s.data_bytes = s.disk_bytes / 2;
    s.seed = 100 + v * 10;
    o.vms.push_back(s);
  }
  // The fake vmkfstools advances 1 % per delay: a clone takes about 100 × delay seconds.
  char delay[32];
  std::snprintf(delay, sizeof delay, "%.3f", clone_seconds / 100.0);
  o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = delay;
  o.controller = true;
  o.controller_env = {{"FEATURE_COPY_OFFLOAD", "true"},
                      {"HOST_LEASE_NAMESPACE", "hoist-leases"},
                      {"MAX_POPULATOR_INFLIGHT", std::to_string(pods_per_host)}};
  o.controller_args = {"--scrape-interval=500ms", "--workers=4"};

  std::printf(
      "plan migration: %d VMs x %d disks (%d MiB) over %d ESXi hosts; clone ~%d s; "
      "MAX_POPULATOR_INFLIGHT=%d, "
      "%d lease slots per host\n",
      vms, disks, disk_mib, hosts, clone_seconds, pods_per_host, lease_slots);
  World world(o);
  world.Start();
  hoist::kube::RestConfig rc = hoist::kube::LoadKubeconfig({world.kubeconfig(), ""});
  rc.qps = 0;
  hoist::kube::Client client(rc);
  world.EnsureNamespace("mtv");
  std::map<std::string, std::string> array = world.StorageSecretData("ontap1");
  array["HOIST_XCOPY_TASK_POLL_INTERVAL"] = "250ms";
  array["HOIST_XCOPY_RESCAN_INTERVAL"] = "250ms";
  array["HOIST_XCOPY_CLEANUP_SETTLE"] = "250ms";
  namespace res = hoist::kube::resources;
  namespace pres = hoist::planner::resources;
  client.Create(res::kSecret, "mtv",
                SecretObject("mtv", "vcenter-creds",
                             {{"user", o.vcenter_user},
                              {"password", o.vcenter_password},
                              {"cacert", ReadAll(world.vcenter_ca_file())}}));
  client.Create(res::kSecret, "mtv", SecretObject("mtv", "ontap-creds", array));
  client.Create(
      pres::kProvider, "mtv",
      {{"apiVersion", "forklift.konveyor.io/v1beta1"},
       {"kind", "Provider"},
       {"metadata", {{"name", "vcenter"}, {"namespace", "mtv"}}},
       {"spec",
        {{"type", "vsphere"}, {"url", world.vcenter_url()}, {"secret", {{"name", "vcenter-creds"}}}}}});
  client.Create(pres::kStorageMap, "mtv",
                {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                 {"kind", "StorageMap"},
                 {"metadata", {{"name", "san"}, {"namespace", "mtv"}}},
                 {"spec",
                  {{"map",
                    {{{"source", {{"name", "san-ds1"}}},
                      {"destination", {{"storageClass", "ontap1"}, {"accessMode", "ReadWriteOnce"}}},
                      {"offloadPlugin",
                       {{"vsphereXcopyConfig",
                         {{"secretRef", "ontap-creds"}, {"storageVendorProduct", "ontap"}}}}}}}}}}});

  // Sample what runs on each host while the plan runs.
  std::map<std::string, std::string> host_of_name;  // esx1.lab → host-17
  for (const auto& h : o.hosts) host_of_name[h.name] = world.HostMoref(h.name);
  Peaks peaks;
  std::mutex mu;
  std::atomic<bool> sampling{true};
  hoist::lab::Store& store = world.cluster().store();
  auto pods_t = store.MustType("", "pods");
  auto leases_t = store.MustType("coordination.k8s.io", "leases");
  std::thread sampler([&] {
    while (sampling) {
      std::map<std::string, int> clones, pods, leases;
      for (const auto& [name, moref] : host_of_name)
        clones[moref] = static_cast<int>(world.HostTaskDirs(name).size());
      for (const json& p : store.List(pods_t, "").items) {
        std::string phase = hoist::kube::StringAt(p, {"status", "phase"});
        std::string host = hoist::kube::Label(p, "sourceHost");
        if (!host.empty() && (phase == "Pending" || phase == "Running")) ++pods[host];
      }
      for (const json& l : store.List(leases_t, "hoist-leases").items) {
        std::string name = hoist::kube::Name(l);
        for (const auto& [_, moref] : host_of_name) {
          if (name.find("-" + moref + "-slot-") != std::string::npos &&
              !hoist::kube::StringAt(l, {"spec", "holderIdentity"}).empty()) {
            ++leases[moref];
          }
        }
      }
      if (std::getenv("HOIST_BENCH_DEBUG") != nullptr) {
        for (auto& [h, n] : pods) {
          if (n <= pods_per_host) continue;
          std::string who;
          for (const json& p : store.List(pods_t, "").items) {
            if (hoist::kube::Label(p, "sourceHost") == h)
              who += " " + hoist::kube::Name(p).substr(9, 8) + ":" +
                     hoist::kube::StringAt(p, {"status", "phase"}) +
                     (hoist::kube::IsBeingDeleted(p) ? "(deleting)" : "");
          }
          std::fprintf(stderr, "OVER %s %d:%s\n", h.c_str(), n, who.c_str());
        }
      }
      {
        std::lock_guard lock(mu);
        for (auto& [h, n] : clones) peaks.clones[h] = std::max(peaks.clones[h], n);
        for (auto& [h, n] : pods) peaks.pods[h] = std::max(peaks.pods[h], n);
        for (auto& [h, n] : leases) peaks.leases[h] = std::max(peaks.leases[h], n);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  json vm_refs = json::array();
  for (const auto& v : o.vms) vm_refs.push_back({{"name", v.name}});
  auto t0 = Clock::now();
  json plan = client.Create(pres::kPlan, "mtv",
                            {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                             {"kind", "Plan"},
                             {"metadata", {{"name", "bench"}, {"namespace", "mtv"}}},
                             {"spec",
                              {{"provider", {{"source", {{"name", "vcenter"}}}}},
                               {"map", {{"storage", {{"name", "san"}}}}},
                               {"targetNamespace", "vms"},
                               {"vms", vm_refs}}}});
  const int total = vms * disks;
  hoist::kube::ListOptions by_plan;
  by_plan.label_selector = hoist::kube::LabelSelector().Equals("plan", hoist::kube::Uid(plan)).String();
  double all_created = NAN, all_bound = NAN;
  double marks[4] = {NAN, NAN, NAN, NAN};  // 25 %, 50 %, 75 %, 100 % of the PVCs Bound
  int next_mark = 0;
  int failed_vms = 0;
  auto deadline = t0 + std::chrono::minutes(30);
  while (Clock::now() < deadline) {
    std::vector<json> pvcs;  // the target PVCs (the controller's prime PVCs carry the plan's labels too)
    for (json& p : client.List(res::kPersistentVolumeClaim, "vms", by_plan).items) {
      if (hoist::kube::Name(p).rfind("prime-", 0) != 0) pvcs.push_back(std::move(p));
    }
    int bound = 0;
    for (const json& p : pvcs) bound += hoist::kube::pvc::Phase(p) == "Bound";
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    if (std::isnan(all_created) && static_cast<int>(pvcs.size()) == total) all_created = t;
    while (next_mark < 4 && bound * 4 >= total * (next_mark + 1)) {
      marks[next_mark++] = t;
    }
    if (bound == total) {
      all_bound = t;
      break;
    }
    json p = client.Get(pres::kPlan, "mtv", "bench");
    if (!hoist::kube::StringAt(p, {"status", "migration", "completed"}).empty()) {
      for (const json& v : p["status"]["migration"]["vms"]) failed_vms += v.value("phase", "") == "Failed";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Requests after_plan = ScrapeRequests(world.controller_log());
  Peaks plan_peaks;
  {
    std::lock_guard lock(mu);
    plan_peaks = peaks;
    peaks = Peaks{};
  }

  // The peer: the same disks with the same objects written directly (Secret, CR labelled sourceHost,
  // PVC), as a script would without a planner — what the planner's own work adds, in this run.
  double direct_bound = NAN;
  if (std::getenv("HOIST_BENCH_NO_BASELINE") == nullptr) {
    world.EnsureNamespace("direct");
    std::map<std::string, std::string> data = world.SecretData("ontap1");
    for (const auto& [k, v] : array) data[k] = v;
    data["HOST_LEASE_NAMESPACE"] = "hoist-leases";
    auto t1 = Clock::now();
    for (const auto& vm : o.vms) {
      for (int d = 0; d < disks; ++d) {
        std::string name = "direct-" + vm.name + "-" + std::to_string(d);
        client.Create(res::kSecret, "direct", SecretObject("direct", name, data));
        client.Create(
            pres::kXcopyPopulator, "direct",
            {{"apiVersion", "forklift.konveyor.io/v1beta1"},
             {"kind", "VSphereXcopyVolumePopulator"},
             {"metadata",
              {{"name", name},
               {"namespace", "direct"},
               {"labels", {{"vmID", world.VmMoref(vm.name)}, {"sourceHost", host_of_name[vm.host]}}}}},
             {"spec",
              {{"vmId", world.VmMoref(vm.name)},
               {"vmdkPath", world.VmdkPath(vm.name, d)},
               {"secretName", name},
               {"storageVendorProduct", "ontap"}}}});
        client.Create(res::kPersistentVolumeClaim, "direct",
                      {{"apiVersion", "v1"},
                       {"kind", "PersistentVolumeClaim"},
                       {"metadata", {{"name", name}, {"namespace", "direct"}}},
                       {"spec",
                        {{"accessModes", {"ReadWriteOnce"}},
                         {"volumeMode", "Block"},
                         {"storageClassName", "ontap1"},
                         {"resources", {{"requests", {{"storage", std::to_string(vm.disk_bytes)}}}}},
                         {"dataSourceRef",
                          {{"apiGroup", "forklift.konveyor.io"},
                           {"kind", "VSphereXcopyVolumePopulator"},
                           {"name", name}}}}}});
      }
    }
    auto deadline2 = t1 + std::chrono::minutes(30);
    while (Clock::now() < deadline2) {
      int bound = 0;
      for (const json& p : client.List(res::kPersistentVolumeClaim, "direct").items) {
        bound += hoist::kube::Name(p).rfind("direct-", 0) == 0 && hoist::kube::pvc::Phase(p) == "Bound";
      }
      if (bound == total) {
        direct_bound = std::chrono::duration<double>(Clock::now() - t1).count();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  sampling = false;
  sampler.join();
  Peaks direct_peaks = peaks;
  peaks = plan_peaks;
  Requests after_peer = ScrapeRequests(world.controller_log());

  int per_host = (total + hosts - 1) / hosts;
  int parallel = std::min(pods_per_host, per_host);
  double bound_s = std::ceil(static_cast<double>(per_host) / parallel) * clone_seconds;
  std::printf("\n");
  if (std::isnan(all_bound)) {
    std::printf("NOT DONE: %d VM(s) failed or the plan did not finish in time\n%s\n", failed_vms,
                world.Kubectl("get plan -n mtv bench -o yaml").c_str());
  } else {
    std::printf(
        "time from Plan creation to the last of %d PVCs Bound: %.1f s (all PVCs created after %.1f s)\n",
        total, all_bound, all_created);
    std::printf("PVCs Bound: 25%% after %.1f s, 50%% after %.1f s, 75%% after %.1f s\n", marks[0], marks[1],
                marks[2]);
    if (!std::isnan(direct_bound)) {
      std::printf(
          "peer, the same %d disks with Secret, CR and PVC written directly (no planner): last Bound after "
          "%.1f s; "
          "plan / peer = %.2f\n",
          total, direct_bound, all_bound / direct_bound);
    }
    std::printf(
        "bound from the limits: ceil(%d disks per host / %d at once) x %d s = %.0f s; measured / bound = "
        "%.2f\n",
        per_host, parallel, clone_seconds, bound_s, all_bound / bound_s);
  }
  bool violated = false;
  std::printf("\n%-10s %14s %14s %14s   (the plan; the peer run in brackets)\n", "host", "peak clones",
              "peak pods", "peak leases");
  for (const auto& [name, moref] : host_of_name) {
    int c = peaks.clones[moref], p = peaks.pods[moref], l = peaks.leases[moref];
    bool bad = c > pods_per_host || p > pods_per_host || l > lease_slots ||
               direct_peaks.clones[moref] > pods_per_host || direct_peaks.pods[moref] > pods_per_host ||
               direct_peaks.leases[moref] > lease_slots;
    violated = violated || bad;
    std::printf("%-10s %10d/%-3d %10d/%-3d %10d/%-3d   [%d %d %d]%s\n", moref.c_str(), c, pods_per_host, p,
                pods_per_host, l, lease_slots, direct_peaks.clones[moref], direct_peaks.pods[moref],
                direct_peaks.leases[moref], bad ? "  LIMIT EXCEEDED" : "");
  }
  std::printf("\n");
  PrintRequests("hoist-controller during the plan (planner + populator machinery)", after_plan, total);
  if (!std::isnan(direct_bound)) {
    Requests peer = after_peer - after_plan;
    PrintRequests("hoist-controller during the peer run (populator machinery only)", peer, total);
    std::printf("the planner's own share: %.1f API requests per disk (plan %.1f - peer %.1f)\n",
                (after_plan.total - peer.total) / total, after_plan.total / total, peer.total / total);
  }
  world.Stop();
  if (std::getenv("HOIST_BENCH_KEEP") == nullptr)
    fs::remove_all(dir);
  else
    std::printf("kept %s\n", dir.c_str());
  return std::isnan(all_bound) || violated ? 1 : 0;
}

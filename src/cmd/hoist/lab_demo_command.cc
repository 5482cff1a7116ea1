// `hoist lab demo`: brings a lab up, provisions a WaitForFirstConsumer block volume for a pod that
// writes a known pattern to it, shows each step, checks the bytes on the volume, and stops the lab.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cmd/common/commands.h"
#include "cmd/hoist/demo_support.h"
#include "core/error.h"
#include "core/log.h"
#include "lab/cluster.h"
#include "lab/cluster_objects.h"
#include "net/http_client.h"

namespace hoist::cli {
namespace {

namespace fs = std::filesystem;
using lab::GetString;
using lab::Json;

constexpr int kLines = 1024;  // the pattern: kLines lines of "hoist-lab-demo NNNNNNNN\n" (24 bytes each)

std::string Pattern() {
  std::string s;
  char line[64];
  for (int i = 0; i < kLines; ++i) {
    std::snprintf(line, sizeof line, "hoist-lab-demo %08d\n", i);
    s += line;
  }
  return s;
}

int Demo(const std::vector<std::string>& args) {
  std::string dir;
  bool keep = false, verbose = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dir" && i + 1 < args.size())
      dir = args[++i];
    else if (args[i].rfind("--dir=", 0) == 0)
      dir = args[i].substr(6);
    else if (args[i] == "--keep")
      keep = true;
    else if (args[i] == "-v" || args[i] == "--verbose")
      verbose = true;
    else if (args[i] == "-h" || args[i] == "--help") {
      std::puts(
          "usage: hoist lab demo [--dir DIR] [--keep] [--verbose]\n\nBrings a lab up (in a temporary "
          "directory unless --dir), has a pod write a pattern to a WaitForFirstConsumer block volume,\n"
          "shows the claim, the volume, the pod and its log, checks the bytes, and stops the lab.");
      return 0;
    } else {
      std::fprintf(stderr, "hoist lab demo: unknown flag %s\n", args[i].c_str());
      return 2;
    }
  }
  if (!verbose) log::SetLevel(log::Level::kWarn);
  bool temp = dir.empty();
  if (temp) {
    std::string tmpl = (fs::temp_directory_path() / "hoist-demo-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::perror("hoist lab demo: mkdtemp");
      return 1;
    }
    dir = tmpl;
  }
  int rc = 1;
  try {
    lab::ClusterOptions opts;
    opts.dir = dir;
    lab::Cluster cluster(opts);
    std::printf("[1/6] starting a lab in %s\n", dir.c_str());
    cluster.Start();
    std::printf("      API server %s, kubeconfig %s\n", cluster.url().c_str(),
                cluster.kubeconfig_path().c_str());
    lab::Store& store = cluster.store();
    lab::ClusterTypes t = lab::ClusterTypes::From(store);

    std::printf(
        "[2/6] creating StorageClass ontap-san-lab (csi.trident.netapp.io, WaitForFirstConsumer), "
        "PVC demo-disk (64Mi, Block) and pod demo-writer\n");
    if (!store.TryGet(t.classes, "", "ontap-san-lab"))
      store.Create(t.classes, "",
                   {{"apiVersion", "storage.k8s.io/v1"},
                    {"kind", "StorageClass"},
                    {"metadata", {{"name", "ontap-san-lab"}}},
                    {"provisioner", "csi.trident.netapp.io"},
                    {"reclaimPolicy", "Delete"},
                    {"volumeBindingMode", "WaitForFirstConsumer"},
                    {"parameters", {{"backendType", "ontap-san"}}}});
    for (const auto& old : store.List(t.pods, "default").items)
      if (GetString(old, "/metadata/name") == "demo-writer") {
        lab::DeleteOptions d;
        d.grace_period_seconds = 0;
        store.Delete(t.pods, "default", "demo-writer", d);
      }
    for (int i = 0; i < 100 && store.TryGet(t.pods, "default", "demo-writer"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (store.TryGet(t.pvcs, "default", "demo-disk")) store.Delete(t.pvcs, "default", "demo-disk");
    for (int i = 0; i < 100 && store.TryGet(t.pvcs, "default", "demo-disk"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    store.Create(t.pvcs, "default",
                 {{"apiVersion", "v1"},
                  {"kind", "PersistentVolumeClaim"},
                  {"metadata", {{"name", "demo-disk"}}},
                  {"spec",
                   {{"accessModes", {"ReadWriteOnce"}},
                    {"volumeMode", "Block"},
                    {"storageClassName", "ontap-san-lab"},
                    {"resources", {{"requests", {{"storage", "64Mi"}}}}}}}});
    const std::string script = "echo \"demo-writer on $NODE_NAME at $POD_IP: writing " +
                               std::to_string(kLines) +
                               " lines to /dev/block\"\n"
                               "i=0; while [ $i -lt " +
                               std::to_string(kLines) +
                               " ]; do printf 'hoist-lab-demo %08d\\n' $i; i=$((i+1)); done | dd "
                               "of=/dev/block conv=notrunc,fsync 2>/dev/null\n"
                               "echo \"first line on the device: $(head -n 1 /dev/block)\"\n"
                               "echo done\n";
    store.Create(
        t.pods, "default",
        {{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata", {{"name", "demo-writer"}}},
         {"spec",
          {{"restartPolicy", "Never"},
           {"containers",
            Json::array(
                {{{"name", "writer"},
                  {"image", "busybox"},
                  {"command", {"sh", "-c", script}},
                  {"env", Json::array({{{"name", "POD_IP"},
                                        {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
                                       {{"name", "NODE_NAME"},
                                        {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}}})},
                  {"volumeDevices", Json::array({{{"name", "disk"}, {"devicePath", "/dev/block"}}})}}})},
           {"volumes",
            Json::array({{{"name", "disk"}, {"persistentVolumeClaim", {{"claimName", "demo-disk"}}}}})}}}});

    std::printf(
        "[3/6] waiting: scheduler picks a node, provisioner creates the volume, binder binds, kubelet runs "
        "the pod\n");
    std::string last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    Json pod, pvc;
    for (;;) {
      pod = store.Get(t.pods, "default", "demo-writer");
      pvc = store.Get(t.pvcs, "default", "demo-disk");
      std::string line =
          "      claim " + GetString(pvc, "/status/phase") +
          " (selected-node: " + lab::Annotation(pvc, lab::kAnnSelectedNode) + "), pod " +
          GetString(pod, "/status/phase") +
          (GetString(pod, "/spec/nodeName").empty() ? "" : " on " + GetString(pod, "/spec/nodeName"));
      if (line != last) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
        last = line;
      }
      std::string phase = GetString(pod, "/status/phase");
      if (phase == "Succeeded" || phase == "Failed") break;
      if (std::chrono::steady_clock::now() > deadline)
        throw TransientError("the demo pod did not finish within 60s (phase " + phase + "); see " + dir +
                             "/pods");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Json pv = store.Get(t.pvs, "", GetString(pvc, "/spec/volumeName"));
    std::printf("[4/6] claim demo-disk: %s, selected-node %s, volume %s\n",
                GetString(pvc, "/status/phase").c_str(), lab::Annotation(pvc, lab::kAnnSelectedNode).c_str(),
                GetString(pvc, "/spec/volumeName").c_str());
    std::printf("      PV %s: driver %s, volumeHandle %s, internalName %s, data in %s\n",
                GetString(pv, "/metadata/name").c_str(), GetString(pv, "/spec/csi/driver").c_str(),
                GetString(pv, "/spec/csi/volumeHandle").c_str(),
                GetString(pv, "/spec/csi/volumeAttributes/internalName").c_str(),
                lab::Annotation(pv, lab::kAnnDataPath).c_str());
    std::printf("      pod demo-writer: %s (exit code %d)\n", GetString(pod, "/status/phase").c_str(),
                lab::GetNode(pod, "/status/containerStatuses/0/state/terminated/exitCode").is_number()
                    ? lab::GetNode(pod, "/status/containerStatuses/0/state/terminated/exitCode").get<int>()
                    : -1);

    // The log, through the API server as `kubectl logs` reads it.
    net::HttpClientOptions ho;
    ho.tls.ca_pem = ReadWholeFile(dir + "/pki/ca.crt");
    net::HttpClient http(ho);
    net::HttpRequest req;
    req.url = cluster.url() + "/api/v1/namespaces/default/pods/demo-writer/log";
    std::string token = ReadWholeFile(dir + "/pki/token");
    req.headers.Add("Authorization", "Bearer " + token);
    net::HttpResponse resp = http.Do(req);
    std::printf("[5/6] kubectl logs demo-writer (HTTP %d):\n", resp.status);
    std::string body = resp.body;
    size_t pos = 0;
    while (pos < body.size()) {
      size_t nl = body.find('\n', pos);
      std::string l = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      std::printf("      | %s\n", l.c_str());
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }

    std::string data = ReadWholeFile(lab::Annotation(pv, lab::kAnnDataPath));
    std::string pattern = Pattern();
    bool match = data.size() >= pattern.size() && data.compare(0, pattern.size(), pattern) == 0;
    size_t nonzero = 0;
    for (char c : data) nonzero += c != 0;
    std::printf("[6/6] volume file: %zu bytes, %zu non-zero; sha256 of the file %s\n", data.size(), nonzero,
                Sha256Hex(data).c_str());
    std::printf("      sha256 of the first %zu bytes %s, expected %s: %s\n", pattern.size(),
                Sha256Hex(data.substr(0, pattern.size())).c_str(), Sha256Hex(pattern).c_str(),
                match ? "pattern verified" : "MISMATCH");
    bool ok = match && GetString(pod, "/status/phase") == "Succeeded";
    cluster.Stop();
    std::printf("%s; lab stopped%s\n", ok ? "demo OK" : "demo FAILED",
                keep || !temp ? (", its directory is kept: " + dir).c_str() : "");
    rc = ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist lab demo: %s\n", e.what());
    rc = 1;
  }
  if (temp && !keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return rc;
}

}  // namespace

HOIST_REGISTER_COMMAND({{"lab", "demo"}, "show the lab: a pod writes to a provisioned block volume", Demo});

}  // namespace hoist::cli

// A stand-in populator for the controller's integration tests and benchmark. It takes Forklift's
// populator arguments (the controller passes them exactly as to the real images), writes a known
// pattern to --volume-path (/mnt/disk.img or /dev/block) in steps, and serves Forklift-style progress
// metrics over HTTPS on the pod's own address, port 8443 (populators/common/metrics_endpoint.h).
//
//   it_tool_test_populator <ovirt|openstack|xcopy> --volume-path=... --owner-uid=... --pvc-size=... [...]
//   it_tool_test_populator verify --path FILE --owner-uid UID --bytes N     (exit 0 when the pattern is there)
//
// Knobs come from the environment (the pod gets them from its Secret through envFrom):
//   TEST_POPULATOR_BYTES       bytes to write (default min(pvc-size, 1 MiB))
//   TEST_POPULATOR_STEPS       steps (default 4); progress rises by 100/STEPS per step
//   TEST_POPULATOR_STEP_MS     pause after each step (default 100)
//   TEST_POPULATOR_SCRAPE_EACH_STEP=1   after each step wait (≤ 5 s) until the controller scraped it
//   TEST_POPULATOR_FAIL        "always": exit 1 after the first step; "first-N": fail the first N runs
//                              of this owner (counted in TEST_POPULATOR_RUN_LOG)
//   TEST_POPULATOR_HANG        "first-N": the first N runs of this owner stop after the first step and
//                              wait until they are killed
//   TEST_POPULATOR_RESULT      xcopy: "failure" reports a failed copy in the completion metrics (exit 0)
//   TEST_POPULATOR_RUN_LOG     file to append "<owner-uid> <event>" lines to (start, done, fail)
//   TEST_POPULATOR_NO_FINAL_WAIT=1      exit without waiting for the final scrape
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/flags.h"
#include "populators/common/metrics_endpoint.h"
#include "prom/metrics.h"

namespace {

using namespace hoist;

constexpr size_t kBlock = 4096;

std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// Block i of the pattern: a header line naming owner and block, then bytes (i + j) % 251.
void FillBlock(std::vector<char>& buf, const std::string& owner, uint64_t i) {
  buf.assign(kBlock, 0);
  for (size_t j = 0; j < kBlock; ++j) buf[j] = static_cast<char>((i + j) % 251);
  std::string header = "hoist-test-pattern owner=" + owner + " block=" + std::to_string(i) + "\n";
  std::memcpy(buf.data(), header.data(), std::min(header.size(), kBlock));
}

void AppendRunLog(const std::string& owner, const std::string& event) {
  std::string path = Env("TEST_POPULATOR_RUN_LOG");
  if (path.empty()) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
  if (fd < 0) return;
  std::string line = owner + " " + event + "\n";
  ssize_t n = ::write(fd, line.data(), line.size());
  (void)n;
  ::close(fd);
}

int RunsSoFar(const std::string& owner) {
  std::ifstream in(Env("TEST_POPULATOR_RUN_LOG"));
  std::string uid, event;
  int runs = 0;
  while (in >> uid >> event) runs += (uid == owner && event == "start") ? 1 : 0;
  return runs;
}

int Verify(const std::vector<std::string>& args) {
  FlagSet fs("it_tool_test_populator verify");
  auto& path = fs.String("path", "", "file or block device to check").Required();
  auto& owner = fs.String("owner-uid", "", "target PVC UID the pattern was written for").Required();
  auto& bytes = fs.Int("bytes", 0, "bytes the pattern covers").Required();
  fs.Parse(args);
  std::ifstream in(*path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "verify: cannot open %s\n", (*path).c_str());
    return 1;
  }
  std::vector<char> want, got(kBlock);
  for (uint64_t off = 0, i = 0; off < static_cast<uint64_t>(*bytes); off += kBlock, ++i) {
    size_t n = std::min<uint64_t>(kBlock, *bytes - off);
    FillBlock(want, *owner, i);
    in.read(got.data(), static_cast<std::streamsize>(n));
    if (static_cast<size_t>(in.gcount()) != n || std::memcmp(got.data(), want.data(), n) != 0) {
      std::fprintf(stderr, "verify: %s differs from the pattern of %s in block %llu\n", (*path).c_str(),
                   (*owner).c_str(), static_cast<unsigned long long>(i));
      return 1;
    }
  }
  std::printf("ok: %s holds %lld bytes of the pattern of %s\n", (*path).c_str(), static_cast<long long>(*bytes),
              (*owner).c_str());
  return 0;
}

int Populate(const std::string& kind, const std::vector<std::string>& args) {
  FlagSet fs("it_tool_test_populator " + kind);
  // Every argument Forklift's controller passes to any of the three populators.
  auto& volume_path = fs.String("volume-path", "", "/mnt/disk.img or /dev/block");
  fs.String("secret-name", "", "secret with the populator's settings");
  fs.String("disk-id", "", "oVirt disk");
  fs.String("engine-url", "", "oVirt engine");
  fs.String("cr-name", "", "populator CR");
  fs.String("cr-namespace", "", "populator CR namespace");
  fs.String("endpoint", "", "Keystone URL");
  fs.String("image-id", "", "Glance image");
  fs.String("source-vm-id", "", "vSphere VM");
  fs.String("source-vmdk", "", "vSphere disk");
  fs.String("target-namespace", "", "target namespace");
  fs.String("owner-name", "", "target PVC name");
  auto& vendor = fs.String("storage-vendor-product", "", "storage vendor");
  fs.String("migration-host", "", "ESXi host");
  auto& pvc_size = fs.Int("pvc-size", 0, "target PVC size in bytes");
  auto& owner = fs.String("owner-uid", "", "target PVC UID").Required();
  fs.Parse(args);
  std::string path = *volume_path;
  if (path.empty()) path = "/dev/block";  // xcopy gets no --volume-path; the controller makes its PVCs Block
  if (*pvc_size <= 0) throw PreconditionError("--pvc-size must be positive");

  prom::Registry registry;
  prom::Counter* progress = nullptr;
  if (kind == "ovirt") {
    progress = &registry.AddCounterFamily("ovirt_progress", "Progress of volume population", {"ownerUID"})
                    .WithLabels({*owner});
  } else if (kind == "openstack") {
    progress = &registry
                    .AddCounterFamily("openstack_populator_progress", "Progress of volume population", {"ownerUID"})
                    .WithLabels({*owner});
  } else {
    progress = &registry
                    .AddCounterFamily("vsphere_xcopy_volume_populator_progress", "Progress of the copy", {"owner_uid"})
                    .WithLabels({*owner});
  }
  populators::MetricsEndpointOptions eo;
  eo.listen = Env("TEST_POPULATOR_LISTEN");
  populators::MetricsEndpoint endpoint(registry, eo);
  endpoint.Start();
  std::fprintf(stderr, "test populator (%s) for %s: metrics at %s\n", kind.c_str(), (*owner).c_str(),
               endpoint.url().c_str());

  int64_t bytes = std::min<int64_t>(*pvc_size, std::atoll(Env("TEST_POPULATOR_BYTES", "1048576").c_str()));
  int steps = std::max(1, std::atoi(Env("TEST_POPULATOR_STEPS", "4").c_str()));
  int step_ms = std::atoi(Env("TEST_POPULATOR_STEP_MS", "100").c_str());
  bool scrape_each = Env("TEST_POPULATOR_SCRAPE_EACH_STEP") == "1";
  std::string fail = Env("TEST_POPULATOR_FAIL");
  bool fail_now = fail == "always";
  if (fail.rfind("first-", 0) == 0) fail_now = RunsSoFar(*owner) < std::atoi(fail.c_str() + 6);
  std::string hang = Env("TEST_POPULATOR_HANG");
  bool hang_now = hang.rfind("first-", 0) == 0 && RunsSoFar(*owner) < std::atoi(hang.c_str() + 6);
  AppendRunLog(*owner, "start");
  auto started = std::chrono::steady_clock::now();

  int flags = O_WRONLY | (path.size() >= 8 && path.compare(path.size() - 8, 8, "disk.img") == 0 ? O_CREAT : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    AppendRunLog(*owner, "fail");
    std::fprintf(stderr, "test populator: cannot open %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<char> buf;
  uint64_t blocks = (static_cast<uint64_t>(bytes) + kBlock - 1) / kBlock;
  uint64_t block = 0;
  for (int step = 1; step <= steps; ++step) {
    uint64_t until = blocks * step / steps;
    for (; block < until; ++block) {
      FillBlock(buf, *owner, block);
      size_t n = std::min<uint64_t>(kBlock, bytes - block * kBlock);
      if (::pwrite(fd, buf.data(), n, static_cast<off_t>(block * kBlock)) != static_cast<ssize_t>(n)) {
        AppendRunLog(*owner, "fail");
        std::fprintf(stderr, "test populator: write to %s failed: %s\n", path.c_str(), std::strerror(errno));
        return 1;
      }
    }
    if (fail_now) {
      ::close(fd);
      AppendRunLog(*owner, "fail");
      std::fprintf(stderr, "test populator: failing after step %d as TEST_POPULATOR_FAIL=%s asks\n", step,
                   fail.c_str());
      return 1;
    }
    progress->RaiseTo(100.0 * step / steps);
    while (hang_now) std::this_thread::sleep_for(std::chrono::seconds(1));
    if (scrape_each && step < steps) endpoint.WaitForScrape(std::chrono::seconds(5));
    if (step < steps && step_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
  }
  ::fsync(fd);
  ::close(fd);

  if (kind == "xcopy") {
    std::string result = Env("TEST_POPULATOR_RESULT", "success");
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    registry
        .AddGaugeFamily("vsphere_xcopy_volume_populator_xcopy_used", "XCOPY used",
                        {"owner_uid", "storage_vendor", "clone_method"})
        .WithLabels({*owner, *vendor, "vib"})
        .Set(1);
    registry.AddGaugeFamily("vsphere_xcopy_volume_populator_vib_version", "VIB version", {"owner_uid", "version"})
        .WithLabels({*owner, "0.3.3"})
        .Set(1);
    auto& disk = registry.AddGaugeFamily("vsphere_xcopy_volume_populator_source_disk_bytes", "Source disk size",
                                         {"owner_uid", "type"});
    disk.WithLabels({*owner, "provisioned"}).Set(static_cast<double>(*pvc_size));
    disk.WithLabels({*owner, "datastore_allocated"}).Set(static_cast<double>(bytes));
    registry
        .AddGaugeFamily("vsphere_xcopy_volume_populator_copy_duration_seconds", "Copy duration",
                        {"owner_uid", "result", "storage_vendor", "clone_method", "xcopy_used", "storage_protocol"})
        .WithLabels({*owner, result, *vendor, "vib", "1", "iscsi"})
        .Set(seconds);
  }
  AppendRunLog(*owner, "done");
  if (Env("TEST_POPULATOR_NO_FINAL_WAIT") != "1") {
    bool scraped = endpoint.WaitForScrape();
    std::fprintf(stderr, "test populator: done; final scrape %s\n", scraped ? "taken" : "not taken within 10 s");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) {
      std::fprintf(stderr, "usage: it_tool_test_populator <ovirt|openstack|xcopy|verify> [flags]\n");
      return 2;
    }
    std::string mode = args[0];
    args.erase(args.begin());
    if (mode == "verify") return Verify(args);
    if (mode == "ovirt" || mode == "openstack" || mode == "xcopy") return Populate(mode, args);
    std::fprintf(stderr, "it_tool_test_populator: unknown mode %s\n", mode.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "it_tool_test_populator: %s\n", e.what());
    return 1;
  }
}

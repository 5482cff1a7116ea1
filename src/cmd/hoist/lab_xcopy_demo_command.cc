// `hoist lab xcopy-demo` (what `make demo` runs): the vSphere copy-offload populator end to end on the
// embedded lab. It brings up the xcopy lab world (src/lab/xcopy: the lab cluster, an ONTAP simulator
// whose LUNs are sparse files, the lab vCenter with a VM whose disk holds a known pattern on a VMFS
// datastore on one of those LUNs, and hoist-controller), then does what a migration plan does for one
// disk: a Secret, a VSphereXcopyVolumePopulator and a Block PVC whose dataSourceRef names it. It shows
// the copy's progress as the controller reports it on the CR, and ends with the PVC Bound and the
// volume's bytes checked against the VM disk's by SHA-256.
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
#include "lab/store.h"
#include "lab/xcopy/world.h"

namespace hoist::cli {
namespace {

namespace fs = std::filesystem;

const char kUsage[] =
    "usage: hoist lab xcopy-demo [--dir DIR] [--keep] [--disk-mib N] [--method vib|ssh]\n"
    "\n"
    "Runs the vSphere copy-offload (XCOPY) populator on the embedded lab: ONTAP simulator, lab vCenter with\n"
    "a VM, hoist-controller; creates a Secret, a VSphereXcopyVolumePopulator and a PVC, shows the progress,\n"
    "and checks the populated volume against the VM disk. --keep leaves everything running in DIR (stop it\n"
    "with Ctrl-C). Needs hoist-populator, hoist-controller and hoist-vcsim next to hoist (or "
    "HOIST_BIN_DIR),\n"
    "and kubectl.\n";

int XcopyDemo(const std::vector<std::string>& args) {
  std::string dir;
  bool keep = false;
  uint64_t disk_mib = 64;
  std::string method = "vib";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dir" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (args[i] == "--keep") {
      keep = true;
    } else if (args[i] == "--disk-mib" && i + 1 < args.size()) {
      disk_mib = std::stoull(args[++i]);
    } else if (args[i] == "--method" && i + 1 < args.size()) {
      method = args[++i];
    } else {
      std::fputs(kUsage, args[i] == "--help" || args[i] == "-h" ? stdout : stderr);
      return args[i] == "--help" || args[i] == "-h" ? 0 : 2;
    }
  }
  bool temp = dir.empty();
  if (temp) {
    std::string tmpl = (fs::temp_directory_path() / "hoist-xcopy-demo.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw PreconditionError("cannot create a temporary directory");
    dir = tmpl;
  }
  log::SetLevel(
      log::Level::kError);  // the lab's own warnings (the prime PVC losing its volume on rebind) are expected

  lab::xcopy::WorldOptions o;
  o.dir = dir;
  o.bin_dir = SiblingBinDir();
  o.hosts[0].iqn = "iqn.1998-01.com.vmware:esx1-demo";
  o.vms[0].name = "demo-vm";
  o.vms[0].disk_bytes = disk_mib << 20;
  o.vms[0].data_bytes = (disk_mib << 20) * 3 / 4;  // the last quarter is never written: a hole
  o.datastores[0].lun_bytes = (disk_mib << 20) * 2;
  o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.08";  // about 8 s, so that progress shows
  o.controller = true;
  o.persist = keep;
  o.ssh = method == "ssh";
  o.secret_extra = {{"HOIST_XCOPY_TASK_POLL_INTERVAL", "500ms"},
                    {"HOIST_XCOPY_RESCAN_INTERVAL", "1s"},
                    {"HOIST_XCOPY_CLEANUP_SETTLE", "1s"},
                    {"HOIST_XCOPY_SCRAPE_WAIT", "10s"}};
  o.controller_args = {"--scrape-interval=500ms"};

  std::printf("== hoist: vSphere copy offload (XCOPY) on the embedded lab, in %s\n", dir.c_str());
  lab::xcopy::World world(o);
  world.Start();
  std::printf("lab cluster:   %s  (export KUBECONFIG=%s)\n", world.cluster().url().c_str(),
              world.kubeconfig().c_str());
  std::printf("ONTAP array:   ontap1 (simulator; StorageClass ontap1, driver csi.trident.netapp.io)\n");
  std::printf("vCenter:       %s  (hoist-vcsim: govmomi's simulator with remote esxcli)\n",
              world.vcenter_url().c_str());
  std::printf("VM:            demo-vm (%s), disk %s, %llu MiB holding a known pattern\n",
              world.VmMoref("demo-vm").c_str(), world.VmdkPath("demo-vm").c_str(),
              static_cast<unsigned long long>(disk_mib));
  std::printf("ESXi host:     esx1.lab, datastore san-ds1 on an ontap1 LUN; clone method %s\n",
              method.c_str());
  std::printf("controller:    hoist-controller (populator image %s → hoist-populator xcopy)\n\n",
              o.populator_image.c_str());

  std::printf(
      "creating what a migration plan creates for one disk:\n"
      "  Secret mig/demo-vm-disk-0-0 (GOVMOMI_*, STORAGE_*), VSphereXcopyVolumePopulator "
      "mig/demo-vm-disk-0,\n"
      "  PVC mig/demo-vm-disk-0 (Block, class ontap1, dataSourceRef → the populator CR)\n");
  lab::xcopy::TargetVolume t =
      world.CreateXcopyClaim("mig", "demo-vm-disk-0", "demo-vm", "ontap1", disk_mib << 20);

  lab::Store& store = world.cluster().store();
  auto crs = *store.FindType("forklift.konveyor.io", "vspherexcopyvolumepopulators");
  auto pvcs = store.MustType("", "persistentvolumeclaims");
  auto start = std::chrono::steady_clock::now();
  std::string last;
  bool bound = false;
  while (std::chrono::steady_clock::now() - start < std::chrono::minutes(5)) {
    nlohmann::json cr = store.Get(crs, "mig", "demo-vm-disk-0");
    nlohmann::json st = cr.value("status", nlohmann::json::object());
    std::string phase = store.Get(pvcs, "mig", "demo-vm-disk-0")["status"].value("phase", "Pending");
    int progress = std::atoi(st.value("progress", "0").c_str());
    char bar[41];
    for (int i = 0; i < 40; ++i) bar[i] = i < progress * 40 / 100 ? '#' : '.';
    bar[40] = '\0';
    char line[256];
    std::snprintf(line, sizeof line, "  [%s] %3d%%  xcopyUsed=%s  PVC %s", bar, progress,
                  st.value("xcopyUsed", "-").c_str(), phase.c_str());
    if (line != last) {
      std::printf("\r%s", line);
      std::fflush(stdout);
      last = line;
    }
    if (st.value("result", "") == "failure") {
      std::printf("\n\nthe copy failed: %s\n", st.dump().c_str());
      for (const auto& pod : store.List(store.MustType("", "pods"), "mig").items) {
        std::string name = pod["metadata"].value("name", "");
        if (name.rfind("populate-", 0) == 0)
          std::printf("%s\n", world.Kubectl("logs -n mig " + name).c_str());
      }
      return 1;
    }
    if (phase == "Bound" && !st.value("result", "").empty()) {
      bound = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::printf("\n");
  if (!bound || !world.WaitForPopulated(t, 30)) {
    std::printf("the PVC did not bind in time:\n%s\n", world.Kubectl("get pvc,pods,vxvp -n mig").c_str());
    return 1;
  }
  nlohmann::json st = store.Get(crs, "mig", "demo-vm-disk-0").value("status", nlohmann::json::object());
  std::printf("\n%s\n", world.Kubectl("get pvc -n mig demo-vm-disk-0").c_str());
  std::printf(
      "VSphereXcopyVolumePopulator status: result=%s xcopyUsed=%s storageVendor=%s cloneMethod=%s "
      "storageProtocol=%s copyDurationSeconds=%s\n",
      st.value("result", "").c_str(), st.value("xcopyUsed", "").c_str(),
      st.value("storageVendor", "").c_str(), st.value("cloneMethod", "").c_str(),
      st.value("storageProtocol", "").c_str(), st.value("copyDurationSeconds", "").c_str());
  std::string source = Sha256Hex(world.SourceData("demo-vm"));
  std::string target = Sha256Hex(world.ReadLun(t));
  std::printf("sha256 of the VM disk:            %s\nsha256 of the populated volume:   %s  (PV %s)\n",
              source.c_str(), target.c_str(), t.pv.c_str());
  bool ok = source == target && st.value("result", "") == "success";
  std::printf(ok ? "\nverified: the PVC holds the VM disk, copied by the array (xcopyUsed=%s)\n"
                 : "\nMISMATCH (xcopyUsed=%s)\n",
              st.value("xcopyUsed", "").c_str());
  if (keep) {
    std::printf("\nthe lab keeps running (KUBECONFIG=%s); Ctrl-C stops it\n", world.kubeconfig().c_str());
    pause();
  }
  world.Stop();
  if (temp && !keep) fs::remove_all(dir);
  return ok ? 0 : 1;
}

HOIST_REGISTER_COMMAND(Command{{"lab", "xcopy-demo"},
                               "the copy-offload populator for one disk end to end on the embedded lab",
                               [](const std::vector<std::string>& a) {
                                 return RunReportingErrors("lab xcopy-demo", [&] { return XcopyDemo(a); });
                               }});

}  // namespace
}  // namespace hoist::cli

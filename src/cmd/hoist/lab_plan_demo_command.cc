// `hoist lab plan-demo` (what `make demo` runs): a migration Plan through the copy-offload planner on
// the embedded lab. It brings up the xcopy lab world (the lab cluster, an ONTAP simulator, the lab
// vCenter with a two-disk VM on a VMFS datastore on an ontap1 LUN, hoist-controller with
// FEATURE_COPY_OFFLOAD=true), writes what an administrator writes — the vCenter Provider and its Secret,
// the array's Secret, a StorageMap with the offload plugin, a Plan — and then follows the Plan with
// `hoist watch` until both disks are copied, shows `hoist status`, and checks each populated volume
// against its VM disk by SHA-256.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd/common/commands.h"
#include "cmd/hoist/demo_support.h"
#include "core/error.h"
#include "core/log.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/objects.h"
#include "kube/selectors.h"
#include "lab/cluster.h"
#include "lab/xcopy/world.h"
#include "net/tls.h"
#include "planner/api.h"

namespace hoist::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char kUsage[] =
    "usage: hoist lab plan-demo [--dir DIR] [--keep] [--disk-mib N]\n"
    "\n"
    "A copy-offload migration Plan on the embedded lab: ONTAP simulator, lab vCenter with a two-disk VM,\n"
    "hoist-controller running the planner; writes the Provider, Secrets, StorageMap and Plan, follows it "
    "with\n"
    "`hoist watch`, shows `hoist status`, and checks both populated volumes against the VM's disks. --keep\n"
    "leaves everything running in DIR (Ctrl-C stops it). Needs hoist-populator, hoist-controller and\n"
    "hoist-vcsim next to hoist (or HOIST_BIN_DIR), and kubectl.\n";

json SecretObject(const std::string& ns, const std::string& name,
                  const std::map<std::string, std::string>& data) {
  json d = json::object();
  for (const auto& [k, v] : data) d[k] = net::Base64Encode(v);
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", d}};
}

// Runs this program with `args` on the same terminal; its exit status.
int RunSelf(const std::vector<std::string>& args) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<std::string> all = {SelfPath()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int PlanDemo(const std::vector<std::string>& args) {
  std::string dir;
  bool keep = false;
  uint64_t disk_mib = 32;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dir" && i + 1 < args.size()) {
      dir = args[++i];
    } else if (args[i] == "--keep") {
      keep = true;
    } else if (args[i] == "--disk-mib" && i + 1 < args.size()) {
      disk_mib = std::stoull(args[++i]);
    } else {
      std::fputs(kUsage, args[i] == "--help" || args[i] == "-h" ? stdout : stderr);
      return args[i] == "--help" || args[i] == "-h" ? 0 : 2;
    }
  }
  bool temp = dir.empty();
  if (temp) {
    std::string tmpl = (fs::temp_directory_path() / "hoist-plan-demo.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw PreconditionError("cannot create a temporary directory");
    dir = tmpl;
  }
  log::SetLevel(
      log::Level::kError);  // the lab's own expected warnings (prime PVCs losing their volume) stay quiet

  lab::xcopy::WorldOptions o;
  o.dir = dir;
  o.bin_dir = SiblingBinDir();
  o.hosts[0].iqn = "iqn.1998-01.com.vmware:esx1-demo";
  o.vms[0].name = "demo-vm";
  o.vms[0].disks = 2;
  o.vms[0].disk_bytes = disk_mib << 20;
  o.vms[0].data_bytes = (disk_mib << 20) * 3 / 4;  // the last quarter is never written: a hole
  o.datastores[0].lun_bytes = (disk_mib << 20) * 4;
  o.esxi_env["HOIST_FAKE_VMKFSTOOLS_DELAY"] = "0.08";  // about 8 s per disk, so that progress shows
  o.controller = true;
  o.controller_env = {{"FEATURE_COPY_OFFLOAD", "true"}, {"HOST_LEASE_NAMESPACE", "hoist-system"}};
  o.controller_args = {"--scrape-interval=500ms"};
  o.persist = keep;

  std::printf("== hoist: a migration Plan with storage copy offload (XCOPY) on the embedded lab, in %s\n",
              dir.c_str());
  lab::xcopy::World world(o);
  world.Start();
  std::string kubeconfig = world.kubeconfig();
  std::printf("lab cluster:   %s  (export KUBECONFIG=%s)\n", world.cluster().url().c_str(),
              kubeconfig.c_str());
  std::printf("ONTAP array:   ontap1 (simulator; StorageClass ontap1)\n");
  std::printf("vCenter:       %s  (hoist-vcsim)\n", world.vcenter_url().c_str());
  std::printf("VM:            demo-vm (%s): %s and %s, %llu MiB each\n", world.VmMoref("demo-vm").c_str(),
              world.VmdkPath("demo-vm", 0).c_str(), world.VmdkPath("demo-vm", 1).c_str(),
              static_cast<unsigned long long>(disk_mib));
  std::printf("controller:    hoist-controller, FEATURE_COPY_OFFLOAD=true (the planner)\n\n");

  kube::RestConfig rc = kube::LoadKubeconfig({kubeconfig, ""});
  kube::Client client(rc);
  world.EnsureNamespace("mtv");
  std::map<std::string, std::string> array = world.StorageSecretData("ontap1");
  array["HOIST_XCOPY_TASK_POLL_INTERVAL"] = "500ms";
  array["HOIST_XCOPY_RESCAN_INTERVAL"] = "1s";
  array["HOIST_XCOPY_CLEANUP_SETTLE"] = "1s";
  client.Create(kube::resources::kSecret, "mtv",
                SecretObject("mtv", "vcenter-creds",
                             {{"user", o.vcenter_user},
                              {"password", o.vcenter_password},
                              {"cacert", ReadWholeFile(world.vcenter_ca_file())}}));
  client.Create(kube::resources::kSecret, "mtv", SecretObject("mtv", "ontap-creds", array));
  client.Create(
      planner::resources::kProvider, "mtv",
      {{"apiVersion", "forklift.konveyor.io/v1beta1"},
       {"kind", "Provider"},
       {"metadata", {{"name", "vcenter"}, {"namespace", "mtv"}}},
       {"spec",
        {{"type", "vsphere"}, {"url", world.vcenter_url()}, {"secret", {{"name", "vcenter-creds"}}}}}});
  client.Create(planner::resources::kStorageMap, "mtv",
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
  client.Create(planner::resources::kPlan, "mtv",
                {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                 {"kind", "Plan"},
                 {"metadata", {{"name", "demo"}, {"namespace", "mtv"}}},
                 {"spec",
                  {{"provider", {{"source", {{"name", "vcenter"}}}}},
                   {"map", {{"storage", {{"name", "san"}}}}},
                   {"targetNamespace", "vms"},
                   {"vms", {{{"name", "demo-vm"}}}}}}});
  std::printf(
      "wrote, in namespace mtv: Secret vcenter-creds, Provider vcenter, Secret ontap-creds,\n"
      "  StorageMap san (san-ds1 -> ontap1 with offloadPlugin.vsphereXcopyConfig ontap), Plan demo (vm "
      "demo-vm -> vms)\n\n"
      "$ hoist watch -n mtv --plan demo\n");

  int watch = RunSelf({"watch", "--kubeconfig", kubeconfig, "-n", "mtv", "--plan", "demo", "--interval",
                       "500ms", "--timeout", "5m"});
  std::printf("\n$ hoist status -n vms\n");
  RunSelf({"status", "--kubeconfig", kubeconfig, "-n", "vms"});

  json plan = client.Get(planner::resources::kPlan, "mtv", "demo");
  kube::ListOptions lo;
  lo.label_selector = kube::LabelSelector().Equals("plan", kube::Uid(plan)).String();
  bool ok = watch == 0;
  std::printf("\n");
  for (const json& pvc : client.List(kube::resources::kPersistentVolumeClaim, "vms", lo).items) {
    int disk = std::atoi(kube::Annotation(pvc, "planner.hoist.io/disk-index").c_str());
    lab::xcopy::TargetVolume t;
    t.ns = "vms";
    t.pvc = kube::Name(pvc);
    t.array = "ontap1";
    if (!world.WaitForPopulated(t, 30)) {
      std::printf("PVC vms/%s did not bind\n", t.pvc.c_str());
      ok = false;
      continue;
    }
    std::string source = Sha256Hex(world.SourceData("demo-vm", disk));
    std::string target = Sha256Hex(world.ReadLun(t));
    bool same = source == target;
    ok = ok && same;
    std::printf("%s\n  sha256 VM disk  %s\n  sha256 PVC %-4s %s %s\n",
                world.VmdkPath("demo-vm", disk).c_str(), source.c_str(), "", target.c_str(),
                same ? "(same)" : "(DIFFERENT)");
  }
  std::printf(ok ? "\nverified: the Plan's PVCs hold the VM's disks, copied by the array\n"
                 : "\nthe demo FAILED\n");
  if (!ok) std::printf("%s\n", world.Kubectl("get plan -n mtv demo -o yaml").c_str());
  if (keep) {
    std::printf("\nthe lab keeps running (KUBECONFIG=%s); Ctrl-C stops it\n", kubeconfig.c_str());
    pause();
  }
  world.Stop();
  if (temp && !keep) fs::remove_all(dir);
  return ok ? 0 : 1;
}

HOIST_REGISTER_COMMAND(Command{
    {"lab", "plan-demo"},
    "a copy-offload migration Plan end to end on the embedded lab, with hoist watch (make demo)",
    [](const std::vector<std::string>& a) {
      return RunReportingErrors("lab plan-demo", [&] { return PlanDemo(a); });
    }});

}  // namespace
}  // namespace hoist::cli

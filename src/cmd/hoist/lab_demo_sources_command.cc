// `hoist lab demo ovirt` and `hoist lab demo openstack`: a lab cluster, hoist-controller, and a disk
// moved from the source into a PVC by `hoist-populator ovirt|openstack`, with the CR's progress shown as
// the controller scrapes it, and the bytes on the volume checked against the source. oVirt is the lab
// simulator (lab/sim/ovirt); OpenStack is Debian's real Keystone and Glance (lab/openstack.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cmd/common/commands.h"
#include "cmd/hoist/demo_support.h"
#include "core/error.h"
#include "core/log.h"
#include "lab/apiserver_yaml.h"
#include "lab/cluster.h"
#include "lab/cluster_objects.h"
#include "lab/openstack.h"
#include "lab/sim/ovirt/simulator.h"
#include "net/tls.h"

namespace hoist::cli {
namespace {

namespace fs = std::filesystem;
using lab::GetString;
using lab::Json;

constexpr uint64_t kMiB = 1 << 20;

// A raw disk of `size` bytes with random data in `data_mib` 1 MiB blocks (a sparse file).
void MakeDisk(const std::string& path, uint64_t size, const std::vector<uint64_t>& data_mib) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) throw TransientError("creating " + path);
  std::mt19937_64 rng(2026);
  std::vector<uint64_t> block(kMiB / 8);
  for (uint64_t m : data_mib) {
    for (auto& v : block) v = rng();
    if (pwrite(fd, block.data(), kMiB, static_cast<off_t>(m * kMiB)) != static_cast<ssize_t>(kMiB)) {
      close(fd);
      throw TransientError("writing " + path);
    }
  }
  close(fd);
}

void Bar(int percent) {
  int width = 40, fill = percent * width / 100;
  std::printf("\r      progress [%s%s] %3d%%", std::string(fill, '#').c_str(),
              std::string(width - fill, '.').c_str(), percent);
  std::fflush(stdout);
}

int Demo(const std::string& kind, const std::vector<std::string>& args) {
  // The CRD manifests: ./deploy/crds when run from a source tree, else the tree hoist was built from.
  std::string dir, crds = fs::is_directory("deploy/crds") ? "deploy/crds" : HOIST_SOURCE_DIR "/deploy/crds";
  bool keep = false, verbose = false, block = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--dir" && i + 1 < args.size())
      dir = args[++i];
    else if (a.rfind("--dir=", 0) == 0)
      dir = a.substr(6);
    else if (a == "--crds" && i + 1 < args.size())
      crds = args[++i];
    else if (a.rfind("--crds=", 0) == 0)
      crds = a.substr(7);
    else if (a == "--block")
      block = true;
    else if (a == "--keep")
      keep = true;
    else if (a == "-v" || a == "--verbose")
      verbose = true;
    else {
      std::printf(
          "usage: hoist lab demo %s [--block] [--dir DIR] [--crds DIR] [--keep] [--verbose]\n\n"
          "Brings a lab up with hoist-controller, %s, creates a Secret, an %s and a\n"
          "PVC whose dataSourceRef names it (volumeMode Filesystem, or Block with --block), shows the CR's "
          "progress\n"
          "while hoist-populator %s fills the volume, and checks the volume's bytes against the source.\n"
          "--crds: the CRD manifests (default deploy/crds here, else in the tree hoist was built from).\n",
          kind.c_str(),
          kind == "ovirt" ? "the lab oVirt engine + imageio simulator" : "Debian's Keystone and Glance",
          kind == "ovirt" ? "OvirtVolumePopulator" : "OpenstackVolumePopulator", kind.c_str());
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  // The prime PVC going Lost after the rebind is the lab binder's warning, and expected here.
  if (!verbose) log::SetLevel(log::Level::kError);
  if (!fs::is_directory(crds)) {
    std::fprintf(stderr,
                 "hoist lab demo %s: no CRD manifests in %s — pass --crds DIR (hoist's deploy/crds)\n",
                 kind.c_str(), crds.c_str());
    return 2;
  }
  const std::string bin = SiblingBinDir();
  for (const char* p : {"hoist-populator", "hoist-controller"}) {
    if (!fs::exists(bin + "/" + p)) {
      std::fprintf(stderr,
                   "hoist lab demo %s: %s/%s is missing — build it (cmake --build <tree> --target %s)\n",
                   kind.c_str(), bin.c_str(), p, p);
      return 2;
    }
  }
  bool temp = dir.empty();
  if (temp) {
    std::string tmpl =
        (fs::exists("/dev/shm") ? std::string("/dev/shm") : fs::temp_directory_path().string()) +
        "/hoist-demo-" + kind + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    dir = tmpl;
  }
  const std::string image = "quay.io/hoist/populator-" + kind;
  pid_t controller = -1;
  int rc = 1;
  try {
    const bool ovirt = kind == "ovirt";
    const uint64_t size = 256 * kMiB;
    std::vector<uint64_t> data;
    for (uint64_t m = 0; m < 256; m += 8) data.push_back(m);  // 1/8 of the disk holds data
    const std::string disk = dir + "/source-disk.raw";
    MakeDisk(disk, size, data);

    std::printf("[1/6] starting a lab in %s\n", dir.c_str());
    lab::ClusterOptions opts;
    opts.dir = dir + "/lab";
    fs::create_directories(opts.dir);
    std::ofstream(opts.dir + "/images.yaml")
        << "images:\n  " << image << ":\n    entrypoint: [" << bin << "/hoist-populator, " << kind << "]\n";
    lab::Cluster cluster(opts);
    cluster.Start();
    lab::Store& store = cluster.store();
    lab::ClusterTypes t = lab::ClusterTypes::From(store);
    for (const auto& f : fs::directory_iterator(crds)) {
      if (f.path().extension() != ".yaml") continue;
      Json crd = lab::YamlToJson(ReadWholeFile(f.path().string()));
      auto type = *store.FindType("apiextensions.k8s.io", "customresourcedefinitions");
      if (!store.TryGet(type, "", GetString(crd, "/metadata/name"))) store.Create(type, "", crd);
    }

    std::string secret_yaml, cr_kind, cr_resource;
    Json cr_spec;
    std::unique_ptr<lab::sim::ovirt::Simulator> sim;
    std::unique_ptr<lab::OpenStack> os;
    Json secret = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "source"}}}};
    if (ovirt) {
      std::printf(
          "[2/6] starting the lab oVirt engine + imageio; disk \"demo-disk\": 256 MiB, 32 MiB of data\n");
      sim = std::make_unique<lab::sim::ovirt::Simulator>();
      sim->Start();
      sim->AddDisk({"5a1d7e2c-demo-disk", "demo-disk", disk, ""});
      secret["data"] = {{"user", net::Base64Encode("admin@internal")},
                        {"password", net::Base64Encode("ovirt-lab")},
                        {"ca.crt", net::Base64Encode(sim->ca_pem())}};
      cr_kind = "OvirtVolumePopulator";
      cr_resource = "ovirtvolumepopulators";
      cr_spec = {
          {"engineUrl", sim->engine_url()}, {"engineSecretName", "source"}, {"diskId", "5a1d7e2c-demo-disk"}};
      std::printf("      engine %s\n", sim->engine_url().c_str());
    } else {
      std::printf(
          "[2/6] starting Keystone and Glance (about 15 s) and uploading image \"demo-disk\" (256 MiB, 32 "
          "MiB of data)\n");
      std::fflush(stdout);
      os = std::make_unique<lab::OpenStack>(lab::OpenStackOptions{.dir = dir + "/openstack"});
      os->Start();
      std::string id = os->UploadImage("demo-disk", disk);
      secret["data"] = {{"username", net::Base64Encode("admin")},
                        {"password", net::Base64Encode(os->admin_password())},
                        {"projectName", net::Base64Encode("admin")},
                        {"domainName", net::Base64Encode("Default")},
                        {"regionName", net::Base64Encode(os->region())}};
      cr_kind = "OpenstackVolumePopulator";
      cr_resource = "openstackvolumepopulators";
      cr_spec = {{"identityUrl", os->identity_url()}, {"secretName", "source"}, {"imageId", id}};
      std::printf("      Keystone %s, Glance %s, image %s\n", os->identity_url().c_str(),
                  os->glance_url().c_str(), id.c_str());
    }

    std::printf("[3/6] starting hoist-controller (%s=%s)\n",
                ovirt ? "OVIRT_POPULATOR_IMAGE" : "OPENSTACK_POPULATOR_IMAGE", image.c_str());
    std::string log = dir + "/controller.log";
    controller = fork();
    if (controller == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv(ovirt ? "OVIRT_POPULATOR_IMAGE" : "OPENSTACK_POPULATOR_IMAGE", image.c_str(), 1);
      std::string kc = "--kubeconfig=" + cluster.kubeconfig_path();
      execl((bin + "/hoist-controller").c_str(), "hoist-controller", kc.c_str(),
            "--metrics-address=127.0.0.1:0", "--leader-elect=false", "--scrape-interval=500ms",
            static_cast<char*>(nullptr));
      _exit(127);
    }

    std::printf(
        "[4/6] creating Secret source, %s disk and PVC vm-disk-0 (%s, 300Mi) with dataSourceRef → disk\n",
        cr_kind.c_str(), block ? "Block" : "Filesystem");
    if (!store.TryGet(*store.FindType("storage.k8s.io", "storageclasses"), "", "demo-file")) {
      store.Create(*store.FindType("storage.k8s.io", "storageclasses"), "",
                   {{"apiVersion", "storage.k8s.io/v1"},
                    {"kind", "StorageClass"},
                    {"metadata", {{"name", "demo-file"}}},
                    {"provisioner", "lab.hoist.io/file"},
                    {"reclaimPolicy", "Delete"},
                    {"volumeBindingMode", "Immediate"}});
    }
    store.Create(t.secrets, "default", secret);
    auto cr_type = *store.FindType("forklift.konveyor.io", cr_resource);
    store.Create(cr_type, "default",
                 {{"apiVersion", "forklift.konveyor.io/v1beta1"},
                  {"kind", cr_kind},
                  {"metadata", {{"name", "disk"}}},
                  {"spec", cr_spec}});
    store.Create(
        t.pvcs, "default",
        {{"apiVersion", "v1"},
         {"kind", "PersistentVolumeClaim"},
         {"metadata", {{"name", "vm-disk-0"}}},
         {"spec",
          {{"accessModes", {"ReadWriteOnce"}},
           {"volumeMode", block ? "Block" : "Filesystem"},
           {"storageClassName", "demo-file"},
           {"resources", {{"requests", {{"storage", "300Mi"}}}}},
           {"dataSourceRef", {{"apiGroup", "forklift.konveyor.io"}, {"kind", cr_kind}, {"name", "disk"}}}}}});

    std::printf("[5/6] the controller creates prime PVC and pod populate-<uid>; hoist-populator %s copies:\n",
                kind.c_str());
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + std::chrono::minutes(3);
    int shown = -1;
    Json pvc;
    for (;;) {
      Json cr = store.Get(cr_type, "default", "disk");
      std::string p = GetString(cr, "/status/progress", "0");
      int percent = std::atoi(p.c_str());
      if (percent != shown) {
        Bar(percent);
        shown = percent;
      }
      pvc = store.Get(t.pvcs, "default", "vm-disk-0");
      if (GetString(pvc, "/status/phase") == "Bound" && percent == 100) break;
      if (std::chrono::steady_clock::now() > deadline) {
        throw TransientError("the PVC was not populated within 3 minutes; see " + log + " and " + dir +
                             "/lab/pods");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\n      PVC vm-disk-0 Bound to %s after %.1f s\n",
                GetString(pvc, "/spec/volumeName").c_str(), secs);

    Json pv = store.Get(t.pvs, "", GetString(pvc, "/spec/volumeName"));
    std::string path = lab::Annotation(pv, lab::kAnnDataPath);
    if (!block) path += "/disk.img";
    std::string got = ReadWholeFile(path), want = ReadWholeFile(disk);
    bool same = got.size() >= want.size() && got.compare(0, want.size(), want) == 0;
    struct stat st {};
    stat(path.c_str(), &st);
    std::printf("[6/6] volume data %s: %s the source's %llu bytes; %llu MiB allocated of %llu MiB\n",
                path.c_str(), same ? "equal to" : "DIFFERENT from",
                static_cast<unsigned long long>(want.size()),
                static_cast<unsigned long long>(st.st_blocks * 512 / kMiB),
                static_cast<unsigned long long>(got.size() / kMiB));
    kill(controller, SIGTERM);
    waitpid(controller, nullptr, 0);
    controller = -1;
    cluster.Stop();
    std::printf("%s; lab stopped%s\n", same ? "demo OK" : "demo FAILED",
                keep || !temp ? (", its directory is kept: " + dir).c_str() : "");
    rc = same ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nhoist lab demo %s: %s\n", kind.c_str(), e.what());
    rc = 1;
  }
  if (controller > 0) {
    kill(controller, SIGTERM);
    waitpid(controller, nullptr, 0);
  }
  if (temp && !keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return rc;
}

HOIST_REGISTER_COMMAND({{"lab", "demo", "ovirt"},
                        "an oVirt disk into a PVC: controller, populator pod, progress, bytes checked",
                        [](const std::vector<std::string>& a) { return Demo("ovirt", a); }});
HOIST_REGISTER_COMMAND(
    {{"lab", "demo", "openstack"},
     "a Glance image into a PVC: real Keystone + Glance, controller, progress, bytes checked",
     [](const std::vector<std::string>& a) { return Demo("openstack", a); }});

}  // namespace
}  // namespace hoist::cli

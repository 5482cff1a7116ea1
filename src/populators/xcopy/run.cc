#include "populators/xcopy/run.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "esxi/ssh_executor.h"
#include "esxi/vib_executor.h"
#include "kube/client.h"
#include "kube/config.h"
#include "populators/common/metrics_endpoint.h"
#include "populators/xcopy/esxi_vsphere.h"
#include "populators/xcopy/flow.h"
#include "populators/xcopy/host_adapters.h"
#include "populators/xcopy/metrics.h"
#include "populators/xcopy/options.h"
#include "prom/metrics.h"
#include "storage/config.h"
#include "storage/all/vendors.h"
#include "storage/registry.h"
#include "vsphere/property.h"

namespace hoist::populators::xcopy {
namespace {

constexpr std::string_view kLog = "xcopy";
constexpr const char* kVersion = "0.1.0";

// A private (0700) temporary directory, removed with its contents when destroyed.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    const char* t = std::getenv("TMPDIR");
    std::string tmpl = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/" + prefix + ".XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw PreconditionError("creating a temporary directory " + tmpl + ": " + std::strerror(errno));
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw PreconditionError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The vendors this program knows (storage/<vendor>/ registers each).
storage::VendorRegistry Vendors() {
  storage::VendorRegistry r;
  storage::all::RegisterVendors(r);
  return r;
}

// storage_array_info's vendor and product for a storageVendorProduct (the array interface does not
// report model and version, so those stay "n/a").
std::pair<std::string, std::string> ArrayVendor(const std::string& product) {
  static const std::map<std::string, std::pair<std::string, std::string>> k = {
      {"ontap", {"NetApp", "ONTAP"}},
      {"primera3par", {"HPE", "Primera/3PAR"}},
      {"vantara", {"Hitachi", "Vantara"}},
      {"powerflex", {"Dell", "PowerFlex"}},
      {"powermax", {"Dell", "PowerMax"}},
      {"powerstore", {"Dell", "PowerStore"}},
      {"pureFlashArray", {"Pure Storage", "FlashArray"}},
      {"infinibox", {"Infinidat", "InfiniBox"}},
      {"flashsystem", {"IBM", "FlashSystem"}},
  };
  auto it = k.find(product);
  return it == k.end() ? std::pair<std::string, std::string>{product, ""} : it->second;
}

// The host's management address (config.virtualNicManagerInfo.netConfig, nicType management), for
// the SSH method.
std::string ManagementAddress(vsphere::Client& vc, const vsphere::ManagedObjectReference& host) {
  vsphere::ObjectContent oc = vsphere::RetrieveObject(vc, host, {"config.virtualNicManagerInfo.netConfig"});
  const vsphere::XmlNode* nc = oc.Get("config.virtualNicManagerInfo.netConfig");
  if (nc != nullptr) {
    for (const auto& cfg : nc->children) {
      if (cfg.ChildText("nicType") != "management") continue;
      std::vector<std::string> selected;
      for (const auto& c : cfg.children) {
        if (c.name == "selectedVnic") selected.push_back(c.text);
      }
      for (const auto& c : cfg.children) {
        if (c.name != "candidateVnic") continue;
        const vsphere::XmlNode* spec = c.Child("spec");
        const vsphere::XmlNode* ip = spec ? spec->Child("ip") : nullptr;
        std::string addr = ip ? ip->ChildText("ipAddress") : "";
        bool chosen = selected.empty() ||
                      std::find(selected.begin(), selected.end(), c.ChildText("key")) != selected.end();
        if (!addr.empty() && chosen) return addr;
      }
    }
  }
  throw PreconditionError("ESXi host " + host.value +
                          " has no management address in config.virtualNicManagerInfo — the SSH method "
                          "needs one (or use the vib method)");
}

std::stop_source* g_stop = nullptr;

// SIGTERM/SIGINT: the first stops the run (the flow stops the clone and cleans up); a second one
// exits at once, as the populator machinery's programs do.
void WatchSignals(std::stop_source& stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &stop]() mutable {
    int sig = 0;
    int count = 0;
    while (sigwait(&set, &sig) == 0) {
      if (++count == 1) {
        log::Warn(kLog, "signal received: stopping the copy and cleaning up",
                  {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        stop.request_stop();
      } else {
        log::Error(kLog, "second signal: exiting without cleanup");
        std::_Exit(kExitFailure);
      }
    }
  }).detach();
}

}  // namespace

int RunXcopy(const std::vector<std::string>& args) {
  std::map<std::string, std::string> env = ProcessEnvironment();
  Options o;
  try {
    o = ParseOptions(args, env);
  } catch (const Error& e) {
    std::fprintf(stderr, "hoist-populator xcopy: %s\n", e.what());
    return kExitUsage;
  }
  if (o.version) {
    std::printf("hoist-populator xcopy %s (wrapper contract vmkfstools-wrapper 0.3)\n", kVersion);
    return kExitSuccess;
  }
  {
    std::string settings;
    for (const auto& [k, v] : DescribeOptions(args, env)) {
      if (!v.empty()) settings += k + "=" + v + " ";
    }
    log::Info(kLog, "starting", {{"version", kVersion}, {"settings", settings}});
  }

  std::stop_source stop;
  g_stop = &stop;
  WatchSignals(stop);

  prom::Registry registry;
  Metrics metrics(registry, o.owner_uid, o.storage_vendor_product, std::string(CloneMethodName(o.method)));
  MetricsEndpointOptions mo;
  mo.listen = o.metrics_listen;
  MetricsEndpoint endpoint(registry, mo);
  auto started = std::chrono::steady_clock::now();
  FlowResult result;
  bool ok = false;
  try {
    endpoint.Start();
    log::Info(kLog, "metrics endpoint", {{"url", endpoint.url()}});

    kube::KubeconfigOptions ko;
    ko.path = o.kubeconfig;
    kube::RestConfig rc = kube::LoadDefaultConfig(ko);
    if (!o.master.empty()) rc.server = o.master;
    kube::Client kube(rc);

    storage::ArrayConfig ac = storage::ArrayConfigFromSecret(o.array_secret);
    std::unique_ptr<storage::StorageArray> array = Vendors().Create(o.storage_vendor_product, ac);
    auto [array_vendor, array_product] = ArrayVendor(o.storage_vendor_product);
    metrics.ArrayInfo(array_vendor, array_product, "", "");
    log::Info(kLog, "storage array", {{"array", array->Describe()}});

    vsphere::ClientOptions vo;
    vo.url = o.vsphere_hostname;
    vo.username = o.vsphere_username;
    vo.password = o.vsphere_password;
    vo.tls.insecure_skip_verify = o.vsphere_insecure;
    if (!o.vsphere_ca_file.empty()) {
      vo.tls.ca_pem = ReadFile(o.vsphere_ca_file);
    } else if (!o.vsphere_ca_pem.empty()) {
      vo.tls.ca_pem = o.vsphere_ca_pem;
    }
    vsphere::Client vc(vo);
    vc.Login();
    vsphere::Esxcli esxcli(vc);

    kube::LeaseSemaphoreConfig lease;
    lease.lease_namespace = o.host_lease_namespace;
    lease.slots = o.host_lease_slots;
    lease.identity = kube::UniqueIdentity();
    lease.lease_duration = o.host_lease_duration;
    lease.renew_interval = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(200), o.host_lease_duration / 3);
    lease.renew_deadline = o.host_lease_duration * 4 / 5;
    lease.retry_interval = std::min<std::chrono::milliseconds>(std::chrono::seconds(2), o.host_lease_duration / 2);
    LeaseHostLock lock(kube, lease);

    esxi::HostStorageOptions hso;
    hso.device_rescans = o.tuning.rescan_attempts;
    hso.rescan_interval = o.tuning.rescan_interval;
    hso.rescan_retry_interval = std::min(o.tuning.rescan_interval, std::chrono::milliseconds(5000));

    FlowDeps deps;
    deps.kube = &kube;
    deps.vcenter = &vc;
    deps.array = array.get();
    deps.lock = &lock;
    deps.reporter = &metrics;
    deps.host_services = [&](const vsphere::HostInfo& host, const vsphere::DatastoreInfo& ds) {
      HostServices s;
      auto storage = std::make_unique<EsxiHostStorage>(
          std::make_unique<VsphereEsxcliRunner>(esxcli, host.ref, host.name), hso);
      if (o.method == CloneMethod::kVib) {
        s.clone = esxi::MakeVibExecutor(storage->runner());
      } else {
        esxi::SshExecutorOptions so;
        so.address = ManagementAddress(vc, host.ref);
        if (auto it = env.find("ESXI_SSH_PORT"); it != env.end() && !it->second.empty()) {
          char* end = nullptr;
          long port = std::strtol(it->second.c_str(), &end, 10);
          if (end == it->second.c_str() || *end != '\0' || port < 1 || port > 65535) {
            throw PreconditionError("ESXI_SSH_PORT: \"" + it->second + "\" is not a TCP port");
          }
          so.port = static_cast<int>(port);
        }
        so.host_name = host.name + " (" + host.ref.ToString() + ")";
        so.private_key = o.ssh_private_key;
        so.datastore = ds.name;
        std::shared_ptr<void> tofu_dir;
        switch (o.ssh_host_key_check) {
          case SshHostKeyMode::kPinned:
            if (!o.ssh_host_key_fingerprints.empty()) {
              so.host_key_check = esxi::SshHostKeyCheck::kFingerprint;
              so.fingerprints = o.ssh_host_key_fingerprints;
            } else {
              so.host_key_check = esxi::SshHostKeyCheck::kKnownHosts;
              so.known_hosts = o.ssh_known_hosts;
            }
            break;
          case SshHostKeyMode::kAcceptNew: {
            // The first key seen is kept for the rest of the run (every later connection must match).
            auto dir = std::make_shared<TempDir>("hoist-xcopy-known-hosts");
            so.host_key_check = esxi::SshHostKeyCheck::kAcceptNew;
            so.known_hosts_file = dir->path() + "/known_hosts";
            tofu_dir = dir;
            break;
          }
          case SshHostKeyMode::kOff:
            so.host_key_check = esxi::SshHostKeyCheck::kInsecure;
            break;
        }
        vsphere::DatastoreFiles files(vc);
        auto uploader = std::make_shared<VsphereDatastoreUploader>(vc, files.DatacenterPath(host.ref));
        s.clone = esxi::MakeSshExecutor(so, uploader.get());
        s.keep =
            std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(uploader, tofu_dir);
      }
      s.storage = std::move(storage);
      return s;
    };
    FlowInputs in;
    in.source_vm_id = o.source_vm_id;
    in.source_vmdk = o.source_vmdk;
    in.target_namespace = o.target_namespace;
    in.owner_name = o.owner_name;
    in.migration_host = o.migration_host;
    in.tuning = o.tuning;
    Flow flow(in, deps);
    try {
      result = flow.Run(stop.get_token());
      ok = true;
    } catch (...) {
      result = flow.partial();
      throw;
    }
  } catch (const std::exception& e) {
    const auto* he = dynamic_cast<const Error*>(&e);
    log::Error(kLog, "copy failed", {{"error", e.what()}, {"class", he ? std::string(ErrorClassName(he->error_class())) : "unknown"}});
    std::fprintf(stderr, "hoist-populator xcopy: %s\n", e.what());
  }
  metrics.Complete(ok, result, std::chrono::steady_clock::now() - started);
  log::Info(kLog, ok ? "copy succeeded" : "copy failed; completion metrics published",
            {{"xcopy_used", result.xcopy_used ? 1 : 0}, {"protocol", result.protocol},
             {"method", result.clone_method}, {"soap_round_trips", static_cast<int64_t>(result.soap_round_trips)},
             {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
  bool scraped = endpoint.WaitForScrape(o.tuning.scrape_wait);
  if (!scraped) log::Warn(kLog, "no final metrics scrape arrived before exiting");
  return ok ? kExitSuccess : kExitFailure;
}

}  // namespace hoist::populators::xcopy

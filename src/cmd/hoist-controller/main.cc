// hoist-controller: the populator controller for OvirtVolumePopulator, OpenstackVolumePopulator and
// VSphereXcopyVolumePopulator. Flags follow Forklift's populator-controller (--kubeconfig, --master,
// --metrics-path) plus hoist's own; the environment is Forklift's (see controller/settings.h).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "controller/controller.h"
#include "controller/instrumented_client.h"
#include "controller/metrics.h"
#include "controller/settings.h"
#include "core/error.h"
#include "core/flags.h"
#include "core/log.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/leader_election.h"
#include "net/http_server.h"
#include "planner/planner.h"
#include "planner/settings.h"
#include "prom/metrics.h"

namespace {

using namespace hoist;

const char kAbout[] =
    "Populates PersistentVolumeClaims whose spec.dataSourceRef names a forklift.konveyor.io/v1beta1\n"
    "OvirtVolumePopulator, OpenstackVolumePopulator or VSphereXcopyVolumePopulator. A kind is served when\n"
    "its image is set: OVIRT_POPULATOR_IMAGE, OPENSTACK_POPULATOR_IMAGE, VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE.\n"
    "Also read: MAX_POPULATOR_INFLIGHT (default 20), POPULATOR_CONTAINER_{LIMITS,REQUESTS}_{CPU,MEMORY}.\n"
    "FEATURE_COPY_OFFLOAD=true also runs the copy-offload planner for forklift.konveyor.io Plans (HOST_LEASE_NAMESPACE,\n"
    "HOST_LEASE_DURATION_SECONDS, MAX_VM_INFLIGHT).\n";

struct Flags {
  std::string kubeconfig;
  std::string master;
  std::string metrics_path;
  std::string metrics_address;
  bool leader_elect = true;
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;
  int workers = 2;
  int64_t scrape_interval_ms = 5000;
  double qps = kube::kDefaultQps;
  int burst = kube::kDefaultBurst;
  std::string log_level;
  std::string log_format;
};

// Returns nullopt after printing the usage for --help.
std::optional<Flags> ParseFlags(const std::vector<std::string>& args) {
  FlagSet fs("hoist-controller");
  auto& kubeconfig = fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  auto& master = fs.String("master", "", "API server address, overriding the kubeconfig's");
  auto& metrics_path = fs.String("metrics-path", "/metrics", "where metrics are served");
  auto& metrics_address =
      fs.String("metrics-address", ":8080", "[host]:port for metrics, /healthz and /readyz (port 0: any free port)");
  auto& leader_elect = fs.Bool("leader-elect", true, "take a Lease before working, so that replicas take turns");
  auto& lease_ns = fs.String("leader-elect-namespace", "",
                             "namespace of the Lease (default: $POD_NAMESPACE, else the kubeconfig's namespace)");
  auto& lease_name = fs.String("leader-elect-name", "hoist-controller", "name of the Lease");
  auto& identity = fs.String("leader-elect-identity", "", "this replica's identity (default <hostname>_<random>)");
  auto& workers = fs.Int("workers", 2, "target PVCs reconciled in parallel");
  auto& scrape = fs.Duration("scrape-interval", 5000, "progress scrapes of running populators");
  auto& qps = fs.Int("kube-api-qps", static_cast<int64_t>(kube::kDefaultQps),
                     "client-side API request rate limit per second (0 turns it off)");
  auto& burst = fs.Int("kube-api-burst", kube::kDefaultBurst, "requests allowed in a burst above the rate");
  auto& log_level = fs.String("log-level", "info", "debug, info, warn or error");
  auto& log_format = fs.String("log-format", "text", "text or json");
  fs.Parse(args);
  if (fs.help_requested()) {
    std::fputs(fs.Usage().c_str(), stdout);
    std::fputs("\n", stdout);
    std::fputs(kAbout, stdout);
    return std::nullopt;
  }
  if (!fs.positional().empty()) throw PreconditionError("hoist-controller: unexpected argument " + fs.positional()[0]);
  Flags f;
  f.kubeconfig = *kubeconfig;
  f.master = *master;
  f.metrics_path = *metrics_path;
  if (f.metrics_path.empty() || f.metrics_path[0] != '/') f.metrics_path = "/" + f.metrics_path;
  f.metrics_address = *metrics_address;
  f.leader_elect = *leader_elect;
  f.lease_namespace = *lease_ns;
  f.lease_name = *lease_name;
  f.identity = *identity;
  if (*workers < 1 || *workers > 64) throw PreconditionError("hoist-controller: --workers must be 1..64");
  f.workers = static_cast<int>(*workers);
  if (*scrape <= 0) throw PreconditionError("hoist-controller: --scrape-interval must be positive");
  f.scrape_interval_ms = *scrape;
  if (*qps < 0 || *burst < 1) throw PreconditionError("hoist-controller: --kube-api-qps >= 0 and --kube-api-burst >= 1");
  f.qps = static_cast<double>(*qps);
  f.burst = static_cast<int>(*burst);
  f.log_level = *log_level;
  f.log_format = *log_format;
  return f;
}

int ParsePort(const std::string& text) {
  try {
    size_t used = 0;
    int n = std::stoi(text, &used);
    if (used == text.size() && n >= 0 && n <= 65535) return n;
  } catch (...) {
  }
  throw PreconditionError("--metrics-address: \"" + text + "\" is not a port number");
}

kube::RestConfig LoadConfig(const Flags& f) {
  kube::RestConfig config;
  if (!f.kubeconfig.empty()) {
    config = kube::LoadKubeconfig({f.kubeconfig, ""});
  } else if (f.master.empty()) {
    config = kube::LoadDefaultConfig();
  }
  if (!f.master.empty()) {
    config.server = f.master;
    while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
    if (config.source.empty()) config.source = "--master " + f.master;
  }
  config.qps = f.qps;
  config.burst = f.burst;
  config.user_agent = "hoist-controller/0.1";
  return config;
}

std::pair<std::string, uint16_t> SplitAddress(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) throw PreconditionError("--metrics-address \"" + addr + "\" is not [host]:port");
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  return {host, static_cast<uint16_t>(ParsePort(addr.substr(colon + 1)))};
}

std::string DefaultIdentity() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x%08x", rd(), rd());
  return std::string(host) + "_" + suffix;
}

std::string HostName() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return host;
}

int Run(const Flags& flags) {
  log::SetLevel(log::ParseLevel(flags.log_level));
  if (flags.log_format == "json") log::SetFormat(log::Format::kJson);

  std::vector<std::string> warnings;
  controller::ControllerSettings settings =
      controller::SettingsFromEnvironment(controller::ProcessEnvironment(), &warnings);
  settings.scrape_interval = std::chrono::milliseconds(flags.scrape_interval_ms);
  for (const auto& w : warnings) log::Warn("controller", w);
  if (settings.images.empty()) {
    log::Warn("controller", "no populator image is set, so no PVC will be populated");
  }

  // Signals: the first SIGTERM/SIGINT stops gracefully, a second one exits at once.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR2);  // ends the signal thread at exit
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::stop_source stop;
  std::thread signals([&stop, set] {
    int sig = 0;
    int seen = 0;
    while (sigwait(&set, &sig) == 0) {
      if (sig == SIGUSR2) return;  // shutdown of this thread
      if (++seen > 1) {
        log::Warn("controller", "second signal: exiting now");
        std::_Exit(1);
      }
      log::Info("controller", "signal received: stopping", {{"signal", sig}});
      stop.request_stop();
    }
  });

  kube::RestConfig config = LoadConfig(flags);
  kube::Client raw(config);
  controller::ControllerMetrics metrics;
  controller::InstrumentedClient client(raw, metrics);

  controller::ControllerOptions options;
  options.settings = settings;
  options.workers = flags.workers;
  options.reporting_instance = HostName();
  controller::Controller ctl(client, options, metrics);

  // FEATURE_COPY_OFFLOAD=true: the copy-offload planner (Plans → per-disk PVCs and CRs) runs beside
  // the populator machinery, under the same leadership.
  std::vector<std::string> plan_warnings;
  planner::PlannerSettings plan_settings =
      planner::PlannerSettingsFromEnvironment(controller::ProcessEnvironment(), &plan_warnings);
  for (const auto& w : plan_warnings) log::Warn("planner", w);
  plan_settings.options.instance = HostName();
  std::unique_ptr<planner::Planner> plans;
  if (plan_settings.enabled) plans = std::make_unique<planner::Planner>(client, plan_settings.options);
  auto run = [&](std::stop_token token) {
    if (plans) {
      try {
        plans->Start();
      } catch (const Error& e) {
        log::Error("planner", "FEATURE_COPY_OFFLOAD is on but the planner cannot start; Plans are not handled",
                   {{"error", e.what()}});
      }
    }
    ctl.Run(token);
    if (plans) plans->Stop();
  };

  std::atomic<bool> leading{!flags.leader_elect};
  auto [host, port] = SplitAddress(flags.metrics_address);
  net::HttpServerOptions server_options;
  server_options.bind_address = host;
  server_options.port = port;
  net::HttpServer server(server_options, [&](const net::ServerRequest& req, net::ResponseWriter& w) {
    net::Headers text;
    text.Set("Content-Type", "text/plain; charset=utf-8");
    if (req.path == flags.metrics_path) {
      net::Headers h;
      h.Set("Content-Type", std::string(prom::kContentType));
      w.Send(200, h, metrics.Expose());
    } else if (req.path == "/healthz" || req.path == "/livez") {
      w.Send(200, text, "ok\n");
    } else if (req.path == "/readyz") {
      if (!leading.load()) {
        w.Send(200, text, "ok: standby, waiting for the leader lease\n");
      } else if (ctl.CachesSynced()) {
        w.Send(200, text, "ok\n");
      } else {
        w.Send(503, text, "informer caches are not synced yet\n");
      }
    } else {
      w.Send(404, text, "not found\n");
    }
  });
  server.Start();
  log::Info("controller", "serving metrics and health",
            {{"address", host + ":" + std::to_string(server.port())}, {"metrics_path", flags.metrics_path}});
  std::printf("metrics-address=%s:%u\n", host.c_str(), static_cast<unsigned>(server.port()));
  std::fflush(stdout);

  int rc = 0;
  if (flags.leader_elect) {
    kube::LeaderElectionConfig le;
    le.lease_namespace = flags.lease_namespace;
    if (le.lease_namespace.empty()) {
      const char* ns = std::getenv("POD_NAMESPACE");
      le.lease_namespace = ns != nullptr && *ns != '\0' ? ns : config.ns;
    }
    if (le.lease_namespace.empty()) le.lease_namespace = "default";
    le.lease_name = flags.lease_name;
    le.identity = flags.identity.empty() ? DefaultIdentity() : flags.identity;
    bool lost = false;
    le.on_started_leading = [&](std::stop_token leading_token) {
      leading.store(true);
      run(leading_token);
    };
    le.on_stopped_leading = [&] {
      leading.store(false);
      lost = !stop.get_token().stop_requested();
    };
    kube::LeaderElector elector(client, le);
    elector.Run(stop.get_token());
    if (lost) {
      log::Error("controller", "lost the leader lease; exiting so that a new leader takes over",
                 {{"lease", le.lease_namespace + "/" + le.lease_name}});
      rc = 1;
    }
  } else {
    run(stop.get_token());
  }
  server.Stop();
  log::Info("controller", "stopped");
  pthread_kill(signals.native_handle(), SIGUSR2);
  signals.join();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    std::optional<Flags> flags = ParseFlags(args);
    if (!flags) return 0;
    return Run(*flags);
  } catch (const hoist::Error& e) {
    std::fprintf(stderr, "hoist-controller: %s\n", e.what());
    return e.error_class() == hoist::ErrorClass::kPrecondition ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist-controller: %s\n", e.what());
    return 1;
  }
}

#include "controller/controller.h"

#include <nlohmann/json.hpp>

#include "controller/names.h"
#include "core/log.h"
#include "kube/objects.h"

namespace hoist::controller {

using nlohmann::json;
namespace res = kube::resources;

namespace {

constexpr std::string_view kLog = "controller";

std::vector<std::pair<PopulatorKind, std::unique_ptr<kube::Informer>>> MakePopulatorInformers(
    kube::KubeClient& client, const ControllerSettings& settings) {
  std::vector<std::pair<PopulatorKind, std::unique_ptr<kube::Informer>>> out;
  for (const auto& [kind, image] : settings.images) {
    out.emplace_back(kind, std::make_unique<kube::Informer>(client, PopulatorResource(kind), ""));
  }
  return out;
}

CacheStores StoresOf(const kube::Informer& pvcs, const kube::Informer& pvs, const kube::Informer& pods,
                     const kube::Informer& classes,
                     const std::vector<std::pair<PopulatorKind, std::unique_ptr<kube::Informer>>>& populators) {
  CacheStores s;
  s.pvcs = &pvcs.store();
  s.pvs = &pvs.store();
  s.pods = &pods.store();
  s.storage_classes = &classes.store();
  for (const auto& [kind, informer] : populators) s.populators[kind] = &informer->store();
  return s;
}

kube::InformerOptions Resync(std::chrono::milliseconds period) {
  kube::InformerOptions o;
  o.resync_period = period;
  return o;
}

// Core/v1 Events with source.component forklift.konveyor.io-populator, as Forklift's controller writes.
kube::EventRecorderOptions EventOptions(const std::string& instance) {
  kube::EventRecorderOptions o;
  o.reporting_controller = std::string(kEventComponent);
  o.reporting_instance = instance;
  o.core_events = true;
  return o;
}

MetricsFetcher FetcherOr(MetricsFetcher f, std::chrono::milliseconds interval) {
  if (f) return f;
  return HttpsMetricsFetcher(std::clamp(interval, std::chrono::milliseconds(1000), std::chrono::milliseconds(10000)));
}

}  // namespace

Controller::Controller(kube::KubeClient& client, ControllerOptions options, ControllerMetrics& metrics)
    : client_(client),
      options_(std::move(options)),
      metrics_(metrics),
      pvcs_(client, res::kPersistentVolumeClaim, "", Resync(options_.resync_period)),
      pvs_(client, res::kPersistentVolume, ""),
      pods_(client, res::kPod, ""),
      classes_(client, res::kStorageClass, ""),
      populators_(MakePopulatorInformers(client, options_.settings)),
      cache_(std::make_unique<StoreCache>(StoresOf(pvcs_, pvs_, pods_, classes_, populators_))),
      events_(client, EventOptions(options_.reporting_instance)),
      monitor_(FetcherOr(options_.fetcher, options_.settings.scrape_interval),
               MonitorOptions{options_.settings.scrape_interval, options_.scrape_threads},
               [this](const std::string& key) { Enqueue(key); }),
      reconciler_(client, *cache_, monitor_, events_, metrics_, ReconcilerOptions{options_.settings}) {
  pvcs_.AddIndex(kIndexPopulatorSource, PopulatorSourceIndex);
  pvcs_.AddIndex(kIndexStorageClass, StorageClassIndex);
  pods_.AddIndex(kIndexActiveSourceHost, ActiveSourceHostIndex);

  pvcs_.AddEventHandlers({
      [this](const json& o) { OnPvc(o, false); },
      [this](const json& old_obj, const json& o) { OnPvc(o, kube::ResourceVersion(old_obj) == kube::ResourceVersion(o)); },
      [this](const json& o) { OnPvc(o, false); },
  });
  pods_.AddEventHandlers({
      [this](const json& o) { OnPod(nullptr, o, false); },
      [this](const json& old_obj, const json& o) {
        if (kube::ResourceVersion(old_obj) != kube::ResourceVersion(o)) OnPod(&old_obj, o, false);
      },
      [this](const json& o) { OnPod(&o, o, true); },
  });
  pvs_.AddEventHandlers({
      [this](const json& o) { OnPv(o); },
      [this](const json& old_obj, const json& o) {
        if (kube::ResourceVersion(old_obj) != kube::ResourceVersion(o)) OnPv(o);
      },
      [this](const json& o) { OnPv(o); },
  });
  classes_.AddEventHandlers({
      [this](const json& o) { OnStorageClass(o); },
      [this](const json& old_obj, const json& o) {
        if (kube::ResourceVersion(old_obj) != kube::ResourceVersion(o)) OnStorageClass(o);
      },
      [this](const json& o) { OnStorageClass(o); },
  });
  for (auto& [kind, informer] : populators_) {
    PopulatorKind k = kind;
    informer->AddEventHandlers({
        [this, k](const json& o) { OnPopulator(k, o); },
        [this, k](const json& old_obj, const json& o) {
          if (kube::ResourceVersion(old_obj) != kube::ResourceVersion(o)) OnPopulator(k, o);
        },
        [this, k](const json& o) { OnPopulator(k, o); },
    });
  }
}

Controller::~Controller() {
  queue_.ShutDown();
  monitor_.Stop();
}

void Controller::Enqueue(const std::string& key) { queue_.Add(key); }

void Controller::OnPvc(const json& pvc, bool resync) {
  std::optional<PopulatorKind> kind = KindOfPvc(pvc);
  if (kind && options_.settings.Enabled(*kind)) {
    Enqueue(kube::ObjectKey(pvc));
    return;
  }
  if (resync) return;
  if (std::optional<std::string> target = TargetOfPrime(pvc)) Enqueue(*target);
}

void Controller::OnPod(const json* old_pod, const json& pod, bool deleted) {
  if (std::optional<std::string> target = TargetOfPod(pod)) Enqueue(*target);
  // A pod that stops counting against its ESXi host frees a slot for a throttled PVC.
  if (old_pod == nullptr) return;
  std::vector<std::string> was = ActiveSourceHostIndex(*old_pod);
  if (was.empty()) return;
  if (!deleted && !ActiveSourceHostIndex(pod).empty()) return;
  for (const std::string& key : reconciler_.ThrottledOn(was[0])) Enqueue(key);
}

void Controller::OnPv(const json& pv) {
  if (std::optional<kube::ObjectRef> claim = kube::pv::ClaimRef(pv); claim && !claim->name.empty()) {
    std::optional<json> pvc = pvcs_.store().Get(claim->ns, claim->name);
    if (pvc) {
      OnPvc(*pvc, false);
    } else {
      Enqueue(kube::ObjectKey(claim->ns, claim->name));
    }
  }
  // An Available static volume may be what a target PVC of its class waits for.
  if (kube::pv::Phase(pv) == "Available") {
    std::string cls = kube::StringAt(pv, {"spec", "storageClassName"});
    for (const json& pvc : pvcs_.store().ByIndex(kIndexStorageClass, cls)) Enqueue(kube::ObjectKey(pvc));
  }
}

void Controller::OnStorageClass(const json& sc) {
  for (const json& pvc : pvcs_.store().ByIndex(kIndexStorageClass, kube::Name(sc))) Enqueue(kube::ObjectKey(pvc));
}

void Controller::OnPopulator(PopulatorKind kind, const json& cr) {
  std::string source = PopulatorSourceKey(Info(kind).kind_name, kube::Namespace(cr), kube::Name(cr));
  for (const json& pvc : pvcs_.store().ByIndex(kIndexPopulatorSource, source)) Enqueue(kube::ObjectKey(pvc));
}

void Controller::Worker(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::optional<std::string> key = queue_.GetFor(std::chrono::milliseconds(500));
    if (!key) {
      if (queue_.ShuttingDown()) return;
      continue;
    }
    if (stop.stop_requested()) {
      queue_.Done(*key);
      return;
    }
    try {
      SyncOutcome out = reconciler_.Sync(*key);
      queue_.Forget(*key);
      if (out.requeue_after) queue_.AddAfter(*key, *out.requeue_after);
      metrics_.Synced(true);
    } catch (const std::exception& e) {
      log::Warn(kLog, "reconcile failed; will retry", {{"pvc", *key}, {"error", e.what()}});
      queue_.AddRateLimited(*key);
      metrics_.Synced(false);
    }
    queue_.Done(*key);
  }
}

void Controller::Housekeeping(std::stop_token stop) {
  while (kube::SleepFor(std::chrono::milliseconds(1000), stop)) {
    metrics_.workqueue_depth().Set(static_cast<double>(queue_.Len() + queue_.WaitingLen()));
    metrics_.monitored_pods().Set(static_cast<double>(monitor_.Watched()));
    metrics_.scrapes(true).RaiseTo(static_cast<double>(monitor_.scrapes_ok()));
    metrics_.scrapes(false).RaiseTo(static_cast<double>(monitor_.scrapes_failed()));
  }
}

void Controller::Run(std::stop_token stop) {
  log::Info(kLog, "starting", {{"kinds", options_.settings.EnabledKindsText()},
                               {"workers", options_.workers},
                               {"max_in_flight", options_.settings.max_in_flight}});
  pvcs_.Start();
  pvs_.Start();
  pods_.Start();
  classes_.Start();
  for (auto& [kind, informer] : populators_) informer->Start();

  bool synced = false;
  while (!stop.stop_requested() && !synced) {
    synced = pvcs_.WaitForCacheSync(std::chrono::milliseconds(500), stop) &&
             pvs_.WaitForCacheSync(std::chrono::milliseconds(500), stop) &&
             pods_.WaitForCacheSync(std::chrono::milliseconds(500), stop) &&
             classes_.WaitForCacheSync(std::chrono::milliseconds(500), stop);
    for (auto& [kind, informer] : populators_) {
      synced = synced && informer->WaitForCacheSync(std::chrono::milliseconds(500), stop);
    }
  }
  if (synced) {
    synced_.store(true);
    log::Info(kLog, "caches synced", {{"pvcs", pvcs_.store().Size()}, {"pods", pods_.store().Size()}});
    monitor_.Start();
    running_.store(true);
    std::vector<std::jthread> workers;
    for (int i = 0; i < std::max(1, options_.workers); ++i) {
      workers.emplace_back([this, stop] { Worker(stop); });
    }
    std::jthread housekeeping([this, stop] { Housekeeping(stop); });
    for (auto& w : workers) w.join();
    housekeeping.join();
    running_.store(false);
  }
  log::Info(kLog, "stopping");
  monitor_.Stop();
  for (auto& [kind, informer] : populators_) informer->Stop();
  classes_.Stop();
  pods_.Stop();
  pvs_.Stop();
  pvcs_.Stop();
  synced_.store(false);
}

}  // namespace hoist::controller

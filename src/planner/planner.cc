#include "planner/planner.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "controller/names.h"
#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/objects.h"
#include "kube/selectors.h"
#include "kube/workqueue.h"
#include "planner/builders.h"
#include "planner/names.h"
#include "planner/secret.h"
#include "planner/status.h"
#include "planner/validation.h"

namespace hoist::planner {

using nlohmann::json;

namespace {

constexpr const char* kLog = "planner";
constexpr const char* kUidIndex = "uid";
constexpr const char* kPlanIndex = "plan";

std::string Str(const json& obj, std::initializer_list<std::string_view> path) { return kube::StringAt(obj, path); }

std::string VmKey(const PlanVm& vm) { return vm.id.empty() ? "name:" + vm.name : "id:" + vm.id; }

bool HasFinalizer(const json& obj) {
  const json* f = kube::At(obj, {"metadata", "finalizers"});
  if (f == nullptr || !f->is_array()) return false;
  return std::any_of(f->begin(), f->end(), [](const json& v) { return v.is_string() && v.get<std::string>() == kFinalizer; });
}

std::optional<json> GetOrNull(kube::KubeClient& client, const kube::ResourceType& type, const std::string& ns,
                              const std::string& name) {
  try {
    return client.Get(type, ns, name);
  } catch (const std::exception& e) {
    if (kube::IsNotFound(e)) return std::nullopt;
    throw;
  }
}

void DeleteIfPresent(kube::KubeClient& client, const kube::ResourceType& type, const std::string& ns,
                     const std::string& name) {
  try {
    client.Delete(type, ns, name);
  } catch (const std::exception& e) {
    if (!kube::IsNotFound(e)) throw;
  }
}

// What must reach Plan.status at once: the Plan's conditions and each VM's phase. Everything else
// (disk phases, bytes, times) is written at most every status_interval, so a plan of many disks
// costs a bounded number of writes however often its CRs change.
std::string Signature(const json& status) {
  json sig = json::array();
  if (const json* conds = kube::At(status, {"conditions"}); conds != nullptr && conds->is_array()) {
    for (const json& c : *conds) sig.push_back(Str(c, {"type"}) + "=" + Str(c, {"status"}) + ":" + Str(c, {"message"}));
  }
  if (const json* vms = kube::At(status, {"migration", "vms"}); vms != nullptr && vms->is_array()) {
    for (const json& vm : *vms) sig.push_back(Str(vm, {"id"}) + "=" + Str(vm, {"phase"}));
  }
  return sig.dump();
}

std::string JoinMessages(const std::vector<Condition>& conds) {
  std::string out;
  for (const auto& c : conds) {
    if (c.critical()) out += (out.empty() ? "" : "; ") + c.message;
  }
  return out;
}

}  // namespace

struct Planner::PlanMemo {
  std::map<std::string, SourceVm> vms;  // by VmKey and by "moref:<id>"
  std::string last_signature;
  std::chrono::steady_clock::time_point last_write{};
  std::string last_refusal;
  std::set<std::string> secrets_deleted;  // per-disk Secrets removed after their copy (status may lag)
};

struct Planner::Pass {
  std::string key;
  json obj;
  Plan plan;
  std::shared_ptr<PlanMemo> memo;
  std::string now;

  bool loaded = false;
  std::optional<Provider> source;
  std::optional<std::map<std::string, std::string>> source_secret;
  bool destination_given = false;
  std::optional<Provider> destination;
  std::optional<StorageMap> map;
  OffloadSecrets offload;
  std::map<std::string, std::map<std::string, std::string>> storage_data;
  std::optional<std::string> ssh_private, ssh_public;

  std::map<std::string, json> fetched;  // "<plural>/<name>" → object (null: confirmed absent)
};

Planner::Planner(kube::KubeClient& client, PlannerOptions options) : client_(client), options_(std::move(options)) {
  if (!options_.connect) {
    options_.connect = [](const VsphereConnection& c) { return std::make_shared<VsphereInventory>(c); };
  }
  if (!options_.now) options_.now = [] { return std::chrono::system_clock::now(); };
  if (options_.workers < 1) options_.workers = 1;
  if (options_.max_vm_inflight < 1) options_.max_vm_inflight = 1;
}

Planner::~Planner() { Stop(); }

std::string Planner::Now() const { return FormatTime(options_.now()); }

void Planner::Start(std::chrono::milliseconds sync_timeout) {
  if (running_.exchange(true)) return;
  for (const auto* type : {&resources::kPlan, &resources::kXcopyPopulator}) {
    if (!client_.Serves(*type)) {
      running_ = false;
      throw PreconditionError("the API server does not serve " + type->Name() +
                              " — install hoist's CRDs first (kubectl apply -f deploy/crds/)");
    }
  }
  queue_ = std::make_unique<kube::WorkQueue>(kube::DefaultControllerRateLimiter());
  events_ = std::make_unique<kube::EventRecorder>(
      client_, kube::EventRecorderOptions{std::string(kReportingController), options_.instance});

  kube::InformerOptions plan_opts;
  plan_opts.resync_period = options_.resync;
  plans_ = std::make_unique<kube::Informer>(client_, resources::kPlan, "", plan_opts);
  plans_->AddIndex(kUidIndex, [](const json& o) { return std::vector<std::string>{kube::Uid(o)}; });
  auto enqueue = [this](const json& o) { queue_->Add(kube::ObjectKey(o)); };
  plans_->AddEventHandlers({enqueue, [enqueue](const json&, const json& o) { enqueue(o); },
                            [this](const json& o) {
                              std::lock_guard lock(mu_);
                              memos_.erase(kube::Uid(o));
                            }});

  kube::InformerOptions owned;
  owned.label_selector = kube::LabelSelector().Exists(std::string(kPlanLabel)).String();
  auto by_plan = [](const json& o) { return std::vector<std::string>{kube::Label(o, kPlanLabel)}; };
  auto notify = [this](const json& o) { EnqueueByPlanUid(kube::Label(o, kPlanLabel)); };
  kube::EventHandlers owned_handlers{notify, [notify](const json&, const json& o) { notify(o); }, notify};
  pvcs_ = std::make_unique<kube::Informer>(client_, kube::resources::kPersistentVolumeClaim, "", owned);
  pvcs_->AddIndex(kPlanIndex, by_plan);
  pvcs_->AddEventHandlers(owned_handlers);
  crs_ = std::make_unique<kube::Informer>(client_, resources::kXcopyPopulator, "", owned);
  crs_->AddIndex(kPlanIndex, by_plan);
  crs_->AddEventHandlers(owned_handlers);

  pvcs_->Start();
  crs_->Start();
  plans_->Start();
  if (!kube::WaitForCacheSync({plans_.get(), pvcs_.get(), crs_.get()}, sync_timeout)) {
    Stop();
    throw TransientError("planner: the Plan, PVC and VSphereXcopyVolumePopulator caches did not fill within " +
                         std::to_string(sync_timeout.count()) + " ms — check the API server");
  }
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Worker(); });
  log::Info(kLog, "planner started", {{"workers", options_.workers}, {"max_vm_inflight", options_.max_vm_inflight},
                                      {"lease_namespace", options_.lease_namespace}});
}

void Planner::Stop() {
  if (!running_.exchange(false)) return;
  if (queue_) queue_->ShutDown();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
  if (plans_) plans_->Stop();
  if (pvcs_) pvcs_->Stop();
  if (crs_) crs_->Stop();
}

void Planner::EnqueueByPlanUid(const std::string& uid) {
  if (uid.empty() || !plans_) return;
  for (const json& p : plans_->store().ByIndex(kUidIndex, uid)) queue_->Add(kube::ObjectKey(p));
}

void Planner::Worker() {
  while (auto key = queue_->Get()) {
    try {
      Reconcile(*key);
      queue_->Forget(*key);
    } catch (const std::exception& e) {
      if (kube::IsConflict(e)) {
        queue_->Add(*key);  // the cache will hold the newer object
      } else {
        log::Warn(kLog, "plan pass failed; retrying", {{"plan", *key}, {"error", e.what()}});
        queue_->AddRateLimited(*key);
      }
    }
    queue_->Done(*key);
  }
}

void Planner::Event(const json& plan, const char* type, const char* reason, const std::string& note) {
  if (events_) events_->Record(plan, type, reason, "Migrate", note);
}

// ---- loading what a pass needs ----------------------------------------------------------------------

void Planner::Load(Pass& pass, bool need_secrets) {
  if (pass.loaded) return;
  const Plan& plan = pass.plan;
  if (!plan.source_provider.empty()) {
    if (auto p = GetOrNull(client_, resources::kProvider, plan.source_provider.ns, plan.source_provider.name)) {
      pass.source = ParseProvider(*p);
    }
  }
  if (pass.source && !pass.source->secret.empty()) {
    if (auto s = GetOrNull(client_, kube::resources::kSecret, pass.source->secret.ns, pass.source->secret.name)) {
      pass.source_secret = SecretData(*s);
    }
  }
  pass.destination_given = !plan.destination_provider.empty();
  if (pass.destination_given) {
    if (auto p = GetOrNull(client_, resources::kProvider, plan.destination_provider.ns, plan.destination_provider.name)) {
      pass.destination = ParseProvider(*p);
    }
  }
  if (!plan.storage_map.empty()) {
    if (auto m = GetOrNull(client_, resources::kStorageMap, plan.storage_map.ns, plan.storage_map.name)) {
      pass.map = ParseStorageMap(*m);
    }
  }
  if (need_secrets && pass.source && pass.map) {
    for (const StoragePair& p : pass.map->pairs) {
      if (!p.xcopy || p.xcopy->secret_ref.empty() || pass.offload.storage.count(p.xcopy->secret_ref)) continue;
      auto s = GetOrNull(client_, kube::resources::kSecret, pass.source->ns, p.xcopy->secret_ref);
      if (s) {
        pass.storage_data[p.xcopy->secret_ref] = SecretData(*s);
        pass.offload.storage[p.xcopy->secret_ref] = pass.storage_data[p.xcopy->secret_ref];
      } else {
        pass.offload.storage[p.xcopy->secret_ref] = std::nullopt;
      }
    }
    // Forklift's provider controller keeps the SSH key pair in these Secrets.
    std::string base = "offload-ssh-keys-" + pass.source->name;
    if (auto s = GetOrNull(client_, kube::resources::kSecret, pass.source->ns, base + "-private")) {
      auto d = SecretData(*s);
      if (auto it = d.find("private-key"); it != d.end() && !it->second.empty()) pass.ssh_private = it->second;
    }
    if (auto s = GetOrNull(client_, kube::resources::kSecret, pass.source->ns, base + "-public")) {
      auto d = SecretData(*s);
      if (auto it = d.find("public-key"); it != d.end() && !it->second.empty()) pass.ssh_public = it->second;
    }
    pass.offload.ssh_private_found = pass.ssh_private.has_value();
    pass.offload.ssh_public_found = pass.ssh_public.has_value();
  }
  pass.loaded = true;
}

std::shared_ptr<SourceInventory> Planner::Inventory(Pass& pass) {
  const Provider& p = *pass.source;
  const auto& s = *pass.source_secret;
  auto get = [&](const char* k) {
    auto it = s.find(k);
    return it == s.end() ? std::string() : it->second;
  };
  VsphereConnection c;
  c.url = p.url;
  c.username = get("user");
  c.password = get("password");
  c.ca_pem = get("cacert");
  std::string insecure = get("insecureSkipVerify");
  c.insecure_skip_verify = insecure == "true" || insecure == "True" || insecure == "1";
  // The password is part of the fingerprint only as a hash, so a rotated Secret reconnects.
  std::string fingerprint = c.url + "\n" + c.username + "\n" + ShortHash(c.password) + "\n" + ShortHash(c.ca_pem) +
                            (c.insecure_skip_verify ? "\ninsecure" : "");
  std::lock_guard lock(mu_);
  Connection& conn = connections_[p.uid];
  if (!conn.inventory || conn.fingerprint != fingerprint) {
    conn.inventory = options_.connect(c);
    conn.fingerprint = fingerprint;
  }
  return conn.inventory;
}

// ---- validation -------------------------------------------------------------------------------------

std::vector<Condition> Planner::Validate(Pass& pass) {
  const Plan& plan = pass.plan;
  std::vector<Condition> conds = ValidateSpec(plan);
  Load(pass, true);
  auto providers = ValidateProviders(plan, pass.source, pass.source_secret, pass.destination_given, pass.destination);
  conds.insert(conds.end(), providers.begin(), providers.end());
  bool source_ok = !AnyCritical(providers);
  if (source_ok) {
    auto m = ValidateStorageMap(plan, pass.map, *pass.source, pass.offload);
    conds.insert(conds.end(), m.begin(), m.end());
  }
  if (!source_ok || !pass.map) return conds;

  std::vector<VmLookup> lookups;
  std::shared_ptr<SourceInventory> inventory;
  for (const PlanVm& wanted : plan.vms) {
    if (wanted.id.empty() && wanted.name.empty()) continue;
    VmLookup l;
    l.wanted = wanted;
    auto hit = pass.memo->vms.find(VmKey(wanted));
    if (hit != pass.memo->vms.end()) {
      l.vm = hit->second;
    } else {
      try {
        if (!inventory) inventory = Inventory(pass);
        SourceVm vm = inventory->Describe(wanted);
        pass.memo->vms[VmKey(wanted)] = vm;
        pass.memo->vms["moref:" + vm.id] = vm;
        l.vm = std::move(vm);
      } catch (const Error& e) {
        l.error = e.what();
        l.transient = e.retryable();
      }
    }
    lookups.push_back(std::move(l));
  }
  auto vms = ValidateVms(plan, *pass.map, lookups);
  conds.insert(conds.end(), vms.begin(), vms.end());
  return conds;
}

// ---- objects ----------------------------------------------------------------------------------------

const json* Planner::CachedOrFetched(Pass& pass, const kube::ResourceType& type, const std::string& name) {
  std::string key = type.plural + "/" + name;
  auto it = pass.fetched.find(key);
  if (it == pass.fetched.end()) {
    const kube::Informer* inf = type == resources::kXcopyPopulator ? crs_.get() : pvcs_.get();
    std::optional<json> obj = inf->store().Get(pass.plan.target_namespace, name);
    // Not in the cache: it may be newer than the cache (made in the last pass), so ask the server.
    if (!obj) obj = GetOrNull(client_, type, pass.plan.target_namespace, name);
    it = pass.fetched.emplace(key, obj ? *obj : json()).first;
  }
  return it->second.is_null() ? nullptr : &it->second;
}

void Planner::EnsureNamespaceObjects(Pass& pass) {
  const std::string& ns = pass.plan.target_namespace;
  {
    std::lock_guard lock(mu_);
    if (namespaces_ready_.count(ns)) return;
  }
  for (const std::string& name : {ns, options_.lease_namespace}) {
    if (name.empty() || GetOrNull(client_, kube::resources::kNamespace, "", name)) continue;
    try {
      client_.Create(kube::resources::kNamespace, "",
                     {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
    } catch (const std::exception& e) {
      if (!kube::IsAlreadyExists(e)) throw;
    }
  }
  for (const auto& [type, obj] : PopulatorRbac(ns, options_.lease_namespace)) {
    try {
      client_.Create(type, "", obj);
    } catch (const std::exception& e) {
      if (!kube::IsAlreadyExists(e)) throw;
    }
  }
  std::lock_guard lock(mu_);
  namespaces_ready_.insert(ns);
}

namespace {

// Creates `obj`; when it exists already, returns the existing one if this plan made it. An object of
// the same name that is not the plan's is never adopted (it may hold someone's data).
json CreateOwned(kube::KubeClient& client, const kube::ResourceType& type, const json& obj, const Plan& plan) {
  std::string ns = kube::Namespace(obj), name = kube::Name(obj);
  try {
    return client.Create(type, ns, obj);
  } catch (const std::exception& e) {
    if (!kube::IsAlreadyExists(e)) throw;
  }
  json existing = client.Get(type, ns, name);
  if (kube::Label(existing, kPlanLabel) != plan.uid) {
    throw PreconditionError(type.kind + " " + ns + "/" + name + " already exists and does not belong to Plan " + plan.ns +
                            "/" + plan.name + " — the planner does not take over other objects; delete or rename it");
  }
  return existing;
}

}  // namespace

void Planner::StartVm(Pass& pass, json& vm_status) {
  const Plan& plan = pass.plan;
  VmIdentity id{Str(vm_status, {"id"}), Str(vm_status, {"name"}), Str(vm_status, {"host"})};
  Load(pass, true);
  if (!pass.source || !pass.source_secret || !pass.map) {
    throw TransientError("Plan " + plan.ns + "/" + plan.name + ": the source Provider, its Secret or the StorageMap is gone; waiting for them");
  }
  SourceVm vm;
  if (auto it = pass.memo->vms.find("moref:" + id.id); it != pass.memo->vms.end()) {
    vm = it->second;
  } else {
    vm = Inventory(pass)->Describe(PlanVm{id.id, ""});  // after a restart
    pass.memo->vms["moref:" + vm.id] = vm;
  }
  id.host = vm.host_id;
  try {
    EnsureNamespaceObjects(pass);
  } catch (const Error& e) {
    // Not this VM's fault (RBAC of the planner, the namespace being deleted): wait and retry.
    throw TransientError("preparing namespace " + plan.target_namespace + " for populator pods: " + e.what());
  }

  std::vector<std::string> created;
  std::vector<json> tasks;
  try {
    for (size_t i = 0; i < vm.disks.size(); ++i) {
      const SourceDisk& disk = vm.disks[i];
      const StoragePair* pair = pass.map->Find(disk.datastore_id, disk.datastore_name);
      if (pair == nullptr || !pair->xcopy) {
        throw PreconditionError("VM " + VmLabel(vm) + ": disk " + DiskLabel(disk) +
                                " has no copy-offload mapping in StorageMap " + plan.storage_map.ToString() +
                                " (the StorageMap changed after the plan started)");
      }
      auto storage = pass.storage_data.find(pair->xcopy->secret_ref);
      if (storage == pass.storage_data.end()) {
        throw TransientError("storage Secret " + pass.source->ns + "/" + pair->xcopy->secret_ref + " is gone; waiting for it");
      }
      DiskRef d{&plan, &vm, &disk, static_cast<int>(i), pair};
      json pvc = CreateOwned(client_, kube::resources::kPersistentVolumeClaim, BuildTargetPvc(d), plan);
      created.push_back(kube::Name(pvc));

      DiskSecretInputs in;
      in.provider_secret = *pass.source_secret;
      in.storage_secret = storage->second;
      in.provider_url = pass.source->url;
      in.clone_method = pass.source->CloneMethod();
      in.lease_namespace = options_.lease_namespace;
      in.lease_duration_seconds = options_.lease_duration_seconds;
      in.ssh_private_key = pass.ssh_private;
      in.ssh_public_key = pass.ssh_public;
      json secret = BuildDiskSecret(d, pvc, MergeDiskSecret(in));
      json existing = CreateOwned(client_, kube::resources::kSecret, secret, plan);
      if (existing.value("data", json::object()) != secret["data"]) {
        existing["data"] = secret["data"];  // a retried pass refreshes the credentials
        client_.Update(kube::resources::kSecret, existing);
      }
      json cr = CreateOwned(client_, resources::kXcopyPopulator, BuildPopulatorCr(d, pvc), plan);

      pass.fetched[kube::resources::kPersistentVolumeClaim.plural + "/" + kube::Name(pvc)] = pvc;
      pass.fetched[resources::kXcopyPopulator.plural + "/" + kube::Name(cr)] = cr;
      DiskObservation o;
      o.index = static_cast<int>(i);
      o.key = disk.key;
      o.file = disk.file;
      o.capacity_bytes = disk.capacity_bytes;
      o.datastore = disk.datastore_name;
      o.name = kube::Name(pvc);
      o.pvc = &pass.fetched[kube::resources::kPersistentVolumeClaim.plural + "/" + o.name];
      o.cr = &pass.fetched[resources::kXcopyPopulator.plural + "/" + o.name];
      tasks.push_back(DiskTask(o, json(), pass.now));
    }
  } catch (const Error& e) {
    if (e.retryable()) throw;  // the next pass completes what this one began
    // Nothing the planner can retry: leave no PVC (and so no LUN) behind for this VM.
    json failed = FailedVmStatus(id, {e.what()}, vm_status, pass.now);
    RemoveVmObjects(pass, failed);
    for (const std::string& name : created) {
      DeleteIfPresent(client_, kube::resources::kSecret, plan.target_namespace, name);
      DeleteIfPresent(client_, kube::resources::kPersistentVolumeClaim, plan.target_namespace, name);
    }
    vm_status = failed;
    Event(pass.obj, kube::kEventWarning, "VMFailed", "VM " + VmLabel(vm) + ": " + e.what());
    log::Warn(kLog, "VM failed before its disks could be copied", {{"plan", pass.key}, {"vm", id.id}, {"error", e.what()}});
    return;
  }
  vm_status = StartedVmStatus(id, tasks, vm_status, pass.now);
  std::string list;
  for (const auto& n : created) list += (list.empty() ? "" : ", ") + n;
  Event(pass.obj, kube::kEventNormal, "VMStarted",
        "VM " + VmLabel(vm) + ": " + std::to_string(created.size()) + " disk(s) to copy, PVCs " + list + " in " + plan.target_namespace);
  log::Info(kLog, "VM started", {{"plan", pass.key}, {"vm", id.id}, {"disks", created.size()}});
}

void Planner::ObserveVm(Pass& pass, json& vm_status) {
  VmIdentity id{Str(vm_status, {"id"}), Str(vm_status, {"name"}), Str(vm_status, {"host"})};
  std::vector<json> tasks;
  const json* pipeline = kube::At(vm_status, {"pipeline"});
  if (pipeline != nullptr && pipeline->is_array() && !pipeline->empty()) {
    const json* prev_tasks = kube::At((*pipeline)[0], {"tasks"});
    if (prev_tasks != nullptr && prev_tasks->is_array()) {
      for (const json& prev : *prev_tasks) {
        DiskObservation o;
        o.index = prev.value("index", 0);
        o.key = prev.value("deviceKey", 0);
        o.file = Str(prev, {"name"});
        o.capacity_bytes = prev.value("totalBytes", int64_t{0});
        o.datastore = Str(prev, {"datastore"});
        o.name = Str(prev, {"pvc"});
        o.pvc = CachedOrFetched(pass, kube::resources::kPersistentVolumeClaim, o.name);
        o.cr = CachedOrFetched(pass, resources::kXcopyPopulator, o.name);
        json task = DiskTask(o, prev, pass.now);
        if (Str(task, {"phase"}) == kPhaseCompleted && Str(prev, {"phase"}) != kPhaseCompleted &&
            !pass.memo->secrets_deleted.count(o.name)) {
          // Copied: the credentials are no longer needed anywhere.
          DeleteIfPresent(client_, kube::resources::kSecret, pass.plan.target_namespace, o.name);
          pass.memo->secrets_deleted.insert(o.name);
        }
        tasks.push_back(std::move(task));
      }
    }
  }
  std::string before = Str(vm_status, {"phase"});
  json next = StartedVmStatus(id, tasks, vm_status, pass.now);
  std::string after = Str(next, {"phase"});
  if (after == kPhaseFailed && before != kPhaseFailed) {
    RemoveVmObjects(pass, next);
    std::string reasons;
    if (const json* r = kube::At(next, {"error", "reasons"}); r != nullptr && r->is_array()) {
      for (const json& s : *r) reasons += (reasons.empty() ? "" : "; ") + s.get<std::string>();
    }
    Event(pass.obj, kube::kEventWarning, "VMFailed",
          "VM " + id.name + " (" + id.id + "): " + reasons + " — its PVCs were deleted so that no LUN stays allocated");
    log::Warn(kLog, "VM failed", {{"plan", pass.key}, {"vm", id.id}, {"reasons", reasons}});
  } else if (after == kPhaseCompleted && before != kPhaseCompleted) {
    Event(pass.obj, kube::kEventNormal, "VMCompleted",
          "VM " + id.name + " (" + id.id + "): all " + std::to_string(tasks.size()) + " disk(s) copied in " +
              std::to_string(next.value("durationSeconds", int64_t{0})) + " s");
    log::Info(kLog, "VM completed", {{"plan", pass.key}, {"vm", id.id}});
  }
  vm_status = std::move(next);
}

void Planner::RemoveVmObjects(Pass& pass, const json& vm_status) {
  const std::string& ns = pass.plan.target_namespace;
  std::string vm_id = Str(vm_status, {"id"});
  std::string why;
  if (const json* r = kube::At(vm_status, {"error", "reasons"}); r != nullptr && r->is_array()) {
    for (const json& s : *r) why += (why.empty() ? "" : "; ") + s.get<std::string>();
  }
  if (why.size() > 1024) why = why.substr(0, 1021) + "...";
  std::set<std::string> names;
  if (const json* pipeline = kube::At(vm_status, {"pipeline"}); pipeline != nullptr && pipeline->is_array()) {
    for (const json& step : *pipeline) {
      if (const json* tasks = kube::At(step, {"tasks"}); tasks != nullptr && tasks->is_array()) {
        for (const json& t : *tasks) names.insert(Str(t, {"pvc"}));
      }
    }
  }
  // Whatever else carries this plan's and this VM's labels (a pass that stopped half-way).
  for (const json& pvc : pvcs_->store().ByIndex(kPlanIndex, pass.plan.uid)) {
    // The controller's prime PVCs carry the labels too; they go with their target PVC.
    if (kube::Name(pvc).rfind(controller::kPrimePvcPrefix, 0) == 0) continue;
    if (kube::Label(pvc, kVmIdLabel) == vm_id && kube::Namespace(pvc) == ns) names.insert(kube::Name(pvc));
  }
  names.erase("");
  for (const std::string& name : names) {
    // The CR stays as the record of what happened: drop its owner so that deleting the PVC keeps it,
    // and say why its disk stopped (tools such as `hoist watch` count it as done).
    if (auto cr = crs_->store().Get(ns, name); cr && kube::At(*cr, {"metadata", "ownerReferences"}) != nullptr) {
      try {
        client_.Patch(resources::kXcopyPopulator, ns, name, kube::PatchType::kMerge,
                      {{"metadata", {{"ownerReferences", nullptr}, {"annotations", {{std::string(kVmFailedAnnotation), why}}}}}});
      } catch (const std::exception& e) {
        if (!kube::IsNotFound(e)) throw;
      }
    }
    DeleteIfPresent(client_, kube::resources::kSecret, ns, name);
    DeleteIfPresent(client_, kube::resources::kPersistentVolumeClaim, ns, name);
  }
}

// ---- deletion ---------------------------------------------------------------------------------------

bool Planner::Cleanup(const Plan& plan) {
  const std::string& ns = plan.target_namespace;
  if (ns.empty() || plan.uid.empty()) return true;
  kube::ListOptions opts;
  opts.label_selector = kube::LabelSelector().Equals(std::string(kPlanLabel), plan.uid).String();
  int kept = 0, deleted = 0;
  for (const json& cr : kube::ListAll(client_, resources::kXcopyPopulator, ns, opts).items) {
    DeleteIfPresent(client_, resources::kXcopyPopulator, ns, kube::Name(cr));
    ++deleted;
  }
  for (const json& s : kube::ListAll(client_, kube::resources::kSecret, ns, opts).items) {
    DeleteIfPresent(client_, kube::resources::kSecret, ns, kube::Name(s));
    ++deleted;
  }
  for (const json& pvc : kube::ListAll(client_, kube::resources::kPersistentVolumeClaim, ns, opts).items) {
    // A Bound PVC is a migrated disk: it outlives the plan. Anything else is unfinished work (a
    // prime PVC included: it goes with its target PVC, or now).
    bool prime = kube::Name(pvc).rfind(controller::kPrimePvcPrefix, 0) == 0;
    if (!prime && kube::pvc::Phase(pvc) == "Bound") {
      ++kept;
      continue;
    }
    DeleteIfPresent(client_, kube::resources::kPersistentVolumeClaim, ns, kube::Name(pvc));
    ++deleted;
  }
  log::Info(kLog, "plan deleted: its objects removed",
            {{"plan", plan.ns + "/" + plan.name}, {"deleted", deleted}, {"kept_bound_pvcs", kept}});
  return true;
}

// ---- status -----------------------------------------------------------------------------------------

bool Planner::WriteStatus(Pass& pass, const json& status) {
  json current = pass.obj.value("status", json::object());
  if (status == current) return false;
  std::string signature = Signature(status);
  auto now = std::chrono::steady_clock::now();
  if (signature == pass.memo->last_signature && now - pass.memo->last_write < options_.status_interval) {
    queue_->AddAfter(pass.key, options_.status_interval - (now - pass.memo->last_write));
    return false;
  }
  json o = pass.obj;
  o["status"] = status;
  pass.obj = client_.UpdateStatus(resources::kPlan, o);
  pass.memo->last_signature = signature;
  pass.memo->last_write = now;
  return true;
}

// ---- one pass ---------------------------------------------------------------------------------------

void Planner::Reconcile(const std::string& key) {
  ++passes_;
  std::optional<json> obj = plans_->store().Get(key);
  if (!obj) return;
  Pass pass;
  pass.key = key;
  pass.obj = std::move(*obj);
  pass.plan = ParsePlan(pass.obj);
  pass.now = Now();
  {
    std::lock_guard lock(mu_);
    auto& m = memos_[pass.plan.uid];
    if (!m) m = std::make_shared<PlanMemo>();
    pass.memo = m;
  }
  const Plan& plan = pass.plan;

  if (plan.being_deleted) {
    if (!HasFinalizer(pass.obj)) return;
    if (Cleanup(plan)) {
      kube::RetryOnConflict([&] {
        std::optional<json> got = GetOrNull(client_, resources::kPlan, plan.ns, plan.name);
        if (!got || !HasFinalizer(*got)) return;  // a pass before this one finished
        json o = std::move(*got);
        json& f = o["metadata"]["finalizers"];
        f.erase(std::remove(f.begin(), f.end(), json(std::string(kFinalizer))), f.end());
        client_.Update(resources::kPlan, o);
      });
      std::lock_guard lock(mu_);
      memos_.erase(plan.uid);
    }
    return;
  }
  if (!HasFinalizer(pass.obj)) {
    json o = pass.obj;
    o["metadata"]["finalizers"].push_back(std::string(kFinalizer));
    pass.obj = client_.Update(resources::kPlan, o);
  }

  const json previous = pass.obj.value("status", json::object());
  bool started = !Str(previous, {"migration", "started"}).empty();
  json status;
  if (!started) {
    if (plan.archived) {
      Condition c;
      c.type = condition::kArchived;
      c.category = kAdvisory;
      c.reason = "Archived";
      c.message = "The plan is archived; it will not be started.";
      WriteStatus(pass, PlanStatus(previous, {c}, false, {}, pass.now, plan.generation));
      return;
    }
    std::vector<Condition> conds = Validate(pass);
    if (AnyCritical(conds)) {
      std::string refusal = JoinMessages(conds);
      if (refusal != pass.memo->last_refusal) {
        Event(pass.obj, kube::kEventWarning, "PlanNotReady", refusal);
        pass.memo->last_refusal = refusal;
        log::Warn(kLog, "plan not ready", {{"plan", key}, {"conditions", refusal}});
      }
      WriteStatus(pass, PlanStatus(previous, conds, false, {}, pass.now, plan.generation));
      return;
    }
    std::vector<json> vms;
    for (const PlanVm& wanted : plan.vms) {
      const SourceVm& vm = pass.memo->vms.at(VmKey(wanted));
      vms.push_back(PendingVmStatus({vm.id, vm.name, vm.host_id}, "", json()));
    }
    // Recorded first, so that a pass that fails later does not start the plan again.
    WriteStatus(pass, PlanStatus(previous, conds, true, vms, pass.now, plan.generation));
    Event(pass.obj, kube::kEventNormal, "Started",
          "copying the disks of " + std::to_string(vms.size()) + " VM(s) into namespace " + plan.target_namespace);
    log::Info(kLog, "plan started", {{"plan", key}, {"vms", vms.size()}});
    status = pass.obj["status"];
  } else {
    status = previous;
  }

  std::vector<json> vms = status["migration"].value("vms", json::array()).get<std::vector<json>>();
  std::map<std::string, int> copying;  // ESXi host → VMs copying
  std::string retry;                   // the first transient failure of this pass
  for (const json& vm : vms) {
    if (Str(vm, {"phase"}) == kVmPhaseCopyDisks) ++copying[Str(vm, {"host"})];
  }
  for (json& vm : vms) {
    std::string phase = Str(vm, {"phase"});
    if (phase == kPhasePending) {
      std::string host = Str(vm, {"host"});
      if (copying[host] >= options_.max_vm_inflight) {
        vm["reason"] = "Waiting: " + std::to_string(copying[host]) + " VM(s) are copying on ESXi host " +
                       (host.empty() ? "<unknown>" : host) + " (MAX_VM_INFLIGHT " + std::to_string(options_.max_vm_inflight) + ")";
        continue;
      }
      try {
        StartVm(pass, vm);
      } catch (const Error& e) {
        if (!e.retryable()) throw;
        // vCenter or the API server did not answer: this VM waits, the others go on.
        vm["reason"] = std::string("Retrying: ") + e.what();
        if (retry.empty()) retry = e.what();
        continue;
      }
      if (Str(vm, {"phase"}) == kVmPhaseCopyDisks) ++copying[Str(vm, {"host"})];
    } else if (phase == kVmPhaseCopyDisks) {
      ObserveVm(pass, vm);
      if (Str(vm, {"phase"}) != kVmPhaseCopyDisks) --copying[Str(vm, {"host"})];
    } else if (phase == kPhaseFailed) {
      // A pass that failed half-way through the cleanup left objects: finish it.
      bool left = false;
      for (const json& pvc : pvcs_->store().ByIndex(kPlanIndex, plan.uid)) {
        if (kube::Name(pvc).rfind(controller::kPrimePvcPrefix, 0) == 0) continue;
        if (kube::Label(pvc, kVmIdLabel) == Str(vm, {"id"}) && !kube::IsBeingDeleted(pvc)) left = true;
      }
      if (left) RemoveVmObjects(pass, vm);
    }
  }
  bool was_done = !Str(previous, {"migration", "completed"}).empty();
  json next = PlanStatus(status, {}, true, vms, pass.now, plan.generation);
  bool done = !Str(next, {"migration", "completed"}).empty();
  if (done && !was_done) {
    bool ok = std::none_of(vms.begin(), vms.end(), [](const json& v) { return Str(v, {"phase"}) == kPhaseFailed; });
    Event(pass.obj, ok ? kube::kEventNormal : kube::kEventWarning, ok ? "Succeeded" : "Failed",
          ok ? "all " + std::to_string(vms.size()) + " VM(s) copied" : "some VMs failed — see status.migration.vms[].error");
  }
  WriteStatus(pass, next);
  if (!retry.empty()) throw TransientError(retry);  // back off, then try the waiting VMs again
}

}  // namespace hoist::planner

#include "populators/xcopy/flow.h"

#include <algorithm>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/objects.h"
#include "vsphere/property.h"

namespace hoist::populators::xcopy {
namespace {

constexpr std::string_view kLog = "xcopy";

std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// Runs a cleanup step; failures are logged, never thrown (the cleanup must go on).
template <typename F>
bool Step(std::string_view what, F&& f) {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    log::Error(kLog, "cleanup step failed", {{"step", what}, {"error", e.what()}});
    return false;
  }
}

// Sum of the disk's extents on the datastore (VirtualMachine.layoutEx), for the `datastore_allocated`
// metric; best effort (0 when vCenter does not say).
int64_t AllocatedBytes(vsphere::Client& vc, const vsphere::ManagedObjectReference& vm,
                       const vsphere::VirtualDisk& disk) {
  std::vector<std::string> stems;
  auto stem = [](std::string f) {
    if (f.size() > 5 && f.compare(f.size() - 5, 5, ".vmdk") == 0) f.resize(f.size() - 5);
    return f;
  };
  stems.push_back(stem(disk.file_name));
  for (const auto& p : disk.parent_files) stems.push_back(stem(p));
  vsphere::ObjectContent oc = vsphere::RetrieveObject(vc, vm, {"layoutEx.file"});
  const vsphere::XmlNode* files = oc.Get("layoutEx.file");
  if (files == nullptr) return 0;
  int64_t sum = 0;
  for (const auto& f : files->children) {
    if (f.ChildText("type") != "diskExtent") continue;
    std::string name = f.ChildText("name");
    for (const auto& s : stems) {
      if (name.rfind(s, 0) == 0) {
        try {
          sum += std::stoll(f.ChildText("size"));
        } catch (const std::exception&) {
        }
        break;
      }
    }
  }
  return std::min<int64_t>(sum, disk.capacity_bytes > 0 ? disk.capacity_bytes : sum);
}

}  // namespace

// What the run changed and must undo, in reverse order, whatever happens.
struct Flow::Cleanup {
  storage::StorageArray* array = nullptr;
  storage::Lun lun;
  std::string group;
  std::vector<std::string> original;  // mappings before the run
  bool mapped = false;                // Map was called (or may have been)
  HostStorage* host = nullptr;
  std::string naa;
  bool host_touched = false;  // a rescan ran: the device may be attached
  std::vector<std::string> adapters;
  esxi::CloneExecutor* clone = nullptr;
  esxi::CloneTask task;
  bool stop_clone = false;  // the run was stopped or failed while the clone may still run
  std::chrono::milliseconds settle{0};
  std::function<bool(std::chrono::milliseconds, std::stop_token)> sleep;

  void Run() {
    if (clone != nullptr && !task.task_id.empty()) {
      if (stop_clone) {
        // Stop the clone before the device goes away under it (Forklift leaves vmkfstools running).
        Step("stop the clone", [&] { clone->Stop(task); });
      }
      if (Step("remove the clone task", [&] { clone->Clean(task); })) task.task_id.clear();
    }
    if (host != nullptr && host_touched && !naa.empty()) {
      Step("detach device " + naa, [&] { host->DetachDevice(naa); });
    }
    if (array != nullptr && mapped) {
      bool was_ours = std::find(original.begin(), original.end(), group) != original.end();
      if (was_ours) {
        // A crashed earlier run left this mapping; it is ours to remove, not to restore (§9.4 #6).
        log::Warn(kLog, "the LUN was already mapped to the host's xcopy group before this run; removing it",
                  {{"lun", lun.name}, {"group", group}});
      }
      Step("unmap from " + group, [&] { array->Unmap(lun, group); });
      std::vector<std::string> now;
      Step("list mappings", [&] { now = array->ListMappings(lun); });
      for (const auto& g : original) {
        if (g == group || std::find(now.begin(), now.end(), g) != now.end()) continue;
        Step("restore mapping to " + g, [&] { array->Map(lun, g); });
      }
      mapped = false;
    }
    if (host != nullptr && host_touched) {
      sleep(settle, {});
      for (const auto& a : adapters) {
        Step("storage core adapter rescan -t delete -A " + a, [&] { host->RescanDeadPaths(a); });
      }
      host_touched = false;
    }
  }
};

Flow::Flow(FlowInputs inputs, FlowDeps deps) : in_(std::move(inputs)), deps_(std::move(deps)) {
  if (!deps_.sleep) {
    deps_.sleep = [](std::chrono::milliseconds d, std::stop_token st) { return kube::SleepFor(d, st); };
  }
}

bool Flow::Sleep(std::chrono::milliseconds d, std::stop_token stop) { return deps_.sleep(d, stop); }

storage::VolumeRef Flow::TargetVolume() {
  using kube::resources::kPersistentVolume;
  using kube::resources::kPersistentVolumeClaim;
  kube::Json pvc;
  try {
    pvc = deps_.kube->Get(kPersistentVolumeClaim, in_.target_namespace, in_.owner_name);
  } catch (const std::exception& e) {
    if (kube::IsNotFound(e)) {
      throw PreconditionError("target PVC " + in_.target_namespace + "/" + in_.owner_name +
                              " does not exist — check --owner-name and --target-namespace");
    }
    throw;
  }
  std::string volume = kube::pvc::VolumeName(pvc);
  std::string via = "PVC " + in_.target_namespace + "/" + in_.owner_name;
  if (volume.empty()) {
    // Before the rebind the volume belongs to the prime PVC the controller made for this pod.
    std::string prime = "prime-" + kube::Uid(pvc);
    try {
      volume = kube::pvc::VolumeName(deps_.kube->Get(kPersistentVolumeClaim, in_.target_namespace, prime));
      via = "prime PVC " + in_.target_namespace + "/" + prime;
    } catch (const std::exception& e) {
      if (!kube::IsNotFound(e)) throw;
    }
  }
  if (volume.empty()) {
    throw TransientError("neither PVC " + in_.target_namespace + "/" + in_.owner_name +
                         " nor its prime PVC is bound to a volume yet");
  }
  kube::Json pv = deps_.kube->Get(kPersistentVolume, "", volume);
  const kube::Json* csi = kube::At(pv, {"spec", "csi"});
  if (csi == nullptr || !csi->is_object()) {
    throw PreconditionError("PV " + volume + " (of " + via +
                            ") is not a CSI volume, so no array LUN can be found for it — the storage class "
                            "must use the array's CSI driver");
  }
  storage::VolumeRef ref;
  ref.pv_name = volume;
  ref.driver = csi->value("driver", "");
  ref.volume_handle = csi->value("volumeHandle", "");
  if (const auto it = csi->find("volumeAttributes"); it != csi->end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) ref.volume_attributes[k] = v.get<std::string>();
    }
  }
  return ref;
}

void Flow::RunClone(esxi::CloneExecutor& clone, const std::string& source, const std::string& device,
                    std::stop_token stop, Cleanup& cleanup) {
  std::string what = source + " onto " + device + " on ESXi host " + result_.host;
  esxi::CloneTask started = clone.StartClone({source, device});
  cleanup.task = started;
  cleanup.stop_clone = true;
  log::Info(kLog, "clone started", {{"task", started.task_id}, {"source", source}, {"device", device}});
  esxi::ProgressTracker progress;
  auto deadline = std::chrono::steady_clock::now() + in_.tuning.clone_timeout;
  int failures = 0;
  while (true) {
    if (!Sleep(in_.tuning.task_poll_interval, stop)) {
      throw CancelledError("stopped (SIGTERM) during the clone of " + what + " at " +
                           std::to_string(progress.current()) + "%; the clone was stopped on the host");
    }
    esxi::CloneTaskStatus st;
    try {
      st = clone.GetStatus(started, stop);
      failures = 0;
    } catch (const Error& e) {
      if (e.error_class() == ErrorClass::kCancelled) {
        throw CancelledError("stopped (SIGTERM) during the clone of " + what + " at " +
                             std::to_string(progress.current()) + "%; the clone was stopped on the host");
      }
      // The executor already retried with backoff; keep polling through a few more outages, since
      // the clone goes on on the host regardless (Forklift gives up on the first one).
      if (!e.retryable() || ++failures > in_.tuning.task_get_retries) throw;
      log::Warn(kLog, "taskGet failed; retrying", {{"task", started.task_id}, {"attempt", failures}, {"error", e.what()}});
      continue;
    }
    if (auto p = progress.Update(st)) deps_.reporter->Progress(*p);
    if (st.xcopy_used.has_value()) {
      result_.xcopy_used = *st.xcopy_used;
      deps_.reporter->XcopyUsed(*st.xcopy_used);
    }
    if (st.finished()) {
      cleanup.stop_clone = false;
      if (st.succeeded()) {
        deps_.reporter->Progress(100);
        log::Info(kLog, "clone finished", {{"task", started.task_id}, {"xcopy_used", result_.xcopy_used ? 1 : 0}});
        return;
      }
      std::string err = st.std_err.empty() ? st.last_line : st.std_err;
      while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
      throw PreconditionError("clone of " + what + " failed with exit code " + std::to_string(*st.exit_code) +
                              ": " + (err.empty() ? "vmkfstools printed no error" : err) +
                              " — check the host's vmkernel log and the source disk");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw TransientError("clone of " + what + " did not finish within the clone timeout (at " +
                           std::to_string(progress.current()) + "%)");
    }
  }
}

FlowResult Flow::Run(std::stop_token stop) {
  vsphere::Client& vc = *deps_.vcenter;
  vsphere::Inventory inv(vc);
  uint64_t rt_start = vc.round_trips();
  VmdkPath vmdk = ParseVmdkPath(in_.source_vmdk);

  // Kubernetes: the target volume.
  storage::VolumeRef volume = TargetVolume();
  log::Info(kLog, "target volume", {{"pv", volume.pv_name}, {"driver", volume.driver}, {"handle", volume.volume_handle}});

  // vCenter: VM, disk, host, datastore.
  vsphere::VmInfo vm = inv.GetVm(inv.ResolveVm(in_.source_vm_id));
  const vsphere::VirtualDisk* disk = vsphere::FindDiskByPath(vm.disks, in_.source_vmdk);
  if (disk == nullptr) {
    std::vector<std::string> names;
    for (const auto& d : vm.disks) names.push_back(d.file_name);
    throw PreconditionError("VM " + vm.name + " (" + in_.source_vm_id + ") has no disk " + in_.source_vmdk +
                            " (its disks: " + (names.empty() ? "none" : Join(names)) +
                            ") — check the VSphereXcopyVolumePopulator's vmdkPath");
  }
  switch (disk->backing) {
    case vsphere::DiskBacking::kFlat:
      break;
    case vsphere::DiskBacking::kRdm:
      throw PreconditionError("disk " + in_.source_vmdk + " of VM " + vm.name + " is a raw device mapping (" +
                              (disk->compatibility_mode.empty() ? "RDM" : disk->compatibility_mode) + " of " +
                              disk->device_name + "); hoist copies VMDK disks only — migrate it with the VDDK "
                              "path or convert the RDM to a VMDK first");
    case vsphere::DiskBacking::kVvol:
      throw PreconditionError("disk " + in_.source_vmdk + " of VM " + vm.name + " lives on a vVol datastore (" +
                              "backing object " + disk->backing_object_id + "); hoist copies VMDK disks on VMFS "
                              "only — move the disk to a VMFS datastore first");
    default:
      throw PreconditionError("disk " + in_.source_vmdk + " of VM " + vm.name + " has a " + disk->backing_type +
                              " backing, which copy offload cannot clone");
  }
  if (!disk->parent_files.empty()) {
    log::Warn(kLog, "the disk has snapshots; ESXi clones the chain through the host, without XCOPY",
              {{"disk", disk->file_name}, {"parents", static_cast<int>(disk->parent_files.size())}});
  }
  result_.provisioned_bytes = disk->capacity_bytes;
  try {
    result_.allocated_bytes = AllocatedBytes(vc, vm.ref, *disk);
  } catch (const std::exception& e) {
    log::Debug(kLog, "layoutEx unavailable", {{"error", e.what()}});
  }

  vsphere::ManagedObjectReference host_ref =
      in_.migration_host.empty() ? vm.host : vsphere::ManagedObjectReference{"HostSystem", in_.migration_host};
  if (host_ref.empty()) throw PreconditionError("VM " + vm.name + " is not registered on any ESXi host");
  vsphere::HostInfo host;
  try {
    host = inv.GetHost(host_ref);
  } catch (const Error& e) {
    throw Error(e.error_class(), "reading ESXi host " + host_ref.value +
                                     (in_.migration_host.empty() ? " (the VM's host)" : " (--migration-host)") +
                                     ": " + e.what());
  }
  result_.host = host_ref.value;
  std::string host_id = esxi::HostId(host_ref.ToString());
  std::optional<vsphere::DatastoreInfo> ds = inv.FindHostDatastore(host, vmdk.datastore);
  if (!ds) {
    throw PreconditionError("datastore " + vmdk.datastore + " is not mounted on ESXi host " + host.name + " (" +
                            host_ref.value + ") — choose a migration host that sees the VM's datastore");
  }
  if (ds->info_type != "VmfsDatastoreInfo" || ds->extents.empty()) {
    throw PreconditionError("datastore " + vmdk.datastore + " is " + (ds->type.empty() ? ds->info_type : ds->type) +
                            ", not VMFS on a SAN LUN, so its device could not be determined; copy offload "
                            "needs the source disk on a VMFS datastore");
  }
  const std::string& ds_naa = ds->extents.front();
  bool sdc = !deps_.array->capabilities().scsi_initiators;
  std::string sdc_guid;
  if (sdc) {
    // PowerFlex: the host reaches the array through the SDC; its GUID is the scini module's option.
    vsphere::ObjectContent km = vsphere::RetrieveObject(vc, host_ref, {"configManager.kernelModuleSystem"});
    if (const vsphere::XmlNode* k = km.Get("configManager.kernelModuleSystem")) {
      vsphere::XmlNode r = vc.Call("QueryModules", vsphere::ParseMoref(*k));
      for (const auto& m : r.children) {
        if (m.ChildText("name") == "scini") sdc_guid = SdcGuidFromModuleOptions(m.ChildText("optionString"));
      }
    }
    if (sdc_guid.empty()) {
      throw PreconditionError("ESXi host " + host.name + " has no PowerFlex SDC (the scini module with an "
                              "IoctlIniGuidStr option) — install and configure the SDC on the host");
    }
  }
  CloneAdapters adapters = SelectCloneAdapters(host.storage, ds_naa, sdc_guid);
  if (adapters.fallback) {
    log::Warn(kLog, "the datastore has no SAN path the array can use; the copy will go through the host",
              {{"datastore", vmdk.datastore}, {"adapter", adapters.adapters.front().device}, {"why", adapters.note}});
  }
  result_.protocol = ProtocolLabel(adapters.protocol);
  deps_.reporter->Protocol(result_.protocol);

  HostServices services = deps_.host_services(host, *ds);
  result_.clone_method = std::string(services.clone->method());
  esxi::WrapperVersion wv = services.clone->Prepare(stop);
  deps_.reporter->WrapperVersion(wv.version);
  log::Info(kLog, "host ready", {{"host", host.name}, {"moref", host_ref.value}, {"method", result_.clone_method},
                                 {"wrapper", wv.version}, {"protocol", result_.protocol},
                                 {"initiators", Join(adapters.initiator_ids)}});

  Cleanup cleanup;
  cleanup.settle = in_.tuning.cleanup_settle;
  cleanup.sleep = deps_.sleep;
  cleanup.clone = services.clone.get();
  cleanup.host = services.storage.get();
  for (const auto& a : adapters.adapters) cleanup.adapters.push_back(a.device);
  try {
    // Array: initiator group, LUN, mappings.
    storage::StorageArray& array = *deps_.array;
    storage::InitiatorGroup group = array.EnsureInitiatorGroup("xcopy-" + host_id, adapters.initiator_ids);
    storage::Lun lun = array.ResolveVolume(volume);
    cleanup.array = &array;
    cleanup.lun = lun;
    cleanup.group = group.name;
    cleanup.original = array.ListMappings(lun);
    cleanup.mapped = true;
    lun = array.Map(lun, group.name);
    cleanup.lun = lun;
    if (lun.naa.empty()) throw BugError(array.Describe() + " mapped LUN " + lun.name + " without a device name");
    result_.device = lun.naa;
    cleanup.naa = lun.naa;
    log::Info(kLog, "LUN mapped", {{"lun", lun.name}, {"device", lun.naa}, {"group", group.name},
                                   {"original", Join(cleanup.original)}});

    // ESXi: rescan under the host lease until the device shows.
    cleanup.host_touched = true;
    deps_.lock->WithLock(
        host_id,
        [&](std::stop_token lease) {
          std::stop_source both;
          std::stop_callback a(lease, [&] { both.request_stop(); });
          std::stop_callback b(stop, [&] { both.request_stop(); });
          services.storage->WaitForDevice(lun.naa, both.get_token());
        },
        stop);

    RunClone(*services.clone, vmdk.EsxiPath(), "/vmfs/devices/disks/" + lun.naa, stop, cleanup);
  } catch (...) {
    cleanup.Run();
    result_.soap_round_trips = vc.round_trips() - rt_start;
    throw;
  }
  cleanup.Run();
  result_.soap_round_trips = vc.round_trips() - rt_start;
  return result_;
}

}  // namespace hoist::populators::xcopy

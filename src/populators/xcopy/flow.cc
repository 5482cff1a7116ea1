#include "populators/xcopy/flow.h"

#include <algorithm>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "kube/errors.h"
#include "kube/objects.h"
#include "vsphere/property.h"

namespace hoist::populators::xcopy {
namespace {

constexpr std::string_view kLog = "xcopy";

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

Flow::Flow(FlowInputs inputs, FlowDeps deps) : in_(std::move(inputs)), deps_(std::move(deps)) {
  if (!deps_.sleep) {
    deps_.sleep = [](std::chrono::milliseconds d, std::stop_token st) { return kube::SleepFor(d, st); };
  }
}

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

FlowResult Flow::Run(std::stop_token stop) {
  vsphere::Client& vc = *deps_.vcenter;
  vsphere::Inventory inv(vc);
  uint64_t rt_start = vc.round_trips();
  VmdkPath vmdk = ParseVmdkPath(in_.source_vmdk);

  // Kubernetes: the target volume.
  storage::VolumeRef volume = TargetVolume();
  log::Info(kLog, "target volume",
            {{"pv", volume.pv_name}, {"driver", volume.driver}, {"handle", volume.volume_handle}});

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
                              disk->device_name +
                              "); hoist copies VMDK disks only — migrate it with the VDDK "
                              "path or convert the RDM to a VMDK first");
    case vsphere::DiskBacking::kVvol:
      throw PreconditionError("disk " + in_.source_vmdk + " of VM " + vm.name +
                              " lives on a vVol datastore (" + "backing object " + disk->backing_object_id +
                              "); hoist copies VMDK disks on VMFS "
                              "only — move the disk to a VMFS datastore first");
    default:
      throw PreconditionError("disk " + in_.source_vmdk + " of VM " + vm.name + " has a " +
                              disk->backing_type + " backing, which copy offload cannot clone");
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
      in_.migration_host.empty() ? vm.host
                                 : vsphere::ManagedObjectReference{"HostSystem", in_.migration_host};
  if (host_ref.empty()) throw PreconditionError("VM " + vm.name + " is not registered on any ESXi host");
  vsphere::HostInfo host;
  try {
    host = inv.GetHost(host_ref);
  } catch (const Error& e) {
    throw Error(e.error_class(),
                "reading ESXi host " + host_ref.value +
                    (in_.migration_host.empty() ? " (the VM's host)" : " (--migration-host)") + ": " +
                    e.what());
  }
  result_.host = host_ref.value;
  std::string host_id = esxi::HostId(host_ref.ToString());
  std::optional<vsphere::DatastoreInfo> ds = inv.FindHostDatastore(host, vmdk.datastore);
  if (!ds) {
    throw PreconditionError("datastore " + vmdk.datastore + " is not mounted on ESXi host " + host.name +
                            " (" + host_ref.value +
                            ") — choose a migration host that sees the VM's datastore");
  }
  if (ds->info_type != "VmfsDatastoreInfo" || ds->extents.empty()) {
    throw PreconditionError("datastore " + vmdk.datastore + " is " +
                            (ds->type.empty() ? ds->info_type : ds->type) +
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
      throw PreconditionError("ESXi host " + host.name +
                              " has no PowerFlex SDC (the scini module with an "
                              "IoctlIniGuidStr option) — install and configure the SDC on the host");
    }
  }
  CloneAdapters adapters = SelectCloneAdapters(host.storage, ds_naa, sdc_guid);
  if (adapters.fallback) {
    log::Warn(kLog, "the datastore has no SAN path the array can use; the copy will go through the host",
              {{"datastore", vmdk.datastore},
               {"adapter", adapters.adapters.front().device},
               {"why", adapters.note}});
  }
  result_.protocol = ProtocolLabel(adapters.protocol);
  deps_.reporter->Protocol(result_.protocol);

  HostServices services = deps_.host_services(host, *ds);
  result_.clone_method = std::string(services.clone->method());
  esxi::WrapperVersion wv = services.clone->Prepare(stop);
  deps_.reporter->WrapperVersion(wv.version);
  log::Info(kLog, "host ready",
            {{"host", host.name},
             {"moref", host_ref.value},
             {"method", result_.clone_method},
             {"wrapper", wv.version},
             {"protocol", result_.protocol},
             {"initiators", Join(adapters.initiator_ids)}});

  CopyTarget target;
  target.volume = volume;
  target.host_id = host_id;
  target.host = host_ref.value;
  target.initiator_ids = adapters.initiator_ids;
  for (const auto& a : adapters.adapters) target.adapters.push_back(a.device);
  target.source_vmdk = vmdk.EsxiPath();
  LunCopy copy(
      std::move(target), in_.tuning,
      {deps_.array, deps_.lock, services.storage.get(), services.clone.get(), deps_.reporter, deps_.sleep});
  try {
    copy.Run(stop);
  } catch (...) {
    result_.device = copy.device();
    result_.xcopy_used = copy.xcopy_used();
    result_.soap_round_trips = vc.round_trips() - rt_start;
    throw;
  }
  result_.device = copy.device();
  result_.xcopy_used = copy.xcopy_used();
  result_.soap_round_trips = vc.round_trips() - rt_start;
  return result_;
}

}  // namespace hoist::populators::xcopy

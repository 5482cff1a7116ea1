#include "planner/source.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "vsphere/client.h"
#include "vsphere/inventory.h"
#include "vsphere/property.h"

namespace hoist::planner {

VsphereInventory::VsphereInventory(VsphereConnection connection) {
  vsphere::ClientOptions o;
  o.url = connection.url;
  o.username = connection.username;
  o.password = connection.password;
  o.tls.ca_pem = connection.ca_pem;
  o.tls.insecure_skip_verify = connection.insecure_skip_verify;
  client_ = std::make_unique<vsphere::Client>(std::move(o));
}

VsphereInventory::~VsphereInventory() = default;

uint64_t VsphereInventory::round_trips() const { return client_->round_trips(); }

SourceVm VsphereInventory::Describe(const PlanVm& wanted) {
  std::lock_guard lock(mu_);
  if (!client_->logged_in()) client_->Login();
  vsphere::Inventory inventory(*client_);

  vsphere::ManagedObjectReference ref;
  if (!wanted.id.empty()) {
    ref = inventory.ResolveVm(wanted.id);
  } else {
    if (!vms_by_name_) {
      // One traversal of the whole inventory answers every name in the plan.
      vms_by_name_.emplace();
      auto objects = vsphere::RetrieveProperties(
          *client_, {{"VirtualMachine", {"name"}, false}},
          {{client_->service_content().root_folder, false, vsphere::InventoryTraversal()}});
      for (const auto& oc : objects) {
        if (oc.obj.type == "VirtualMachine") vms_by_name_->emplace(oc.GetText("name"), oc.obj.value);
      }
    }
    auto [first, last] = vms_by_name_->equal_range(wanted.name);
    if (first == last) {
      vms_by_name_.reset();  // a VM created since the traversal is found next time
      throw PreconditionError("no VM named \"" + wanted.name + "\" in vCenter " + client_->endpoint() +
                              " — check the name in the plan, or give the VM's id (vm-123)");
    }
    if (std::next(first) != last) {
      std::string ids;
      for (auto it = first; it != last; ++it) ids += (ids.empty() ? "" : ", ") + it->second;
      throw PreconditionError("several VMs are named \"" + wanted.name + "\" in vCenter " + client_->endpoint() +
                              " (" + ids + ") — give the VM's id in the plan instead of its name");
    }
    ref = {"VirtualMachine", first->second};
  }

  vsphere::VmInfo info = inventory.GetVm(ref);
  SourceVm vm;
  vm.id = info.ref.value;
  vm.name = info.name;
  vm.host_id = info.host.value;

  std::vector<vsphere::ManagedObjectReference> missing;
  std::set<std::string> seen;
  for (const auto& d : info.disks) {
    if (d.datastore.empty() || datastores_.count(d.datastore.value) || !seen.insert(d.datastore.value).second) {
      continue;
    }
    missing.push_back(d.datastore);
  }
  if (!missing.empty()) {
    for (const auto& ds : inventory.GetDatastores(missing)) {
      datastores_[ds.ref.value] = {ds.name, ds.extents.empty() ? std::string() : ds.extents.front()};
    }
  }

  for (const auto& d : info.disks) {
    SourceDisk disk;
    disk.key = d.key;
    disk.file = d.file_name;
    disk.capacity_bytes = d.capacity_bytes;
    disk.backing = std::string(vsphere::DiskBackingName(d.backing));
    disk.datastore_id = d.datastore.value;
    if (auto it = datastores_.find(d.datastore.value); it != datastores_.end()) {
      disk.datastore_name = it->second.first;
      disk.datastore_naa = it->second.second;
    }
    vm.disks.push_back(std::move(disk));
  }
  std::sort(vm.disks.begin(), vm.disks.end(), [](const SourceDisk& a, const SourceDisk& b) { return a.key < b.key; });
  return vm;
}

}  // namespace hoist::planner

#include "vsphere/inventory.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <thread>

#include "core/error.h"
#include "core/text.h"
#include "vsphere/fault.h"

namespace hoist::vsphere {
namespace {

// "[DS 1] vm/disk.vmdk" → "ds 1 vm/disk.vmdk"
std::string NormalizeVmdkPath(std::string_view p) {
  std::string out;
  for (char c : p) {
    if (c != '[' && c != ']') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto b = out.find_first_not_of(' ');
  auto e = out.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
}

int64_t IntOr(const XmlNode& n, std::string_view child, int64_t fallback) {
  const XmlNode* c = n.Child(child);
  return c ? ParseXmlInt(c->text, child) : fallback;
}

bool LooksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

std::string_view DiskBackingName(DiskBacking b) {
  switch (b) {
    case DiskBacking::kFlat:
      return "vmdk";
    case DiskBacking::kRdm:
      return "rdm";
    case DiskBacking::kVvol:
      return "vvol";
    case DiskBacking::kOther:
      break;
  }
  return "other";
}

std::vector<VirtualDisk> DecodeVirtualDisks(const XmlNode& devices) {
  std::vector<VirtualDisk> out;
  for (const XmlNode& dev : devices.children) {
    if (dev.type != "VirtualDisk") continue;
    VirtualDisk d;
    d.key = static_cast<int32_t>(IntOr(dev, "key", 0));
    if (const XmlNode* info = dev.Child("deviceInfo")) d.label = info->ChildText("label");
    if (const XmlNode* b = dev.Child("capacityInBytes")) {
      d.capacity_bytes = ParseXmlInt(b->text, "capacityInBytes");
    } else {
      d.capacity_bytes = IntOr(dev, "capacityInKB", 0) * 1024;
    }
    if (const XmlNode* b = dev.Child("backing")) {
      d.backing_type = b->type;
      d.file_name = b->ChildText("fileName");
      if (const XmlNode* ds = b->Child("datastore")) d.datastore = ParseMoref(*ds);
      d.disk_mode = b->ChildText("diskMode");
      d.uuid = b->ChildText("uuid");
      d.thin = ParseXmlBool(b->ChildText("thinProvisioned"));
      d.backing_object_id = b->ChildText("backingObjectId");
      d.lun_uuid = b->ChildText("lunUuid");
      d.device_name = b->ChildText("deviceName");
      d.compatibility_mode = b->ChildText("compatibilityMode");
      for (const XmlNode* p = b->Child("parent"); p != nullptr; p = p->Child("parent")) {
        d.parent_files.push_back(p->ChildText("fileName"));
      }
      if (b->type == "VirtualDiskRawDiskMappingVer1BackingInfo") {
        d.backing = DiskBacking::kRdm;
      } else if (!d.backing_object_id.empty()) {
        d.backing = DiskBacking::kVvol;
      } else if (!d.file_name.empty()) {
        d.backing = DiskBacking::kFlat;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

const VirtualDisk* FindDiskByPath(const std::vector<VirtualDisk>& disks, std::string_view vmdk_path) {
  std::string want = NormalizeVmdkPath(vmdk_path);
  if (want.empty()) return nullptr;
  for (const auto& d : disks) {
    if (NormalizeVmdkPath(d.file_name) == want) return &d;
  }
  for (const auto& d : disks) {
    for (const auto& p : d.parent_files) {
      if (NormalizeVmdkPath(p) == want) return &d;
    }
  }
  return nullptr;
}

std::string HostBusAdapter::InitiatorId() const {
  if (is_iscsi() && !iscsi_name.empty()) return iscsi_name;
  if (is_fc()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "fc.%016llx:%016llx", static_cast<unsigned long long>(node_wwn),
                  static_cast<unsigned long long>(port_wwn));
    return buf;
  }
  if (type == "HostSerialAttachedHba" && node_wwn != 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(node_wwn));
    return buf;
  }
  return device;
}

const ScsiLun* StorageDeviceInfo::FindLun(std::string_view canonical_name) const {
  for (const auto& l : luns) {
    if (l.canonical_name == canonical_name) return &l;
  }
  return nullptr;
}

const HostBusAdapter* StorageDeviceInfo::FindAdapter(std::string_view key) const {
  for (const auto& a : adapters) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

std::vector<const HostBusAdapter*> StorageDeviceInfo::ActiveAdapters(std::string_view canonical_name) const {
  std::vector<const HostBusAdapter*> out;
  const ScsiLun* lun = FindLun(canonical_name);
  if (lun == nullptr) return out;
  for (const auto& mp : multipath) {
    if (mp.lun != lun->key) continue;
    for (const auto& p : mp.paths) {
      if (AsciiLower(p.state) != "active" && AsciiLower(p.path_state) != "active") continue;
      const HostBusAdapter* a = FindAdapter(p.adapter);
      if (a != nullptr && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
  }
  return out;
}

StorageDeviceInfo DecodeStorageDevice(const XmlNode& info) {
  StorageDeviceInfo s;
  for (const XmlNode* h : info.Children("hostBusAdapter")) {
    HostBusAdapter a;
    a.key = h->ChildText("key");
    a.device = h->ChildText("device");
    a.driver = h->ChildText("driver");
    a.model = h->ChildText("model");
    a.status = h->ChildText("status");
    a.type = h->type;
    a.iscsi_name = h->ChildText("iScsiName");
    // WWNs are xsd:long on the wire: values with the top bit set arrive negative.
    a.node_wwn = static_cast<uint64_t>(IntOr(*h, "nodeWorldWideName", 0));
    a.port_wwn = static_cast<uint64_t>(IntOr(*h, "portWorldWideName", 0));
    s.adapters.push_back(std::move(a));
  }
  for (const XmlNode* l : info.Children("scsiLun")) {
    ScsiLun lun;
    lun.key = l->ChildText("key");
    lun.canonical_name = l->ChildText("canonicalName");
    lun.uuid = l->ChildText("uuid");
    lun.device_name = l->ChildText("deviceName");
    lun.display_name = l->ChildText("displayName");
    lun.lun_type = l->ChildText("lunType");
    lun.vendor = l->ChildText("vendor");
    lun.model = l->ChildText("model");
    lun.type = l->type;
    for (const XmlNode* st : l->Children("operationalState")) lun.operational_state.push_back(st->text);
    lun.local = ParseXmlBool(l->ChildText("localDisk"));
    s.luns.push_back(std::move(lun));
  }
  if (const XmlNode* mpi = info.Child("multipathInfo")) {
    for (const XmlNode* l : mpi->Children("lun")) {
      MultipathLun m;
      m.key = l->ChildText("key");
      m.id = l->ChildText("id");
      m.lun = l->ChildText("lun");
      for (const XmlNode* p : l->Children("path")) {
        MultipathPath path;
        path.key = p->ChildText("key");
        path.name = p->ChildText("name");
        path.path_state = p->ChildText("pathState");
        path.state = p->ChildText("state");
        path.adapter = p->ChildText("adapter");
        m.paths.push_back(std::move(path));
      }
      s.multipath.push_back(std::move(m));
    }
  }
  return s;
}

DatastoreInfo DecodeDatastore(const ObjectContent& oc) {
  DatastoreInfo d;
  d.ref = oc.obj;
  d.name = oc.GetText("name");
  if (const XmlNode* info = oc.Get("info")) {
    d.info_type = info->type;
    if (d.name.empty()) d.name = info->ChildText("name");
    d.url = info->ChildText("url");
    if (const XmlNode* vmfs = info->Child("vmfs")) {
      d.vmfs_uuid = vmfs->ChildText("uuid");
      for (const XmlNode* e : vmfs->Children("extent")) d.extents.push_back(e->ChildText("diskName"));
    }
  }
  if (const XmlNode* s = oc.Get("summary")) {
    d.type = s->ChildText("type");
    d.capacity = IntOr(*s, "capacity", 0);
    d.free_space = IntOr(*s, "freeSpace", 0);
    d.accessible = ParseXmlBool(s->ChildText("accessible"));
    if (d.url.empty()) d.url = s->ChildText("url");
  }
  return d;
}

ManagedObjectReference Inventory::ResolveVm(std::string_view id) {
  if (LooksLikeUuid(id)) {
    if (auto r = FindVmByUuid(id, true)) return *r;
    if (auto r = FindVmByUuid(id, false)) return *r;
    throw PreconditionError("no VM with instance or BIOS UUID " + std::string(id) + " in vCenter " +
                            client_.endpoint() + " — check the VM id in the plan");
  }
  return {"VirtualMachine", std::string(id)};
}

VmInfo Inventory::GetVm(const ManagedObjectReference& vm) {
  ObjectContent oc = RetrieveObject(
      client_, vm, {"name", "config.instanceUuid", "config.uuid", "runtime.host", "config.hardware.device"});
  VmInfo v;
  v.ref = vm;
  v.name = oc.GetText("name");
  v.instance_uuid = oc.GetText("config.instanceUuid");
  v.bios_uuid = oc.GetText("config.uuid");
  if (const XmlNode* h = oc.Get("runtime.host")) v.host = ParseMoref(*h);
  if (const XmlNode* d = oc.Get("config.hardware.device")) v.disks = DecodeVirtualDisks(*d);
  return v;
}

HostInfo Inventory::GetHost(const ManagedObjectReference& host) {
  ObjectContent oc = RetrieveObject(client_, host,
                                    {"name", "runtime.connectionState", "configManager.storageSystem",
                                     "datastore", "config.storageDevice"});
  HostInfo h;
  h.ref = host;
  h.name = oc.GetText("name");
  h.connection_state = oc.GetText("runtime.connectionState");
  if (const XmlNode* ss = oc.Get("configManager.storageSystem")) h.storage_system = ParseMoref(*ss);
  if (const XmlNode* ds = oc.Get("datastore")) {
    for (const XmlNode& r : ds->children) h.datastores.push_back(ParseMoref(r));
  }
  if (const XmlNode* sd = oc.Get("config.storageDevice")) h.storage = DecodeStorageDevice(*sd);
  return h;
}

DatastoreInfo Inventory::GetDatastore(const ManagedObjectReference& ds) {
  return DecodeDatastore(RetrieveObject(client_, ds, {"name", "info", "summary"}));
}

std::vector<DatastoreInfo> Inventory::GetDatastores(const std::vector<ManagedObjectReference>& refs) {
  if (refs.empty()) return {};
  std::vector<ObjectSpec> objects;
  for (const auto& r : refs) objects.push_back({r, false, {}});
  std::vector<DatastoreInfo> out;
  for (const auto& oc :
       RetrieveProperties(client_, {{"Datastore", {"name", "info", "summary"}, false}}, objects)) {
    out.push_back(DecodeDatastore(oc));
  }
  return out;
}

std::optional<DatastoreInfo> Inventory::FindHostDatastore(const HostInfo& host, std::string_view name) {
  for (auto& d : GetDatastores(host.datastores)) {
    if (d.name == name) return d;
  }
  return std::nullopt;
}

std::optional<ManagedObjectReference> Inventory::FindVmByUuid(std::string_view uuid, bool instance_uuid) {
  std::string params = TextXml("uuid", uuid) + "<vmSearch>true</vmSearch>" +
                       TextXml("instanceUuid", instance_uuid ? "true" : "false");
  XmlNode r = client_.Call("FindByUuid", client_.service_content().search_index, params);
  const XmlNode* rv = r.Child("returnval");
  if (rv == nullptr || rv->text.empty()) return std::nullopt;
  return ParseMoref(*rv);
}

std::optional<ManagedObjectReference> Inventory::FindByInventoryPath(std::string_view path) {
  XmlNode r = client_.Call("FindByInventoryPath", client_.service_content().search_index,
                           TextXml("inventoryPath", path));
  const XmlNode* rv = r.Child("returnval");
  if (rv == nullptr || rv->text.empty()) return std::nullopt;
  return ParseMoref(*rv);
}

ManagedObjectReference Inventory::StorageSystemOf(const ManagedObjectReference& host) {
  ObjectContent oc = RetrieveObject(client_, host, {"configManager.storageSystem"});
  const XmlNode* ss = oc.Get("configManager.storageSystem");
  if (ss == nullptr || ss->text.empty()) {
    throw PreconditionError("ESXi host " + host.ToString() + " has no storage system in vCenter " +
                            client_.endpoint() + " — is the host connected?");
  }
  return ParseMoref(*ss);
}

void Inventory::RescanAllHba(const ManagedObjectReference& host) {
  client_.Call("RescanAllHba", StorageSystemOf(host));
}

void Inventory::RescanVmfs(const ManagedObjectReference& host) {
  client_.Call("RescanVmfs", StorageSystemOf(host));
}

TaskInfo Inventory::GetTaskInfo(const ManagedObjectReference& task) {
  ObjectContent oc = RetrieveObject(client_, task, {"info"});
  const XmlNode* info = oc.Get("info");
  TaskInfo t;
  if (info == nullptr) return t;
  t.state = info->ChildText("state");
  t.description_id = info->ChildText("descriptionId");
  if (const XmlNode* p = info->Child("progress"))
    t.progress = static_cast<int>(ParseXmlInt(p->text, "progress"));
  if (const XmlNode* r = info->Child("result")) t.result = *r;
  if (t.state == "error") {
    FaultInfo fi;
    if (const XmlNode* e = info->Child("error")) fi = ParseMethodFault(*e);
    throw MakeFault("vSphere task " + task.ToString() + " (" + t.description_id + ")", fi);
  }
  return t;
}

TaskInfo Inventory::WaitForTask(const ManagedObjectReference& task, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto delay = std::chrono::milliseconds(100);
  while (true) {
    TaskInfo t = GetTaskInfo(task);
    if (t.state == "success") return t;
    if (std::chrono::steady_clock::now() + delay > deadline) {
      throw TransientError("vSphere task " + task.ToString() + " (" + t.description_id + ") still " +
                           t.state + " after " + std::to_string(timeout.count() / 1000) + " s");
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace hoist::vsphere

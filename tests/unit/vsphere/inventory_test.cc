#include "vsphere/inventory.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "unit/vsphere/fake_vcenter.h"
#include "vsphere/fault.h"
#include "vsphere/property.h"

namespace hoist::vsphere {
namespace {

using testing::FakeVcenter;
using testing::Response;

// config.hardware.device of a VM with a flat disk whose chain has a base parent (warm migration), an RDM
// and a VVol disk, in vcsim's prefix style. Shapes follow the vim25 VirtualDisk backing types.
constexpr char kDevices[] =
    R"(<val xmlns="urn:vim25" xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="ArrayOfVirtualDevice">)"
    R"(<VirtualDevice XMLSchema-instance:type="ParaVirtualSCSIController"><key>1000</key><busNumber>0</busNumber></VirtualDevice>)"
    R"(<VirtualDevice XMLSchema-instance:type="VirtualDisk"><key>2000</key><deviceInfo XMLSchema-instance:type="Description"><label>Hard disk 1</label></deviceInfo>)"
    R"(<backing XMLSchema-instance:type="VirtualDiskFlatVer2BackingInfo"><fileName>[SAN DS 1] db-01/db-01-000001.vmdk</fileName>)"
    R"(<datastore type="Datastore">datastore-11</datastore><diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned>)"
    R"(<uuid>6000C291-aaaa</uuid><parent XMLSchema-instance:type="VirtualDiskFlatVer2BackingInfo"><fileName>[SAN DS 1] db-01/db-01.vmdk</fileName>)"
    R"(<datastore type="Datastore">datastore-11</datastore><diskMode>persistent</diskMode></parent></backing>)"
    R"(<controllerKey>1000</controllerKey><unitNumber>0</unitNumber><capacityInKB>10485760</capacityInKB><capacityInBytes>10737418240</capacityInBytes></VirtualDevice>)"
    R"(<VirtualDevice XMLSchema-instance:type="VirtualDisk"><key>2001</key><deviceInfo XMLSchema-instance:type="Description"><label>Hard disk 2</label></deviceInfo>)"
    R"(<backing XMLSchema-instance:type="VirtualDiskRawDiskMappingVer1BackingInfo"><fileName>[SAN DS 1] db-01/db-01_1.vmdk</fileName>)"
    R"(<datastore type="Datastore">datastore-11</datastore><lunUuid>0200000000624a9370aaaabbbbccccdddd466c61736841</lunUuid>)"
    R"(<deviceName>vml.0200000000624a9370aaaabbbbccccdddd466c61736841</deviceName><compatibilityMode>physicalMode</compatibilityMode>)"
    R"(<diskMode>independent_persistent</diskMode></backing><capacityInKB>2048</capacityInKB></VirtualDevice>)"
    R"(<VirtualDevice XMLSchema-instance:type="VirtualDisk"><key>2002</key><deviceInfo XMLSchema-instance:type="Description"><label>Hard disk 3</label></deviceInfo>)"
    R"(<backing XMLSchema-instance:type="VirtualDiskFlatVer2BackingInfo"><fileName>[vvolDS] rfc4122.1234/db-01_2.vmdk</fileName>)"
    R"(<datastore type="Datastore">datastore-12</datastore><diskMode>persistent</diskMode><backingObjectId>rfc4122.0f1e2d3c-aaaa-bbbb-cccc-000000000001</backingObjectId></backing>)"
    R"(<capacityInBytes>1073741824</capacityInBytes></VirtualDevice>)"
    R"(</val>)";

TEST(Disks, DecodesFlatRdmAndVvolBackings) {
  auto disks = DecodeVirtualDisks(ParseXml(kDevices));
  ASSERT_EQ(disks.size(), 3u);
  EXPECT_EQ(disks[0].key, 2000);
  EXPECT_EQ(disks[0].label, "Hard disk 1");
  EXPECT_EQ(disks[0].backing, DiskBacking::kFlat);
  EXPECT_EQ(disks[0].capacity_bytes, 10737418240);
  EXPECT_EQ(disks[0].datastore, (ManagedObjectReference{"Datastore", "datastore-11"}));
  EXPECT_TRUE(disks[0].thin);
  EXPECT_EQ(disks[0].parent_files, std::vector<std::string>{"[SAN DS 1] db-01/db-01.vmdk"});
  EXPECT_EQ(disks[1].backing, DiskBacking::kRdm);
  EXPECT_EQ(disks[1].capacity_bytes, 2048 * 1024);  // only capacityInKB given
  EXPECT_EQ(disks[1].compatibility_mode, "physicalMode");
  EXPECT_EQ(disks[1].lun_uuid, "0200000000624a9370aaaabbbbccccdddd466c61736841");
  EXPECT_EQ(disks[2].backing, DiskBacking::kVvol);
  EXPECT_EQ(disks[2].backing_object_id, "rfc4122.0f1e2d3c-aaaa-bbbb-cccc-000000000001");
}

TEST(Disks, FindsByPathIncludingTheBaseOfASnapshotChain) {
  auto disks = DecodeVirtualDisks(ParseXml(kDevices));
  const VirtualDisk* d = FindDiskByPath(disks, "[san ds 1] db-01/DB-01.vmdk");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->key, 2000);
  d = FindDiskByPath(disks, "SAN DS 1 db-01/db-01_1.vmdk");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->key, 2001);
  EXPECT_EQ(FindDiskByPath(disks, "[SAN DS 1] db-01/other.vmdk"), nullptr);
}

// config.storageDevice of a host with an iSCSI and an FC adapter, a SAN LUN with two paths (one active
// on the FC adapter, one standby on iSCSI) and a local disk.
constexpr char kStorage[] =
    R"(<val xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="HostStorageDeviceInfo">)"
    R"(<hostBusAdapter xsi:type="HostInternetScsiHba"><key>key-vim.host.InternetScsiHba-vmhba65</key><device>vmhba65</device>)"
    R"(<bus>0</bus><status>online</status><model>iSCSI Software Adapter</model><driver>iscsi_vmk</driver>)"
    R"(<iScsiName>iqn.1998-01.com.vmware:esx-01-4f2a</iScsiName></hostBusAdapter>)"
    R"(<hostBusAdapter xsi:type="HostFibreChannelHba"><key>key-vim.host.FibreChannelHba-vmhba2</key><device>vmhba2</device>)"
    R"(<status>online</status><driver>qlnativefc</driver><nodeWorldWideName>2305843168127483905</nodeWorldWideName>)"
    R"(<portWorldWideName>-4611686018427387903</portWorldWideName><portType>fabric</portType><speed>16</speed></hostBusAdapter>)"
    R"(<hostBusAdapter xsi:type="HostParallelScsiHba"><key>key-vim.host.ParallelScsiHba-vmhba0</key><device>vmhba0</device></hostBusAdapter>)"
    R"(<scsiLun xsi:type="HostScsiDisk"><deviceName>/vmfs/devices/disks/naa.624a9370aaaa0001</deviceName><deviceType>disk</deviceType>)"
    R"(<key>key-vim.host.ScsiDisk-020000000aaaa0001</key><uuid>020000000aaaa0001</uuid><canonicalName>naa.624a9370aaaa0001</canonicalName>)"
    R"(<displayName>PURE Fibre Channel Disk (naa.624a9370aaaa0001)</displayName><lunType>disk</lunType><vendor>PURE    </vendor>)"
    R"(<model>FlashArray      </model><operationalState>ok</operationalState><localDisk>false</localDisk></scsiLun>)"
    R"(<scsiLun xsi:type="HostScsiDisk"><key>key-vim.host.ScsiDisk-local</key><canonicalName>mpx.vmhba0:C0:T0:L0</canonicalName>)"
    R"(<lunType>disk</lunType><localDisk>true</localDisk></scsiLun>)"
    R"(<multipathInfo><lun><key>key-vim.host.MultipathInfo.LogicalUnit-020000000aaaa0001</key><id>020000000aaaa0001</id>)"
    R"(<lun>key-vim.host.ScsiDisk-020000000aaaa0001</lun>)"
    R"(<path><key>key-vim.host.MultipathInfo.Path-vmhba2:C0:T0:L1</key><name>vmhba2:C0:T0:L1</name><pathState>active</pathState>)"
    R"(<state>active</state><adapter>key-vim.host.FibreChannelHba-vmhba2</adapter></path>)"
    R"(<path><key>key-vim.host.MultipathInfo.Path-vmhba65:C0:T1:L1</key><name>vmhba65:C0:T1:L1</name><pathState>standby</pathState>)"
    R"(<state>standby</state><adapter>key-vim.host.InternetScsiHba-vmhba65</adapter></path>)"
    R"(<path><key>key-vim.host.MultipathInfo.Path-vmhba2:C0:T1:L1</key><name>vmhba2:C0:T1:L1</name><pathState>active</pathState>)"
    R"(<state>Active</state><adapter>key-vim.host.FibreChannelHba-vmhba2</adapter></path>)"
    R"(</lun></multipathInfo></val>)";

TEST(Storage, DecodesAdaptersLunsAndActivePaths) {
  StorageDeviceInfo s = DecodeStorageDevice(ParseXml(kStorage));
  ASSERT_EQ(s.adapters.size(), 3u);
  EXPECT_EQ(s.adapters[0].InitiatorId(), "iqn.1998-01.com.vmware:esx-01-4f2a");
  EXPECT_TRUE(s.adapters[0].is_iscsi());
  // 2305843168127483905 = 0x2000002500000001; -4611686018427387903 = 0xc000000000000001 (xsd:long).
  EXPECT_EQ(s.adapters[1].InitiatorId(), "fc.2000002500000001:c000000000000001");
  EXPECT_EQ(s.adapters[2].InitiatorId(), "vmhba0");
  const ScsiLun* lun = s.FindLun("naa.624a9370aaaa0001");
  ASSERT_NE(lun, nullptr);
  EXPECT_EQ(lun->type, "HostScsiDisk");
  EXPECT_FALSE(lun->local);
  auto active = s.ActiveAdapters("naa.624a9370aaaa0001");
  ASSERT_EQ(active.size(), 1u);  // two active paths on the same adapter, the iSCSI one is standby
  EXPECT_EQ(active[0]->device, "vmhba2");
  EXPECT_TRUE(s.ActiveAdapters("naa.unknown").empty());
}

TEST(Datastore, DecodesVmfsExtents) {
  ObjectContent oc;
  oc.obj = {"Datastore", "datastore-11"};
  oc.props.emplace_back("name", ParseXml("<val>SAN DS 1</val>"));
  oc.props.emplace_back(
      "info",
      ParseXml(
          R"(<val xmlns="urn:vim25" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="VmfsDatastoreInfo">)"
          R"(<name>SAN DS 1</name><url>ds:///vmfs/volumes/5f1e-aa/</url><vmfs><type>VMFS</type><name>SAN DS 1</name>)"
          R"(<uuid>5f1e-aa</uuid><extent><diskName>naa.624a9370aaaa0001</diskName><partition>1</partition></extent></vmfs></val>)"));
  oc.props.emplace_back(
      "summary",
      ParseXml(R"(<val><name>SAN DS 1</name><capacity>1099511627776</capacity>)"
               R"(<freeSpace>549755813888</freeSpace><type>VMFS</type><accessible>true</accessible></val>)"));
  DatastoreInfo d = DecodeDatastore(oc);
  EXPECT_EQ(d.info_type, "VmfsDatastoreInfo");
  EXPECT_EQ(d.extents, std::vector<std::string>{"naa.624a9370aaaa0001"});
  EXPECT_EQ(d.type, "VMFS");
  EXPECT_EQ(d.capacity, 1099511627776);
  EXPECT_TRUE(d.accessible);
}

TEST(PropertyCollector, FilterSpecCarriesTypedTraversals) {
  std::string xml = BuildFilterSpecXml({{"VirtualMachine", {"name", "runtime.host"}, false}},
                                       {{{"Folder", "group-d1"}, false, InventoryTraversal()}});
  XmlNode spec = ParseXml("<r xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">" + xml + "</r>");
  const XmlNode* ps = spec.Find("specSet/propSet");
  ASSERT_NE(ps, nullptr);
  EXPECT_EQ(ps->Children("pathSet").size(), 2u);
  const XmlNode* os = spec.Find("specSet/objectSet");
  ASSERT_NE(os, nullptr);
  auto sel = os->Children("selectSet");
  ASSERT_EQ(sel.size(), 5u);
  EXPECT_EQ(sel[0]->type, "TraversalSpec");
  EXPECT_EQ(sel[0]->ChildText("path"), "childEntity");
  EXPECT_EQ(sel[0]->Children("selectSet").size(), 5u);
}

TEST(PropertyCollector, FollowsContinuationTokens) {
  auto fake = std::make_unique<FakeVcenter>();
  FakeVcenter* f = fake.get();
  f->On("RetrievePropertiesEx", [](const XmlNode& call) {
    EXPECT_EQ(call.ChildText("options").empty(), true);
    return Response("RetrievePropertiesEx",
                    "<returnval><token>t1</token><objects><obj "
                    "type=\"VirtualMachine\">vm-1</obj><propSet><name>name</name>"
                    "<val xsi:type=\"xsd:string\">a</val></propSet></objects></returnval>");
  });
  f->On("ContinueRetrievePropertiesEx", [](const XmlNode& call) {
    EXPECT_EQ(call.ChildText("token"), "t1");
    return Response("ContinueRetrievePropertiesEx",
                    "<returnval><objects><obj type=\"VirtualMachine\">vm-2</obj><propSet><name>name</name>"
                    "<val xsi:type=\"xsd:string\">b</val></propSet></objects></returnval>");
  });
  Client c(testing::TestOptions(), std::move(fake));
  c.Login();
  auto all = RetrieveProperties(c, {{"VirtualMachine", {"name"}, false}},
                                {{{"Folder", "group-d1"}, false, InventoryTraversal()}});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].obj.value, "vm-2");
  EXPECT_EQ(all[1].GetText("name"), "b");
}

TEST(Inventory, VmHostAndMissingVm) {
  auto fake = std::make_unique<FakeVcenter>();
  FakeVcenter* f = fake.get();
  f->On("RetrievePropertiesEx", [](const XmlNode& call) -> std::string {
    std::string obj = call.Find("specSet/objectSet/obj")->text;
    if (obj == "vm-404") {
      return testing::FaultBody("ManagedObjectNotFound",
                                "The object has already been deleted or has not been completely created",
                                "<obj type=\"VirtualMachine\">vm-404</obj>");
    }
    return Response("RetrievePropertiesEx",
                    "<returnval><objects><obj type=\"VirtualMachine\">vm-42</obj>"
                    "<propSet><name>name</name><val xsi:type=\"xsd:string\">db-01</val></propSet>"
                    "<propSet><name>runtime.host</name><val type=\"HostSystem\" "
                    "xsi:type=\"ManagedObjectReference\">host-9</val></propSet>"
                    "<propSet><name>config.hardware.device</name>" +
                        std::string(kDevices) +
                        "</propSet>"
                        "</objects></returnval>");
  });
  Client c(testing::TestOptions(), std::move(fake));
  c.Login();
  Inventory inv(c);
  VmInfo vm = inv.GetVm(inv.ResolveVm("vm-42"));
  EXPECT_EQ(vm.name, "db-01");
  EXPECT_EQ(vm.host.ToString(), "HostSystem:host-9");
  EXPECT_EQ(vm.disks.size(), 3u);
  try {
    inv.GetVm({"VirtualMachine", "vm-404"});
    FAIL();
  } catch (const Fault& e) {
    EXPECT_EQ(e.fault_type(), "ManagedObjectNotFound");
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("VirtualMachine:vm-404"), std::string::npos) << e.what();
  }
  (void)f;
}

TEST(Inventory, LogsInAgainWhenPropertiesComeBackNotAuthenticated) {
  auto fake = std::make_unique<FakeVcenter>();
  FakeVcenter* f = fake.get();
  f->missing_set_when_unauthenticated = true;
  f->On("RetrievePropertiesEx", [](const XmlNode&) {
    return Response("RetrievePropertiesEx",
                    "<returnval><objects><obj type=\"HostSystem\">host-9</obj><propSet><name>name</name>"
                    "<val xsi:type=\"xsd:string\">esx-01</val></propSet></objects></returnval>");
  });
  Client c(testing::TestOptions(), std::move(fake));
  c.Login();
  f->TerminateSessions();
  ObjectContent oc = RetrieveObject(c, {"HostSystem", "host-9"}, {"name"});
  EXPECT_EQ(oc.GetText("name"), "esx-01");
  EXPECT_EQ(c.logins(), 2u);
}

TEST(Inventory, PropertyWithoutPermissionIsAPrecondition) {
  auto fake = std::make_unique<FakeVcenter>();
  fake->On("RetrievePropertiesEx", [](const XmlNode&) {
    return Response(
        "RetrievePropertiesEx",
        "<returnval><objects><obj "
        "type=\"HostSystem\">host-9</obj><missingSet><path>config.storageDevice</path>"
        "<fault><fault xsi:type=\"NoPermission\"><object type=\"HostSystem\">host-9</object>"
        "<privilegeId>System.Read</privilegeId></fault><localizedMessage>Permission denied</localizedMessage>"
        "</fault></missingSet></objects></returnval>");
  });
  Client c(testing::TestOptions(), std::move(fake));
  c.Login();
  try {
    RetrieveObject(c, {"HostSystem", "host-9"}, {"config.storageDevice"});
    FAIL();
  } catch (const Fault& e) {
    EXPECT_EQ(e.fault_type(), "NoPermission");
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("config.storageDevice"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hoist::vsphere

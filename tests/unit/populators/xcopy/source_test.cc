// VMDK paths, host ids, and the choice of adapters whose initiators the array gets (reference §3.3).
#include "populators/xcopy/source.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist::populators::xcopy {
namespace {

TEST(XcopySource, VmdkPathWithSpaces) {
  VmdkPath p = ParseVmdkPath("[san ds 1] my vm/my vm_1.vmdk");
  EXPECT_EQ(p.datastore, "san ds 1");
  EXPECT_EQ(p.dir, "my vm");
  EXPECT_EQ(p.file, "my vm_1.vmdk");
  EXPECT_EQ(p.EsxiPath(), "/vmfs/volumes/san ds 1/my vm/my vm_1.vmdk");
}

TEST(XcopySource, VmdkPathOfAnotherShapeIsRefused) {
  for (const char* bad : {"", "ds/vm/vm.vmdk", "[ds] vm.vmdk", "[ds] a/b/c.vmdk", "[] vm/vm.vmdk", "[ds] ../x.vmdk",
                          "[ds] vm/"}) {
    try {
      ParseVmdkPath(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
      EXPECT_NE(std::string(e.what()).find("should be '[datastore] vmname/xyz.vmdk'"), std::string::npos);
    }
  }
}

vsphere::StorageDeviceInfo Storage() {
  vsphere::StorageDeviceInfo s;
  vsphere::HostBusAdapter local;
  local.key = "k-local";
  local.device = "vmhba0";
  local.type = "HostBlockHba";
  vsphere::HostBusAdapter iscsi;
  iscsi.key = "k-iscsi";
  iscsi.device = "vmhba65";
  iscsi.type = "HostInternetScsiHba";
  iscsi.iscsi_name = "iqn.1998-01.com.vmware:esx1";
  vsphere::HostBusAdapter fc;
  fc.key = "k-fc";
  fc.device = "vmhba2";
  fc.type = "HostFibreChannelHba";
  fc.node_wwn = 0x20000025b5000001ULL;
  fc.port_wwn = 0x20000025b500000fULL;
  s.adapters = {local, iscsi, fc};
  vsphere::ScsiLun san;
  san.key = "lun-san";
  san.canonical_name = "naa.600a0980aaaa";
  vsphere::ScsiLun loc;
  loc.key = "lun-local";
  loc.canonical_name = "mpx.vmhba0:C0:T0:L0";
  s.luns = {san, loc};
  s.multipath = {{"m1", "id1", "lun-san", {{"p1", "n1", "active", "active", "k-iscsi"}, {"p2", "n2", "dead", "dead", "k-fc"}}},
                 {"m2", "id2", "lun-local", {{"p3", "n3", "active", "active", "k-local"}}}};
  return s;
}

TEST(XcopySource, ActiveSanAdaptersOfTheDatastoreDevice) {
  CloneAdapters a = SelectCloneAdapters(Storage(), "naa.600a0980aaaa");
  ASSERT_EQ(a.adapters.size(), 1u);
  EXPECT_EQ(a.adapters[0].device, "vmhba65");
  EXPECT_EQ(a.initiator_ids, std::vector<std::string>{"iqn.1998-01.com.vmware:esx1"});
  EXPECT_EQ(a.protocol, storage::Protocol::kIscsi);
  EXPECT_FALSE(a.fallback);
  EXPECT_EQ(ProtocolLabel(a.protocol), "iscsi");
}

TEST(XcopySource, LocalDatastoreFallsBackToTheFirstFcAdapter) {
  CloneAdapters a = SelectCloneAdapters(Storage(), "mpx.vmhba0:C0:T0:L0");
  ASSERT_EQ(a.adapters.size(), 1u);
  EXPECT_TRUE(a.fallback);
  EXPECT_EQ(a.adapters[0].device, "vmhba2");
  EXPECT_EQ(a.initiator_ids[0], "fc.20000025b5000001:20000025b500000f");
  EXPECT_EQ(a.protocol, storage::Protocol::kFc);
}

TEST(XcopySource, HostWithoutSanAdaptersIsAPrecondition) {
  vsphere::StorageDeviceInfo s = Storage();
  s.adapters.resize(1);
  EXPECT_THROW(SelectCloneAdapters(s, "mpx.vmhba0:C0:T0:L0"), Error);
}

TEST(XcopySource, PowerFlexSdcAdapterCarriesTheGuid) {
  vsphere::StorageDeviceInfo s = Storage();
  vsphere::HostBusAdapter scini;
  scini.key = "k-scini";
  scini.device = "vmhba33";
  scini.driver = "scini";
  scini.type = "HostBlockHba";
  s.adapters.push_back(scini);
  s.multipath[0].paths = {{"p9", "n9", "active", "active", "k-scini"}};
  CloneAdapters a = SelectCloneAdapters(s, "naa.600a0980aaaa", "3a5c-guid");
  ASSERT_EQ(a.initiator_ids.size(), 1u);
  EXPECT_EQ(a.initiator_ids[0], "3a5c-guid");
  EXPECT_EQ(a.protocol, storage::Protocol::kSdc);
  EXPECT_EQ(SdcGuidFromModuleOptions("foo=1 IoctlIniGuidStr=3a5c-guid bar=2"), "3a5c-guid");
  EXPECT_EQ(SdcGuidFromModuleOptions("ioctliniguidstr=x"), "x");
  EXPECT_EQ(SdcGuidFromModuleOptions("foo=1"), "");
}

}  // namespace
}  // namespace hoist::populators::xcopy

// Reading Forklift's Provider, StorageMap and Plan objects.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "planner/api.h"
#include "unit/planner/fixtures.h"

namespace hoist::planner {
namespace {

using nlohmann::json;

TEST(PlannerApi, PlanReferencesDefaultToThePlansNamespace) {
  Plan p = ParsePlan(fixtures::PlanObject());
  EXPECT_EQ(p.name, "wave-1");
  EXPECT_EQ(p.uid, "mig-uid-1");
  EXPECT_EQ(p.generation, 2);
  EXPECT_EQ(p.source_provider.ToString(), "mtv/vcenter");
  EXPECT_EQ(p.destination_provider.ToString(), "mtv/host");
  EXPECT_EQ(p.storage_map.ToString(), "mtv/san");
  EXPECT_EQ(p.target_namespace, "vms");
  ASSERT_EQ(p.vms.size(), 2u);
  EXPECT_EQ(p.vms[0].id, "vm-20");
  EXPECT_EQ(p.vms[1].name, "db01");
  EXPECT_EQ(p.vms[1].Describe(), "name db01");
  EXPECT_FALSE(p.warm);
  EXPECT_FALSE(p.being_deleted);
}

TEST(PlannerApi, MissingFieldsReadAsEmptyNotAsAnError) {
  Plan p = ParsePlan(json::parse(R"({"metadata": {"name": "x", "namespace": "n"}, "spec": {"warm": "true"}})"));
  EXPECT_TRUE(p.source_provider.empty());
  EXPECT_TRUE(p.storage_map.empty());
  EXPECT_TRUE(p.vms.empty());
  EXPECT_TRUE(p.warm);
  StorageMap m = ParseStorageMap(json::object());
  EXPECT_TRUE(m.pairs.empty());
  EXPECT_FALSE(m.UsesOffload());
}

TEST(PlannerApi, StorageMapFindsByIdBeforeName) {
  StorageMap m = ParseStorageMap(fixtures::StorageMapObject());
  ASSERT_EQ(m.pairs.size(), 3u);
  EXPECT_TRUE(m.UsesOffload());
  const StoragePair* by_id = m.Find("datastore-11", "whatever");
  ASSERT_NE(by_id, nullptr);
  EXPECT_EQ(by_id->index, 0);
  ASSERT_TRUE(by_id->xcopy);
  EXPECT_EQ(by_id->xcopy->secret_ref, "ontap-creds");
  EXPECT_EQ(by_id->xcopy->storage_vendor_product, "ontap");
  EXPECT_EQ(by_id->xcopy->dedicated_migration_hosts, (std::vector<std::string>{"host-31", "host-32"}));
  const StoragePair* by_name = m.Find("datastore-12", "san-ds2");
  ASSERT_NE(by_name, nullptr);
  EXPECT_EQ(by_name->index, 1);
  EXPECT_EQ(by_name->access_mode, "ReadWriteOnce");
  const StoragePair* nfs = m.Find("datastore-13", "nfs-ds");
  ASSERT_NE(nfs, nullptr);
  EXPECT_FALSE(nfs->offload());
  EXPECT_EQ(m.Find("datastore-99", "other"), nullptr);
  EXPECT_EQ(nfs->Describe(), "map[2] (datastore nfs-ds -> storage class nfs)");
}

TEST(PlannerApi, ProviderCloneMethodDefaultsToVib) {
  Provider p = fixtures::VsphereProvider();
  EXPECT_EQ(p.CloneMethod(), "vib");
  p.settings["esxiCloneMethod"] = " SSH ";
  EXPECT_EQ(p.CloneMethod(), "ssh");
  EXPECT_TRUE(ParseProvider(json::parse(R"({"spec": {"type": "openshift"}})")).IsHost());
  EXPECT_FALSE(ParseProvider(json::parse(R"({"spec": {"type": "openshift", "url": "https://other"}})")).IsHost());
}

TEST(PlannerApi, VendorsAreForkliftsEnum) {
  EXPECT_TRUE(IsKnownStorageVendor("pureFlashArray"));
  EXPECT_TRUE(IsKnownStorageVendor("ontap"));
  EXPECT_FALSE(IsKnownStorageVendor("netapp"));
  EXPECT_FALSE(IsKnownStorageVendor("PureFlashArray"));
  EXPECT_EQ(StorageVendorProducts().size(), 9u);
}

TEST(PlannerApi, SecretDataDecodesBase64AndStringData) {
  json s = json::parse(R"({"data": {"user": "YWRtaW4=", "bad": "%%%"}, "stringData": {"password": "p"}})");
  auto d = SecretData(s);
  EXPECT_EQ(d["user"], "admin");
  EXPECT_EQ(d["password"], "p");
  EXPECT_EQ(d.count("bad"), 0u);
}

}  // namespace
}  // namespace hoist::planner

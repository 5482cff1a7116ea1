// Plans that cannot run are refused with conditions that name what to fix.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "planner/validation.h"
#include "unit/planner/fixtures.h"

namespace hoist::planner {
namespace {

using nlohmann::json;

const Condition* Find(const std::vector<Condition>& c, const std::string& type) {
  for (const auto& x : c) {
    if (x.type == type) return &x;
  }
  return nullptr;
}

OffloadSecrets GoodSecrets() {
  OffloadSecrets s;
  s.storage["ontap-creds"] = std::map<std::string, std::string>{
      {"STORAGE_HOSTNAME", "a"}, {"STORAGE_USERNAME", "u"}, {"STORAGE_PASSWORD", "p"}};
  return s;
}

TEST(PlannerValidation, AGoodPlanHasNoCriticalCondition) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  StorageMap map = ParseStorageMap(fixtures::StorageMapObject());
  Provider src = fixtures::VsphereProvider();
  std::map<std::string, std::string> secret = {{"user", "u"}, {"password", "p"}};
  Provider host = ParseProvider(json::parse(R"({"spec": {"type": "openshift"}})"));
  EXPECT_FALSE(AnyCritical(ValidateSpec(plan)));
  EXPECT_FALSE(AnyCritical(ValidateProviders(plan, src, secret, true, host)));
  EXPECT_FALSE(AnyCritical(ValidateStorageMap(plan, map, src, GoodSecrets())));
  SourceVm vm = fixtures::TwoDiskVm();
  EXPECT_FALSE(AnyCritical(ValidateVms(plan, map, {{plan.vms[0], vm, "", false}})));
}

TEST(PlannerValidation, MixedMappingNamesTheVmTheDiskAndTheDatastore) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  StorageMap map = ParseStorageMap(fixtures::StorageMapObject());
  SourceVm vm = fixtures::TwoDiskVm();
  vm.disks[1] = fixtures::Disk(2001, "[nfs-ds] vm1/vm1_1.vmdk", "datastore-13", "nfs-ds");
  auto conds = ValidateVms(plan, map, {{plan.vms[0], vm, "", false}});
  ASSERT_TRUE(AnyCritical(conds));
  const Condition* c = Find(conds, "VDDKAndOffloadMixedUsage");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->category, "Critical");
  EXPECT_NE(c->message.find("vm1 (vm-20)"), std::string::npos) << c->message;
  EXPECT_NE(c->message.find("[nfs-ds] vm1/vm1_1.vmdk"), std::string::npos) << c->message;
  EXPECT_NE(c->message.find("datastore nfs-ds (datastore-13)"), std::string::npos) << c->message;
  EXPECT_NE(c->message.find("map[2]"), std::string::npos) << c->message;
  ASSERT_EQ(c->items.size(), 1u);
  EXPECT_EQ(Find(conds, "VMStorageNotMapped"), nullptr);
}

TEST(PlannerValidation, UnmappedDatastoreAndMissingVm) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  StorageMap map = ParseStorageMap(fixtures::StorageMapObject());
  SourceVm vm = fixtures::TwoDiskVm();
  vm.disks[0] = fixtures::Disk(2000, "[local] vm1/vm1.vmdk", "datastore-77", "local");
  VmLookup missing{plan.vms[1], std::nullopt, "no VM named \"db01\" in vCenter", false};
  auto conds = ValidateVms(plan, map, {{plan.vms[0], vm, "", false}, missing});
  const Condition* nm = Find(conds, "VMStorageNotMapped");
  ASSERT_NE(nm, nullptr);
  EXPECT_NE(nm->message.find("[local] vm1/vm1.vmdk on datastore local (datastore-77)"), std::string::npos);
  const Condition* nf = Find(conds, "VMNotFound");
  ASSERT_NE(nf, nullptr);
  EXPECT_NE(nf->message.find("name db01"), std::string::npos) << nf->message;
}

TEST(PlannerValidation, UnreachableVcenterIsItsOwnCondition) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  StorageMap map = ParseStorageMap(fixtures::StorageMapObject());
  auto conds = ValidateVms(plan, map, {{plan.vms[0], std::nullopt, "connection refused", true}});
  ASSERT_NE(Find(conds, "SourceNotReachable"), nullptr);
  EXPECT_EQ(Find(conds, "VMNotFound"), nullptr);
}

TEST(PlannerValidation, MissingStorageSecretAndUnknownVendorAreConditions) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  json m = fixtures::StorageMapObject();
  m["spec"]["map"][1]["offloadPlugin"]["vsphereXcopyConfig"]["storageVendorProduct"] = "netapp";
  m["spec"]["map"][1]["offloadPlugin"]["vsphereXcopyConfig"]["secretRef"] = "other-creds";
  OffloadSecrets s = GoodSecrets();
  s.storage["other-creds"] = std::nullopt;
  auto conds = ValidateStorageMap(plan, ParseStorageMap(m), fixtures::VsphereProvider(), s);
  const Condition* v = Find(conds, "UnknownStorageVendor");
  ASSERT_NE(v, nullptr);
  EXPECT_NE(v->message.find("\"netapp\""), std::string::npos);
  EXPECT_NE(v->message.find("pureFlashArray"), std::string::npos);  // the list of valid ones
  const Condition* sec = Find(conds, "StorageSecretNotValid");
  ASSERT_NE(sec, nullptr);
  EXPECT_NE(sec->message.find("Secret mtv/other-creds does not exist"), std::string::npos) << sec->message;
}

TEST(PlannerValidation, IncompleteStorageSecretNamesKeysNotValues) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  OffloadSecrets s;
  s.storage["ontap-creds"] = std::map<std::string, std::string>{{"STORAGE_USERNAME", "u"}, {"STORAGE_PASSWORD", "s3cr3t"}};
  auto conds = ValidateStorageMap(plan, ParseStorageMap(fixtures::StorageMapObject()), fixtures::VsphereProvider(), s);
  const Condition* sec = Find(conds, "StorageSecretNotValid");
  ASSERT_NE(sec, nullptr);
  EXPECT_NE(sec->message.find("STORAGE_HOSTNAME"), std::string::npos);
  EXPECT_EQ(sec->message.find("s3cr3t"), std::string::npos);
}

TEST(PlannerValidation, OffloadPluginProblems) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  json m = fixtures::StorageMapObject();
  m["spec"]["map"][0]["offloadPlugin"]["vsphereXcopyConfig"].erase("secretRef");
  auto conds = ValidateStorageMap(plan, ParseStorageMap(m), fixtures::VsphereProvider(), GoodSecrets());
  const Condition* c = Find(conds, "OffloadPluginNotValid");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->message.find("map[0]"), std::string::npos);
  EXPECT_NE(c->message.find("secretRef"), std::string::npos);

  json none = json::parse(R"({"spec": {"map": [{"source": {"name": "a"}, "destination": {"storageClass": "x"}}]}})");
  auto c2 = ValidateStorageMap(plan, ParseStorageMap(none), fixtures::VsphereProvider(), GoodSecrets());
  ASSERT_NE(Find(c2, "OffloadNotConfigured"), nullptr);

  auto c3 = ValidateStorageMap(plan, std::nullopt, fixtures::VsphereProvider(), GoodSecrets());
  ASSERT_NE(Find(c3, "StorageMapNotValid"), nullptr);
  EXPECT_NE(Find(c3, "StorageMapNotValid")->message.find("mtv/san"), std::string::npos);
}

TEST(PlannerValidation, SshCloneMethodNeedsTheKeySecrets) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  Provider p = fixtures::VsphereProvider();
  p.settings["esxiCloneMethod"] = "ssh";
  auto conds = ValidateStorageMap(plan, ParseStorageMap(fixtures::StorageMapObject()), p, GoodSecrets());
  const Condition* c = Find(conds, "SshKeysNotFound");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->message.find("mtv/offload-ssh-keys-vcenter-private"), std::string::npos) << c->message;
  p.settings["esxiCloneMethod"] = "scp";
  ASSERT_NE(Find(ValidateStorageMap(plan, ParseStorageMap(fixtures::StorageMapObject()), p, GoodSecrets()),
                 "EsxiCloneMethodNotValid"),
            nullptr);
}

TEST(PlannerValidation, Providers) {
  Plan plan = ParsePlan(fixtures::PlanObject());
  auto not_found = ValidateProviders(plan, std::nullopt, std::nullopt, false, std::nullopt);
  ASSERT_NE(Find(not_found, "SourceProviderNotValid"), nullptr);
  EXPECT_EQ(Find(not_found, "SourceProviderNotValid")->reason, "NotFound");
  Provider ovirt = fixtures::VsphereProvider();
  ovirt.type = "ovirt";
  EXPECT_EQ(Find(ValidateProviders(plan, ovirt, std::nullopt, false, std::nullopt), "SourceProviderNotValid")->reason,
            "TypeNotValid");
  auto no_secret = ValidateProviders(plan, fixtures::VsphereProvider(), std::nullopt, false, std::nullopt);
  EXPECT_EQ(Find(no_secret, "SourceProviderNotValid")->reason, "SecretNotFound");
  auto bad_secret = ValidateProviders(plan, fixtures::VsphereProvider(), std::map<std::string, std::string>{{"user", "u"}},
                                      false, std::nullopt);
  EXPECT_EQ(Find(bad_secret, "SourceProviderNotValid")->reason, "SecretNotValid");
  Provider remote = ParseProvider(json::parse(R"({"spec": {"type": "openshift", "url": "https://other:6443"}})"));
  auto dest = ValidateProviders(plan, fixtures::VsphereProvider(), std::map<std::string, std::string>{{"user", "u"}, {"password", "p"}},
                                true, remote);
  ASSERT_NE(Find(dest, "DestinationProviderNotValid"), nullptr);
}

TEST(PlannerValidation, Spec) {
  json p = fixtures::PlanObject();
  p["spec"]["targetNamespace"] = "Bad_NS";
  p["spec"]["warm"] = true;
  p["spec"]["vms"] = json::parse(R"([{"id": "vm-1"}, {"id": "vm-1"}, {}])");
  auto conds = ValidateSpec(ParsePlan(p));
  EXPECT_NE(Find(conds, "NamespaceNotValid"), nullptr);
  EXPECT_NE(Find(conds, "WarmNotSupported"), nullptr);
  EXPECT_NE(Find(conds, "DuplicateVM"), nullptr);
  ASSERT_NE(Find(conds, "VMNotFound"), nullptr);
  EXPECT_NE(Find(conds, "VMNotFound")->message.find("spec.vms[2]"), std::string::npos);
}

TEST(PlannerValidation, ConditionsJsonKeepsTransitionTimesAndMergesTypes) {
  Condition a{"VMNotFound", "True", kCritical, "NotFound", "one", {"a"}};
  Condition b{"VMNotFound", "True", kCritical, "NotSet", "two", {"b"}};
  json prev = json::parse(R"([{"type": "VMNotFound", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}])");
  json out = ConditionsJson({a, b}, prev, "2026-02-02T00:00:00Z");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["message"], "one; two");
  EXPECT_EQ(out[0]["items"], json::array({"a", "b"}));
  EXPECT_EQ(out[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
  Condition c{"Ready", "False", kRequired, "NotReady", "x", {}};
  EXPECT_EQ(ConditionsJson({c}, prev, "2026-02-02T00:00:00Z")[0]["lastTransitionTime"], "2026-02-02T00:00:00Z");
}

}  // namespace
}  // namespace hoist::planner

// The PV binder's matching rules and its bind / Lost / Released behaviour on an in-memory store.
#include "lab/binder.h"

#include <gtest/gtest.h>

#include "lab/cluster_objects.h"
#include "lab/store.h"

namespace hoist::lab {
namespace {

Json Pv(const std::string& name, const std::string& size, const std::string& cls = "fast",
        Json modes = Json::array({"ReadWriteOnce"}), const std::string& mode = "Filesystem") {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata", {{"name", name}, {"labels", Json::object()}}},
          {"spec",
           {{"capacity", {{"storage", size}}},
            {"accessModes", modes},
            {"storageClassName", cls},
            {"volumeMode", mode},
            {"persistentVolumeReclaimPolicy", "Retain"},
            {"hostPath", {{"path", "/tmp/" + name}}}}},
          {"status", {{"phase", "Available"}}}};
}

Json Claim(const std::string& name, const std::string& size, const std::string& cls = "fast",
           Json modes = Json::array({"ReadWriteOnce"})) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolumeClaim"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}}},
          {"spec",
           {{"accessModes", modes},
            {"resources", {{"requests", {{"storage", size}}}}},
            {"storageClassName", cls}}}};
}

TEST(BinderMatch, PicksTheSmallestVolumeThatFits) {
  std::vector<Json> pvs = {Pv("big", "10Gi"), Pv("small", "1Gi"), Pv("fit", "2Gi"), Pv("exact", "1536Mi")};
  EXPECT_EQ(pvs[FindBestMatch(Claim("c", "1.5Gi"), pvs, nullptr, false)]["metadata"]["name"], "exact");
  EXPECT_EQ(pvs[FindBestMatch(Claim("c", "1537Mi"), pvs, nullptr, false)]["metadata"]["name"], "fit");
  EXPECT_EQ(FindBestMatch(Claim("c", "11Gi"), pvs, nullptr, false), -1);
}

TEST(BinderMatch, ClassAccessModesVolumeModeAndSelectorMustMatch) {
  std::vector<Json> pvs = {Pv("other-class", "5Gi", "slow"), Pv("rwo", "5Gi"),
                           Pv("rwx", "6Gi", "fast", Json::array({"ReadWriteOnce", "ReadWriteMany"})),
                           Pv("block", "1Gi", "fast", Json::array({"ReadWriteOnce"}), "Block")};
  EXPECT_EQ(pvs[FindBestMatch(Claim("c", "1Gi"), pvs, nullptr, false)]["metadata"]["name"], "rwo");
  EXPECT_EQ(pvs[FindBestMatch(Claim("c", "1Gi", "fast", {"ReadWriteMany"}), pvs, nullptr, false)]["metadata"]
               ["name"],
            "rwx");
  EXPECT_EQ(pvs[FindBestMatch(Claim("c", "1Gi", "slow"), pvs, nullptr, false)]["metadata"]["name"],
            "other-class");
  EXPECT_EQ(FindBestMatch(Claim("c", "1Gi", "gold"), pvs, nullptr, false), -1);
  Json block = Claim("c", "1Gi");
  block["spec"]["volumeMode"] = "Block";
  EXPECT_EQ(pvs[FindBestMatch(block, pvs, nullptr, false)]["metadata"]["name"], "block");
  Json selective = Claim("c", "1Gi");
  selective["spec"]["selector"] = {{"matchLabels", {{"tier", "gold"}}}};
  EXPECT_EQ(FindBestMatch(selective, pvs, nullptr, false), -1);
  pvs[2]["metadata"]["labels"]["tier"] = "gold";
  EXPECT_EQ(pvs[FindBestMatch(selective, pvs, nullptr, false)]["metadata"]["name"], "rwx");
}

TEST(BinderMatch, PreBoundVolumesOnlyBindTheirClaim) {
  std::vector<Json> pvs = {Pv("mine", "5Gi"), Pv("free", "1Gi")};
  pvs[0]["spec"]["claimRef"] = {{"namespace", "default"}, {"name", "b"}};
  pvs[0]["status"]["phase"] = "Available";
  // Another claim does not get the pre-bound volume even though it is the only big one.
  EXPECT_EQ(FindBestMatch(Claim("a", "2Gi"), pvs, nullptr, false), -1);
  // Its own claim gets it even though a smaller one fits.
  EXPECT_EQ(pvs[FindBestMatch(Claim("b", "1Gi"), pvs, nullptr, false)]["metadata"]["name"], "mine");
  // A claimRef with another uid is another claim of the same name.
  pvs[0]["spec"]["claimRef"]["uid"] = "someone-else";
  EXPECT_EQ(pvs[FindBestMatch(Claim("b", "1Gi"), pvs, nullptr, false)]["metadata"]["name"], "free");
}

TEST(BinderMatch, DelayedBindingWithoutNodeOnlyTakesPreBound) {
  std::vector<Json> pvs = {Pv("free", "1Gi")};
  EXPECT_EQ(FindBestMatch(Claim("a", "1Gi"), pvs, nullptr, true), -1);
  Json node = {{"metadata", {{"name", "n1"}, {"labels", {{"kubernetes.io/hostname", "n1"}}}}}};
  EXPECT_EQ(FindBestMatch(Claim("a", "1Gi"), pvs, &node, true), 0);
  pvs[0]["spec"]["nodeAffinity"] = {
      {"required",
       {{"nodeSelectorTerms",
         Json::array({{{"matchExpressions", Json::array({{{"key", "kubernetes.io/hostname"},
                                                          {"operator", "In"},
                                                          {"values", {"n2"}}}})}}})}}}};
  EXPECT_EQ(FindBestMatch(Claim("a", "1Gi"), pvs, &node, true), -1);
}

TEST(BinderMatch, VolumeSatisfiesClaimChecksCapacityClassAndMode) {
  std::string why;
  EXPECT_TRUE(VolumeSatisfiesClaim(Pv("x", "1Gi"), Claim("c", "1Gi"), &why));
  EXPECT_FALSE(VolumeSatisfiesClaim(Pv("x", "1Gi"), Claim("c", "2Gi"), &why));
  EXPECT_EQ(why, "requested PV is too small");
  EXPECT_FALSE(VolumeSatisfiesClaim(Pv("x", "1Gi", "slow"), Claim("c", "1Gi"), &why));
  EXPECT_FALSE(
      VolumeSatisfiesClaim(Pv("x", "1Gi", "fast", {"ReadWriteOnce"}, "Block"), Claim("c", "1Gi"), &why));
}

class BinderStoreTest : public ::testing::Test {
 protected:
  BinderStoreTest() : store_(StoreOptions{}), binder_(store_), types_(ClusterTypes::From(store_)) {}
  void Settle() {
    for (int i = 0; i < 100 && binder_.Sync(); ++i) {
    }
  }
  Json GetPvc(const std::string& n) { return store_.Get(types_.pvcs, "default", n); }
  Json GetPv(const std::string& n) { return store_.Get(types_.pvs, "", n); }
  Json CreateClaim(const std::string& name, const std::string& size) {
    Json c = Claim(name, size);
    c["metadata"].erase("uid");
    return store_.Create(types_.pvcs, "default", c);
  }
  Store store_;
  Binder binder_;
  ClusterTypes types_;
};

TEST_F(BinderStoreTest, BindsAsThePvControllerDoes) {
  store_.Create(types_.pvs, "", Pv("x", "2Gi"));
  Json a = CreateClaim("a", "1Gi");
  Settle();
  Json pvc = GetPvc("a"), pv = GetPv("x");
  EXPECT_EQ(pvc["spec"]["volumeName"], "x");
  EXPECT_EQ(pvc["status"]["phase"], "Bound");
  EXPECT_EQ(pvc["status"]["capacity"]["storage"], "2Gi");
  EXPECT_EQ(pvc["status"]["accessModes"], Json::array({"ReadWriteOnce"}));
  EXPECT_EQ(pvc["metadata"]["annotations"][kAnnBindCompleted], "yes");
  EXPECT_EQ(pvc["metadata"]["annotations"][kAnnBoundByController], "yes");
  EXPECT_EQ(pv["spec"]["claimRef"]["uid"], a["metadata"]["uid"]);
  EXPECT_EQ(pv["metadata"]["annotations"][kAnnBoundByController], "yes");
  EXPECT_EQ(pv["status"]["phase"], "Bound");
  EXPECT_EQ(pvc["metadata"]["finalizers"], Json::array({kPvcProtectionFinalizer}));
}

TEST_F(BinderStoreTest, ClaimRefSwitchMakesTheOldClaimLostAndKeepsTheVolume) {
  store_.Create(types_.pvs, "", Pv("x", "2Gi"));
  CreateClaim("a", "1Gi");
  Settle();
  Json b = CreateClaim("b", "1Gi");
  Settle();
  EXPECT_EQ(GetPvc("b")["status"]["phase"], "Pending");  // nothing free for b
  store_.Patch(
      types_.pvs, "", "x", PatchType::kMerge,
      {{"spec", {{"claimRef", {{"namespace", "default"}, {"name", "b"}, {"uid", b["metadata"]["uid"]}}}}}});
  Settle();
  EXPECT_EQ(GetPvc("b")["status"]["phase"], "Bound");
  EXPECT_EQ(GetPvc("b")["spec"]["volumeName"], "x");
  EXPECT_EQ(GetPvc("a")["status"]["phase"], "Lost");
  EXPECT_EQ(GetPvc("a")["spec"]["volumeName"], "x");
  store_.Delete(types_.pvcs, "default", "a");
  Settle();
  EXPECT_FALSE(store_.TryGet(types_.pvcs, "default", "a"));
  EXPECT_EQ(GetPv("x")["status"]["phase"], "Bound");
  EXPECT_EQ(GetPv("x")["spec"]["claimRef"]["name"], "b");
}

TEST_F(BinderStoreTest, DeletedClaimReleasesARetainVolume) {
  store_.Create(types_.pvs, "", Pv("x", "2Gi"));
  CreateClaim("a", "1Gi");
  Settle();
  store_.Delete(types_.pvcs, "default", "a");
  Settle();
  EXPECT_FALSE(store_.TryGet(types_.pvcs, "default", "a"));
  EXPECT_EQ(GetPv("x")["status"]["phase"], "Released");
  // A Released volume is not Available to a new claim.
  CreateClaim("c", "1Gi");
  Settle();
  EXPECT_EQ(GetPvc("c")["status"]["phase"], "Pending");
}

TEST_F(BinderStoreTest, ExplicitVolumeNameAndDefaultClass) {
  store_.Create(types_.pvs, "", Pv("y", "5Gi"));
  store_.Create(types_.pvs, "", Pv("z", "1Gi"));
  Json c = Claim("named", "1Gi");
  c["metadata"].erase("uid");
  c["spec"]["volumeName"] = "y";
  store_.Create(types_.pvcs, "default", c);
  Settle();
  EXPECT_EQ(GetPvc("named")["status"]["phase"], "Bound");
  EXPECT_EQ(GetPvc("named")["spec"]["volumeName"], "y");
  EXPECT_FALSE(GetPvc("named")["metadata"]["annotations"].contains(kAnnBoundByController));

  store_.Create(types_.classes, "",
                {{"apiVersion", "storage.k8s.io/v1"},
                 {"kind", "StorageClass"},
                 {"metadata", {{"name", "fast"}, {"annotations", {{kAnnDefaultClass, "true"}}}}},
                 {"provisioner", "kubernetes.io/no-provisioner"}});
  Json d = Claim("defaulted", "1Gi");
  d["metadata"].erase("uid");
  d["spec"].erase("storageClassName");
  store_.Create(types_.pvcs, "default", d);
  Settle();
  EXPECT_EQ(GetPvc("defaulted")["spec"]["storageClassName"], "fast");
  EXPECT_EQ(GetPvc("defaulted")["spec"]["volumeName"], "z");
}

TEST(Quantity, ParsesKubernetesQuantities) {
  EXPECT_EQ(ParseQuantity("1Gi"), 1073741824);
  EXPECT_EQ(ParseQuantity("1.5Gi"), 1610612736);
  EXPECT_EQ(ParseQuantity("500M"), 500000000);
  EXPECT_EQ(ParseQuantity("1e3"), 1000);
  EXPECT_EQ(ParseQuantity("12345"), 12345);
  EXPECT_THROW(ParseQuantity("1GB"), hoist::Error);
  EXPECT_THROW(ParseQuantity(""), hoist::Error);
}

}  // namespace
}  // namespace hoist::lab

#include "kube/selectors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "kube/resource.h"

namespace hoist::kube {
namespace {

TEST(LabelSelectorTest, EncodesEveryOperator) {
  LabelSelector s;
  s.Equals("app", "hoist")
      .NotEquals("tier", "db")
      .In("env", {"prod", "stage"})
      .NotIn("zone", {"a"})
      .Exists("forklift.konveyor.io/plan")
      .DoesNotExist("legacy");
  EXPECT_EQ(s.String(),
            "app=hoist,tier!=db,env in (prod,stage),zone notin (a),forklift.konveyor.io/plan,!legacy");
}

TEST(LabelSelectorTest, ParseRoundTripsAndMatches) {
  LabelSelector s = LabelSelector::Parse("app=hoist, tier!=db,env in (prod, stage),!legacy,owner");
  EXPECT_EQ(s.String(), "app=hoist,tier!=db,env in (prod,stage),!legacy,owner");
  EXPECT_TRUE(s.Matches({{"app", "hoist"}, {"env", "prod"}, {"owner", "x"}}));
  EXPECT_FALSE(s.Matches({{"app", "hoist"}, {"env", "prod"}, {"owner", "x"}, {"legacy", "1"}}));
  EXPECT_FALSE(s.Matches({{"app", "hoist"}, {"env", "dev"}, {"owner", "x"}}));
  EXPECT_FALSE(s.Matches({{"app", "hoist"}, {"env", "prod"}, {"owner", "x"}, {"tier", "db"}}));
  EXPECT_TRUE(LabelSelector::Parse("").Matches({}));
  EXPECT_TRUE(LabelSelector::Parse("").Empty());
  EXPECT_EQ(LabelSelector::Parse("a==b").String(), "a=b");
  EXPECT_THROW(LabelSelector::Parse("env in (a"), Error);
}

TEST(LabelSelectorTest, FromMetav1LabelSelector) {
  auto s = LabelSelector::FromJson(nlohmann::json::parse(R"({
    "matchLabels": {"app": "hoist"},
    "matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]},
                         {"key": "old", "operator": "DoesNotExist"}]})"));
  EXPECT_EQ(s.String(), "app=hoist,env in (a,b),!old");
  EXPECT_THROW(LabelSelector::FromJson(
                   nlohmann::json::parse(R"({"matchExpressions": [{"key": "x", "operator": "Near"}]})")),
               Error);
}

TEST(LabelSelectorTest, RejectsInvalidKeysAndValues) {
  LabelSelector s;
  EXPECT_THROW(s.Equals("bad key", "v"), Error);
  EXPECT_THROW(s.Equals("k", "has,comma"), Error);
  EXPECT_THROW(s.Equals("-leading", "v"), Error);
  EXPECT_THROW(s.Equals("Upper.Case/name", "v"), Error);
  EXPECT_THROW(s.Equals("k", std::string(64, 'a')), Error);
  EXPECT_NO_THROW(s.Equals("example.com/name_1.x-y", ""));
}

TEST(FieldSelectorTest, EscapesValues) {
  FieldSelector f;
  f.Equals("metadata.name", "a,b=c\\d").NotEquals("status.phase", "Succeeded");
  EXPECT_EQ(f.String(), "metadata.name=a\\,b\\=c\\\\d,status.phase!=Succeeded");
}

TEST(ResourceTypeTest, PathsAndNames) {
  EXPECT_EQ(resources::kPersistentVolumeClaim.CollectionPath("ns1"),
            "/api/v1/namespaces/ns1/persistentvolumeclaims");
  EXPECT_EQ(resources::kPersistentVolumeClaim.CollectionPath(""), "/api/v1/persistentvolumeclaims");
  EXPECT_EQ(resources::kPersistentVolume.ObjectPath("ignored", "pv-1"), "/api/v1/persistentvolumes/pv-1");
  EXPECT_EQ(resources::kLease.ObjectPath("kube-system", "hoist"),
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/hoist");
  EXPECT_EQ(resources::kPod.ObjectPath("ns", "p", "status"), "/api/v1/namespaces/ns/pods/p/status");
  EXPECT_EQ(resources::kStorageClass.ApiVersion(), "storage.k8s.io/v1");
  EXPECT_EQ(resources::kEvent.Name(), "events.events.k8s.io");
  EXPECT_EQ(resources::kCoreEvent.Name(), "events");
}

}  // namespace
}  // namespace hoist::kube

#include "lab/selector.h"

#include <gtest/gtest.h>

#include "lab/store.h"

namespace hoist::lab {
namespace {

using nlohmann::json;

TEST(LabelSelectorTest, EqualityAndSetOperators) {
  json labels = {{"app", "db"}, {"tier", "backend"}, {"env", "prod"}};
  EXPECT_TRUE(LabelSelector::Parse("app=db").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("app==db,tier=backend").Matches(labels));
  EXPECT_FALSE(LabelSelector::Parse("app=web").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("app!=web").Matches(labels));
  EXPECT_FALSE(LabelSelector::Parse("app!=db").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("env in (prod, staging)").Matches(labels));
  EXPECT_FALSE(LabelSelector::Parse("env notin (prod,staging)").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("env notin (dev)").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("tier").Matches(labels));
  EXPECT_FALSE(LabelSelector::Parse("!tier").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("!missing").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("missing!=x").Matches(labels));  // absent key satisfies !=
  EXPECT_FALSE(LabelSelector::Parse("missing in (x)").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("").Matches(labels));
  EXPECT_TRUE(LabelSelector::Parse("").Matches(json()));
}

TEST(LabelSelectorTest, MalformedIsBadRequest) {
  try {
    LabelSelector::Parse("env in (a");
    FAIL() << "no error";
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 400);
  }
  EXPECT_THROW(LabelSelector::Parse("a b=c"), StatusError);
}

TEST(LabelSelectorTest, FromLabelSelectorObject) {
  auto sel = LabelSelector::FromJson(json::parse(R"({"matchLabels":{"app":"db"},
      "matchExpressions":[{"key":"env","operator":"In","values":["prod"]},{"key":"x","operator":"DoesNotExist"}]})"));
  EXPECT_TRUE(sel.Matches({{"app", "db"}, {"env", "prod"}}));
  EXPECT_FALSE(sel.Matches({{"app", "db"}, {"env", "prod"}, {"x", "1"}}));
  EXPECT_FALSE(sel.Matches({{"app", "db"}}));
}

TEST(FieldSelectorTest, PathsAndOperators) {
  json pod = json::parse(R"({"metadata":{"name":"p1","namespace":"ns"},"spec":{"nodeName":"n1"},
      "status":{"phase":"Running"}})");
  EXPECT_TRUE(FieldSelector::Parse("metadata.name=p1").Matches(pod));
  EXPECT_TRUE(FieldSelector::Parse("status.phase!=Pending,spec.nodeName==n1").Matches(pod));
  EXPECT_FALSE(FieldSelector::Parse("status.phase=Pending").Matches(pod));
  EXPECT_TRUE(FieldSelector::Parse("spec.missing=").Matches(pod));
  json ev = json::parse(R"({"involvedObject":{"kind":"Pod","name":"p1"},"source":{"component":"kubelet"}})");
  EXPECT_TRUE(FieldSelector::Parse("involvedObject.kind=Pod,involvedObject.name=p1").Matches(ev));
  EXPECT_TRUE(FieldSelector::Parse("source=kubelet").Matches(ev));
  EXPECT_THROW(FieldSelector::Parse("metadata.name"), StatusError);
  EXPECT_EQ(*FieldSelector::Parse("metadata.name=x").EqualityValue("metadata.name"), "x");
}

}  // namespace
}  // namespace hoist::lab

#include "lab/patch.h"

#include <gtest/gtest.h>

#include "lab/store.h"

namespace hoist::lab {
namespace {

using nlohmann::json;

json Pod() {
  return json::parse(R"({
    "metadata": {"name": "p", "finalizers": ["a"], "labels": {"x": "1"},
                 "ownerReferences": [{"uid": "u1", "name": "o1"}, {"uid": "u2", "name": "o2"}]},
    "spec": {
      "containers": [
        {"name": "main", "image": "busybox:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
         "ports": [{"containerPort": 80, "name": "http"}],
         "volumeMounts": [{"name": "v", "mountPath": "/data"}]},
        {"name": "side", "image": "sidecar:1"}
      ],
      "volumes": [{"name": "v", "emptyDir": {}}],
      "tolerations": [{"key": "k1"}]
    },
    "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Scheduled", "status": "True"}]}
  })");
}

TEST(StrategicMergePatchTest, MergesContainersByName) {
  json out = ApplyStrategicMergePatch(Pod(), json::parse(R"({"spec":{"containers":[
      {"name":"main","image":"busybox:2","env":[{"name":"B","value":"20"},{"name":"C","value":"3"}]},
      {"name":"new","image":"n:1"}]}})"));
  const auto& cs = out["spec"]["containers"];
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0]["image"], "busybox:2");
  EXPECT_EQ(cs[0]["env"].size(), 3u);
  EXPECT_EQ(cs[0]["env"][1]["value"], "20");
  EXPECT_EQ(cs[0]["env"][2]["name"], "C");
  EXPECT_EQ(cs[0]["volumeMounts"].size(), 1u);  // untouched
  EXPECT_EQ(cs[1]["name"], "side");
  EXPECT_EQ(cs[2]["name"], "new");
}

TEST(StrategicMergePatchTest, ListsWithoutMergeKeyAreReplaced) {
  json out = ApplyStrategicMergePatch(Pod(), json::parse(R"({"spec":{"tolerations":[{"key":"k2"}]}})"));
  EXPECT_EQ(out["spec"]["tolerations"], json::parse(R"([{"key":"k2"}])"));
}

TEST(StrategicMergePatchTest, PortsByContainerPortAndVolumeMountsByPath) {
  json out = ApplyStrategicMergePatch(Pod(), json::parse(R"({"spec":{"containers":[{"name":"main",
      "ports":[{"containerPort":80,"name":"web"},{"containerPort":443}],
      "volumeMounts":[{"mountPath":"/data","readOnly":true}]}]}})"));
  const auto& c = out["spec"]["containers"][0];
  ASSERT_EQ(c["ports"].size(), 2u);
  EXPECT_EQ(c["ports"][0]["name"], "web");
  ASSERT_EQ(c["volumeMounts"].size(), 1u);
  EXPECT_EQ(c["volumeMounts"][0]["readOnly"], true);
  EXPECT_EQ(c["volumeMounts"][0]["name"], "v");
}

TEST(StrategicMergePatchTest, ServicePortsMergeByPort) {
  json svc = json::parse(R"({"spec":{"ports":[{"port":80,"name":"a"},{"port":81,"name":"b"}]}})");
  json out = ApplyStrategicMergePatch(svc, json::parse(R"({"spec":{"ports":[{"port":81,"name":"bb"}]}})"));
  ASSERT_EQ(out["spec"]["ports"].size(), 2u);
  EXPECT_EQ(out["spec"]["ports"][1]["name"], "bb");
}

TEST(StrategicMergePatchTest, ConditionsOwnerReferencesAndFinalizers) {
  json out = ApplyStrategicMergePatch(Pod(), json::parse(R"({
      "metadata":{"finalizers":["b","a"],"ownerReferences":[{"uid":"u2","name":"renamed"}]},
      "status":{"conditions":[{"type":"Ready","status":"True"}]}})"));
  EXPECT_EQ(out["metadata"]["finalizers"], json::parse(R"(["a","b"])"));
  ASSERT_EQ(out["metadata"]["ownerReferences"].size(), 2u);
  EXPECT_EQ(out["metadata"]["ownerReferences"][1]["name"], "renamed");
  ASSERT_EQ(out["status"]["conditions"].size(), 2u);
  EXPECT_EQ(out["status"]["conditions"][0]["status"], "True");
}

TEST(StrategicMergePatchTest, DeleteDirectives) {
  json out = ApplyStrategicMergePatch(Pod(), json::parse(R"({
      "metadata":{"labels":{"x":null},"$deleteFromPrimitiveList/finalizers":["a"]},
      "spec":{"containers":[{"name":"side","$patch":"delete"}],
              "$setElementOrder/containers":[{"name":"main"}],
              "volumes":[{"name":"v","$patch":"delete"}]}})"));
  EXPECT_TRUE(out["metadata"]["labels"].empty());
  EXPECT_TRUE(out["metadata"]["finalizers"].empty());
  ASSERT_EQ(out["spec"]["containers"].size(), 1u);
  EXPECT_EQ(out["spec"]["containers"][0]["name"], "main");
  EXPECT_TRUE(out["spec"]["volumes"].empty());
  EXPECT_FALSE(out["spec"].contains("$setElementOrder/containers"));
}

TEST(StrategicMergePatchTest, ReplaceDirectives) {
  json out = ApplyStrategicMergePatch(Pod(), json::parse(R"({"spec":{
      "containers":[{"name":"only","image":"o:1"},{"$patch":"replace"}],
      "volumes":[{"name":"w","emptyDir":{}}]},
      "status":{"$patch":"replace","phase":"Running"}})"));
  ASSERT_EQ(out["spec"]["containers"].size(), 1u);
  EXPECT_EQ(out["spec"]["containers"][0]["name"], "only");
  EXPECT_EQ(out["spec"]["volumes"].size(), 2u);
  EXPECT_EQ(out["status"], json::parse(R"({"phase":"Running"})"));
}

TEST(StrategicMergePatchTest, RetainKeys) {
  json vol = json::parse(R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}})");
  json out = ApplyStrategicMergePatch(vol, json::parse(R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})"));
  EXPECT_EQ(out["spec"]["strategy"], json::parse(R"({"type":"Recreate"})"));
}

TEST(StrategicMergePatchTest, DeleteWholeMap) {
  json out = ApplyStrategicMergePatch(Pod(), json::parse(R"({"status":{"$patch":"delete"}})"));
  EXPECT_FALSE(out.contains("status"));
}

TEST(JsonPatchTest, AppliesAndReportsFailures) {
  json out = ApplyJsonPatch(Pod(), json::parse(R"([{"op":"replace","path":"/metadata/labels/x","value":"2"},
      {"op":"add","path":"/metadata/labels/y","value":"3"}])"));
  EXPECT_EQ(out["metadata"]["labels"], json::parse(R"({"x":"2","y":"3"})"));
  try {
    ApplyJsonPatch(Pod(), json::parse(R"([{"op":"test","path":"/metadata/name","value":"other"}])"));
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 422);
  }
}

TEST(MergePatchTest, NullRemoves) {
  json out = ApplyMergePatch(Pod(), json::parse(R"({"metadata":{"labels":{"x":null,"z":"9"}}})"));
  EXPECT_EQ(out["metadata"]["labels"], json::parse(R"({"z":"9"})"));
}

}  // namespace
}  // namespace hoist::lab

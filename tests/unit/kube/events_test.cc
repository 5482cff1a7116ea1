#include "kube/events.h"

#include <gtest/gtest.h>

#include "kube/client.h"
#include "unit/kube/fake_apiserver.h"

namespace hoist::kube {
namespace {

using testing::FakeApiServer;
namespace r = resources;

TEST(EventRecorderTest, RepeatsBecomeASeriesOnOneEvent) {
  FakeApiServer server;
  Client client(server.Config());
  Json pvc =
      client.Create(r::kPersistentVolumeClaim, "", NewObject(r::kPersistentVolumeClaim, "ns1", "disk-1"));
  EventRecorder recorder(client, {"hoist.konveyor.io/controller", "controller-0"});
  recorder.Record(pvc, kEventNormal, "PopulatorCreated", "Create", "populator pod created");
  recorder.Record(pvc, kEventNormal, "PopulatorCreated", "Create", "populator pod created");
  recorder.Record(pvc, kEventNormal, "PopulatorCreated", "Create", "populator pod created");
  recorder.Record(pvc, kEventWarning, "PopulatorFailed", "Populate", "copy failed: LUN not visible");
  ASSERT_EQ(server.CountObjects("events"), 2u);
  ListResult events = client.List(r::kEvent, "ns1");
  ASSERT_EQ(events.items.size(), 2u);
  const Json* created = nullptr;
  for (const auto& e : events.items) {
    if (e["reason"] == "PopulatorCreated") created = &e;
  }
  ASSERT_NE(created, nullptr);
  EXPECT_EQ((*created)["regarding"]["name"], "disk-1");
  EXPECT_EQ((*created)["regarding"]["kind"], "PersistentVolumeClaim");
  EXPECT_EQ((*created)["regarding"]["uid"], Uid(pvc));
  EXPECT_EQ((*created)["reportingController"], "hoist.konveyor.io/controller");
  EXPECT_EQ((*created)["reportingInstance"], "controller-0");
  EXPECT_EQ((*created)["type"], "Normal");
  EXPECT_EQ((*created)["action"], "Create");
  EXPECT_EQ((*created)["note"], "populator pod created");
  EXPECT_EQ((*created)["series"]["count"], 3);
  EXPECT_TRUE((*created)["series"].contains("lastObservedTime"));
  EXPECT_EQ(recorder.UsingEventsApiForTest(), true);
}

TEST(EventRecorderTest, FallsBackToCoreEventsWhenEventsApiIsNotServed) {
  FakeApiServer server;
  server.SetServesEventsV1(false);
  Client client(server.Config());
  Json pv = NewObject(r::kPersistentVolume, "", "pv-9");
  pv["metadata"]["uid"] = "uid-pv-9";
  EventRecorder recorder(client, {"hoist", "host-1"});
  recorder.Record(pv, kEventWarning, "RebindFailed", "Rebind", std::string(5000, 'x'));
  recorder.Record(pv, kEventWarning, "RebindFailed", "Rebind", std::string(5000, 'x'));
  EXPECT_EQ(recorder.UsingEventsApiForTest(), false);
  ListResult events = client.List(r::kCoreEvent, "default");  // cluster-scoped objects: default namespace
  ASSERT_EQ(events.items.size(), 1u);
  const Json& e = events.items[0];
  EXPECT_EQ(e["involvedObject"]["name"], "pv-9");
  EXPECT_EQ(e["source"]["component"], "hoist");
  EXPECT_EQ(e["count"], 2);
  EXPECT_LE(e["message"].get<std::string>().size(), 1024u);
}

TEST(EventRecorderTest, CoreEventsWhenAskedEvenIfEventsApiIsServed) {
  FakeApiServer server;
  Client client(server.Config());
  Json pvc = NewObject(r::kPersistentVolumeClaim, "ns1", "disk-0");
  pvc["metadata"]["uid"] = "uid-pvc";
  EventRecorderOptions options{"forklift.konveyor.io-populator", "host-1"};
  options.core_events = true;
  EventRecorder recorder(client, options);
  recorder.Record(pvc, kEventNormal, "PopulatorCreated", "Populate", "Populator started");
  EXPECT_EQ(recorder.UsingEventsApiForTest(), false);
  EXPECT_EQ(client.List(r::kEvent, "ns1").items.size(), 0u);
  ListResult events = client.List(r::kCoreEvent, "ns1");
  ASSERT_EQ(events.items.size(), 1u);
  EXPECT_EQ(events.items[0]["source"]["component"], "forklift.konveyor.io-populator");
  EXPECT_EQ(events.items[0]["involvedObject"]["name"], "disk-0");
}

TEST(EventRecorderTest, FailuresAreLoggedNotThrown) {
  FakeApiServer server;
  Client client(server.Config());
  EventRecorder recorder(client, {"hoist", "x"});
  server.FailNext(10, 403, R"({"kind":"Status","code":403,"reason":"Forbidden"})");
  EXPECT_NO_THROW(recorder.Record(NewObject(r::kPod, "ns1", "p"), kEventNormal, "R", "A", "n"));
  EXPECT_EQ(server.CountObjects("events"), 0u);
}

}  // namespace
}  // namespace hoist::kube

#include "kube/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "kube/errors.h"
#include "kube/objects.h"
#include "kube/selectors.h"
#include "unit/kube/fake_apiserver.h"
#include "unit/kube/test_util.h"

namespace hoist::kube {
namespace {

using testing::Eventually;
using testing::FakeApiServer;
namespace r = resources;

Json Pvc(const std::string& name, const std::string& ns = "ns1",
         std::map<std::string, std::string> labels = {}) {
  Json pvc = NewObject(r::kPersistentVolumeClaim, ns, name);
  if (!labels.empty()) pvc["metadata"]["labels"] = labels;
  pvc["spec"] = {{"accessModes", {"ReadWriteOnce"}},
                 {"storageClassName", "fast"},
                 {"resources", {{"requests", {{"storage", "1Gi"}}}}},
                 {"dataSourceRef",
                  {{"apiGroup", "forklift.konveyor.io"},
                   {"kind", "VSphereXcopyVolumePopulator"},
                   {"name", "pop-" + name}}}};
  return pvc;
}

TEST(ClientTest, CrudRoundTripOverTls) {
  FakeApiServer server;
  Client client(server.Config());
  Json created = client.Create(r::kPersistentVolumeClaim, "", Pvc("disk-1"));
  EXPECT_EQ(Namespace(created), "ns1");
  EXPECT_FALSE(Uid(created).empty());

  Json got = client.Get(r::kPersistentVolumeClaim, "ns1", "disk-1");
  EXPECT_EQ(pvc::StorageClassName(got), "fast");
  auto ref = pvc::DataSourceRef(got);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, "VSphereXcopyVolumePopulator");
  EXPECT_EQ(ref->name, "pop-disk-1");
  EXPECT_EQ(pvc::RequestedStorage(got), "1Gi");
  EXPECT_EQ(pvc::VolumeMode(got), "Filesystem");

  got["spec"]["volumeName"] = "pv-1";
  Json updated = client.Update(r::kPersistentVolumeClaim, got);
  EXPECT_EQ(pvc::VolumeName(updated), "pv-1");
  EXPECT_NE(ResourceVersion(updated), ResourceVersion(got));

  updated["status"] = {{"phase", "Bound"}};
  Json with_status = client.UpdateStatus(r::kPersistentVolumeClaim, updated);
  EXPECT_EQ(pvc::Phase(with_status), "Bound");

  Json patched = client.Patch(r::kPersistentVolumeClaim, "ns1", "disk-1", PatchType::kMerge,
                              {{"metadata", {{"annotations", {{"hoist/progress", "50%"}}}}}});
  EXPECT_EQ(Annotation(patched, "hoist/progress"), "50%");
  patched = client.Patch(
      r::kPersistentVolumeClaim, "ns1", "disk-1", PatchType::kJson,
      Json::array(
          {{{"op", "replace"}, {"path", "/metadata/annotations/hoist~1progress"}, {"value", "75%"}}}));
  EXPECT_EQ(Annotation(patched, "hoist/progress"), "75%");
  client.Patch(r::kPersistentVolumeClaim, "ns1", "disk-1", PatchType::kStrategicMerge,
               {{"metadata", {{"labels", {{"a", "b"}}}}}});
  auto types = server.ContentTypes();
  EXPECT_NE(std::find(types.begin(), types.end(), "application/merge-patch+json"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "application/json-patch+json"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "application/strategic-merge-patch+json"), types.end());

  DeleteOptions options;
  options.precondition_uid = "not-the-uid";
  try {
    client.Delete(r::kPersistentVolumeClaim, "ns1", "disk-1", options);
    FAIL() << "precondition ignored";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsConflict(e));
  }
  options.precondition_uid = Uid(created);
  options.propagation_policy = "Foreground";
  options.grace_period_seconds = 0;
  client.Delete(r::kPersistentVolumeClaim, "ns1", "disk-1", options);
  Json body = server.Bodies("DELETE").back();
  EXPECT_EQ(body["preconditions"]["uid"], Uid(created));
  EXPECT_EQ(body["propagationPolicy"], "Foreground");
  EXPECT_EQ(body["gracePeriodSeconds"], 0);
  try {
    client.Get(r::kPersistentVolumeClaim, "ns1", "disk-1");
    FAIL() << "still there";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsNotFound(e));
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("persistentvolumeclaims ns1/disk-1"), std::string::npos) << e.what();
  }
}

TEST(ClientTest, StaleUpdateIsAConflictAndRetryOnConflictRereads) {
  FakeApiServer server;
  Client client(server.Config());
  Json cm = NewObject(r::kConfigMap, "ns1", "counter");
  cm["data"] = {{"n", "0"}};
  Json stale = client.Create(r::kConfigMap, "", cm);
  Json fresh = stale;
  fresh["data"]["n"] = "1";
  client.Update(r::kConfigMap, fresh);
  stale["data"]["n"] = "2";
  EXPECT_THROW(client.Update(r::kConfigMap, stale), ApiError);

  int attempts = 0;
  RetryOnConflict([&] {
    Json current = ++attempts == 1 ? stale : client.Get(r::kConfigMap, "ns1", "counter");
    current["data"]["n"] = std::to_string(std::stoi(current["data"]["n"].get<std::string>()) + 10);
    client.Update(r::kConfigMap, current);
  });
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(client.Get(r::kConfigMap, "ns1", "counter")["data"]["n"], "11");
}

TEST(ClientTest, ListWithSelectorsAndPagination) {
  FakeApiServer server;
  Client client(server.Config());
  for (int i = 0; i < 23; ++i) {
    client.Create(r::kPersistentVolumeClaim, "",
                  Pvc("p" + std::to_string(100 + i), "ns1", {{"app", i % 2 == 0 ? "hoist" : "other"}}));
  }
  client.Create(r::kPersistentVolumeClaim, "", Pvc("elsewhere", "ns2", {{"app", "hoist"}}));

  ListOptions page_opts;
  page_opts.limit = 10;
  ListResult page = client.List(r::kPersistentVolumeClaim, "ns1", page_opts);
  EXPECT_EQ(page.items.size(), 10u);
  EXPECT_FALSE(page.continue_token.empty());
  ASSERT_TRUE(page.remaining_item_count);
  EXPECT_EQ(*page.remaining_item_count, 13);
  EXPECT_EQ(page.items[0]["kind"], "PersistentVolumeClaim");

  ListOptions opts;
  opts.limit = 4;
  opts.label_selector = LabelSelector().Equals("app", "hoist").String();
  ListResult all = ListAll(client, r::kPersistentVolumeClaim, "ns1", opts);
  EXPECT_EQ(all.items.size(), 12u);
  std::set<std::string> names;
  for (const auto& item : all.items) names.insert(Name(item));
  EXPECT_EQ(names.size(), 12u);
  EXPECT_FALSE(all.resource_version.empty());

  EXPECT_EQ(ListAll(client, r::kPersistentVolumeClaim, "").items.size(), 24u);  // all namespaces
  opts = {};
  opts.field_selector = FieldSelector().Equals("metadata.name", "p105").String();
  EXPECT_EQ(client.List(r::kPersistentVolumeClaim, "ns1", opts).items.size(), 1u);
  bool saw_encoded = false;
  for (const auto& line : server.RequestLog()) {
    if (line.find("labelSelector=app%3Dhoist") != std::string::npos) saw_encoded = true;
  }
  EXPECT_TRUE(saw_encoded);
}

TEST(ClientTest, ListAllStartsOverWhenTheContinueTokenExpires) {
  FakeApiServer server;
  Client client(server.Config());
  for (int i = 0; i < 9; ++i)
    client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "c" + std::to_string(i)));
  // The first page is served, then the snapshot is compacted: the next continuation gets 410 and
  // the list restarts with a fresh token.
  ListOptions opts;
  opts.limit = 4;
  ListResult first = client.List(r::kConfigMap, "ns1", opts);
  server.CompactTo(server.current_rv() + 1);
  opts.continue_token = first.continue_token;
  EXPECT_THROW(client.List(r::kConfigMap, "ns1", opts), ApiError);
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "c9"));  // rv moves past the compaction
  ListOptions paged;
  paged.limit = 4;
  ListResult all = ListAll(client, r::kConfigMap, "ns1", paged);
  EXPECT_EQ(all.items.size(), 10u);
}

TEST(ClientTest, RetryAfterOn429IsHonouredAndTokenNeverAppearsInErrors) {
  FakeApiServer server;
  Client client(server.Config());
  server.FailNext(2, 429, R"({"kind":"Status","code":429,"reason":"TooManyRequests","message":"slow down"})",
                  "1");
  auto start = std::chrono::steady_clock::now();
  Json cm = client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "after-throttle"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1900));
  EXPECT_EQ(Name(cm), "after-throttle");
  EXPECT_EQ(client.retry_after_waits(), 2);

  server.FailNext(1, 403, R"({"kind":"Status","code":403,"reason":"Forbidden","message":"user cannot get"})");
  try {
    client.Get(r::kConfigMap, "ns1", "after-throttle");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsForbidden(e));
    EXPECT_EQ(std::string(e.what()).find(FakeApiServer::kToken), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("RBAC"), std::string::npos);
  }
  RestConfig bad = server.Config();
  bad.token = "wrong-token";
  Client unauthorized(bad);
  try {
    unauthorized.Get(r::kConfigMap, "ns1", "x");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsUnauthorized(e));
    EXPECT_EQ(std::string(e.what()).find("wrong-token"), std::string::npos);
  }
}

TEST(ClientTest, TlsVerificationFailsWithoutTheRightCa) {
  FakeApiServer server;
  RestConfig config = server.Config();
  config.tls.ca_pem.clear();
  Client client(config);
  try {
    client.Get(r::kConfigMap, "ns1", "x");
    FAIL() << "TLS was not verified";
  } catch (const ApiError&) {
    FAIL() << "reached the API";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(server.url()), std::string::npos) << e.what();
  }
  config.tls.insecure_skip_verify = true;
  Client insecure(config);
  EXPECT_THROW(insecure.Get(r::kConfigMap, "ns1", "x"), ApiError);  // 404: the request got through
}

TEST(ClientTest, ClientSideRateLimitPacesRequests) {
  FakeApiServer server;
  RestConfig config = server.Config();
  config.qps = 20;
  config.burst = 2;
  Client client(config);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) EXPECT_THROW(client.Get(r::kConfigMap, "ns1", "none"), ApiError);
  // 2 at once, then 6 more at 20/s: at least 300 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(280));
}

TEST(ClientTest, DiscoveryTellsWhetherAnApiIsServed) {
  FakeApiServer server;
  Client client(server.Config());
  EXPECT_TRUE(client.Serves(r::kEvent));
  EXPECT_TRUE(client.Serves(r::kLease));
  EXPECT_FALSE(client.Serves(r::kStorageClass));  // group served, resource not listed
  server.SetServesEventsV1(false);
  Client fresh(server.Config());
  EXPECT_FALSE(fresh.Serves(r::kEvent));
}

TEST(WatchTest, StreamDeliversEventsAndStopsOnRequest) {
  FakeApiServer server;
  Client client(server.Config());
  std::string rv = std::to_string(server.current_rv());
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "a"));
  std::vector<std::string> seen;
  std::mutex mu;
  std::stop_source stop;
  std::thread watcher([&] {
    WatchOptions opts;
    opts.resource_version = rv;
    client.WatchStream(
        r::kConfigMap, "ns1", opts,
        [&](const WatchEvent& ev) {
          std::lock_guard<std::mutex> l(mu);
          seen.push_back(std::string(WatchEventTypeName(ev.type)) + " " + Name(ev.object));
          return true;
        },
        stop.get_token());
  });
  client.Patch(r::kConfigMap, "ns1", "a", PatchType::kMerge, {{"data", {{"k", "v"}}}});
  client.Delete(r::kConfigMap, "ns1", "a");
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    return seen.size() >= 3;
  }));
  auto stop_at = std::chrono::steady_clock::now();
  stop.request_stop();
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, std::chrono::seconds(3));
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED a", "MODIFIED a", "DELETED a"}));
}

TEST(WatchTest, GoneIsThrownForATooOldResourceVersion) {
  FakeApiServer server;
  Client client(server.Config());
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "a"));
  server.CompactTo(server.current_rv());
  WatchOptions opts;
  opts.resource_version = "1";
  try {
    WatchWithResume(client, r::kConfigMap, "ns1", opts, [](const WatchEvent&) { return true; }, {});
    FAIL() << "no Gone";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsGone(e));
  }
}

TEST(WatchTest, ResumesAfterTheServerClosesStreamsWithoutLossOrDuplicates) {
  FakeApiServer server;
  Client client(server.Config());
  std::string start_rv = std::to_string(server.current_rv());
  std::vector<std::string> seen;
  std::mutex mu;
  std::stop_source stop;
  std::thread watcher([&] {
    WatchOptions opts;
    opts.resource_version = start_rv;
    WatchWithResume(
        client, r::kConfigMap, "ns1", opts,
        [&](const WatchEvent& ev) {
          std::lock_guard<std::mutex> l(mu);
          seen.push_back(Name(ev.object));
          return true;
        },
        stop.get_token());
  });
  for (int i = 0; i < 30; ++i) {
    client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "cm" + std::to_string(i)));
    if (i % 10 == 5) server.CloseWatches();  // the stream ends mid-way; the watcher reconnects
    if (i == 20) {
      // Several failures in a row: reconnect with backoff.
      server.FailNext(2, 503, R"({"kind":"Status","code":503,"reason":"ServiceUnavailable"})", "", true);
      server.CloseWatches();
    }
  }
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    return seen.size() >= 30;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // would-be duplicates arrive
  stop.request_stop();
  watcher.join();
  ASSERT_EQ(seen.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(seen[i], "cm" + std::to_string(i));
}

}  // namespace
}  // namespace hoist::kube

#include "kube/informer.h"

#include <gtest/gtest.h>

#include <atomic>

#include "kube/client.h"
#include "kube/errors.h"
#include "kube/objects.h"
#include "kube/workqueue.h"
#include "unit/kube/fake_apiserver.h"
#include "unit/kube/test_util.h"

namespace hoist::kube {
namespace {

using testing::Eventually;
using testing::FakeApiServer;
namespace r = resources;

Json Pvc(const std::string& ns, const std::string& name, const std::string& storage_class) {
  Json pvc = NewObject(r::kPersistentVolumeClaim, ns, name);
  pvc["spec"] = {{"storageClassName", storage_class}};
  return pvc;
}

struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  EventHandlers Handlers() {
    EventHandlers h;
    h.on_add = [this](const Json& o) { Push("add " + ObjectKey(o)); };
    h.on_update = [this](const Json& old_obj, const Json& o) {
      Push((ResourceVersion(old_obj) == ResourceVersion(o) ? "resync " : "update ") + ObjectKey(o));
    };
    h.on_delete = [this](const Json& o) { Push("delete " + ObjectKey(o)); };
    return h;
  }
  void Push(std::string s) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(s));
  }
  bool Has(const std::string& s) {
    std::lock_guard<std::mutex> l(mu);
    return std::find(events.begin(), events.end(), s) != events.end();
  }
  size_t Count(const std::string& prefix) {
    std::lock_guard<std::mutex> l(mu);
    return std::count_if(events.begin(), events.end(),
                         [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
  }
};

TEST(StoreTest, IndexesFollowUpdatesAndDeletes) {
  Store store;
  store.AddIndex("class", [](const Json& o) { return std::vector<std::string>{pvc::StorageClassName(o)}; });
  store.Upsert(Pvc("a", "p1", "fast"));
  store.Upsert(Pvc("a", "p2", "slow"));
  store.Upsert(Pvc("b", "p3", "fast"));
  EXPECT_EQ(store.ByIndex("class", "fast").size(), 2u);
  EXPECT_EQ(store.ByIndex(kNamespaceIndex, "a").size(), 2u);
  store.Upsert(Pvc("a", "p1", "slow"));
  EXPECT_EQ(store.ByIndex("class", "fast").size(), 1u);
  EXPECT_EQ(store.ByIndex("class", "slow").size(), 2u);
  store.Remove("a/p2");
  EXPECT_EQ(store.ByIndex("class", "slow").size(), 1u);
  EXPECT_EQ(store.IndexValues(kNamespaceIndex), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(store.Get("b", "p3").has_value());
  EXPECT_FALSE(store.Get("a/p2").has_value());
  EXPECT_THROW(store.ByIndex("nope", "x"), Error);
  store.Replace({Pvc("c", "only", "fast")});
  EXPECT_EQ(store.Size(), 1u);
  EXPECT_EQ(store.ByIndex("class", "fast").size(), 1u);
  EXPECT_TRUE(store.ByIndex(kNamespaceIndex, "a").empty());
}

TEST(InformerTest, ListsWatchesAndKeepsIndexesCurrent) {
  FakeApiServer server;
  Client client(server.Config());
  client.Create(r::kPersistentVolumeClaim, "", Pvc("ns1", "before", "fast"));
  InformerOptions options;
  options.page_size = 1;
  Informer informer(client, r::kPersistentVolumeClaim, "", options);
  informer.AddIndex("class",
                    [](const Json& o) { return std::vector<std::string>{pvc::StorageClassName(o)}; });
  Recorder rec;
  informer.AddEventHandlers(rec.Handlers());
  EXPECT_FALSE(informer.HasSynced());
  informer.Start();
  ASSERT_TRUE(WaitForCacheSync({&informer}, std::chrono::seconds(10)));
  EXPECT_TRUE(rec.Has("add ns1/before"));

  Json created = client.Create(r::kPersistentVolumeClaim, "", Pvc("ns2", "after", "slow"));
  client.Patch(r::kPersistentVolumeClaim, "ns2", "after", PatchType::kMerge,
               {{"spec", {{"storageClassName", "fast"}}}});
  client.Delete(r::kPersistentVolumeClaim, "ns1", "before");
  ASSERT_TRUE(Eventually([&] { return rec.Has("delete ns1/before"); }));
  EXPECT_TRUE(rec.Has("add ns2/after"));
  EXPECT_TRUE(rec.Has("update ns2/after"));
  EXPECT_EQ(informer.store().Size(), 1u);
  auto fast = informer.store().ByIndex("class", "fast");
  ASSERT_EQ(fast.size(), 1u);
  EXPECT_EQ(Name(fast[0]), "after");
  EXPECT_TRUE(informer.store().ByIndex(kNamespaceIndex, "ns1").empty());
  informer.Stop();
}

TEST(InformerTest, RelistsAfterGoneAndReportsWhatChangedMeanwhile) {
  FakeApiServer server;
  Client client(server.Config());
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "keep"));
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "goes"));
  Informer informer(client, r::kConfigMap, "ns1");
  Recorder rec;
  informer.AddEventHandlers(rec.Handlers());
  informer.Start();
  ASSERT_TRUE(informer.WaitForCacheSync(std::chrono::seconds(10)));
  EXPECT_EQ(informer.list_count(), 1);
  // The watch is cut and its resourceVersion compacted away while objects change.
  server.FailNext(1000, 503, R"({"kind":"Status","code":503,"reason":"ServiceUnavailable"})", "", true);
  server.CloseWatches();
  ASSERT_TRUE(Eventually([&] { return server.open_watches() == 0; }));
  client.Delete(r::kConfigMap, "ns1", "goes");
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "new"));
  server.CompactTo(server.current_rv());
  server.FailNext(0, 0, "");
  ASSERT_TRUE(Eventually([&] { return rec.Has("delete ns1/goes") && rec.Has("add ns1/new"); },
                         std::chrono::seconds(20)));
  EXPECT_EQ(informer.list_count(), 2);
  EXPECT_EQ(informer.store().Keys(), (std::vector<std::string>{"ns1/keep", "ns1/new"}));
  // The new watch works.
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "later"));
  ASSERT_TRUE(Eventually([&] { return rec.Has("add ns1/later"); }));
  EXPECT_EQ(rec.Count("add ns1/keep"), 1u);
}

TEST(InformerTest, PeriodicResyncAndWorkQueueIntegration) {
  FakeApiServer server;
  Client client(server.Config());
  client.Create(r::kConfigMap, "", NewObject(r::kConfigMap, "ns1", "a"));
  InformerOptions options;
  options.resync_period = std::chrono::milliseconds(100);
  Informer informer(client, r::kConfigMap, "ns1", options);
  Recorder rec;
  informer.AddEventHandlers(rec.Handlers());
  WorkQueue queue;
  EventHandlers enqueue;
  enqueue.on_add = [&](const Json& o) { queue.Add(ObjectKey(o)); };
  enqueue.on_update = [&](const Json&, const Json& o) { queue.Add(ObjectKey(o)); };
  informer.AddEventHandlers(enqueue);
  informer.Start();
  ASSERT_TRUE(Eventually([&] { return rec.Count("resync ns1/a") >= 2; }));
  EXPECT_EQ(queue.Get(), "ns1/a");
  queue.Done("ns1/a");
  informer.Stop();
}

TEST(InformerTest, WaitForCacheSyncTimesOutWhenTheServerRefuses) {
  FakeApiServer server;
  RestConfig config = server.Config();
  config.token = "wrong";
  Client client(config);
  Informer informer(client, r::kConfigMap, "ns1");
  informer.Start();
  EXPECT_FALSE(informer.WaitForCacheSync(std::chrono::milliseconds(300)));
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(WaitForCacheSync({&informer}, std::chrono::seconds(10), stop.get_token()));
}

}  // namespace
}  // namespace hoist::kube

#include "lab/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace hoist::lab {
namespace {

using std::chrono::milliseconds;

const ResourceType& Type(const std::string& group, const std::string& resource) {
  for (const auto& t : BuiltinTypes()) {
    if (t.group == group && t.resource == resource) return t;
  }
  throw std::runtime_error("no type " + resource);
}
const ResourceType& Pvc() { return Type("", "persistentvolumeclaims"); }
const ResourceType& Pods() { return Type("", "pods"); }
const ResourceType& ConfigMaps() { return Type("", "configmaps"); }
const ResourceType& Namespaces() { return Type("", "namespaces"); }
const ResourceType& Crds() { return Type("apiextensions.k8s.io", "customresourcedefinitions"); }

Json Named(const std::string& name, Json labels = Json::object()) {
  return Json{{"metadata", {{"name", name}, {"labels", labels}}}, {"spec", {{"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
}

int CodeOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const StatusError& e) {
    return e.code();
  }
  return 0;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/store_test.XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(StoreTest, CreateSetsMetadataAndDefaults) {
  Store s;
  Json pvc = s.Create(Pvc(), "default", Named("a"));
  EXPECT_EQ(pvc["kind"], "PersistentVolumeClaim");
  EXPECT_EQ(pvc["apiVersion"], "v1");
  EXPECT_EQ(pvc["metadata"]["namespace"], "default");
  EXPECT_EQ(pvc["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_FALSE(pvc["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ(pvc["metadata"]["generation"], 1);
  EXPECT_TRUE(pvc["metadata"].contains("creationTimestamp"));
  EXPECT_EQ(pvc["status"]["phase"], "Pending");
  EXPECT_EQ(s.Get(Pvc(), "default", "a"), pvc);
  EXPECT_EQ(CodeOf([&] { s.Create(Pvc(), "default", Named("a")); }), 409);
  EXPECT_EQ(CodeOf([&] { s.Get(Pvc(), "default", "zz"); }), 404);
  EXPECT_EQ(CodeOf([&] { s.Create(Pvc(), "nope", Named("a")); }), 404);  // namespace missing
  EXPECT_EQ(CodeOf([&] { s.Create(Pvc(), "default", Named("Bad_Name")); }), 422);
}

TEST(StoreTest, GenerateNameAndMonotonicResourceVersion) {
  Store s;
  Json a = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"generateName", "cm-"}}}});
  Json b = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"generateName", "cm-"}}}});
  std::string na = a["metadata"]["name"], nb = b["metadata"]["name"];
  EXPECT_EQ(na.rfind("cm-", 0), 0u);
  EXPECT_EQ(na.size(), 8u);
  EXPECT_NE(na, nb);
  EXPECT_LT(std::stoll(a["metadata"]["resourceVersion"].get<std::string>()),
            std::stoll(b["metadata"]["resourceVersion"].get<std::string>()));
}

TEST(StoreTest, UpdateConflictsOnStaleResourceVersion) {
  Store s;
  Json a = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "c"}}}, {"data", {{"k", "1"}}}});
  Json b = a;
  a["data"]["k"] = "2";
  Json a2 = s.Update(ConfigMaps(), "default", "c", a);
  EXPECT_NE(a2["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]);
  b["data"]["k"] = "3";
  try {
    s.Update(ConfigMaps(), "default", "c", b);
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 409);
    EXPECT_EQ(e.reason(), "Conflict");
    EXPECT_NE(std::string(e.what()).find("the object has been modified"), std::string::npos);
    EXPECT_EQ(e.ToStatus()["kind"], "Status");
  }
  // Unconditional update (no resourceVersion) wins.
  b["metadata"].erase("resourceVersion");
  EXPECT_EQ(s.Update(ConfigMaps(), "default", "c", b)["data"]["k"], "3");
}

TEST(StoreTest, ConcurrentWritersGetConflictsNotLostUpdates) {
  Store s;
  s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "counter"}}}, {"data", {{"n", "0"}}}});
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        while (true) {
          Json c = s.Get(ConfigMaps(), "default", "counter");
          c["data"]["n"] = std::to_string(std::stoi(c["data"]["n"].get<std::string>()) + 1);
          try {
            s.Update(ConfigMaps(), "default", "counter", c);
            break;
          } catch (const StatusError& e) {
            ASSERT_EQ(e.code(), 409);
            ++conflicts;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(s.Get(ConfigMaps(), "default", "counter")["data"]["n"], "200");
}

TEST(StoreTest, StatusSubresourceSemantics) {
  Store s;
  Json p = s.Create(Pvc(), "default", Named("a"));
  p["status"]["phase"] = "Bound";
  p["spec"]["volumeName"] = "pv1";
  Json main = s.Update(Pvc(), "default", "a", p);
  EXPECT_EQ(main["status"]["phase"], "Pending");  // main update ignores status
  EXPECT_EQ(main["spec"]["volumeName"], "pv1");
  EXPECT_EQ(main["metadata"]["generation"], 2);
  main["status"]["phase"] = "Bound";
  main["spec"]["volumeName"] = "other";
  Json st = s.Update(Pvc(), "default", "a", main, /*status=*/true);
  EXPECT_EQ(st["status"]["phase"], "Bound");
  EXPECT_EQ(st["spec"]["volumeName"], "pv1");  // status update ignores spec
  EXPECT_EQ(st["metadata"]["generation"], 2);
  // A no-op update does not bump the resourceVersion.
  EXPECT_EQ(s.Update(Pvc(), "default", "a", st)["metadata"]["resourceVersion"], st["metadata"]["resourceVersion"]);
}

TEST(StoreTest, PatchTypes) {
  Store s;
  s.Create(Pods(), "default", Json::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x:1"},{"name":"b","image":"y:1"}]}})"));
  Json out = s.Patch(Pods(), "default", "p", PatchType::kStrategicMerge,
                     Json::parse(R"({"spec":{"containers":[{"name":"b","image":"y:2"}]}})"));
  ASSERT_EQ(out["spec"]["containers"].size(), 2u);
  EXPECT_EQ(out["spec"]["containers"][1]["image"], "y:2");
  out = s.Patch(Pods(), "default", "p", PatchType::kMerge, Json::parse(R"({"metadata":{"labels":{"a":"b"}}})"));
  EXPECT_EQ(out["metadata"]["labels"]["a"], "b");
  out = s.Patch(Pods(), "default", "p", PatchType::kJson,
                Json::parse(R"([{"op":"remove","path":"/metadata/labels/a"}])"));
  EXPECT_TRUE(out["metadata"]["labels"].empty());
  out = s.Patch(Pods(), "default", "p", PatchType::kMerge, Json::parse(R"({"status":{"phase":"Running"}})"), true);
  EXPECT_EQ(out["status"]["phase"], "Running");
  EXPECT_EQ(CodeOf([&] {
              s.Patch(Pods(), "default", "p", PatchType::kMerge,
                      Json::parse(R"({"metadata":{"resourceVersion":"1"},"spec":{"x":1}})"));
            }),
            409);
  Json applied = s.Patch(ConfigMaps(), "default", "applied", PatchType::kApply,
                         Json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"a":"1"}})"));
  EXPECT_EQ(applied["data"]["a"], "1");
}

TEST(StoreTest, ListSelectorsAndPagination) {
  Store s;
  for (int i = 0; i < 25; ++i) {
    s.Create(Pvc(), "default", Named("pvc-" + std::to_string(100 + i), {{"idx", std::to_string(i % 3)}}));
  }
  s.Create(Namespaces(), "", Json{{"metadata", {{"name", "other"}}}});
  s.Create(Pvc(), "other", Named("x", {{"idx", "0"}}));
  EXPECT_EQ(s.List(Pvc(), "default").items.size(), 25u);
  EXPECT_EQ(s.List(Pvc(), "").items.size(), 26u);
  EXPECT_EQ(s.List(Pvc(), "", {.label_selector = "idx=0"}).items.size(), 10u);
  EXPECT_EQ(s.List(Pvc(), "", {.label_selector = "idx in (1,2)"}).items.size(), 16u);
  EXPECT_EQ(s.List(Pvc(), "", {.field_selector = "metadata.namespace=other"}).items.size(), 1u);
  EXPECT_EQ(s.List(Pvc(), "", {.field_selector = "metadata.name=pvc-101"}).items.size(), 1u);
  std::vector<std::string> names;
  ListOptions o{.limit = 10};
  int pages = 0;
  while (true) {
    auto r = s.List(Pvc(), "default", o);
    ++pages;
    for (auto& i : r.items) names.push_back(i["metadata"]["name"]);
    if (r.continue_token.empty()) break;
    EXPECT_GT(r.remaining_item_count, 0);
    o.continue_token = r.continue_token;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 25u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(CodeOf([&] { s.List(Pvc(), "", {.continue_token = "!!"}); }), 400);
}

TEST(StoreTest, ContinueTokenExpiresOutsideWindow) {
  Store s(StoreOptions{.event_window = 5});
  for (int i = 0; i < 4; ++i) s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "c" + std::to_string(i)}}}});
  auto r = s.List(ConfigMaps(), "default", {.limit = 2});
  ASSERT_FALSE(r.continue_token.empty());
  for (int i = 0; i < 10; ++i) s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "d" + std::to_string(i)}}}});
  try {
    s.List(ConfigMaps(), "default", {.limit = 2, .continue_token = r.continue_token});
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 410);
    EXPECT_EQ(e.reason(), "Expired");
  }
}

TEST(StoreTest, WatchEventsResumeAndGone) {
  Store s(StoreOptions{.event_window = 20});
  s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "pre"}}}});
  auto w = s.Watch(ConfigMaps(), "default");
  auto e = w->Next(milliseconds(1000));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, "ADDED");
  EXPECT_EQ(e->object["metadata"]["name"], "pre");
  Json c = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "c"}}}});
  std::string rv_after_create = c["metadata"]["resourceVersion"];
  c["data"]["x"] = "1";
  s.Update(ConfigMaps(), "default", "c", c);
  s.Delete(ConfigMaps(), "default", "c");
  std::vector<std::string> types;
  for (int i = 0; i < 3; ++i) {
    auto ev = w->Next(milliseconds(1000));
    ASSERT_TRUE(ev);
    types.push_back(ev->type);
  }
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
  EXPECT_FALSE(w->Next(milliseconds(10)));

  // Resume after the create: MODIFIED then DELETED, nothing before.
  auto r = s.Watch(ConfigMaps(), "default", {.resource_version = rv_after_create});
  EXPECT_EQ(r->Next(milliseconds(1000))->type, "MODIFIED");
  EXPECT_EQ(r->Next(milliseconds(1000))->type, "DELETED");

  for (int i = 0; i < 30; ++i) s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "n" + std::to_string(i)}}}});
  try {
    s.Watch(ConfigMaps(), "default", {.resource_version = rv_after_create});
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 410);
    EXPECT_NE(std::string(e.what()).find("too old resource version"), std::string::npos);
  }
}

TEST(StoreTest, WatchSelectorTransitionsAndBookmarks) {
  Store s(StoreOptions{.bookmark_interval = milliseconds(50)});
  auto w = s.Watch(ConfigMaps(), "default", {.label_selector = "sel=yes", .allow_bookmarks = true});
  Json c = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "c"}}}});
  c["metadata"]["labels"]["sel"] = "yes";
  c = s.Update(ConfigMaps(), "default", "c", c);
  c["metadata"]["labels"]["sel"] = "no";
  s.Update(ConfigMaps(), "default", "c", c);
  auto e1 = w->Next(milliseconds(1000));
  ASSERT_TRUE(e1);
  EXPECT_EQ(e1->type, "ADDED");  // started matching
  auto e2 = w->Next(milliseconds(1000));
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2->type, "DELETED");  // stopped matching
  auto b = w->Next(milliseconds(1000));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->type, "BOOKMARK");
  EXPECT_EQ(b->object["metadata"]["resourceVersion"], std::to_string(s.ResourceVersion()));
}

TEST(StoreTest, FinalizersKeepObjectUntilRemoved) {
  Store s;
  s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "f"}, {"finalizers", {"example.com/hold"}}}}});
  Json d = s.Delete(ConfigMaps(), "default", "f");
  EXPECT_TRUE(d["metadata"].contains("deletionTimestamp"));
  Json cur = s.Get(ConfigMaps(), "default", "f");
  EXPECT_TRUE(cur["metadata"].contains("deletionTimestamp"));
  auto w = s.Watch(ConfigMaps(), "default", {.resource_version = cur["metadata"]["resourceVersion"]});
  cur["metadata"]["finalizers"] = Json::array();
  s.Update(ConfigMaps(), "default", "f", cur);
  EXPECT_FALSE(s.TryGet(ConfigMaps(), "default", "f"));
  EXPECT_EQ(w->Next(milliseconds(1000))->type, "MODIFIED");
  EXPECT_EQ(w->Next(milliseconds(1000))->type, "DELETED");
}

TEST(StoreTest, DeletePreconditions) {
  Store s;
  Json c = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "c"}}}});
  EXPECT_EQ(CodeOf([&] { s.Delete(ConfigMaps(), "default", "c", {.precondition_uid = std::string("x")}); }), 409);
  EXPECT_EQ(CodeOf([&] { s.Delete(ConfigMaps(), "default", "c", {.precondition_resource_version = std::string("1")}); }), 409);
  s.Delete(ConfigMaps(), "default", "c", {.precondition_uid = c["metadata"]["uid"].get<std::string>()});
  EXPECT_EQ(CodeOf([&] { s.Delete(ConfigMaps(), "default", "c"); }), 404);
}

Json OwnedBy(const std::string& name, const Json& owner) {
  return Json{{"metadata",
               {{"name", name},
                {"ownerReferences", Json::array({{{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                                                  {"name", owner["metadata"]["name"]}, {"uid", owner["metadata"]["uid"]}}})}}}};
}

TEST(StoreTest, GarbageCollectionBackgroundForegroundOrphan) {
  Store s;
  Json owner = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "owner"}}}});
  s.Create(ConfigMaps(), "default", OwnedBy("dep1", owner));
  s.Create(Pods(), "default", OwnedBy("dep2", owner));
  s.Delete(ConfigMaps(), "default", "owner");
  EXPECT_FALSE(s.TryGet(ConfigMaps(), "default", "dep1"));
  EXPECT_FALSE(s.TryGet(Pods(), "default", "dep2"));

  // Foreground: the owner waits for a dependent held by a finalizer.
  owner = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "owner"}}}});
  Json held = OwnedBy("held", owner);
  held["metadata"]["finalizers"] = {"x/y"};
  s.Create(ConfigMaps(), "default", held);
  Json o = s.Delete(ConfigMaps(), "default", "owner", {.propagation_policy = "Foreground"});
  EXPECT_EQ(o["metadata"]["finalizers"], Json::array({"foregroundDeletion"}));
  EXPECT_TRUE(s.TryGet(ConfigMaps(), "default", "owner"));
  Json h = s.Get(ConfigMaps(), "default", "held");
  EXPECT_TRUE(h["metadata"].contains("deletionTimestamp"));
  h["metadata"]["finalizers"] = Json::array();
  s.Update(ConfigMaps(), "default", "held", h);
  EXPECT_FALSE(s.TryGet(ConfigMaps(), "default", "held"));
  EXPECT_FALSE(s.TryGet(ConfigMaps(), "default", "owner"));

  // Orphan: dependents stay, without the reference.
  owner = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "owner"}}}});
  s.Create(ConfigMaps(), "default", OwnedBy("orphan", owner));
  s.Delete(ConfigMaps(), "default", "owner", {.propagation_policy = "Orphan"});
  auto orphan = s.TryGet(ConfigMaps(), "default", "orphan");
  ASSERT_TRUE(orphan);
  EXPECT_FALSE((*orphan)["metadata"].contains("ownerReferences"));
}

TEST(StoreTest, NamespaceDeletionRemovesContent) {
  Store s;
  s.Create(Namespaces(), "", Json{{"metadata", {{"name", "gone"}}}});
  s.Create(ConfigMaps(), "gone", Json{{"metadata", {{"name", "a"}}}});
  s.Create(ConfigMaps(), "gone", Json{{"metadata", {{"name", "b"}, {"finalizers", {"x/y"}}}}});
  Json ns = s.Delete(Namespaces(), "", "gone");
  EXPECT_EQ(ns["status"]["phase"], "Terminating");
  EXPECT_FALSE(s.TryGet(ConfigMaps(), "gone", "a"));
  EXPECT_EQ(CodeOf([&] { s.Create(ConfigMaps(), "gone", Json{{"metadata", {{"name", "c"}}}}); }), 403);
  Json b = s.Get(ConfigMaps(), "gone", "b");
  b["metadata"]["finalizers"] = Json::array();
  s.Update(ConfigMaps(), "gone", "b", b);
  EXPECT_FALSE(s.TryGet(Namespaces(), "", "gone"));
}

TEST(StoreTest, CrdRegistersCustomResources) {
  Store s;
  Json crd = Json::parse(R"({"metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com",
    "names":{"plural":"widgets","singular":"widget","kind":"Widget","shortNames":["wg"]},"scope":"Namespaced",
    "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}}}]}})");
  Json created = s.Create(Crds(), "", crd);
  bool established = false;
  for (auto& c : created["status"]["conditions"]) established |= (c["type"] == "Established" && c["status"] == "True");
  EXPECT_TRUE(established);
  auto t = s.FindType("example.com", "wg");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->has_status);
  Json w = s.Create(*t, "default", Json::parse(R"({"metadata":{"name":"w1"},"spec":{"size":1}})"));
  EXPECT_EQ(w["apiVersion"], "example.com/v1");
  EXPECT_EQ(CodeOf([&] { s.Patch(*t, "default", "w1", PatchType::kStrategicMerge, Json::object()); }), 415);
  Json st = s.Patch(*t, "default", "w1", PatchType::kMerge, Json::parse(R"({"status":{"ready":true}})"), true);
  EXPECT_EQ(st["status"]["ready"], true);
  s.Delete(Crds(), "", "widgets.example.com");
  EXPECT_FALSE(s.FindType("example.com", "widgets"));
  EXPECT_EQ(CodeOf([&] { s.Create(*t, "default", Json::parse(R"({"metadata":{"name":"w2"}})")); }), 404);
}

TEST(StoreTest, SubscribeDeliversEvents) {
  Store s;
  std::mutex mu;
  std::vector<std::string> seen;
  auto sub = s.Subscribe(ConfigMaps(), "default", [&](const WatchEvent& e) {
    std::lock_guard lock(mu);
    seen.push_back(e.type + ":" + e.object["metadata"]["name"].get<std::string>());
  });
  s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "x"}}}});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (!seen.empty()) break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "ADDED:x");
}

TEST(StoreTest, PersistenceKeepsObjectsResourceVersionsAndEventWindow) {
  TempDir dir;
  std::string rv_mid;
  Json crd = Json::parse(R"({"metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com",
    "names":{"plural":"widgets","kind":"Widget"},"scope":"Cluster","versions":[{"name":"v1","served":true,"storage":true}]}})");
  {
    Store s(StoreOptions{.dir = dir.path()});
    s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "a"}}}, {"data", {{"k", "v"}}}});
    rv_mid = std::to_string(s.ResourceVersion());
    s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "b"}}}});
    s.Delete(ConfigMaps(), "default", "a");
    s.Create(Crds(), "", crd);
    s.Create(*s.FindType("example.com", "widgets"), "", Json{{"metadata", {{"name", "w"}}}});
  }
  int64_t rv_before;
  {
    Store s(StoreOptions{.dir = dir.path()});
    rv_before = s.ResourceVersion();
    EXPECT_FALSE(s.TryGet(ConfigMaps(), "default", "a"));
    EXPECT_TRUE(s.TryGet(ConfigMaps(), "default", "b"));
    auto t = s.FindType("example.com", "widgets");
    ASSERT_TRUE(t);
    EXPECT_TRUE(s.TryGet(*t, "", "w"));
    // Resume a watch from before the restart: exactly the events since then.
    auto w = s.Watch(ConfigMaps(), "default", {.resource_version = rv_mid});
    auto e1 = w->Next(milliseconds(1000));
    auto e2 = w->Next(milliseconds(1000));
    ASSERT_TRUE(e1 && e2);
    EXPECT_EQ(e1->type + e1->object["metadata"]["name"].get<std::string>(), "ADDEDb");
    EXPECT_EQ(e2->type + e2->object["metadata"]["name"].get<std::string>(), "DELETEDa");
    EXPECT_FALSE(w->Next(milliseconds(10)));
    Json c = s.Create(ConfigMaps(), "default", Json{{"metadata", {{"name", "c"}}}});
    EXPECT_GT(std::stoll(c["metadata"]["resourceVersion"].get<std::string>()), rv_before);
  }
  Store s(StoreOptions{.dir = dir.path()});
  EXPECT_TRUE(s.TryGet(ConfigMaps(), "default", "c"));
  EXPECT_EQ(s.ResourceVersion(), rv_before + 1);
}

TEST(StoreTest, TenThousandClaimsListPaginated) {
  Store s;
  for (int i = 0; i < 10000; ++i) s.Create(Pvc(), "default", Named("pvc-" + std::to_string(i)));
  auto start = std::chrono::steady_clock::now();
  size_t total = 0;
  ListOptions o{.limit = 500};
  while (true) {
    auto r = s.List(Pvc(), "default", o);
    total += r.items.size();
    if (r.continue_token.empty()) break;
    o.continue_token = r.continue_token;
  }
  EXPECT_EQ(total, 10000u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace hoist::lab

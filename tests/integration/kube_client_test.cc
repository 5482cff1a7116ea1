// The kube client against the real lab API server process: CRUD, conflicts, pagination, events.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "integration/kube_lab_apiserver.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/events.h"
#include "kube/objects.h"
#include "kube/selectors.h"

namespace hoist::kube {
namespace {

using testing::LabApiServer;
namespace r = resources;

void EnsureNamespace(Client& client, const std::string& ns) {
  try {
    client.Create(r::kNamespace, "", NewObject(r::kNamespace, "", ns));
  } catch (const ApiError& e) {
    if (!IsAlreadyExists(e)) throw;
  }
}

Json Pvc(const std::string& ns, const std::string& name) {
  Json pvc = NewObject(r::kPersistentVolumeClaim, ns, name);
  pvc["metadata"]["labels"] = {{"app", "hoist-it"}};
  pvc["spec"] = {
      {"accessModes", {"ReadWriteOnce"}},
      {"resources", {{"requests", {{"storage", "1Gi"}}}}},
      {"storageClassName", "no-such-class"},
      {"dataSourceRef",
       {{"apiGroup", "forklift.konveyor.io"}, {"kind", "VSphereXcopyVolumePopulator"}, {"name", name}}}};
  return pvc;
}

class KubeClientLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    client_ = std::make_unique<Client>(server_.Config());
    EnsureNamespace(*client_, "it");
  }
  LabApiServer server_;
  std::unique_ptr<Client> client_;
};

TEST_F(KubeClientLabTest, CrudRoundTrip) {
  Client& c = *client_;
  Json created = c.Create(r::kPersistentVolumeClaim, "it", Pvc("it", "disk-1"));
  EXPECT_FALSE(Uid(created).empty());
  EXPECT_FALSE(ResourceVersion(created).empty());
  try {
    c.Create(r::kPersistentVolumeClaim, "it", Pvc("it", "disk-1"));
    FAIL() << "duplicate create accepted";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsAlreadyExists(e)) << e.what();
  }

  Json got = c.Get(r::kPersistentVolumeClaim, "it", "disk-1");
  auto ref = pvc::DataSourceRef(got);
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->kind, "VSphereXcopyVolumePopulator");

  got["metadata"]["annotations"]["hoist.konveyor.io/note"] = "updated";
  Json updated = c.Update(r::kPersistentVolumeClaim, got);
  EXPECT_EQ(Annotation(updated, "hoist.konveyor.io/note"), "updated");

  Json patched = c.Patch(r::kPersistentVolumeClaim, "it", "disk-1", PatchType::kMerge,
                         {{"metadata", {{"labels", {{"stage", "copy"}}}}}});
  EXPECT_EQ(Label(patched, "stage"), "copy");
  patched = c.Patch(r::kPersistentVolumeClaim, "it", "disk-1", PatchType::kStrategicMerge,
                    {{"metadata", {{"labels", {{"stage", "done"}}}}}});
  EXPECT_EQ(Label(patched, "stage"), "done");
  patched = c.Patch(r::kPersistentVolumeClaim, "it", "disk-1", PatchType::kJson,
                    Json::array({{{"op", "add"}, {"path", "/metadata/labels/json"}, {"value", "yes"}}}));
  EXPECT_EQ(Label(patched, "json"), "yes");

  Json status = patched;
  status["status"] = {{"phase", "Lost"}};
  Json with_status = c.UpdateStatus(r::kPersistentVolumeClaim, status);
  EXPECT_EQ(pvc::Phase(with_status), "Lost");

  ListOptions by_label;
  by_label.label_selector = LabelSelector().Equals("stage", "done").String();
  EXPECT_EQ(c.List(r::kPersistentVolumeClaim, "it", by_label).items.size(), 1u);
  by_label.label_selector = LabelSelector().Equals("stage", "other").String();
  EXPECT_TRUE(c.List(r::kPersistentVolumeClaim, "it", by_label).items.empty());

  DeleteOptions wrong;
  wrong.precondition_uid = "00000000-0000-0000-0000-000000000000";
  try {
    c.Delete(r::kPersistentVolumeClaim, "it", "disk-1", wrong);
    FAIL() << "uid precondition ignored";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsConflict(e)) << e.what();
  }
  DeleteOptions right;
  right.precondition_uid = Uid(created);
  right.propagation_policy = "Background";
  c.Delete(r::kPersistentVolumeClaim, "it", "disk-1", right);
  // PVCs carry the kubernetes.io/pvc-protection finalizer on real clusters; wait until gone.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    try {
      c.Get(r::kPersistentVolumeClaim, "it", "disk-1");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } catch (const ApiError& e) {
      ASSERT_TRUE(IsNotFound(e)) << e.what();
      gone = true;
    }
  }
  EXPECT_TRUE(gone);
}

TEST_F(KubeClientLabTest, ConflictingWritersConvergeWithRetryOnConflict) {
  Client& c = *client_;
  Json cm = NewObject(r::kConfigMap, "it", "counter");
  cm["data"] = {{"n", "0"}};
  Json stale = c.Create(r::kConfigMap, "it", cm);
  Json first = stale;
  first["data"]["n"] = "1";
  c.Update(r::kConfigMap, first);
  try {
    c.Update(r::kConfigMap, stale);
    FAIL() << "stale update accepted";
  } catch (const ApiError& e) {
    EXPECT_TRUE(IsConflict(e)) << e.what();
    EXPECT_TRUE(e.retryable());
  }
  // Four writers increment the same counter 10 times each.
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        RetryOnConflict(
            [&] {
              Json cur = c.Get(r::kConfigMap, "it", "counter");
              cur["data"]["n"] = std::to_string(std::stoi(cur["data"]["n"].get<std::string>()) + 1);
              c.Update(r::kConfigMap, cur);
            },
            {100, std::chrono::milliseconds(1)});
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(c.Get(r::kConfigMap, "it", "counter")["data"]["n"], "41");
}

TEST_F(KubeClientLabTest, ListAllPagesOverFiveThousandObjectsEachExactlyOnce) {
  Client& c = *client_;
  constexpr int kObjects = 5000;
  constexpr int kThreads = 4;
  std::vector<std::thread> creators;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    creators.emplace_back([&, t] {
      for (int i = t; i < kObjects; i += kThreads) {
        Json cm = NewObject(r::kConfigMap, "it", "cm-" + std::to_string(i));
        cm["metadata"]["labels"] = {{"batch", "page"}};
        try {
          c.Create(r::kConfigMap, "it", cm);
        } catch (const std::exception& e) {
          if (failures.fetch_add(1) < 3) ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : creators) t.join();
  ASSERT_EQ(failures.load(), 0);

  ListOptions opts;
  opts.limit = 250;
  opts.label_selector = "batch=page";
  ListResult first = c.List(r::kConfigMap, "it", opts);
  EXPECT_EQ(first.items.size(), 250u);
  EXPECT_FALSE(first.continue_token.empty());

  ListResult all = ListAll(c, r::kConfigMap, "it", opts);
  ASSERT_EQ(all.items.size(), static_cast<size_t>(kObjects));
  std::set<std::string> names;
  for (const auto& item : all.items) names.insert(Name(item));
  EXPECT_EQ(names.size(), static_cast<size_t>(kObjects));
  EXPECT_TRUE(names.count("cm-0") && names.count("cm-4999"));
}

TEST_F(KubeClientLabTest, RepeatedEventsAggregateIntoASeries) {
  Client& c = *client_;
  Json pvc = c.Create(r::kPersistentVolumeClaim, "it", Pvc("it", "disk-ev"));
  EventRecorder recorder(c, {"hoist.konveyor.io/populator-controller", "it-instance"});
  for (int i = 0; i < 5; ++i) {
    recorder.Record(pvc, kEventWarning, "PopulatorFailed", "Populate",
                    "ESXi host esx-1 does not see the LUN");
  }
  recorder.Record(pvc, kEventNormal, "PopulatorCreated", "Create", "populate pod created");

  const ResourceType& events_type = c.Serves(r::kEvent) ? r::kEvent : r::kCoreEvent;
  ListResult events = c.List(events_type, "it");
  int failed = 0, created = 0;
  for (const auto& e : events.items) {
    std::string reason = e.value("reason", "");
    if (reason == "PopulatorFailed") {
      ++failed;
      if (events_type == r::kEvent) {
        EXPECT_EQ(e["series"]["count"], 5) << e.dump();
        EXPECT_EQ(e["regarding"]["uid"], Uid(pvc));
        EXPECT_EQ(e["reportingController"], "hoist.konveyor.io/populator-controller");
      } else {
        EXPECT_EQ(e["count"], 5) << e.dump();
      }
    }
    if (reason == "PopulatorCreated") ++created;
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(created, 1);
}

}  // namespace
}  // namespace hoist::kube

// The scheduler on an in-memory store: node selection, spreading, WaitForFirstConsumer claims.
#include "lab/scheduler.h"

#include <gtest/gtest.h>

#include "lab/binder.h"
#include "lab/cluster_objects.h"
#include "lab/nodes.h"

namespace hoist::lab {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : t_(ClusterTypes::From(store_)), nodes_(EnsureNodes(store_, NodesOptions{})), sched_(store_, nodes_) {}
  void Settle() {
    for (int i = 0; i < 100 && sched_.Sync(); ++i) {
    }
  }
  Json Pod(const std::string& name, Json extra = Json::object()) {
    Json p = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}}},
              {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
    p["spec"].update(extra);
    return store_.Create(t_.pods, "default", p);
  }
  std::string NodeOf(const std::string& pod) {
    return GetString(store_.Get(t_.pods, "default", pod), "/spec/nodeName");
  }
  Store store_;
  ClusterTypes t_;
  std::vector<std::string> nodes_;
  Scheduler sched_;
};

TEST_F(SchedulerTest, SpreadsPodsAndHonoursNodeSelector) {
  EXPECT_EQ(nodes_, (std::vector<std::string>{"lab-node-1", "lab-node-2", "lab-node-3"}));
  Pod("a");
  Settle();
  Pod("b");
  Settle();
  EXPECT_NE(NodeOf("a"), NodeOf("b"));
  Pod("pinned", {{"nodeSelector", {{"kubernetes.io/hostname", "lab-node-3"}}}});
  Settle();
  EXPECT_EQ(NodeOf("pinned"), "lab-node-3");
  Pod("nowhere", {{"nodeSelector", {{"disktype", "ssd"}}}});
  Settle();
  Json p = store_.Get(t_.pods, "default", "nowhere");
  EXPECT_EQ(GetString(p, "/spec/nodeName"), "");
  EXPECT_EQ(GetString(p, "/status/conditions/0/reason"), "Unschedulable");
  EXPECT_EQ(GetString(p, "/status/conditions/0/status"), "False");
}

TEST_F(SchedulerTest, WaitForFirstConsumerClaimGetsTheNodeBeforeThePod) {
  store_.Create(t_.classes, "",
                {{"apiVersion", "storage.k8s.io/v1"},
                 {"kind", "StorageClass"},
                 {"metadata", {{"name", "wffc"}}},
                 {"provisioner", "lab.hoist.io/file"},
                 {"volumeBindingMode", "WaitForFirstConsumer"}});
  store_.Create(t_.pvcs, "default",
                {{"apiVersion", "v1"},
                 {"kind", "PersistentVolumeClaim"},
                 {"metadata", {{"name", "c"}}},
                 {"spec",
                  {{"accessModes", {"ReadWriteOnce"}},
                   {"storageClassName", "wffc"},
                   {"resources", {{"requests", {{"storage", "1Mi"}}}}}}}});
  Pod("user", {{"volumes", Json::array({{{"name", "v"}, {"persistentVolumeClaim", {{"claimName", "c"}}}}})}});
  Settle();
  std::string selected = Annotation(store_.Get(t_.pvcs, "default", "c"), kAnnSelectedNode);
  EXPECT_EQ(selected.rfind("lab-node-", 0), 0u);
  EXPECT_EQ(NodeOf("user"), "");  // not before the claim is Bound
  store_.Patch(t_.pvcs, "default", "c", PatchType::kMerge, {{"status", {{"phase", "Bound"}}}},
               /*status=*/true);
  Settle();
  EXPECT_EQ(NodeOf("user"), selected);
}

TEST_F(SchedulerTest, MissingClaimKeepsThePodPending) {
  Pod("lonely",
      {{"volumes", Json::array({{{"name", "v"}, {"persistentVolumeClaim", {{"claimName", "gone"}}}}})}});
  Settle();
  Json p = store_.Get(t_.pods, "default", "lonely");
  EXPECT_EQ(GetString(p, "/spec/nodeName"), "");
  EXPECT_NE(GetString(p, "/status/conditions/0/message").find("persistentvolumeclaim \"gone\" not found"),
            std::string::npos);
}

}  // namespace
}  // namespace hoist::lab

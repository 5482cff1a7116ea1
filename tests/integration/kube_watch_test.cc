// Watches and informers against the real lab API server process, including a server restart.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "integration/kube_lab_apiserver.h"
#include "kube/client.h"
#include "kube/errors.h"
#include "kube/informer.h"
#include "kube/objects.h"

namespace hoist::kube {
namespace {

using testing::LabApiServer;
namespace r = resources;

bool Eventually(const std::function<bool()>& cond, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

void EnsureNamespace(Client& client, const std::string& ns) {
  try {
    client.Create(r::kNamespace, "", NewObject(r::kNamespace, "", ns));
  } catch (const ApiError& e) {
    if (!IsAlreadyExists(e)) throw;
  }
}

struct Seen {
  std::mutex mu;
  std::vector<std::string> events;
  void Add(std::string e) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(e));
  }
  size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return events.size();
  }
  std::vector<std::string> copy() {
    std::lock_guard<std::mutex> l(mu);
    return events;
  }
};

TEST(KubeWatchLabTest, WatchResumesAcrossAServerRestartWithoutLossOrDuplicates) {
  LabApiServer server;
  server.Start();
  const int port = server.port();
  Client writer(server.Config());
  EnsureNamespace(writer, "it");
  std::string start_rv = writer.List(r::kConfigMap, "it").resource_version;

  Client watch_client(server.Config());
  Seen seen;
  std::stop_source stop;
  std::exception_ptr failure;
  std::thread watcher([&] {
    try {
      WatchOptions opts;
      opts.resource_version = start_rv;
      opts.timeout_seconds = 30;
      WatchWithResume(
          watch_client, r::kConfigMap, "it", opts,
          [&](const WatchEvent& ev) {
            seen.Add(std::string(WatchEventTypeName(ev.type)) + " " + Name(ev.object));
            return true;
          },
          stop.get_token());
    } catch (...) {
      failure = std::current_exception();
    }
  });

  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    writer.Create(r::kConfigMap, "it", NewObject(r::kConfigMap, "it", "before-" + std::to_string(i)));
    expected.push_back("ADDED before-" + std::to_string(i));
  }
  ASSERT_TRUE(Eventually([&] { return seen.size() >= 10; }));
  // Restart while the watcher may still be behind: it must resume exactly where it was.
  ASSERT_EQ(server.Stop(), 0);
  server.Start(port);
  ASSERT_EQ(server.port(), port);

  Client writer2(server.Config());
  for (int i = 0; i < 20; ++i) {
    writer2.Create(r::kConfigMap, "it", NewObject(r::kConfigMap, "it", "after-" + std::to_string(i)));
    expected.push_back("ADDED after-" + std::to_string(i));
  }
  writer2.Patch(r::kConfigMap, "it", "before-3", PatchType::kMerge, {{"data", {{"k", "v"}}}});
  expected.push_back("MODIFIED before-3");
  writer2.Delete(r::kConfigMap, "it", "after-7");
  expected.push_back("DELETED after-7");

  bool complete = Eventually([&] { return seen.size() >= expected.size(); }, std::chrono::seconds(60));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // duplicates would arrive by now
  stop.request_stop();
  watcher.join();
  if (failure) std::rethrow_exception(failure);
  ASSERT_TRUE(complete) << "saw " << seen.size() << " of " << expected.size();
  EXPECT_EQ(seen.copy(), expected);
}

TEST(KubeWatchLabTest, InformerSeesAddsUpdatesAndDeletes) {
  LabApiServer server;
  server.Start();
  Client client(server.Config());
  EnsureNamespace(client, "it");
  EnsureNamespace(client, "other");
  client.Create(r::kConfigMap, "it", NewObject(r::kConfigMap, "it", "existing"));

  InformerOptions options;
  options.page_size = 2;
  Informer informer(client, r::kConfigMap, "", options);
  informer.AddIndex("color", [](const Json& o) {
    std::string color = Label(o, "color");
    return color.empty() ? std::vector<std::string>{} : std::vector<std::string>{color};
  });
  Seen seen;
  EventHandlers handlers;
  handlers.on_add = [&](const Json& o) { seen.Add("add " + ObjectKey(o)); };
  handlers.on_update = [&](const Json& old_obj, const Json& o) {
    if (ResourceVersion(old_obj) != ResourceVersion(o)) seen.Add("update " + ObjectKey(o));
  };
  handlers.on_delete = [&](const Json& o) { seen.Add("delete " + ObjectKey(o)); };
  informer.AddEventHandlers(handlers);
  informer.Start();
  ASSERT_TRUE(WaitForCacheSync({&informer}, std::chrono::seconds(20)));
  EXPECT_TRUE(informer.store().Get("it", "existing").has_value());

  Json red = NewObject(r::kConfigMap, "other", "red");
  red["metadata"]["labels"] = {{"color", "red"}};
  client.Create(r::kConfigMap, "other", red);
  client.Patch(r::kConfigMap, "it", "existing", PatchType::kMerge,
               {{"metadata", {{"labels", {{"color", "red"}}}}}});
  client.Delete(r::kConfigMap, "other", "red");

  auto has = [&](const std::string& e) {
    auto v = seen.copy();
    return std::find(v.begin(), v.end(), e) != v.end();
  };
  ASSERT_TRUE(Eventually([&] { return has("delete other/red"); })) << seen.size();
  EXPECT_TRUE(has("add it/existing"));
  EXPECT_TRUE(has("add other/red"));
  EXPECT_TRUE(has("update it/existing"));
  auto reds = informer.store().ByIndex("color", "red");
  ASSERT_EQ(reds.size(), 1u);
  EXPECT_EQ(ObjectKey(reds[0]), "it/existing");
  EXPECT_TRUE(informer.store().ByIndex(kNamespaceIndex, "other").empty());
  informer.Stop();
}

}  // namespace
}  // namespace hoist::kube

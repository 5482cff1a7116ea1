#include "lab/apiserver.h"

#include <gtest/gtest.h>

#include "lab/apiserver_yaml.h"
#include "net/http_client.h"

namespace hoist::lab {
namespace {

using nlohmann::json;

class FakeLogs : public PodLogSource {
 public:
  void StreamLog(const std::string& ns, const std::string& pod, const Options& o,
                 const std::function<bool(std::string_view)>& sink, const std::function<bool()>&) override {
    sink("log of " + ns + "/" + pod + "/" + o.container + "\n");
    sink("second line\n");
  }
};

class ApiServerTest : public ::testing::Test {
 protected:
  ApiServerTest() : store_(StoreOptions{.event_window = 5}), server_(store_, ApiServerOptions{.token = "secret-token"}) {
    server_.SetPodLogSource(std::make_shared<FakeLogs>());
    server_.Start();
  }

  net::HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                         const std::string& content_type = "application/json", bool auth = true,
                         const std::string& accept = "application/json") {
    net::HttpRequest r;
    r.method = method;
    r.url = server_.url() + path;
    r.body = body;
    if (auth) r.headers.Add("Authorization", "Bearer secret-token");
    if (!body.empty()) r.headers.Add("Content-Type", content_type);
    r.headers.Add("Accept", accept);
    return client_.Do(r);
  }

  Store store_;
  ApiServer server_;
  net::HttpClient client_;
};

TEST_F(ApiServerTest, RejectsRequestsWithoutTheToken) {
  auto r = Call("GET", "/api/v1/namespaces", "", "", /*auth=*/false);
  EXPECT_EQ(r.status, 401);
  json s = json::parse(r.body);
  EXPECT_EQ(s["kind"], "Status");
  EXPECT_EQ(s["reason"], "Unauthorized");
  EXPECT_EQ(Call("GET", "/healthz", "", "", false).status, 200);
}

TEST_F(ApiServerTest, CrudWithStatusErrorsAndYaml) {
  auto r = Call("POST", "/api/v1/namespaces/default/configmaps",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: \"1\"\n", "application/yaml");
  ASSERT_EQ(r.status, 201) << r.body;
  r = Call("GET", "/api/v1/namespaces/default/configmaps/c1", "", "", true, "application/yaml");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/yaml");
  json back = YamlToJson(r.body);
  EXPECT_EQ(back["data"]["a"], "1");
  r = Call("GET", "/api/v1/namespaces/default/configmaps/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["message"], "configmaps \"nope\" not found");
  r = Call("PATCH", "/api/v1/namespaces/default/configmaps/c1", R"({"data":{"b":"2"}})", "application/merge-patch+json");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["data"]["b"], "2");
  r = Call("PUT", "/api/v1/namespaces/default/configmaps/c1",
           R"({"metadata":{"name":"c1","resourceVersion":"1"},"data":{}})");
  EXPECT_EQ(r.status, 409);
  r = Call("GET", "/api/v1/namespaces/default/configmaps", "", "", true,
           "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
  json table = json::parse(r.body);
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["rows"][0]["cells"][0], "c1");
}

TEST_F(ApiServerTest, DiscoveryListsTypesAndCrds) {
  json core = json::parse(Call("GET", "/api/v1").body);
  bool pvc_status = false;
  for (const auto& r : core["resources"]) pvc_status |= r["name"] == "persistentvolumeclaims/status";
  EXPECT_TRUE(pvc_status);
  json groups = json::parse(Call("GET", "/apis").body);
  EXPECT_EQ(groups["kind"], "APIGroupList");
  EXPECT_EQ(Call("GET", "/apis/example.com/v1").status, 404);
}

TEST_F(ApiServerTest, WatchTooOldIsAnErrorEvent) {
  for (int i = 0; i < 10; ++i) {
    store_.Create(*store_.FindType("", "configmaps"), "default", json{{"metadata", {{"name", "c" + std::to_string(i)}}}});
  }
  auto r = Call("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1");
  EXPECT_EQ(r.status, 200);
  json ev = json::parse(r.body.substr(0, r.body.find('\n')));
  EXPECT_EQ(ev["type"], "ERROR");
  EXPECT_EQ(ev["object"]["code"], 410);
  // A current resourceVersion streams the next change and ends at timeoutSeconds.
  std::string rv = std::to_string(store_.ResourceVersion());
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    store_.Create(*store_.FindType("", "configmaps"), "default", json{{"metadata", {{"name", "late"}}}});
  });
  r = Call("GET", "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" + rv + "&timeoutSeconds=1");
  writer.join();
  ev = json::parse(r.body.substr(0, r.body.find('\n')));
  EXPECT_EQ(ev["type"], "ADDED");
  EXPECT_EQ(ev["object"]["metadata"]["name"], "late");
}

TEST_F(ApiServerTest, PodLogsComeFromTheLogSource) {
  store_.Create(*store_.FindType("", "pods"), "default",
                json::parse(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"main","image":"x"}]}})"));
  auto r = Call("GET", "/api/v1/namespaces/default/pods/p/log");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "log of default/p/main\nsecond line\n");
  r = Call("GET", "/api/v1/namespaces/default/pods/p/log?container=other");
  EXPECT_EQ(r.status, 400);
  r = Call("GET", "/api/v1/namespaces/default/pods/p/log?limitBytes=5");
  EXPECT_EQ(r.body, "log o");
}

}  // namespace
}  // namespace hoist::lab

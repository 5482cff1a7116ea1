// Checks deploy/ against the code: the CRDs describe the kinds the controller handles and require
// exactly the spec fields the pod arguments need; the ClusterRole grants what the controller does and
// nothing it does not.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "controller/kinds.h"
#include "core/error.h"
#include "unit/controller/fixtures.h"

namespace hoist::controller {
namespace {

// The source tree's deploy/ folder (HOIST_TEST_SOURCE_DIR is set by tests/CMakeLists.txt).
std::string DeployDir() { return std::string(HOIST_TEST_SOURCE_DIR) + "/deploy"; }

nlohmann::json CrFor(PopulatorKind kind) {
  switch (kind) {
    case PopulatorKind::kOvirt:
      return fixtures::OvirtCr();
    case PopulatorKind::kOpenstack:
      return fixtures::OpenstackCr();
    case PopulatorKind::kVSphereXcopy:
      return fixtures::XcopyCr();
  }
  return {};
}

TEST(DeployCrds, MatchKindsTableAndPodArguments) {
  for (const KindInfo& k : AllKinds()) {
    SCOPED_TRACE(std::string(k.kind_name));
    YAML::Node crd =
        YAML::LoadFile(DeployDir() + "/crds/forklift.konveyor.io_" + std::string(k.plural) + ".yaml");
    EXPECT_EQ(crd["apiVersion"].as<std::string>(), "apiextensions.k8s.io/v1");
    EXPECT_EQ(crd["metadata"]["name"].as<std::string>(), std::string(k.plural) + ".forklift.konveyor.io");
    EXPECT_EQ(crd["spec"]["group"].as<std::string>(), "forklift.konveyor.io");
    EXPECT_EQ(crd["spec"]["scope"].as<std::string>(), "Namespaced");
    const YAML::Node names = crd["spec"]["names"];
    EXPECT_EQ(names["kind"].as<std::string>(), k.kind_name);
    EXPECT_EQ(names["listKind"].as<std::string>(), k.list_kind);
    EXPECT_EQ(names["plural"].as<std::string>(), k.plural);
    EXPECT_EQ(names["singular"].as<std::string>(), k.singular);
    EXPECT_EQ(names["shortNames"][0].as<std::string>(), k.short_names[0]);
    EXPECT_EQ(names["shortNames"][1].as<std::string>(), k.short_names[1]);
    const YAML::Node version = crd["spec"]["versions"][0];
    EXPECT_EQ(version["name"].as<std::string>(), "v1beta1");
    EXPECT_TRUE(version["subresources"]["status"].IsMap());
    const YAML::Node schema = version["schema"]["openAPIV3Schema"];
    EXPECT_EQ(schema["properties"]["status"]["properties"]["progress"]["type"].as<std::string>(), "string");
    EXPECT_EQ(schema["properties"]["status"]["properties"]["conditions"]["x-kubernetes-list-map-keys"][0]
                  .as<std::string>(),
              "type");

    // Every required field is one PopulatorArgs refuses to do without, and vice versa.
    std::set<std::string> required;
    for (const auto& f : schema["properties"]["spec"]["required"]) required.insert(f.as<std::string>());
    nlohmann::json pvc = fixtures::TargetPvc(std::string(k.kind_name));
    nlohmann::json cr = CrFor(k.kind);
    ASSERT_NO_THROW(PopulatorArgs(k.kind, cr, pvc));
    for (const auto& [field, value] : cr["spec"].items()) {
      nlohmann::json without = cr;
      without["spec"].erase(field);
      bool refused = false;
      try {
        PopulatorArgs(k.kind, without, pvc);
      } catch (const Error&) {
        refused = true;
      }
      EXPECT_EQ(refused, required.count(field) == 1) << field;
      EXPECT_TRUE(schema["properties"]["spec"]["properties"][field].IsMap())
          << field << " missing from the schema";
    }
  }
}

TEST(DeployRbac, ClusterRoleIsLeastPrivilege) {
  std::vector<YAML::Node> docs = YAML::LoadAllFromFile(DeployDir() + "/rbac.yaml");
  YAML::Node role;
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() == "ClusterRole") role = d;
  }
  ASSERT_TRUE(role.IsMap());
  // (group, resource) -> verbs
  std::map<std::pair<std::string, std::string>, std::set<std::string>> grants;
  for (const auto& rule : role["rules"]) {
    for (const auto& g : rule["apiGroups"]) {
      for (const auto& r : rule["resources"]) {
        for (const auto& v : rule["verbs"])
          grants[{g.as<std::string>(), r.as<std::string>()}].insert(v.as<std::string>());
      }
    }
  }
  using Verbs = std::set<std::string>;
  auto verbs_of = [&](const std::string& group, const std::string& resource) {
    return grants[{group, resource}];
  };
  EXPECT_EQ(verbs_of("", "persistentvolumeclaims"),
            (Verbs{"get", "list", "watch", "create", "patch", "delete"}));
  EXPECT_EQ(verbs_of("", "persistentvolumes"), (Verbs{"get", "list", "watch", "patch"}));
  EXPECT_EQ(verbs_of("", "pods"), (Verbs{"get", "list", "watch", "create", "delete"}));
  EXPECT_EQ(verbs_of("storage.k8s.io", "storageclasses"), (Verbs{"get", "list", "watch"}));
  for (const KindInfo& k : AllKinds()) {
    EXPECT_EQ(verbs_of("forklift.konveyor.io", std::string(k.plural)),
              (Verbs{"get", "list", "watch", "patch"}));
    EXPECT_EQ(verbs_of("forklift.konveyor.io", std::string(k.plural) + "/status"), (Verbs{"patch"}));
  }
  EXPECT_EQ(verbs_of("", "events"), (Verbs{"create", "patch"}));
  EXPECT_TRUE(verbs_of("events.k8s.io", "events").empty()) << "the controller writes core/v1 Events";
  for (const auto& [key, verbs] : grants) {
    EXPECT_NE(key.second, "secrets") << "the controller never reads secrets";
    EXPECT_NE(key.first, "*");
    EXPECT_EQ(verbs.count("*"), 0u) << key.second;
  }
}

}  // namespace
}  // namespace hoist::controller

namespace hoist::controller {
namespace {

TEST(DeployController, DeploymentUsesForkliftsSettingsAndTheHealthEndpoints) {
  std::vector<YAML::Node> docs = YAML::LoadAllFromFile(DeployDir() + "/controller.yaml");
  YAML::Node deployment;
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() == "Deployment") deployment = d;
  }
  ASSERT_TRUE(deployment.IsMap());
  const YAML::Node pod = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), "hoist-controller");
  const YAML::Node c = pod["containers"][0];
  std::set<std::string> env;
  for (const auto& e : c["env"]) env.insert(e["name"].as<std::string>());
  for (const KindInfo& k : AllKinds()) EXPECT_EQ(env.count(std::string(k.image_env)), 1u) << k.image_env;
  for (const char* name : {"MAX_POPULATOR_INFLIGHT", "POPULATOR_CONTAINER_LIMITS_CPU", "POPULATOR_CONTAINER_LIMITS_MEMORY",
                           "POPULATOR_CONTAINER_REQUESTS_CPU", "POPULATOR_CONTAINER_REQUESTS_MEMORY", "POD_NAMESPACE"}) {
    EXPECT_EQ(env.count(name), 1u) << name;
  }
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 8080);
  bool address = false;
  for (const auto& a : c["args"]) address = address || a.as<std::string>() == "--metrics-address=:8080";
  EXPECT_TRUE(address);
  EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
}

}  // namespace
}  // namespace hoist::controller

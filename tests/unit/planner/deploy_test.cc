// deploy/ against the planner's code: the planning CRDs name the resources the planner addresses, and
// planner-rbac.yaml grants every verb the planner uses on them (and may bind the Roles it creates).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "planner/api.h"
#include "planner/builders.h"

namespace hoist::planner {
namespace {

std::string DeployDir() { return std::string(HOIST_TEST_SOURCE_DIR) + "/deploy"; }

TEST(PlannerDeploy, CrdsNameThePlannersResources) {
  for (const kube::ResourceType* t : {&resources::kProvider, &resources::kStorageMap, &resources::kPlan}) {
    SCOPED_TRACE(t->kind);
    YAML::Node crd = YAML::LoadFile(DeployDir() + "/crds/forklift.konveyor.io_" + t->plural + ".yaml");
    EXPECT_EQ(crd["metadata"]["name"].as<std::string>(), t->plural + "." + t->group);
    EXPECT_EQ(crd["spec"]["group"].as<std::string>(), t->group);
    EXPECT_EQ(crd["spec"]["names"]["kind"].as<std::string>(), t->kind);
    EXPECT_EQ(crd["spec"]["names"]["plural"].as<std::string>(), t->plural);
    EXPECT_EQ(crd["spec"]["scope"].as<std::string>(), "Namespaced");
    EXPECT_EQ(crd["spec"]["versions"][0]["name"].as<std::string>(), t->version);
    EXPECT_TRUE(crd["spec"]["versions"][0]["subresources"]["status"].IsMap());
  }
  YAML::Node plan = YAML::LoadFile(DeployDir() + "/crds/forklift.konveyor.io_plans.yaml");
  YAML::Node spec = plan["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
  std::set<std::string> required;
  for (const auto& r : spec["required"]) required.insert(r.as<std::string>());
  EXPECT_EQ(required, (std::set<std::string>{"provider", "map", "targetNamespace", "vms"}));
  YAML::Node map = YAML::LoadFile(DeployDir() + "/crds/forklift.konveyor.io_storagemaps.yaml");
  YAML::Node vendor = map["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["map"]
                         ["items"]["properties"]["offloadPlugin"]["properties"]["vsphereXcopyConfig"]["properties"]
                         ["storageVendorProduct"];
  std::vector<std::string> vendors;
  for (const auto& v : vendor["enum"]) vendors.push_back(v.as<std::string>());
  EXPECT_EQ(vendors, StorageVendorProducts());
}

TEST(PlannerDeploy, ClusterRoleGrantsWhatThePlannerDoes) {
  YAML::Node role;
  for (const YAML::Node& doc : YAML::LoadAllFromFile(DeployDir() + "/planner-rbac.yaml")) {
    if (doc["kind"].as<std::string>() == "ClusterRole") role = doc;
  }
  ASSERT_TRUE(role) << "planner-rbac.yaml has no ClusterRole";
  std::set<std::tuple<std::string, std::string, std::string>> granted;  // group, resource, verb
  std::set<std::tuple<std::string, std::string, std::string>> named;    // resource, name, verb
  for (const auto& rule : role["rules"]) {
    for (const auto& g : rule["apiGroups"]) {
      for (const auto& r : rule["resources"]) {
        for (const auto& v : rule["verbs"]) {
          if (rule["resourceNames"]) {
            for (const auto& n : rule["resourceNames"]) named.insert({r.as<std::string>(), n.as<std::string>(), v.as<std::string>()});
          } else {
            granted.insert({g.as<std::string>(), r.as<std::string>(), v.as<std::string>()});
          }
        }
      }
    }
  }
  auto need = [&](const kube::ResourceType& t, std::initializer_list<const char*> verbs, const std::string& sub = "") {
    for (const char* v : verbs) {
      EXPECT_TRUE(granted.count({t.group, t.plural + sub, v})) << t.plural << sub << " " << v;
    }
  };
  need(resources::kPlan, {"get", "list", "watch", "update"});
  need(resources::kPlan, {"update"}, "/status");
  need(resources::kProvider, {"get"});
  need(resources::kStorageMap, {"get"});
  need(resources::kXcopyPopulator, {"list", "watch", "create", "patch", "delete"});
  need(kube::resources::kPersistentVolumeClaim, {"get", "list", "watch", "create", "delete"});
  need(kube::resources::kSecret, {"get", "list", "create", "update", "delete"});
  need(kube::resources::kNamespace, {"get", "create"});
  need(kube::resources::kEvent, {"create", "patch"});
  for (const auto& [type, obj] : PopulatorRbac("vms", "leases")) {
    need(type, {"create"});
    if (type.kind == "Role" || type.kind == "ClusterRole") {
      for (const char* v : {"escalate", "bind"}) {
        EXPECT_TRUE(named.count({type.plural, obj["metadata"]["name"].get<std::string>(), v}))
            << type.plural << "/" << obj["metadata"]["name"] << " " << v;
      }
    }
  }
}

}  // namespace
}  // namespace hoist::planner

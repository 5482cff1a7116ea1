// Kubelet-lite helpers: $(VAR) expansion, env names, and the image table's command/args rules.
#include "lab/kubelet.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "lab/images.h"

namespace hoist::lab {
namespace {

TEST(KubeletExpand, FollowsKubernetesRules) {
  std::map<std::string, std::string> vars = {{"A", "1"}, {"B", "two"}};
  EXPECT_EQ(Kubelet::ExpandVars("x$(A)y$(B)", vars), "x1ytwo");
  EXPECT_EQ(Kubelet::ExpandVars("$(MISSING)", vars), "$(MISSING)");
  EXPECT_EQ(Kubelet::ExpandVars("$$(A)", vars), "$(A)");
  EXPECT_EQ(Kubelet::ExpandVars("cost: $5", vars), "cost: $5");
  EXPECT_EQ(Kubelet::ExpandVars("$(A", vars), "$(A");
}

TEST(KubeletEnv, ValidNamesAsIsEnvVarName) {
  EXPECT_TRUE(Kubelet::IsEnvVarName("GOVMOMI_USERNAME"));
  EXPECT_TRUE(Kubelet::IsEnvVarName("ca.crt"));
  EXPECT_TRUE(Kubelet::IsEnvVarName("-x"));
  EXPECT_FALSE(Kubelet::IsEnvVarName("1abc"));
  EXPECT_FALSE(Kubelet::IsEnvVarName("a b"));
  EXPECT_FALSE(Kubelet::IsEnvVarName("a=b"));
  EXPECT_FALSE(Kubelet::IsEnvVarName(""));
}

TEST(KubeletImages, CommandReplacesEntrypointArgsReplaceCmd) {
  ImageTable t;
  t.Set("quay.io/x/populator", {{"/opt/pop", "xcopy"}, {"--help"}, {{"/usr/bin/populator", "/opt/pop"}}});
  EXPECT_EQ(t.ResolveArgv("quay.io/x/populator:v1", {}, {}, "/bin"),
            (std::vector<std::string>{"/opt/pop", "xcopy", "--help"}));
  EXPECT_EQ(t.ResolveArgv("quay.io/x/populator@sha256:abc", {}, {"--a"}, "/bin"),
            (std::vector<std::string>{"/opt/pop", "xcopy", "--a"}));
  EXPECT_EQ(t.ResolveArgv("quay.io/x/populator", {"/usr/bin/populator"}, {"--b"}, "/bin"),
            (std::vector<std::string>{"/opt/pop", "--b"}));
  auto sh = t.ResolveArgv("docker.io/library/busybox:1.36", {"sh", "-c", "true"}, {}, "/usr/bin:/bin");
  EXPECT_EQ(sh[0].substr(sh[0].size() - 3), "/sh");
  EXPECT_THROW(t.ResolveArgv("nginx", {}, {}, "/bin"), hoist::Error);
}

TEST(KubeletImages, LoadsYamlAndFlags) {
  char dir[] = "/tmp/hoist-images-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/images.yaml";
  std::ofstream(path)
      << "images:\n  tool: /usr/bin/tool\n  long:\n    entrypoint: [/bin/x, y]\n    cmd: [z]\n";
  ImageTable t;
  t.LoadFile(path);
  t.AddFlag("flagged=/bin/true");
  EXPECT_EQ(t.ResolveArgv("tool", {}, {"a"}, ""), (std::vector<std::string>{"/usr/bin/tool", "a"}));
  EXPECT_EQ(t.ResolveArgv("long", {}, {}, ""), (std::vector<std::string>{"/bin/x", "y", "z"}));
  EXPECT_EQ(t.ResolveArgv("flagged:latest", {}, {}, ""), (std::vector<std::string>{"/bin/true"}));
  EXPECT_THROW(t.AddFlag("nopath"), hoist::Error);
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace hoist::lab

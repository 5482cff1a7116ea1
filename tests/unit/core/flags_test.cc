// Flags as Forklift's Go programs take them: the exact argument forms its controller passes, the
// environment fallbacks its populators read, and messages that never show a secret.
#include "core/flags.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist {
namespace {

std::function<std::optional<std::string>(const std::string&)> EnvOf(std::map<std::string, std::string> env) {
  return [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

std::string MessageOf(FlagSet& f, const std::vector<std::string>& args) {
  try {
    f.Parse(args);
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    return e.what();
  }
  return "";
}

TEST(Flags, AcceptsEveryGoForm) {
  FlagSet f("prog");
  f.SetEnvLookupForTest(EnvOf({}));
  auto& a = f.String("source-vm-id", "", "vm");
  auto& b = f.Int("pvc-size", 0, "size");
  auto& c = f.String("owner-uid", "", "uid");
  auto& d = f.Bool("insecure", false, "skip TLS");
  auto& e = f.Duration("timeout", 30000, "timeout");
  f.Parse({"--source-vm-id=vm-42", "-pvc-size", "1073741824", "--owner-uid", "u-1", "--insecure", "-timeout=1m30s",
           "pos", "--", "--not-a-flag"});
  EXPECT_EQ(*a, "vm-42");
  EXPECT_EQ(*b, 1073741824);
  EXPECT_EQ(*c, "u-1");
  EXPECT_TRUE(*d);
  EXPECT_EQ(*e, 90000);
  EXPECT_EQ(f.positional(), (std::vector<std::string>{"pos", "--not-a-flag"}));
  EXPECT_EQ(a.source(), "flag");
}

TEST(Flags, ValuesMayContainEqualsAndSpaces) {
  FlagSet f("prog");
  f.SetEnvLookupForTest(EnvOf({}));
  auto& v = f.String("source-vmdk", "", "vmdk");
  f.Parse({"--source-vmdk=[my ds] vm a/b=c.vmdk"});
  EXPECT_EQ(*v, "[my ds] vm a/b=c.vmdk");
}

TEST(Flags, CommandLineWinsOverEnvironmentWhichWinsOverDefault) {
  FlagSet f("prog");
  f.SetEnvLookupForTest(EnvOf({{"STORAGE_HOSTNAME", "10.0.0.5"}, {"ESXI_CLONE_METHOD", "ssh"}, {"EMPTY", ""}}));
  auto& host = f.String("storage-hostname", "", "array").Env("STORAGE_HOSTNAME");
  auto& method = f.String("esxi-clone-method", "vib", "method").Env("ESXI_CLONE_METHOD");
  auto& other = f.String("other", "dflt", "x").Env("EMPTY");
  f.Parse({"--esxi-clone-method=vib"});
  EXPECT_EQ(*host, "10.0.0.5");
  EXPECT_EQ(host.source(), "env");
  EXPECT_EQ(*method, "vib");
  EXPECT_EQ(*other, "dflt");  // an empty variable does not override the default
  EXPECT_FALSE(other.set());
}

TEST(Flags, BooleansFollowGoParseBool) {
  FlagSet f("prog");
  f.SetEnvLookupForTest(EnvOf({{"STORAGE_SKIP_SSL_VERIFICATION", " True "}}));
  auto& skip = f.Bool("storage-skip-ssl-verification", false, "skip").Env("STORAGE_SKIP_SSL_VERIFICATION");
  auto& x = f.Bool("x", true, "x");
  f.Parse({"--x=false"});
  EXPECT_TRUE(*skip);
  EXPECT_FALSE(*x);
  FlagSet g("prog");
  g.SetEnvLookupForTest(EnvOf({}));
  g.Bool("y", false, "y");
  EXPECT_NE(MessageOf(g, {"--y=yes"}).find("invalid value \"yes\" for --y"), std::string::npos);
}

TEST(Flags, ErrorsNameTheFlagAndNeverTheSecret) {
  FlagSet f("hoist-populator xcopy");
  f.SetEnvLookupForTest(EnvOf({{"PVC_SIZE", "12x"}}));
  f.String("vsphere-password", "", "pw").Env("GOVMOMI_PASSWORD").Secret().Required();
  f.Int("pvc-size", 0, "size").Env("PVC_SIZE");
  std::string m = MessageOf(f, {"--vsphere-password=hunter2"});
  EXPECT_NE(m.find("invalid value \"12x\" for --pvc-size (from $PVC_SIZE)"), std::string::npos) << m;

  FlagSet g("hoist-populator xcopy");
  g.SetEnvLookupForTest(EnvOf({}));
  g.Int("n", 0, "n").Secret();
  m = MessageOf(g, {"--n=hunter2"});
  EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
  EXPECT_NE(m.find("<redacted>"), std::string::npos) << m;

  FlagSet h("hoist-populator xcopy");
  h.SetEnvLookupForTest(EnvOf({}));
  h.String("vsphere-hostname", "", "vc").Env("GOVMOMI_HOSTNAME").Required();
  h.String("source-vm-id", "", "vm").Required();
  m = MessageOf(h, {});
  EXPECT_EQ(m, "hoist-populator xcopy: missing required settings --vsphere-hostname (or $GOVMOMI_HOSTNAME), "
               "--source-vm-id");
  EXPECT_EQ(MessageOf(h, {"--bogus=1"}), "hoist-populator xcopy: unknown flag --bogus");
}

TEST(Flags, MissingValueAndHelp) {
  FlagSet f("prog");
  f.SetEnvLookupForTest(EnvOf({}));
  f.String("a", "", "a");
  EXPECT_EQ(MessageOf(f, {"--a"}), "prog: flag --a needs a value");
  FlagSet g("prog");
  g.SetEnvLookupForTest(EnvOf({}));
  g.String("a", "", "a").Required();
  g.Parse({"-h"});
  EXPECT_TRUE(g.help_requested());
  EXPECT_NE(g.Usage().find("--a=VALUE"), std::string::npos);
}

TEST(Flags, DescribeRedactsSecrets) {
  FlagSet f("prog");
  f.SetEnvLookupForTest(EnvOf({{"GOVMOMI_PASSWORD", "s3cret"}}));
  f.String("vsphere-password", "", "pw").Env("GOVMOMI_PASSWORD").Secret();
  f.String("token", "", "t").Secret();
  f.String("host", "vc.lab", "h");
  f.Parse({});
  auto d = f.Describe();
  EXPECT_EQ(d["vsphere-password"], "<redacted>");
  EXPECT_EQ(d["token"], "");
  EXPECT_EQ(d["host"], "vc.lab");
}

TEST(Flags, DurationsLikeGo) {
  EXPECT_EQ(ParseDurationMs("10s"), 10000);
  EXPECT_EQ(ParseDurationMs("1h2m3.5s"), 3723500);
  EXPECT_EQ(ParseDurationMs("250ms"), 250);
  EXPECT_EQ(ParseDurationMs("30"), 30000);
  EXPECT_EQ(ParseDurationMs("0.5"), 500);
  EXPECT_FALSE(ParseDurationMs("10 parsecs"));
  EXPECT_FALSE(ParseDurationMs("-1s"));
  EXPECT_FALSE(ParseDurationMs(""));
}

}  // namespace
}  // namespace hoist

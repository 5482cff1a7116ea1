#include "esxi/wrapper_command.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist::esxi {
namespace {

const WrapperCapabilities kHoist{.hex_args = true, .quoted_ssh_args = true};
const WrapperCapabilities kForklift{};

TEST(CloneArgs, PlainPathsTravelAsTheyAre) {
  auto a = CloneArgs("/vmfs/volumes/my ds/vm/vm.vmdk", "/vmfs/devices/disks/naa.6001", kForklift);
  std::vector<std::string> want = {"--clone", "-s", "/vmfs/volumes/my ds/vm/vm.vmdk", "-t",
                                   "/vmfs/devices/disks/naa.6001"};
  EXPECT_EQ(a, want);
}

TEST(CloneArgs, QuotesNeedHexOrFail) {
  auto a = CloneArgs("/vmfs/volumes/ds/it's/a.vmdk", "/vmfs/devices/disks/naa.1", kHoist);
  EXPECT_EQ(a[2], "hex:" + std::string("2f766d66732f766f6c756d65732f64732f69742773") + "2f612e766d646b");
  EXPECT_EQ(a[4], "/vmfs/devices/disks/naa.1");
  try {
    CloneArgs("/vmfs/volumes/ds/it's/a.vmdk", "/vmfs/devices/disks/naa.1", kForklift);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
  }
}

TEST(ShellQuote, SingleQuotes) {
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
}

TEST(SshRequest, QuotedForHoistsWrapper) {
  auto r = SshRequest(
      "my ds", CloneArgs("/vmfs/volumes/my ds/vm \"q\"/a.vmdk", "/vmfs/devices/disks/naa.1", kHoist), kHoist);
  EXPECT_EQ(
      r,
      "DS=my ds;CMD=--clone -s hex:2f766d66732f766f6c756d65732f6d792064732f766d202271222f612e766d646b -t "
      "/vmfs/devices/disks/naa.1");
  auto g = SshRequest("ds1", {"--clone", "-s", "/vmfs/volumes/ds1/v m/a.vmdk", "-t", "x"}, kHoist);
  EXPECT_EQ(g, "DS=ds1;CMD=--clone -s '/vmfs/volumes/ds1/v m/a.vmdk' -t x");
}

TEST(SshRequest, ForkliftWrapperCannotTakeSpaces) {
  EXPECT_EQ(SshRequest("ds1", TaskGetArgs("abc"), kForklift), "DS=ds1;CMD=--task-get -i abc");
  EXPECT_THROW(SshRequest("ds1", {"--clone", "-s", "/vmfs/volumes/ds1/v m/a.vmdk"}, kForklift), Error);
}

TEST(SshRequest, RejectsDatastoreNamesTheForcedCommandCannotCarry) {
  EXPECT_THROW(SshRequest("", VersionArgs(), kHoist), Error);
  EXPECT_THROW(SshRequest("a/b", VersionArgs(), kHoist), Error);
  EXPECT_THROW(SshRequest("..", VersionArgs(), kHoist), Error);
  EXPECT_THROW(SshRequest("x;CMD=y", VersionArgs(), kHoist), Error);
  EXPECT_EQ(SshRequest("a;b", VersionArgs(), kHoist), "DS=a;b;CMD=--version");
}

TEST(RestrictedKeyLine, EscapesQuotesAndRestricts) {
  std::string line = RestrictedKeyLine("ssh-rsa AAAAB3Nza test@hoist\n");
  EXPECT_TRUE(line.starts_with("command=\""));
  EXPECT_TRUE(line.ends_with(
      ",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty ssh-rsa AAAAB3Nza test@hoist"));
  EXPECT_NE(line.find("exec sh \\\"/vmfs/volumes/$d/secure-vmkfstools-wrapper\\\""), std::string::npos);
  // Inside command="…" the only escape sshd knows is \" — the program must not need others.
  std::string program(ForcedCommandProgram());
  EXPECT_EQ(program.find('\\'), std::string::npos);
}

}  // namespace
}  // namespace hoist::esxi

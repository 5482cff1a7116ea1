// Object names: Forklift's template and deterministic suffix.
#include <gtest/gtest.h>

#include "planner/names.h"

namespace hoist::planner {
namespace {

TEST(PlannerNames, DnsLabelPart) {
  EXPECT_EQ(DnsLabelPart("Web Server_01", 63), "web-server-01");
  EXPECT_EQ(DnsLabelPart("--a..b--", 63), "a-b");
  EXPECT_EQ(DnsLabelPart("abcdefghijklmno-pqr", 15), "abcdefghijklmno");
  EXPECT_EQ(DnsLabelPart("abcdefghijklmn-pqr", 15), "abcdefghijklmn");  // no trailing '-'
  EXPECT_EQ(DnsLabelPart("日本", 15), "");
}

TEST(PlannerNames, DiskObjectNameFollowsForkliftsDeterministicScheme) {
  // sha256("mig-uid-1-vm-20-2000-[san-ds1] vm1/vm1.vmdk-0") = 986a0e1a…
  EXPECT_EQ(DiskObjectName("wave-1", "vm1", 0, "mig-uid-1", "vm-20", 2000, "[san-ds1] vm1/vm1.vmdk"),
            "wave-1-vm1-disk-0-986a0e1a");
  // Same inputs, same name; another disk, another name.
  EXPECT_EQ(DiskObjectName("wave-1", "vm1", 0, "mig-uid-1", "vm-20", 2000, "[san-ds1] vm1/vm1.vmdk"),
            DiskObjectName("wave-1", "vm1", 0, "mig-uid-1", "vm-20", 2000, "[san-ds1] vm1/vm1.vmdk"));
  EXPECT_NE(DiskObjectName("wave-1", "vm1", 1, "mig-uid-1", "vm-20", 2001, "[san-ds1] vm1/vm1_1.vmdk"),
            DiskObjectName("wave-1", "vm1", 0, "mig-uid-1", "vm-20", 2000, "[san-ds1] vm1/vm1.vmdk"));
}

TEST(PlannerNames, DiskObjectNameIsAValidNameForAnyVmName) {
  std::string n = DiskObjectName("A Very Long Plan Name Indeed", "Ünïcode VM / with spaces and more", 12, "u", "vm-7",
                                 2012, "[x] y.vmdk");
  EXPECT_LE(n.size(), 63u);
  EXPECT_EQ(n.rfind("a-very-long-pla-n-code-vm-with-disk-12-", 0), 0u) << n;
  for (char c : n) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') << n;
  // A VM name with no usable character falls back to the VM id.
  EXPECT_EQ(DiskObjectName("p", "日本", 0, "u", "vm-7", 1, "f").rfind("p-vm-7-disk-0-", 0), 0u);
}

TEST(PlannerNames, BindingsArePerNamespace) {
  EXPECT_EQ(PvReaderBindingName("vms"), "populator-pv-reader-binding-vms");
  EXPECT_EQ(LeaseBindingName("vms"), "populator-lease-reader-binding-vms");
}

}  // namespace
}  // namespace hoist::planner

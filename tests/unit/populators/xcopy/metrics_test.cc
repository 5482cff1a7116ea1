// The populator's metrics as Forklift's populator controller reads them (reference §7.1): names,
// labels, and the regular expressions the controller applies to the exposition.
#include "populators/xcopy/metrics.h"

#include <gtest/gtest.h>

#include <regex>

namespace hoist::populators::xcopy {
namespace {

TEST(XcopyMetrics, ProgressOnlyMovesForwardAndCompletionCarriesTheLabels) {
  prom::Registry r;
  Metrics m(r, "uid-1", "ontap", "vib");
  m.Protocol("iscsi");
  m.WrapperVersion("2.0.0");
  m.Progress(40);
  m.Progress(30);
  m.Progress(-1);  // never a made-up value (Forklift's §9.4 #1)
  m.XcopyUsed(true);
  std::string text = r.Expose();
  EXPECT_NE(text.find("vsphere_xcopy_volume_populator_progress{owner_uid=\"uid-1\"} 40"), std::string::npos) << text;
  EXPECT_EQ(text.find("copy_duration_seconds{"), std::string::npos) << "no completion before the end";

  FlowResult res;
  res.clone_method = "vib";
  res.protocol = "iscsi";
  res.xcopy_used = true;
  res.provisioned_bytes = 1073741824;
  res.allocated_bytes = 1048576;
  res.soap_round_trips = 17;
  m.Progress(100);
  m.Complete(true, res, std::chrono::duration<double>(12.5));
  text = r.Expose();
  // The controller's regexes (reference §7.2).
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      text, match, std::regex(R"(vsphere_xcopy_volume_populator_progress\{[^}]*owner_uid="uid-1"[^}]*\} (\d+\.?\d*))")));
  EXPECT_EQ(match[1], "100");
  ASSERT_TRUE(std::regex_search(
      text, match, std::regex(R"(vsphere_xcopy_volume_populator_xcopy_used\{[^}]*owner_uid="uid-1"[^}]*\} (\d+))")));
  EXPECT_EQ(match[1], "1");
  ASSERT_TRUE(std::regex_search(text, match, std::regex(R"(vsphere_xcopy_volume_populator_vib_version\{([^}]*)\} (\d+))")));
  EXPECT_NE(match[1].str().find("version=\"2.0.0\""), std::string::npos);
  ASSERT_TRUE(std::regex_search(
      text, match,
      std::regex(R"(vsphere_xcopy_volume_populator_copy_duration_seconds\{([^}]*owner_uid="uid-1"[^}]*)\} ([0-9.]+))")));
  EXPECT_EQ(match[2], "12.5");
  std::string labels = match[1];
  for (const char* l : {"result=\"success\"", "storage_vendor=\"ontap\"", "clone_method=\"vib\"", "xcopy_used=\"1\"",
                        "storage_protocol=\"iscsi\""}) {
    EXPECT_NE(labels.find(l), std::string::npos) << l << " in " << labels;
  }
  EXPECT_NE(text.find("type=\"provisioned\"} 1073741824"), std::string::npos) << text;
  EXPECT_NE(text.find("type=\"datastore_allocated\"} 1048576"), std::string::npos) << text;
  EXPECT_NE(text.find("hoist_xcopy_soap_round_trips 17"), std::string::npos) << text;
}

TEST(XcopyMetrics, FailureHasNoDiskBytesAndProtocolNa) {
  prom::Registry r;
  Metrics m(r, "uid-2", "ontap", "ssh");
  m.Protocol("fc");
  m.WrapperVersion("2.0.0");  // SSH method: no vib_version (Forklift reports it for VIB only)
  FlowResult res;
  res.provisioned_bytes = 5;
  m.Complete(false, res, std::chrono::duration<double>(1));
  std::string text = r.Expose();
  EXPECT_EQ(text.find("source_disk_bytes{"), std::string::npos) << text;
  EXPECT_EQ(text.find("vib_version{"), std::string::npos) << text;
  EXPECT_NE(text.find("result=\"failure\""), std::string::npos) << text;
  EXPECT_NE(text.find("storage_protocol=\"n/a\""), std::string::npos) << text;
  EXPECT_NE(text.find("clone_method=\"ssh\""), std::string::npos) << text;
}

}  // namespace
}  // namespace hoist::populators::xcopy

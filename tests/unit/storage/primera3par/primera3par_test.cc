#include <gtest/gtest.h>

#include "core/error.h"
#include "storage/primera3par/primera3par_array.h"
#include "storage/registry.h"

namespace hoist::storage::primera3par {
namespace {

TEST(Primera3parErrors, ParsesTheWsapiErrorBody) {
  ApiError e = ParseApiError(404, R"({"code":23,"desc":"volume does not exist"})");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.code, "23");
  EXPECT_EQ(e.desc, "volume does not exist");
  EXPECT_EQ(ParseApiError(403, R"({"code":6,"desc":"invalid session key"})").code, kCodeInvalidSessionKey);
  EXPECT_EQ(ParseApiError(502, "<html>Bad Gateway</html>").code, "");
  // Some gateways put the text under "message".
  EXPECT_EQ(ParseApiError(500, R"({"code":0,"message":"busy"})").desc, "busy");
}

TEST(Primera3parNames, VolumeIsTheFirst31CharactersOfTheHandle) {
  EXPECT_EQ(VolumeNameFromHandle("pvc-0f8e3f6e-39e4-4f63-8bde-0d7c0a6b1c2d"),
            "pvc-0f8e3f6e-39e4-4f63-8bde-0d7");
  EXPECT_EQ(VolumeNameFromHandle("pvc-short"), "pvc-short");
}

TEST(Primera3parNames, HostSetNamesFitTheArraysLimit) {
  EXPECT_EQ(HostSetName("xcopy-hostsystem-host-12"), "xcopy-hostsystem-host-12");
  std::string exact(kMaxSetName, 'a');
  EXPECT_EQ(HostSetName(exact), exact);
  std::string long_name = "xcopy-hostsystem-host-1234567890";
  std::string set = HostSetName(long_name);
  EXPECT_EQ(set.size(), kMaxSetName);
  EXPECT_EQ(set.rfind("xcopy-", 0), 0u);
  EXPECT_EQ(HostSetName(long_name), set) << "every run must find the same set";
  EXPECT_NE(HostSetName(long_name + "1"), set);
  // `set:<name>` fits in the 31 characters a VLUN's hostname has.
  EXPECT_LE(("set:" + set).size(), kMaxObjectName);
}

TEST(Primera3parNames, HostNamesFit31Characters) {
  EXPECT_EQ(HostName("xcopy-hostsystem-host-12", ""), "xcopy-hostsystem-host-12");
  EXPECT_EQ(HostName("xcopy-hostsystem-host-12", "-iscsi"), "xcopy-hostsystem-host-12-iscsi");
  std::string h = HostName("xcopy-hostsystem-host-1234567890", "-iscsi");
  EXPECT_LE(h.size(), kMaxObjectName);
  EXPECT_EQ(h.substr(h.size() - 6), "-iscsi");
}

TEST(Primera3parQueries, HostQueryNamesEveryPath) {
  EXPECT_EQ(HostQuery({"20000025B500000F"}, {}), "\"FCPaths[wwn EQ 20000025B500000F]\"");
  EXPECT_EQ(HostQuery({"20000025B500000F", "20000025B500001F"}, {"iqn.1998-01.com.vmware:esx1"}),
            "\"FCPaths[wwn EQ 20000025B500000F OR wwn EQ 20000025B500001F] OR "
            "iSCSIPaths[name EQ iqn.1998-01.com.vmware:esx1]\"");
}

TEST(Primera3parRegistry, RegistersPrimera3par) {
  VendorRegistry r;
  RegisterVendor(r);
  EXPECT_TRUE(r.Has("primera3par"));
}

}  // namespace
}  // namespace hoist::storage::primera3par

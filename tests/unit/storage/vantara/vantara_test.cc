#include <gtest/gtest.h>

#include "core/error.h"
#include "storage/registry.h"
#include "storage/vantara/vantara_array.h"

namespace hoist::storage::vantara {
namespace {

TEST(VantaraHandles, ParsesTheHspcVolumeHandle) {
  VolumeHandle h = ParseVolumeHandle("01--iscsi--800000012345--261--pvc-3d1e0f9c-7d0b-4b8e");
  EXPECT_EQ(h.protocol, "iscsi");
  EXPECT_EQ(h.storage_device_id, "800000012345");
  EXPECT_EQ(h.ldev_id, 261);
  EXPECT_EQ(h.nickname, "pvc-3d1e0f9c-7d0b-4b8e");
  // A nickname containing the separator stays whole.
  EXPECT_EQ(ParseVolumeHandle("01--FC--800000012345--7--a--b").nickname, "a--b");
  EXPECT_EQ(ParseVolumeHandle("01--FC--800000012345--7--a--b").protocol, "fc");
  EXPECT_EQ(ParseVolumeHandle("01--fc--800000012345--7").nickname, "");
  for (const char* bad : {"", "pvc-1", "02--fc--800000012345--7--x", "01--fc--800000012345--seven--x",
                          "01--fc----7--x", "01--fc--800000012345---1--x"}) {
    try {
      ParseVolumeHandle(bad);
      FAIL() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
      EXPECT_NE(std::string(e.what()).find("hspc.csi.hitachi.com"), std::string::npos) << e.what();
    }
  }
}

TEST(VantaraGroups, HostGroupIdsRoundTripSorted) {
  auto refs = ParseGroup("CL2-A,3;CL1-A,12;CL2-A,3");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].Id(), "CL1-A,12");
  EXPECT_EQ(refs[1].Id(), "CL2-A,3");
  EXPECT_EQ(GroupName(refs), "CL1-A,12;CL2-A,3");
  EXPECT_EQ(GroupName({{"CL2-B", 1}, {"CL1-B", 1}}), "CL1-B,1;CL2-B,1");
  EXPECT_THROW(ParseGroup("CL1-A"), Error);
  EXPECT_THROW(ParseGroup("CL1-A,x"), Error);
}

TEST(VantaraGroups, ForkliftsHostGroupList) {
  auto refs = ParseHostGroupList("CL1-A,1:CL2-B,2");
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(GroupName(refs), "CL1-A,1;CL2-B,2");
}

TEST(VantaraErrors, ParsesTheErrorBodyAndJobErrors) {
  ApiError e = ParseApiError(503, R"({"errorSource":"/ConfigurationManager/v1/objects/storages/1/ldevs/1",
    "messageId":"KART00003-E","message":"The REST API server is busy.","solution":"Wait, then retry."})");
  EXPECT_EQ(e.message_id, "KART00003-E");
  EXPECT_EQ(e.message, "The REST API server is busy.");
  EXPECT_EQ(e.solution, "Wait, then retry.");
  ApiError job = ParseApiError(200, R"({"jobId":5,"status":"Completed","state":"Failed",
    "error":{"messageId":"KART40051-E","message":"refused","errorCode":{"SSB1":"B958","SSB2":"0233"}}})");
  EXPECT_EQ(job.ssb1, "B958");
  EXPECT_EQ(job.ssb2, "0233");
  EXPECT_EQ(ParseApiError(502, "<html/>").message_id, "");
}

TEST(VantaraRegistry, RegistersVantara) {
  VendorRegistry r;
  RegisterVendor(r);
  EXPECT_TRUE(r.Has("vantara"));
}

}  // namespace
}  // namespace hoist::storage::vantara

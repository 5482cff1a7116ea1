#include <gtest/gtest.h>

#include "core/error.h"
#include "storage/identifiers.h"
#include "storage/powerflex/powerflex_array.h"
#include "storage/registry.h"

namespace hoist::storage::powerflex {
namespace {

TEST(PowerFlexHandles, ParsesTheCsiVxflexosHandle) {
  VolumeHandle h = ParseVolumeHandle("3cbd4d8c6a3e04bf-6FC4A5E400000004");
  EXPECT_EQ(h.system_id, "3cbd4d8c6a3e04bf");
  EXPECT_EQ(h.volume_id, "6fc4a5e400000004");
  EXPECT_EQ(ParseVolumeHandle("6fc4a5e400000004").system_id, "");
  for (const char* bad : {"", "3cbd4d8c6a3e04bf-", "pvc-1234", "zz-6fc4a5e400000004"}) {
    try {
      ParseVolumeHandle(bad);
      FAIL() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
      EXPECT_NE(std::string(e.what()).find("csi-vxflexos"), std::string::npos) << e.what();
    }
  }
}

TEST(PowerFlexDevices, VolumesAppearOnEsxiAsEuiNames) {
  EXPECT_EQ(EuiFromIds("3cbd4d8c6a3e04bf", "6fc4a5e400000004"), "eui.3cbd4d8c6a3e04bf6fc4a5e400000004");
  EXPECT_TRUE(IsDeviceName(EuiFromIds("3cbd4d8c6a3e04bf", "6fc4a5e400000004")));
}

TEST(PowerFlexSdcs, RecognisesSdcGuids) {
  EXPECT_TRUE(IsSdcGuid("6d2ec3b1-5f0e-4a7e-8b3c-1a2b3c4d5e6f"));
  EXPECT_TRUE(IsSdcGuid("6D2EC3B1-5F0E-4A7E-8B3C-1A2B3C4D5E6F"));
  EXPECT_FALSE(IsSdcGuid("iqn.1998-01.com.vmware:esx1"));
  EXPECT_FALSE(IsSdcGuid("6d2ec3b1-5f0e-4a7e-8b3c-1a2b3c4d5e6"));
  EXPECT_FALSE(IsSdcGuid("6d2ec3b1-5f0e-4a7e-8b3c-1a2b3c4d5e6fx"));
  EXPECT_FALSE(IsSdcGuid("6d2ec3b15f0e4a7e8b3c1a2b3c4d5e6f"));
}

TEST(PowerFlexErrors, ParsesTheGatewayErrorBody) {
  ApiError e =
      ParseApiError(500, R"({"message":"Could not find the volume","httpStatusCode":500,"errorCode":79})");
  EXPECT_EQ(e.code, "79");
  EXPECT_EQ(e.message, "Could not find the volume");
}

TEST(PowerFlexArrays, DoNotOffloadAndUseSdcs) {
  ArrayConfig c = ArrayConfigFromSecret(
      {{"STORAGE_HOSTNAME", "gw.example"}, {"STORAGE_USERNAME", "u"}, {"STORAGE_PASSWORD", "p"}});
  PowerFlexArray a(c);
  EXPECT_FALSE(a.capabilities().xcopy);
  EXPECT_FALSE(a.capabilities().scsi_initiators);
  EXPECT_EQ(a.Describe(), "PowerFlex gw.example");
}

TEST(PowerFlexRegistry, RegistersPowerflex) {
  VendorRegistry r;
  RegisterVendor(r);
  EXPECT_TRUE(r.Has("powerflex"));
}

}  // namespace
}  // namespace hoist::storage::powerflex

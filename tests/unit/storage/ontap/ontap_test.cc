#include <gtest/gtest.h>

#include "core/error.h"
#include "storage/ontap/ontap_array.h"
#include "storage/ontap/rest.h"
#include "storage/registry.h"

namespace hoist::storage::ontap {
namespace {

TEST(OntapErrors, ParsesTheErrorBody) {
  ApiError e = ParseApiError(409, R"({"error":{"message":"duplicate entry","code":"1","target":"name"}})");
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(e.code, "1");
  EXPECT_EQ(e.message, "duplicate entry");
  EXPECT_EQ(e.target, "name");
  // Numeric codes (as the documentation shows them) read the same.
  EXPECT_EQ(ParseApiError(404, R"({"error":{"message":"entry doesn't exist","code":4}})").code, "4");
  ApiError none = ParseApiError(502, "<html>Bad Gateway</html>");
  EXPECT_EQ(none.code, "");
  EXPECT_EQ(none.status, 502);
}

TEST(OntapErrors, ClassAndMessage) {
  CallError dup = ErrorFromResponse("creating igroup xcopy-host-12-iscsi", "10.0.0.5", 409,
                                    R"({"error":{"message":"duplicate entry","code":"1","target":"name"}})");
  EXPECT_TRUE(AlreadyExists(dup));
  EXPECT_EQ(dup.error_class(), ErrorClass::kTransient);
  std::string msg = dup.what();
  EXPECT_NE(msg.find("creating igroup xcopy-host-12-iscsi on ONTAP 10.0.0.5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"duplicate entry\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("target name"), std::string::npos) << msg;

  CallError auth = ErrorFromResponse("listing SVMs", "10.0.0.5", 401,
                                     R"({"error":{"message":"not authorized for that command","code":"6"}})");
  EXPECT_EQ(auth.error_class(), ErrorClass::kPrecondition);
  EXPECT_NE(std::string(auth.what()).find("STORAGE_PASSWORD"), std::string::npos);
  EXPECT_FALSE(AlreadyExists(auth));

  EXPECT_EQ(ErrorFromResponse("x", "h", 503, "").error_class(), ErrorClass::kTransient);
  EXPECT_EQ(ErrorFromResponse("x", "h", 400, R"({"error":{"code":"2","message":"bad"}})").error_class(),
            ErrorClass::kPrecondition);
  EXPECT_EQ(ErrorFromResponse("x", "h", 404, "{}").status(), 404);
  EXPECT_NE(
      std::string(ErrorFromResponse("x", "h", 502, "<html>Bad Gateway</html>").what()).find("Bad Gateway"),
      std::string::npos);
}

TEST(OntapNaa, FromSerial) {
  EXPECT_EQ(NaaFromSerial("81M-L$Jokko1"), "naa.600a098038314d2d4c244a6f6b6b6f31");
}

TEST(OntapVolumes, TridentAttributesToLunPath) {
  VolumeRef san{"pv1", "csi.trident.netapp.io", "pvc-1", {{"internalName", "trident_pvc_1"}}};
  EXPECT_EQ(LunPathFromVolume(san), "/vol/trident_pvc_1/lun0");
  VolumeRef economy{"pv2",
                    "csi.trident.netapp.io",
                    "pvc-2",
                    {{"internalName", "trident_pvc_2"},
                     {"internalID", "/svm/svm0/flexvol/trident_lun_pool_abc/lun/trident_pvc_2"}}};
  EXPECT_EQ(LunPathFromVolume(economy), "/vol/trident_lun_pool_abc/trident_pvc_2");
  VolumeRef none{"pv3", "csi.trident.netapp.io", "pvc-3", {}};
  try {
    LunPathFromVolume(none);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("pv3"), std::string::npos);
  }
}

TEST(OntapIgroups, ProtocolFromInitiators) {
  EXPECT_EQ(IgroupProtocol({"iqn.1998-01.com.vmware:esx1-0001"}), "iscsi");
  EXPECT_EQ(IgroupProtocol({"fc.20000025b5000001:20000025b500000f"}), "fcp");
  EXPECT_EQ(IgroupProtocol({"iqn.x", "fc.20000025b5000001:20000025b500000f"}), "mixed");
}

TEST(OntapRegistry, RegistersOntap) {
  VendorRegistry r;
  RegisterVendor(r);
  ArrayConfig c;
  c.hostname = "10.0.0.5";
  c.username = "admin";
  c.password = "pw";
  EXPECT_EQ(r.Create("ontap", c)->Describe(), "ONTAP 10.0.0.5");
}

}  // namespace
}  // namespace hoist::storage::ontap

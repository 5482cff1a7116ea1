#include "storage/identifiers.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist::storage {
namespace {

TEST(Naa, AsciiSerialIsHexEncodedAfterThePrefix) {
  // The lab world's NetApp datastore LUN: serial "81M-L$Jokko1".
  EXPECT_EQ(NaaFromAsciiSerial("600a0980", "81M-L$Jokko1"), "naa.600a098038314d2d4c244a6f6b6b6f31");
  EXPECT_EQ(NaaFromAsciiSerial("600A0980", "80D3N$Nk7PpZ"), "naa.600a0980383044334e244e6b3750705a");
  EXPECT_EQ(NaaFromAsciiSerial("600a0980", "80D3N$Nk7PpZ").size(), 4u + 32u);
}

TEST(Naa, EmptySerialOrBadPrefixIsABug) {
  try {
    NaaFromAsciiSerial("600a0980", "");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kBug);
  }
  EXPECT_THROW(NaaFromAsciiSerial("60xz", "abc"), Error);
}

TEST(Naa, HexSerialWwnAndEui) {
  EXPECT_EQ(NaaFromHexSerial("624a9370", "A1B2C3D4E5F6A7B8C9D0E1F2"), "naa.624a9370a1b2c3d4e5f6a7b8c9d0e1f2");
  EXPECT_THROW(NaaFromHexSerial("624a9370", "not-hex"), Error);
  EXPECT_EQ(NaaFromWwn("60002AC0000000000000001A0001F5E5"), "naa.60002ac0000000000000001a0001f5e5");
  EXPECT_EQ(NaaFromWwn("naa.68CCF09800AB"), "naa.68ccf09800ab");
  EXPECT_EQ(NaaFromWwn("60:00:2a:c0"), "naa.60002ac0");
  EXPECT_EQ(EuiFromIds("1A2B3C4D5E6F7081", "9E8D7C6B00000001"), "eui.1a2b3c4d5e6f70819e8d7c6b00000001");
  EXPECT_THROW(EuiFromIds("", "01"), Error);
}

TEST(DeviceName, Recognized) {
  EXPECT_TRUE(IsDeviceName("naa.600a098038314d2d4c244a6f6b6b6f31"));
  EXPECT_TRUE(IsDeviceName("eui.1a2b3c4d5e6f7081"));
  EXPECT_FALSE(IsDeviceName("naa.600a"));
  EXPECT_FALSE(IsDeviceName("mpx.vmhba0:C0:T0:L0"));
  EXPECT_FALSE(IsDeviceName("naa.600a098038314d2d4c244a6f6b6b6fzz"));
}

TEST(Wwn, NormalizeAndColons) {
  EXPECT_EQ(NormalizeWwn("20:00:00:25:b5:00:00:0f"), "20000025B500000F");
  EXPECT_EQ(WwnWithColons("20000025b500000f"), "20:00:00:25:B5:00:00:0F");
  EXPECT_THROW(NormalizeWwn("2000"), Error);
}

TEST(Initiators, ParsesEsxiForms) {
  Initiator fc = ParseInitiator("fc.20000025b5000001:20000025b500000f");
  EXPECT_EQ(fc.protocol, Protocol::kFc);
  EXPECT_EQ(fc.wwnn, "20000025B5000001");
  EXPECT_EQ(fc.name, "20000025B500000F");
  EXPECT_EQ(ParseInitiator("iqn.1998-01.com.vmware:esx1-0001").protocol, Protocol::kIscsi);
  EXPECT_EQ(ParseInitiator("nqn.2014-08.org.nvmexpress:uuid:1").protocol, Protocol::kNvme);
  EXPECT_EQ(ParseInitiator("21:00:00:24:ff:4c:9a:01").protocol, Protocol::kFc);
  try {
    ParseInitiator("vmhba65");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("vmhba65"), std::string::npos);
  }
  EXPECT_THROW(ParseInitiator("fc.2000:2000"), Error);
}

TEST(Initiators, ProtocolOfASet) {
  EXPECT_EQ(ProtocolOfInitiators({"iqn.a", "iqn.b"}), Protocol::kIscsi);
  EXPECT_EQ(ProtocolOfInitiators({"fc.20000025b5000001:20000025b500000f"}), Protocol::kFc);
  EXPECT_EQ(ProtocolOfInitiators({"iqn.a", "fc.20000025b5000001:20000025b500000f"}), Protocol::kMixed);
  EXPECT_EQ(ProtocolOfInitiators({}), Protocol::kUnknown);
  EXPECT_EQ(ProtocolName(Protocol::kFc), "fc");
}

}  // namespace
}  // namespace hoist::storage

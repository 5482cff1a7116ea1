#include "storage/all/vendors.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist::storage::all {
namespace {

TEST(AllVendors, RegistersEveryVendorByItsStorageVendorProduct) {
  VendorRegistry r;
  RegisterVendors(r);
  EXPECT_EQ(r.products(), (std::vector<std::string>{"ontap", "powerflex", "primera3par", "vantara"}));
  ArrayConfig c = ArrayConfigFromSecret(
      {{"STORAGE_HOSTNAME", "array.example:8080"}, {"STORAGE_USERNAME", "u"}, {"STORAGE_PASSWORD", "p"}});
  for (const auto& product : r.products()) EXPECT_NE(r.Create(product, c), nullptr) << product;
  EXPECT_EQ(r.Create("primera3par", c)->Describe(), "Primera/3PAR array.example:8080");
  EXPECT_EQ(r.Create("vantara", c)->Describe(), "Vantara array.example:8080");
  EXPECT_FALSE(r.Create("powerflex", c)->capabilities().xcopy);
  EXPECT_TRUE(r.Create("ontap", c)->capabilities().xcopy);
  try {
    r.Create("pureFlashArray", c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("ontap, powerflex, primera3par, vantara"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hoist::storage::all

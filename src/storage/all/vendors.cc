#include "storage/all/vendors.h"

#include "storage/ontap/ontap_array.h"
#include "storage/powerflex/powerflex_array.h"
#include "storage/primera3par/primera3par_array.h"
#include "storage/vantara/vantara_array.h"

namespace hoist::storage::all {

void RegisterVendors(VendorRegistry& registry) {
  ontap::RegisterVendor(registry);
  primera3par::RegisterVendor(registry);
  vantara::RegisterVendor(registry);
  powerflex::RegisterVendor(registry);
}

}  // namespace hoist::storage::all

#pragma once
// Every storage vendor hoist has, registered at once — for programs that link them all (the xcopy
// populator, tests).
#include "storage/registry.h"

namespace hoist::storage::all {

// Registers ontap, primera3par, vantara and powerflex.
void RegisterVendors(VendorRegistry& registry);

}  // namespace hoist::storage::all

#pragma once
// Vendor registry: the StorageMap's `storageVendorProduct` ("ontap", "pureFlashArray", …) → a factory.
// Vendors register explicitly (e.g. storage::ontap::RegisterVendor(registry)) from the program that
// links them, so that a static library's registration is never dropped by the linker.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/array.h"
#include "storage/config.h"

namespace hoist::storage {

using ArrayFactory = std::function<std::unique_ptr<StorageArray>(const ArrayConfig&)>;

class VendorRegistry {
 public:
  // Registering a product twice is kBug.
  void Register(const std::string& product, ArrayFactory factory);
  // kPrecondition for an unknown product, listing the known ones.
  std::unique_ptr<StorageArray> Create(const std::string& product, const ArrayConfig& config) const;
  bool Has(const std::string& product) const;
  std::vector<std::string> products() const;

 private:
  std::map<std::string, ArrayFactory> factories_;
};

// Registers `product` as an Array made from the config (each vendor's RegisterVendor).
template <class Array>
void RegisterArray(VendorRegistry& registry, const std::string& product) {
  registry.Register(product, [](const ArrayConfig& config) -> std::unique_ptr<StorageArray> {
    return std::make_unique<Array>(config);
  });
}

}  // namespace hoist::storage

#include "storage/registry.h"

#include "core/error.h"

namespace hoist::storage {

void VendorRegistry::Register(const std::string& product, ArrayFactory factory) {
  if (!factories_.emplace(product, std::move(factory)).second) {
    throw BugError("storage vendor product \"" + product + "\" is registered twice");
  }
}

bool VendorRegistry::Has(const std::string& product) const { return factories_.count(product) > 0; }

std::vector<std::string> VendorRegistry::products() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : factories_) out.push_back(name);
  return out;
}

std::unique_ptr<StorageArray> VendorRegistry::Create(const std::string& product,
                                                     const ArrayConfig& config) const {
  auto it = factories_.find(product);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& [name, _] : factories_) known += (known.empty() ? "" : ", ") + name;
    throw PreconditionError("storage vendor product \"" + product +
                            "\" is not supported; the StorageMap's storageVendorProduct must be one of: " +
                            (known.empty() ? "(none built in)" : known));
  }
  return it->second(config);
}

}  // namespace hoist::storage

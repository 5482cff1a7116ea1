#include "esxi/clone_executor.h"

#include <cctype>

namespace hoist::esxi {

std::string HostId(std::string_view host_moref) {
  std::string out;
  out.reserve(host_moref.size());
  for (char c : host_moref)
    out += c == ':' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string HostLeaseName(std::string_view host_id, int slot) {
  return "esxi-lock-" + std::string(host_id) + "-slot-" + std::to_string(slot);
}

}  // namespace hoist::esxi

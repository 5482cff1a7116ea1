#include "esxi/esxcli_runner.h"

namespace hoist::esxi {

std::string EsxcliOutput::Field(std::size_t row, std::string_view field) const {
  if (row >= rows.size()) return "";
  auto it = rows[row].find(std::string(field));
  if (it == rows[row].end() || it->second.empty()) return "";
  return it->second.front();
}

}  // namespace hoist::esxi

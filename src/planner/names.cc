#include "planner/names.h"

#include <openssl/sha.h>

#include <cstdio>

namespace hoist::planner {

std::string LeaseBindingName(std::string_view target_namespace) {
  return std::string(kLeaseRole) + "-binding-" + std::string(target_namespace);
}

std::string PvReaderBindingName(std::string_view target_namespace) {
  return std::string(kPvReaderClusterRole) + "-binding-" + std::string(target_namespace);
}

std::string DnsLabelPart(std::string_view text, size_t max) {
  std::string out;
  bool dash = false;
  for (char c : text) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (ok) {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(l);
    } else {
      dash = true;
    }
  }
  if (out.size() > max) out.resize(max);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string ShortHash(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
  return hex;
}

std::string DiskObjectName(std::string_view plan_name, std::string_view vm_name, int disk_index,
                           std::string_view migration_uid, std::string_view vm_id, int32_t disk_key,
                           std::string_view disk_file) {
  std::string plan = DnsLabelPart(plan_name, 15);
  std::string vm = DnsLabelPart(vm_name, 15);
  if (plan.empty()) plan = "plan";
  if (vm.empty()) vm = DnsLabelPart(vm_id, 15);
  if (vm.empty()) vm = "vm";
  std::string seed = std::string(migration_uid) + "-" + std::string(vm_id) + "-" + std::to_string(disk_key) + "-" +
                     std::string(disk_file) + "-" + std::to_string(disk_index);
  return plan + "-" + vm + "-disk-" + std::to_string(disk_index) + "-" + ShortHash(seed);
}

}  // namespace hoist::planner

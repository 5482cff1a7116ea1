#include "lab/arrays/lab_array.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "lab/sim/common/sim_common.h"

namespace hoist::lab::arrays {

const std::vector<std::string>& LabVendors() {
  static const std::vector<std::string> v = {"ontap", "primera3par", "vantara", "powerflex"};
  return v;
}

std::string ArraySpec::Option(const std::string& key, const std::string& fallback) const {
  auto it = options.find(key);
  return it == options.end() ? fallback : it->second;
}

ArraySpec ParseArraySpec(const std::string& flag) {
  auto bad = [&](const std::string& why) {
    return PreconditionError(
        "--array " + flag + ": " + why +
        " (expected NAME=VENDOR[,key=value…], e.g. ontap1=ontap or pf1=powerflex,sdc=<guid>)");
  };
  size_t eq = flag.find('=');
  if (eq == std::string::npos || eq == 0) throw bad("no NAME=");
  ArraySpec spec;
  spec.name = flag.substr(0, eq);
  for (char c : spec.name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) throw bad("the name must be lower-case letters, digits and '-' (it names a StorageClass)");
  }
  if (spec.name == "file") throw bad("\"file\" is the lab's built-in volume backend");
  std::string rest = flag.substr(eq + 1);
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string::npos) comma = rest.size();
    parts.push_back(rest.substr(start, comma - start));
    start = comma + 1;
  }
  spec.vendor = parts[0];
  const auto& vendors = LabVendors();
  if (std::find(vendors.begin(), vendors.end(), spec.vendor) == vendors.end()) {
    std::string known;
    for (const auto& v : vendors) known += (known.empty() ? "" : ", ") + v;
    throw bad("unknown vendor \"" + spec.vendor + "\"; the lab simulates " + known);
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t e = parts[i].find('=');
    if (e == std::string::npos || e == 0) throw bad("option \"" + parts[i] + "\" is not key=value");
    std::string key = parts[i].substr(0, e), value = parts[i].substr(e + 1);
    if (key == "port") {
      try {
        int p = std::stoi(value);
        if (p < 0 || p > 65535) throw std::out_of_range("port");
        spec.port = static_cast<uint16_t>(p);
      } catch (const std::exception&) {
        throw bad("port must be a number from 0 to 65535");
      }
      continue;
    }
    spec.options.emplace(key, value);
  }
  return spec;
}

nlohmann::json ArrayInfoJson(const ArrayInfo& info) {
  nlohmann::json j = {{"name", info.name},         {"vendor", info.vendor},
                      {"driver", info.driver},     {"storageClass", info.storage_class},
                      {"url", info.url},           {"port", info.port},
                      {"username", info.username}, {"password", info.password},
                      {"caFile", info.ca_file},    {"stateDir", info.state_dir},
                      {"secret", info.secret},     {"details", info.details}};
  return j;
}

std::string LoadOrCreatePassword(const std::string& path) {
  {
    std::ifstream in(path);
    std::string pw;
    if (in && std::getline(in, pw) && !pw.empty()) return pw;
  }
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  // Upper, lower, digit and punctuation: what arrays' password rules ask for.
  std::string pw = "Lab-" + sim::common::RandomHex(rng, 12) + "-X9";
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  {
    std::ofstream out(path, std::ios::trunc);
    out << pw << "\n";
    if (!out) throw TransientError("writing the lab array's password to " + path);
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               ec);
  return pw;
}

std::string NodeIqn(const std::string& node) { return "iqn.1994-05.com.redhat:" + node; }

std::unique_ptr<LabArray> StartLabArray(const ArraySpec& spec, const LabArrayOptions& options) {
  if (spec.vendor == "ontap") return StartOntapLabArray(spec, options);
  if (spec.vendor == "primera3par") return StartPrimera3parLabArray(spec, options);
  if (spec.vendor == "vantara") return StartVantaraLabArray(spec, options);
  if (spec.vendor == "powerflex") return StartPowerFlexLabArray(spec, options);
  throw BugError("no lab array for storage vendor \"" + spec.vendor + "\"");
}

}  // namespace hoist::lab::arrays

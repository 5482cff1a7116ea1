#pragma once
// An EsxcliRunner for unit tests: answers come from a handler, every command is recorded.
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "esxi/esxcli_runner.h"

namespace hoist::esxi::testing {

class FakeEsxcli : public EsxcliRunner {
 public:
  using Handler = std::function<EsxcliOutput(const std::vector<std::string>& argv)>;
  explicit FakeEsxcli(Handler handler) : handler_(std::move(handler)) {}

  EsxcliOutput Run(const std::vector<std::string>& argv) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      std::string line;
      for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
      calls_.push_back(line);
    }
    return handler_(argv);
  }
  std::string host() const override { return "esx1.lab (HostSystem:host-12)"; }

  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }
  int Count(const std::string& prefix) const {
    int n = 0;
    for (const auto& c : calls()) n += c.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }

 private:
  Handler handler_;
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

inline EsxcliOutput Row(std::initializer_list<std::pair<std::string, std::string>> fields) {
  EsxcliOutput out;
  EsxcliRow row;
  for (const auto& [k, v] : fields) row[k].push_back(v);
  out.rows.push_back(std::move(row));
  return out;
}

inline EsxcliOutput True() {
  EsxcliOutput out;
  out.scalar = "true";
  return out;
}

inline EsxcliError CliFault(const std::string& msg) {
  return EsxcliError(EsxcliError::Kind::kCommandFailed, "esxcli failed: " + msg, msg);
}

inline std::string Join(const std::vector<std::string>& argv, std::size_t from = 0) {
  std::string s;
  for (std::size_t i = from; i < argv.size(); ++i) s += (s.empty() ? "" : " ") + argv[i];
  return s;
}

}  // namespace hoist::esxi::testing

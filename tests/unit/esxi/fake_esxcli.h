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

  // The handler sees the command as typed; the parameter names it carries are recorded too.
  EsxcliOutput Run(const EsxcliCommand& command) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      calls_.push_back(command.ToString());
      std::string named = command.path().empty() ? "" : command.path().back();
      for (const auto& o : command.options()) named += " " + o.param + "=" + o.value.value_or("true");
      named_.push_back(command.named() ? named : "");
    }
    return handler_(command.Argv());
  }
  std::string host() const override { return "esx1.lab (HostSystem:host-12)"; }

  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }
  // Per call: "<command> <param>=<value> …" with the parameter names sent, or "" for a command
  // whose names the runner must look up.
  std::vector<std::string> named_calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return named_;
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
  std::vector<std::string> named_;
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

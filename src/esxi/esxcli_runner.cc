#include "esxi/esxcli_runner.h"

namespace hoist::esxi {

std::string EsxcliOutput::Field(std::size_t row, std::string_view field) const {
  if (row >= rows.size()) return "";
  auto it = rows[row].find(std::string(field));
  if (it == rows[row].end() || it->second.empty()) return "";
  return it->second.front();
}

EsxcliCommand EsxcliCommand::FromArgv(const std::vector<std::string>& argv) {
  std::size_t first_option = 0;
  while (first_option < argv.size() && !argv[first_option].starts_with("-")) ++first_option;
  EsxcliCommand c(
      std::vector<std::string>(argv.begin(), argv.begin() + static_cast<std::ptrdiff_t>(first_option)));
  c.typed_.assign(argv.begin() + static_cast<std::ptrdiff_t>(first_option), argv.end());
  return c;
}

EsxcliCommand& EsxcliCommand::Option(std::string option, std::string param, std::string value) {
  options_.push_back({std::move(option), std::move(param), std::move(value)});
  return *this;
}

EsxcliCommand& EsxcliCommand::Flag(std::string option, std::string param) {
  options_.push_back({std::move(option), std::move(param), std::nullopt});
  return *this;
}

std::vector<std::string> EsxcliCommand::Argv() const {
  std::vector<std::string> argv = path_;
  for (const auto& o : options_) {
    argv.push_back(o.option);
    if (o.value) argv.push_back(*o.value);
  }
  argv.insert(argv.end(), typed_.begin(), typed_.end());
  return argv;
}

std::string EsxcliCommand::ToString() const {
  std::string s;
  for (const auto& a : Argv()) s += (s.empty() ? "" : " ") + a;
  return s;
}

}  // namespace hoist::esxi

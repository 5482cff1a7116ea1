#include "core/flags.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/error.h"

namespace hoist {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<bool> ParseGoBool(std::string_view t) {
  if (t == "1" || t == "t" || t == "T" || t == "TRUE" || t == "true" || t == "True") return true;
  if (t == "0" || t == "f" || t == "F" || t == "FALSE" || t == "false" || t == "False") return false;
  return std::nullopt;
}

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  // A plain number: seconds.
  {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && p == text.data() + text.size()) {
      if (v < 0 || !std::isfinite(v)) return std::nullopt;
      return static_cast<int64_t>(std::llround(v * 1000));
    }
  }
  double total_ms = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    double v = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc() || v < 0) return std::nullopt;
    rest.remove_prefix(p - rest.data());
    size_t n = 0;
    while (n < rest.size() && ((rest[n] >= 'a' && rest[n] <= 'z') || rest[n] == '\xc2' || rest[n] == '\xb5'))
      ++n;
    std::string_view unit = rest.substr(0, n);
    rest.remove_prefix(n);
    double scale;
    if (unit == "h") scale = 3600e3;
    else if (unit == "m") scale = 60e3;
    else if (unit == "s") scale = 1e3;
    else if (unit == "ms") scale = 1;
    else if (unit == "us" || unit == "\xc2\xb5s") scale = 1e-3;
    else if (unit == "ns") scale = 1e-6;
    else return std::nullopt;
    total_ms += v * scale;
  }
  if (!std::isfinite(total_ms)) return std::nullopt;
  return static_cast<int64_t>(std::llround(total_ms));
}

Flag& Flag::Env(std::string name) {
  env_ = std::move(name);
  return *this;
}
Flag& Flag::Secret() {
  secret_ = true;
  return *this;
}
Flag& Flag::Required() {
  required_ = true;
  return *this;
}

FlagSet::FlagSet(std::string program)
    : program_(std::move(program)), env_lookup_([](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
      }) {}

FlagSet::~FlagSet() = default;

template <typename T>
TypedFlag<T>& FlagSet::Add(std::string name, std::string help, bool is_bool, std::string default_text, T value,
                           std::function<T(std::string_view)> parse) {
  if (Find(name)) throw BugError(program_ + ": flag --" + name + " defined twice");
  auto* f = new TypedFlag<T>(std::move(name), std::move(help), is_bool, std::move(default_text),
                             std::move(value), std::move(parse));
  flags_.emplace_back(f);
  return *f;
}

TypedFlag<std::string>& FlagSet::String(std::string name, std::string default_value, std::string help) {
  std::string text = default_value;
  return Add<std::string>(std::move(name), std::move(help), false, std::move(text), std::move(default_value),
                          [](std::string_view t) { return std::string(t); });
}

TypedFlag<int64_t>& FlagSet::Int(std::string name, int64_t default_value, std::string help) {
  return Add<int64_t>(std::move(name), std::move(help), false, std::to_string(default_value), default_value,
                      [](std::string_view t) {
                        t = Trim(t);
                        int64_t v = 0;
                        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
                        if (t.empty() || ec != std::errc() || p != t.data() + t.size())
                          throw PreconditionError("not an integer");
                        return v;
                      });
}

TypedFlag<bool>& FlagSet::Bool(std::string name, bool default_value, std::string help) {
  return Add<bool>(std::move(name), std::move(help), true, default_value ? "true" : "false", default_value,
                   [](std::string_view t) {
                     auto b = ParseGoBool(Trim(t));
                     if (!b) throw PreconditionError("not a boolean (use true or false)");
                     return *b;
                   });
}

TypedFlag<int64_t>& FlagSet::Duration(std::string name, int64_t default_ms, std::string help) {
  return Add<int64_t>(std::move(name), std::move(help), false, std::to_string(default_ms) + "ms", default_ms,
                      [](std::string_view t) {
                        auto ms = ParseDurationMs(t);
                        if (!ms) throw PreconditionError("not a duration (e.g. 30s, 5m, 250ms)");
                        return *ms;
                      });
}

Flag* FlagSet::Find(std::string_view name) const {
  for (const auto& f : flags_)
    if (f->name_ == name) return f.get();
  return nullptr;
}

void FlagSet::SetEnvLookupForTest(std::function<std::optional<std::string>(const std::string&)> lookup) {
  env_lookup_ = std::move(lookup);
}

void FlagSet::Parse(const std::vector<std::string>& args) {
  auto assign = [&](Flag& f, std::string_view text, const std::string& source) {
    try {
      f.Assign(text);
    } catch (const Error& e) {
      std::string shown = f.secret_ ? "<redacted>" : "\"" + std::string(text) + "\"";
      std::string where = source == "env" ? " (from $" + f.env_ + ")" : "";
      throw PreconditionError(program_ + ": invalid value " + shown + " for --" + f.name_ + where + ": " +
                              e.what());
    }
    f.text_ = std::string(text);
    f.source_ = source;
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional_.insert(positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      positional_.push_back(a);
      continue;
    }
    std::string_view body(a);
    body.remove_prefix(body.size() > 2 && body[1] == '-' ? 2 : 1);
    std::string_view name = body;
    std::optional<std::string_view> value;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    if (name == "h" || name == "help") {
      help_requested_ = true;
      return;
    }
    Flag* f = Find(name);
    if (!f) throw PreconditionError(program_ + ": unknown flag -" + (a[1] == '-' ? "-" : "") + std::string(name));
    if (!value) {
      if (f->is_bool_) {
        value = "true";
      } else {
        if (i + 1 >= args.size())
          throw PreconditionError(program_ + ": flag --" + f->name_ + " needs a value");
        value = args[++i];
      }
    }
    assign(*f, *value, "flag");
  }

  for (auto& f : flags_) {
    if (f->source_ == "flag" || f->env_.empty()) continue;
    auto v = env_lookup_(f->env_);
    if (v && !v->empty()) assign(*f, *v, "env");
  }
  std::vector<std::string> missing;
  for (const auto& f : flags_) {
    if (!f->required_ || (f->set() && !f->text_.empty())) continue;
    missing.push_back("--" + f->name_ + (f->env_.empty() ? "" : " (or $" + f->env_ + ")"));
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw PreconditionError(program_ + ": missing required " + (missing.size() == 1 ? "setting " : "settings ") +
                            list);
  }
}

std::string FlagSet::Usage() const {
  std::string out = "Usage: " + program_ + " [flags]\n\nFlags:\n";
  for (const auto& f : flags_) {
    out += "  --" + f->name_ + (f->is_bool_ ? "" : "=VALUE") + "\n        " + f->help_;
    std::string extra;
    if (!f->secret_ && !f->text_.empty() && f->source_ == "default") extra += "default " + f->text_;
    if (!f->env_.empty()) extra += std::string(extra.empty() ? "" : "; ") + "env " + f->env_;
    if (f->required_) extra += std::string(extra.empty() ? "" : "; ") + "required";
    if (!extra.empty()) out += " (" + extra + ")";
    out += "\n";
  }
  return out;
}

std::map<std::string, std::string> FlagSet::Describe() const {
  std::map<std::string, std::string> out;
  for (const auto& f : flags_) {
    if (f->secret_) out[f->name_] = f->text_.empty() ? "" : "<redacted>";
    else out[f->name_] = f->text_;
  }
  return out;
}

}  // namespace hoist

#pragma once
// Command-line flags the way Forklift's Go programs take them (Go's `flag` package), so that hoist's
// programs accept the exact arguments Forklift's controller passes: `--name=value`, `-name=value`,
// `--name value`, and `--flag` / `--flag=false` for booleans. A flag may fall back to an environment
// variable (Forklift's populators read `STORAGE_HOSTNAME` when `--storage-hostname` is absent), then
// to its default. Parsing stops at `--`; other words are positional arguments.
//
//   FlagSet flags("hoist-populator xcopy");
//   auto& vm = flags.String("source-vm-id", "", "vSphere VM managed-object id");
//   auto& size = flags.Int("pvc-size", 0, "target PVC size in bytes");
//   auto& user = flags.String("vsphere-username", "", "vCenter user").Env("GOVMOMI_USERNAME").Secret();
//   flags.Parse(args);            // throws PreconditionError naming the flag on bad input
//
// Values given on the command line win over the environment, which wins over the default. Secret
// flags are never echoed in messages or in Describe().
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist {

class Flag {
 public:
  virtual ~Flag() = default;
  // Falls back to this environment variable when the flag is not on the command line.
  Flag& Env(std::string name);
  // Never printed (passwords, tokens).
  Flag& Secret();
  // Parse fails, naming the flag (and its variable), when neither the command line nor the
  // environment gives a non-empty value.
  Flag& Required();

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::string& env() const { return env_; }
  bool secret() const { return secret_; }
  bool required() const { return required_; }
  bool is_bool() const { return is_bool_; }
  // Where the value came from: "flag", "env" or "default".
  const std::string& source() const { return source_; }
  // True when the command line or the environment set it.
  bool set() const { return source_ != "default"; }
  // The value as text (the flag's text form, "true"/"false" for booleans).
  const std::string& text() const { return text_; }

 protected:
  Flag(std::string name, std::string help, bool is_bool, std::string default_text)
      : name_(std::move(name)), help_(std::move(help)), is_bool_(is_bool), text_(std::move(default_text)) {}
  // Parses `text` into the typed value; throws PreconditionError with a reason.
  virtual void Assign(std::string_view text) = 0;
  friend class FlagSet;

  std::string name_, help_, env_;
  bool secret_ = false, required_ = false, is_bool_ = false;
  std::string source_ = "default";
  std::string text_;
};

template <typename T>
class TypedFlag : public Flag {
 public:
  const T& value() const { return value_; }
  const T& operator*() const { return value_; }
  TypedFlag& Env(std::string name) { return static_cast<TypedFlag&>(Flag::Env(std::move(name))); }
  TypedFlag& Secret() { return static_cast<TypedFlag&>(Flag::Secret()); }
  TypedFlag& Required() { return static_cast<TypedFlag&>(Flag::Required()); }

 private:
  TypedFlag(std::string name, std::string help, bool is_bool, std::string default_text, T value,
            std::function<T(std::string_view)> parse)
      : Flag(std::move(name), std::move(help), is_bool, std::move(default_text)),
        value_(std::move(value)),
        parse_(std::move(parse)) {}
  void Assign(std::string_view text) override { value_ = parse_(text); }
  friend class FlagSet;

  T value_;
  std::function<T(std::string_view)> parse_;
};

class FlagSet {
 public:
  // `program` names the program in messages ("hoist-populator xcopy: unknown flag --x").
  explicit FlagSet(std::string program);
  ~FlagSet();
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  TypedFlag<std::string>& String(std::string name, std::string default_value, std::string help);
  TypedFlag<int64_t>& Int(std::string name, int64_t default_value, std::string help);
  // Go's strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False (and, for the
  // environment, surrounding blanks are ignored).
  TypedFlag<bool>& Bool(std::string name, bool default_value, std::string help);
  // Go durations ("10s", "1m30s", "250ms") or plain seconds ("30"), in milliseconds.
  TypedFlag<int64_t>& Duration(std::string name, int64_t default_ms, std::string help);

  // Reads flags, then the environment (through `getenv`, replaceable for tests), then checks
  // required flags. `-h`/`--help` sets help_requested() and stops. Throws PreconditionError.
  void Parse(const std::vector<std::string>& args);
  void SetEnvLookupForTest(std::function<std::optional<std::string>(const std::string&)> lookup);

  bool help_requested() const { return help_requested_; }
  const std::vector<std::string>& positional() const { return positional_; }
  // "Usage: <program> [flags]" and one line per flag with its default and variable.
  std::string Usage() const;
  // The effective settings for a start-up log line: name → value, secrets as "<redacted>" (or "" when
  // unset), so the log shows what was used without ever showing a password.
  std::map<std::string, std::string> Describe() const;

 private:
  Flag* Find(std::string_view name) const;
  template <typename T>
  TypedFlag<T>& Add(std::string name, std::string help, bool is_bool, std::string default_text, T value,
                    std::function<T(std::string_view)> parse);

  std::string program_;
  std::vector<std::unique_ptr<Flag>> flags_;
  std::function<std::optional<std::string>(const std::string&)> env_lookup_;
  bool help_requested_ = false;
  std::vector<std::string> positional_;
};

// Go's strconv.ParseBool; nullopt for anything else.
std::optional<bool> ParseGoBool(std::string_view text);
// Go's time.ParseDuration subset hoist accepts (h, m, s, ms, us, ns; fractions; concatenations) or a
// plain number of seconds; milliseconds, rounded. nullopt when malformed or negative.
std::optional<int64_t> ParseDurationMs(std::string_view text);

}  // namespace hoist

#pragma once
// Running a helper program (OpenSSH's `ssh`, `ssh-keyscan`) and collecting what it prints, with a
// deadline and cancellation. The program gets exactly the environment it is given (nothing is
// inherited), stdin from `input` (or /dev/null), and runs in its own process group so that a
// timeout or a stop ends it and anything it started.
#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace hoist {

struct ProcessOptions {
  std::vector<std::string> env;  // "NAME=value"
  std::optional<std::string> input;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // zero: none
  std::stop_token stop;
  std::size_t max_output = 16 * 1024 * 1024;  // per stream; more is dropped
};

struct ProcessResult {
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  bool timed_out = false;  // ended by the timeout
  bool cancelled = false;  // ended because `stop` was requested
  std::string out, err;
  bool ok() const { return exit_code == 0 && signal == 0; }
};

// Runs argv[0] (looked up in PATH from `env`, else the default path when it has no '/'). Throws
// hoist::Error (kPrecondition) when the program cannot be started; a non-zero exit, a timeout or a
// stop are reported in the result, not thrown.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options);

}  // namespace hoist

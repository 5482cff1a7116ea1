#pragma once
// What the `hoist lab … demo` commands share: this program's path, the directory its sibling programs
// (hoist-populator, hoist-controller, hoist-vcsim) are in, whole-file reads and SHA-256 for the
// demos' data checks.
#include <string>

namespace hoist::cli {

// The running program's path (/proc/self/exe), or "hoist" when it cannot be read.
std::string SelfPath();
// $HOIST_BIN_DIR, else the running program's directory.
std::string SiblingBinDir();
// The whole file, or "" when it cannot be read.
std::string ReadWholeFile(const std::string& path);
// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace hoist::cli

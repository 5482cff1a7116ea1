#pragma once
// What every lab array simulator needs besides its vendor's REST API: the HTTPS listener with a
// certificate for 127.0.0.1/localhost (kept across restarts when a state directory is given), injectable
// faults and a request log for tests, LUN backing files as sparse files, the SAN directory entries that
// present a LUN to host initiators (the SAN contract in ../README.md), and state files written atomically.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hoist::lab::sim::common {

// A fault for requests whose method (empty: any) and path prefix match, applied to the next `times`
// matching requests: wait `delay`, then answer `status` with the vendor's error body (0: answer
// normally after the delay — a timeout for a client with a shorter one).
struct Fault {
  std::string method;
  std::string path_prefix;
  int status = 503;
  int times = 1;
  std::chrono::milliseconds delay{0};
};

// Faults to apply and the requests seen. Thread-safe.
class FaultBook {
 public:
  void Add(Fault fault);
  // Records the request and returns the fault it triggers, if any.
  std::optional<Fault> Next(std::string_view method, std::string_view path);
  // Requests seen whose method (empty: any) and path prefix match.
  int Count(std::string_view method, std::string_view path_prefix) const;

 private:
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  std::vector<std::pair<std::string, std::string>> requests_;
};

struct TlsMaterial {
  std::string cert_pem;
  std::string key_pem;
};
// A self-signed certificate for 127.0.0.1 and localhost named `common_name`. With a non-empty `dir`,
// it is read from DIR/tls.crt and DIR/tls.key when they exist and written there otherwise, so clients
// that trusted it keep doing so across restarts.
TlsMaterial LoadOrCreateCertificate(const std::string& dir, const std::string& common_name);

// Creates (or resizes) a sparse file of `size_bytes`. Throws hoist::Error naming the file.
void CreateSparseFile(const std::string& path, uint64_t size_bytes);

// SAN contract: `<san_dir>/<initiator>/<device>` holds `entry` (JSON), written under a .tmp name and
// renamed into place so a rescan never reads half a file. No-op when `san_dir` is empty.
void WriteSanEntry(const std::string& san_dir, const std::string& initiator, const std::string& device,
                   const nlohmann::json& entry);
// Removes the entry, and the initiator's directory once it is empty.
void RemoveSanEntry(const std::string& san_dir, const std::string& initiator, const std::string& device);

// Keeps the SAN directory equal to a desired set of entries: Publish writes entries that are new or
// changed and removes those no longer wanted. Simulators compute the whole set from their mappings
// after each change, which keeps the SAN directory right whatever the change was (host joined a set,
// path added to a host, export removed…).
class SanPublisher {
 public:
  explicit SanPublisher(std::string san_dir) : san_dir_(std::move(san_dir)) {}
  // Each desired entry: (initiator, device, entry).
  void Publish(const std::vector<std::tuple<std::string, std::string, nlohmann::json>>& desired);

 private:
  std::string san_dir_;
  std::mutex mu_;
  std::vector<std::pair<std::pair<std::string, std::string>, std::string>> published_;  // key → entry text
};

// Writes `state` to `path` atomically (temporary file, fsync, rename). No-op for an empty path.
void SaveJsonFile(const std::string& path, const nlohmann::json& state);
// The JSON in `path`, or null when it does not exist. Throws hoist::Error when it cannot be parsed.
nlohmann::json LoadJsonFile(const std::string& path);

// `n` random lower-case hex digits.
std::string RandomHex(std::mt19937_64& rng, size_t n);

// Splits a path on '/', dropping empty parts ("/api/v1/hosts/" → api, v1, hosts).
std::vector<std::string> SplitPath(std::string_view path);

std::string Lower(std::string s);
std::string Upper(std::string s);

}  // namespace hoist::lab::sim::common

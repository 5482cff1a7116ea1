#pragma once
// What every lab array simulator needs besides its vendor's REST API: the HTTPS endpoint with a
// certificate for 127.0.0.1/localhost (kept across restarts when a state directory is given), injectable
// faults and a request log for tests, LUN backing files as sparse files, the SAN directory entries that
// present a LUN to host initiators (the SAN contract in ../README.md), and state files written atomically.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hoist::net {
class HttpServer;
struct ServerRequest;
class ResponseWriter;
}  // namespace hoist::net

namespace hoist::lab::sim::common {

// A fault for requests whose method (empty: any) and path prefix match, applied to the next `times`
// matching requests: wait `delay`, then answer `status` with the vendor's error body (0: answer
// normally after the delay — a timeout for a client with a shorter one). With `cut`, the next matching
// answer that streams (chunked transfer encoding: WSAPI's collections) is cut off half way, the
// connection closing before the last chunk, as an array that fails while streaming a collection does;
// answers that do not stream pass and leave the fault waiting. Paths match with their query string.
struct Fault {
  std::string method;
  std::string path_prefix;
  int status = 503;
  int times = 1;
  std::chrono::milliseconds delay{0};
  bool cut = false;
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

// What every array simulator is given; each vendor's SimulatorOptions adds its own and sets the
// vendor's default user.
struct SimulatorOptionsBase {
  std::string lun_dir;  // where LUN backing files live (created if missing)
  std::string san_dir;  // the lab SAN directory; empty: LUNs are presented to nobody
  std::string username;
  std::string password;
  std::string array_name;  // the SAN entries' "array" (same array ⇒ XCOPY in the lab vCenter)
  bool tls = true;         // https with a self-signed certificate for 127.0.0.1/localhost
  uint16_t port = 0;       // 0: any free port
  // Keeps the certificate (tls.crt, tls.key) and the array's objects (state.json) across restarts;
  // empty: a fresh certificate and an empty array each time.
  std::string state_dir;
};

// A simulator's answer.
struct Reply {
  Reply() = default;
  Reply(int status_code, std::string json_text) : status(status_code), body(std::move(json_text)) {}
  int status = 200;
  std::string body;  // JSON text; empty: no body
  std::vector<std::pair<std::string, std::string>> headers;
  // > 0: sent with chunked transfer encoding, at most this many bytes a chunk (WSAPI's collections).
  size_t chunk_bytes = 0;
};

// The part every array simulator shares: the HTTPS endpoint (port, certificate, faults, request log)
// and the state file. A vendor's simulator derives from it, answers requests in Handle and writes its
// error bodies in FaultReply and InternalError; its destructor must call Stop() first, since the
// server's threads call those.
class ArraySimulator {
 public:
  virtual ~ArraySimulator();
  ArraySimulator(const ArraySimulator&) = delete;
  ArraySimulator& operator=(const ArraySimulator&) = delete;

  void Start();
  void Stop();
  uint16_t port() const;
  std::string host() const;           // 127.0.0.1:<port>
  std::string url() const;            // https://127.0.0.1:<port>
  const std::string& ca_pem() const;  // the self-signed certificate clients trust

  void InjectFaultForTest(Fault fault);
  // Requests seen whose method (empty: any) and path prefix match.
  int RequestCountForTest(std::string_view method, std::string_view path_prefix) const;

 protected:
  // `vendor` names the simulator in errors ("the ONTAP simulator needs a LUN directory");
  // `certificate_name` is the certificate's common name; `content_type` that of every answer.
  ArraySimulator(const SimulatorOptionsBase& options, std::string vendor, std::string certificate_name,
                 std::string content_type);

  // The answer to a request no fault caught; called on the server's threads.
  virtual Reply Handle(const net::ServerRequest& request) = 0;
  // The vendor's error answer to an injected fault of `status`.
  virtual Reply FaultReply(int status) = 0;
  // The vendor's 500 answer when Handle threw `what`.
  virtual Reply InternalError(const std::string& what) = 0;

 private:
  void Serve(const net::ServerRequest& request, net::ResponseWriter& writer);

  std::string state_dir_;  // where the certificate is kept
  std::string certificate_name_;
  std::string content_type_;
  bool tls_;
  uint16_t port_;
  TlsMaterial cert_;
  FaultBook faults_;
  std::unique_ptr<net::HttpServer> server_;
};

// A self-signed certificate for 127.0.0.1 and localhost named `common_name`. With a non-empty `dir`,
// it is read from DIR/tls.crt and DIR/tls.key when they exist and written there otherwise, so clients
// that trusted it keep doing so across restarts.
TlsMaterial LoadOrCreateCertificate(const std::string& dir, const std::string& common_name);

// Creates (or resizes) a sparse file of `size_bytes`. Throws hoist::Error naming the file.
void CreateSparseFile(const std::string& path, uint64_t size_bytes);

// Keeps the SAN directory equal to a desired set of entries (the SAN contract: `<san_dir>/<initiator>/
// <device>` holds the entry's JSON, written under a .tmp name and renamed into place so a rescan never
// reads half a file): Publish writes entries that are new or changed and removes those no longer
// wanted, and the initiator's directory once it is empty. No-op for an empty `san_dir`. Simulators
// compute the whole set from their mappings after each change, which keeps the SAN directory right
// whatever the change was (host joined a set, path added to a host, export removed…).
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

// A simulator's objects in `<state_dir>/state.json`: null without a state directory or before the
// first save. SaveState writes it after each change (no-op without a state directory).
nlohmann::json LoadState(const SimulatorOptionsBase& options);
void SaveState(const SimulatorOptionsBase& options, const nlohmann::json& state);

// The JSON form of a SAN entry (../README.md): the backing file, the array (same array ⇒ XCOPY), SCSI
// inquiry strings, the LUN id the host sees (-1: none, the host picks one) and the size.
nlohmann::json SanEntry(const std::string& backing, const std::string& array, const std::string& vendor,
                        const std::string& model, int lun_id, uint64_t size_bytes);

// Writes `state` to `path` atomically (temporary file, fsync, rename). No-op for an empty path.
void SaveJsonFile(const std::string& path, const nlohmann::json& state);
// The JSON in `path`, or null when it does not exist. Throws hoist::Error when it cannot be parsed.
nlohmann::json LoadJsonFile(const std::string& path);

// `n` random lower-case hex digits.
std::string RandomHex(std::mt19937_64& rng, size_t n);

// Splits a path on '/', dropping empty parts ("/api/v1/hosts/" → api, v1, hosts).
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace hoist::lab::sim::common

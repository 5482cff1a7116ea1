#pragma once
// Verification of what the sink wrote, read back from the volume (so it checks the bytes that landed,
// and covers bytes written by an earlier, resumed attempt without fetching them again).
//
// * StreamDigest: one digest over the whole image in order (Glance's `os_hash_algo` — sha512 by
//   default — or its md5 `checksum`). It runs on its own thread behind the download, following the
//   sink's contiguous done prefix; holes of a sparse file are hashed as zeros without being read.
// * BlockChecksum: ovirt-imageio's block checksum (`GET /images/<ticket>/checksum`): the image cut in
//   `block_size` blocks (the last one may be shorter), each hashed alone, and the digest of those
//   digests in order. Zero blocks use a precomputed digest, so sparse disks verify fast.
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

namespace hoist::sink {
class DiskSink;
}

namespace hoist::populators {

// True when OpenSSL knows the digest (`sha512`, `sha256`, `md5`, …).
bool DigestAvailable(const std::string& algorithm);
// Lowercase hex digest of `data`.
std::string HexDigest(const std::string& algorithm, std::string_view data);

class StreamDigest {
 public:
  // Throws PreconditionError when the algorithm is unknown.
  explicit StreamDigest(std::string algorithm);
  ~StreamDigest();  // stops and joins the thread
  StreamDigest(const StreamDigest&) = delete;
  StreamDigest& operator=(const StreamDigest&) = delete;

  // Starts hashing the sink's bytes [0, sink.size()) as they are done.
  void Start(const sink::DiskSink& sink);
  // Waits for the end and returns the lowercase hex digest; rethrows a read failure. The sink must be
  // complete (or about to be): call after the download.
  std::string Finish();
  // Stops early (the download failed).
  void Cancel();
  uint64_t hashed_bytes() const { return hashed_.load(); }
  const std::string& algorithm() const { return algorithm_; }

 private:
  void Run(const sink::DiskSink& sink, std::stop_token stop);

  std::string algorithm_;
  std::string result_;
  std::exception_ptr error_;
  std::atomic<uint64_t> hashed_{0};
  std::jthread thread_;
};

// ovirt-imageio's block checksum of the sink's bytes, computed with `threads` readers.
std::string BlockChecksum(const sink::DiskSink& sink, const std::string& algorithm, uint64_t block_size,
                          int threads, std::stop_token stop);

}  // namespace hoist::populators

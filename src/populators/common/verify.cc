#include "populators/common/verify.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <vector>

#include "core/error.h"
#include "sink/disk_sink.h"

namespace hoist::populators {
namespace {

constexpr size_t kReadBytes = 4 << 20;
alignas(4096) const std::byte kZeros[1 << 20] = {};

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

const EVP_MD* Md(const std::string& algorithm) {
  const EVP_MD* md = EVP_get_digestbyname(algorithm.c_str());
  if (md == nullptr) {
    throw PreconditionError("the checksum algorithm '" + algorithm + "' is not supported by this populator");
  }
  return md;
}

Ctx NewCtx(const EVP_MD* md) {
  Ctx c(EVP_MD_CTX_new());
  if (!c || EVP_DigestInit_ex(c.get(), md, nullptr) != 1) throw BugError("OpenSSL could not start a digest");
  return c;
}

void Update(EVP_MD_CTX* c, const void* p, size_t n) {
  if (EVP_DigestUpdate(c, p, n) != 1) throw BugError("OpenSSL digest update failed");
}

void UpdateZeros(EVP_MD_CTX* c, uint64_t n) {
  while (n > 0) {
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, sizeof kZeros));
    Update(c, kZeros, k);
    n -= k;
  }
}

std::string Final(EVP_MD_CTX* c, bool hex = true) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(c, md, &len) != 1) throw BugError("OpenSSL digest final failed");
  if (!hex) return std::string(reinterpret_cast<char*>(md), len);
  std::string out;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

bool AllZero(const std::byte* p, size_t n) {
  while (n > 0) {
    size_t k = std::min(n, sizeof kZeros);
    if (std::memcmp(p, kZeros, k) != 0) return false;
    p += k;
    n -= k;
  }
  return true;
}

// Hashes [pos, pos+n) of the sink into `c`, skipping holes (hashed as zeros without reading).
void HashRange(const sink::DiskSink& sink, EVP_MD_CTX* c, uint64_t pos, uint64_t n,
               std::vector<std::byte>& buf) {
  const uint64_t end = pos + n;
  while (pos < end) {
    uint64_t data = std::min(end, sink.NextDataOffset(pos));
    if (data > pos) {
      UpdateZeros(c, data - pos);
      pos = data;
      continue;
    }
    size_t k = static_cast<size_t>(std::min<uint64_t>(end - pos, buf.size()));
    sink.ReadAt(pos, std::span<std::byte>(buf.data(), k));
    Update(c, buf.data(), k);
    pos += k;
  }
}

}  // namespace

bool DigestAvailable(const std::string& algorithm) {
  return EVP_get_digestbyname(algorithm.c_str()) != nullptr;
}

std::string HexDigest(const std::string& algorithm, std::string_view data) {
  Ctx c = NewCtx(Md(algorithm));
  Update(c.get(), data.data(), data.size());
  return Final(c.get());
}

StreamDigest::StreamDigest(std::string algorithm) : algorithm_(std::move(algorithm)) { Md(algorithm_); }

StreamDigest::~StreamDigest() { Cancel(); }

void StreamDigest::Start(const sink::DiskSink& sink) {
  thread_ = std::jthread([this, &sink](std::stop_token stop) { Run(sink, stop); });
}

void StreamDigest::Cancel() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

std::string StreamDigest::Finish() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
  return result_;
}

void StreamDigest::Run(const sink::DiskSink& sink, std::stop_token stop) {
  try {
    Ctx c = NewCtx(Md(algorithm_));
    std::vector<std::byte> buf(kReadBytes);
    const uint64_t size = sink.size();
    uint64_t pos = 0;
    while (pos < size) {
      if (stop.stop_requested()) return;
      uint64_t avail = sink.WaitContiguous(std::min(size, pos + kReadBytes), std::chrono::milliseconds(200));
      if (avail <= pos) continue;
      HashRange(sink, c.get(), pos, avail - pos, buf);
      hashed_ += avail - pos;
      pos = avail;
    }
    result_ = Final(c.get());
  } catch (...) {
    error_ = std::current_exception();
  }
}

std::string BlockChecksum(const sink::DiskSink& sink, const std::string& algorithm, uint64_t block_size,
                          int threads, std::stop_token stop) {
  const EVP_MD* md = Md(algorithm);
  const uint64_t size = sink.size();
  const uint64_t blocks = (size + block_size - 1) / block_size;
  // The digest of a full zero block, computed once.
  std::string zero_digest;
  {
    Ctx c = NewCtx(md);
    UpdateZeros(c.get(), block_size);
    zero_digest = Final(c.get(), false);
  }
  std::vector<std::string> digests(blocks);
  std::atomic<uint64_t> next{0};
  std::mutex error_mu;
  std::exception_ptr error;
  auto work = [&] {
    try {
      std::vector<std::byte> buf(block_size);
      for (uint64_t i = next++; i < blocks; i = next++) {
        if (stop.stop_requested()) throw CancelledError("verification stopped");
        uint64_t start = i * block_size;
        uint64_t len = std::min(block_size, size - start);
        bool zero = sink.NextDataOffset(start) >= start + len;
        if (!zero) {
          sink.ReadAt(start, std::span<std::byte>(buf.data(), len));
          zero = AllZero(buf.data(), len);
        }
        if (zero && len == block_size) {
          digests[i] = zero_digest;
          continue;
        }
        Ctx c = NewCtx(md);
        if (zero) {
          UpdateZeros(c.get(), len);
        } else {
          Update(c.get(), buf.data(), len);
        }
        digests[i] = Final(c.get(), false);
      }
    } catch (...) {
      std::lock_guard lock(error_mu);
      if (!error) error = std::current_exception();
      next = blocks;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  Ctx outer = NewCtx(md);
  for (const auto& d : digests) Update(outer.get(), d.data(), d.size());
  return Final(outer.get());
}

}  // namespace hoist::populators

#include "populators/common/download.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "net/http_client.h"
#include "sink/disk_sink.h"

namespace hoist::populators {
namespace {

using sink::Range;

struct FreeDeleter {
  void operator()(std::byte* p) const { std::free(p); }
};

// A connection's buffer: page-aligned, so that full flushes are aligned writes.
class Buffer {
 public:
  explicit Buffer(size_t capacity)
      : data_(static_cast<std::byte*>(std::aligned_alloc(4096, (capacity + 4095) / 4096 * 4096))),
        capacity_(capacity) {
    if (!data_)
      throw BugError("out of memory allocating a " + std::to_string(capacity) + "-byte download buffer");
  }
  std::byte* data() { return data_.get(); }
  size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<std::byte, FreeDeleter> data_;
  size_t capacity_;
};

struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
};

// `bytes first-last/total` (total may be `*`).
std::optional<ContentRange> ParseContentRange(const std::string& value) {
  unsigned long long a = 0, b = 0;
  if (std::sscanf(value.c_str(), "bytes %llu-%llu", &a, &b) != 2 || b < a) return std::nullopt;
  return ContentRange{a, b};
}

std::string RangeText(uint64_t begin, uint64_t end) {
  return "bytes " + std::to_string(begin) + "-" + std::to_string(end - 1);
}

bool RetryableStatus(int status) { return status >= 500 || status == 408 || status == 429; }

std::string Excerpt(const std::string& body) {
  std::string s = body.substr(0, 300);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s.empty() ? "" : ": \"" + s + "\"";
}

class Fetcher {
 public:
  Fetcher(net::HttpClient& client, const FetchTarget& target, sink::DiskSink& sink,
          const DownloadOptions& options)
      : client_(client), target_(target), sink_(sink), options_(options) {}

  enum class Outcome { kDone, kNotRanged };

  // Fetches [begin, end) with Range requests until done. With `probe`, a 200 answer (no Range support)
  // returns kNotRanged before anything is written.
  Outcome FetchRange(Range range, Buffer& buf, bool probe, std::stop_token stop) {
    uint64_t pos = range.begin;
    int failures = 0;
    int reauths = 0;
    while (pos < range.end) {
      if (stop.stop_requested()) throw CancelledError(target_.what + ": download stopped");
      net::HttpRequest req = Request(stop);
      req.headers.Set("Range", "bytes=" + std::to_string(pos) + "-" + std::to_string(range.end - 1));

      int status = 0;
      bool not_ranged = false;
      std::string error_body;
      std::exception_ptr sink_error;
      uint64_t buf_off = pos;
      size_t buf_len = 0;
      uint64_t received = 0;
      auto flush = [&] {
        if (buf_len == 0) return;
        sink_.Write(buf_off, std::span<const std::byte>(buf.data(), buf_len));
        fetched_ += buf_len;
        buf_off += buf_len;
        pos = buf_off;
        buf_len = 0;
      };
      auto on_headers = [&](int st, const net::Headers& h) {
        status = st;
        if (st == 200) {
          not_ranged = true;
        } else if (st == 206) {
          auto cr = ParseContentRange(h.Get("Content-Range"));
          if (!cr || cr->first != pos || cr->last > range.end - 1) {
            throw TransientError(target_.what + ": asked for " + RangeText(pos, range.end) +
                                 ", the server answered with Content-Range \"" + h.Get("Content-Range") +
                                 "\"");
          }
        }
      };
      auto on_data = [&](std::string_view d) -> bool {
        if (status < 200 || status >= 300) {
          if (error_body.size() < 4096) error_body.append(d.substr(0, 4096 - error_body.size()));
          return true;
        }
        if (not_ranged) return false;  // the caller switches to one whole stream
        if (buf_off + buf_len + d.size() > range.end) {
          throw TransientError(target_.what + ": the server sent more than the " + RangeText(pos, range.end) +
                               " asked for");
        }
        received += d.size();
        try {
          while (!d.empty()) {
            size_t n = std::min(d.size(), buf.capacity() - buf_len);
            std::memcpy(buf.data() + buf_len, d.data(), n);
            buf_len += n;
            d.remove_prefix(n);
            if (buf_len == buf.capacity()) flush();
          }
        } catch (...) {
          sink_error = std::current_exception();
          return false;
        }
        return true;
      };

      try {
        ++requests_;
        client_.Stream(req, on_data, on_headers);
        if (sink_error) std::rethrow_exception(sink_error);
        if (not_ranged) {
          if (probe) return Outcome::kNotRanged;
          throw PreconditionError(target_.what + ": the server ignored the Range request for " +
                                  RangeText(pos, range.end) + " after accepting earlier ones");
        }
        if (status == 401) {
          if (target_.reauthenticate && reauths < 2) {
            ++reauths;
            std::lock_guard lock(auth_mu_);
            if (target_.reauthenticate(req.headers)) continue;
          }
          throw PreconditionError(target_.what + ": the server refused the credentials (401 Unauthorized)" +
                                  Excerpt(error_body) + " — check the user, password or token in the secret");
        }
        if (status < 200 || status >= 300) {
          std::string what = target_.what + ": reading " + RangeText(pos, range.end) + ": HTTP " +
                             std::to_string(status) + " " + std::string(net::StatusText(status)) +
                             Excerpt(error_body);
          if (RetryableStatus(status)) throw TransientError(what);
          throw PreconditionError(what);
        }
        flush();
        if (sink_error) std::rethrow_exception(sink_error);
        if (pos < range.end) {
          throw TransientError(target_.what + ": the response for " + RangeText(pos, range.end) +
                               " ended early");
        }
        return Outcome::kDone;
      } catch (const Error& e) {
        if (sink_error) std::rethrow_exception(sink_error);
        if (status >= 200 && status < 300 && !not_ranged) flush();  // what arrived before is good data
        if (!e.retryable() || stop.stop_requested()) throw;
        if (received > 0) failures = 0;
        if (++failures >= options_.attempts) {
          throw TransientError(target_.what + ": reading " + RangeText(pos, range.end) + " failed " +
                               std::to_string(failures) + " times in a row; last error: " + e.what());
        }
        ++retries_;
        log::Warn("download", "retrying a range",
                  {{"source", target_.what}, {"range", RangeText(pos, range.end)}, {"error", e.what()}});
        Sleep(options_.retry_delay * (1 << std::min(failures - 1, 6)), stop);
      }
    }
    return Outcome::kDone;
  }

  // One stream of the whole image (a server without Range support): everything is written again.
  void FetchWhole(Buffer& buf, std::stop_token stop) {
    const uint64_t size = sink_.size();
    int failures = 0;
    for (;;) {
      if (stop.stop_requested()) throw CancelledError(target_.what + ": download stopped");
      net::HttpRequest req = Request(stop);
      int status = 0;
      std::string error_body;
      uint64_t pos = 0;
      size_t buf_len = 0;
      std::exception_ptr sink_error;
      auto flush = [&] {
        if (buf_len == 0) return;
        sink_.Write(pos, std::span<const std::byte>(buf.data(), buf_len));
        fetched_ += buf_len;
        pos += buf_len;
        buf_len = 0;
      };
      auto on_data = [&](std::string_view d) -> bool {
        if (status != 200) {
          if (error_body.size() < 4096) error_body.append(d.substr(0, 4096 - error_body.size()));
          return true;
        }
        if (pos + buf_len + d.size() > size) {
          sink_error = std::make_exception_ptr(PreconditionError(
              target_.what + ": the server sent more than the image's " + std::to_string(size) + " bytes"));
          return false;
        }
        try {
          while (!d.empty()) {
            size_t n = std::min(d.size(), buf.capacity() - buf_len);
            std::memcpy(buf.data() + buf_len, d.data(), n);
            buf_len += n;
            d.remove_prefix(n);
            if (buf_len == buf.capacity()) flush();
          }
        } catch (...) {
          sink_error = std::current_exception();
          return false;
        }
        return true;
      };
      try {
        ++requests_;
        client_.Stream(req, on_data, [&](int st, const net::Headers&) { status = st; });
        if (sink_error) std::rethrow_exception(sink_error);
        if (status != 200) {
          std::string what = target_.what + ": HTTP " + std::to_string(status) + " " +
                             std::string(net::StatusText(status)) + Excerpt(error_body);
          if (RetryableStatus(status)) throw TransientError(what);
          throw PreconditionError(what);
        }
        flush();
        if (pos != size) {
          throw TransientError(target_.what + ": the download ended after " + std::to_string(pos) + " of " +
                               std::to_string(size) + " bytes");
        }
        return;
      } catch (const Error& e) {
        if (sink_error) std::rethrow_exception(sink_error);
        if (!e.retryable() || stop.stop_requested() || ++failures >= options_.attempts) throw;
        ++retries_;
        log::Warn("download", "the server does not support Range requests; the whole image is fetched again",
                  {{"source", target_.what}, {"error", e.what()}});
        Sleep(options_.retry_delay * (1 << std::min(failures - 1, 6)), stop);
      }
    }
  }

  DownloadStats Stats(bool ranged) const {
    return DownloadStats{fetched_.load(), requests_.load(), retries_.load(), ranged};
  }

 private:
  net::HttpRequest Request(std::stop_token stop) const {
    net::HttpRequest req;
    req.method = "GET";
    req.url = target_.url;
    if (target_.headers) req.headers = target_.headers();
    req.timeout = std::chrono::milliseconds(0);
    req.idle_timeout = options_.idle_timeout;
    req.cancel = stop;
    req.receive_buffer_bytes = options_.receive_buffer_bytes;
    return req;
  }

  static void Sleep(std::chrono::milliseconds d, std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, d, [] { return false; });
  }

  net::HttpClient& client_;
  const FetchTarget& target_;
  sink::DiskSink& sink_;
  const DownloadOptions& options_;
  std::mutex auth_mu_;
  std::atomic<uint64_t> fetched_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> retries_{0};
};

}  // namespace

std::vector<Range> Coalesce(const std::vector<Range>& ranges, uint64_t gap) {
  std::vector<Range> out;
  for (const auto& r : ranges) {
    if (r.begin >= r.end) continue;
    if (!out.empty() && r.begin <= out.back().end + gap) {
      out.back().end = std::max(out.back().end, r.end);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::vector<Range> SplitIntoChunks(const std::vector<Range>& ranges, uint64_t chunk) {
  std::vector<Range> out;
  for (const auto& r : ranges) {
    uint64_t pos = r.begin;
    while (pos < r.end) {
      uint64_t next = std::min(r.end, (pos / chunk + 1) * chunk);
      out.push_back({pos, next});
      pos = next;
    }
  }
  return out;
}

DownloadStats Download(net::HttpClient& client, const FetchTarget& target, sink::DiskSink& sink,
                       const std::vector<Range>& ranges, const DownloadOptions& options,
                       std::stop_token stop) {
  std::vector<Range> chunks = SplitIntoChunks(ranges, options.chunk_bytes);
  Fetcher fetcher(client, target, sink, options);
  if (chunks.empty()) return fetcher.Stats(true);

  // The first chunk on this thread tells whether the server honours Range.
  {
    Buffer buf(options.write_bytes);
    if (fetcher.FetchRange(chunks[0], buf, /*probe=*/true, stop) == Fetcher::Outcome::kNotRanged) {
      log::Info("download", "the server ignores Range requests; fetching the image in one stream",
                {{"source", target.what}});
      fetcher.FetchWhole(buf, stop);
      return fetcher.Stats(false);
    }
  }

  // The rest in parallel. The first failure stops the other connections.
  std::stop_source abort;
  std::stop_callback forward(stop, [&] { abort.request_stop(); });
  std::atomic<size_t> next{1};
  std::mutex error_mu;
  std::exception_ptr first_error;
  int workers = std::max(1, std::min<int>(options.connections, static_cast<int>(chunks.size() - 1)));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      try {
        Buffer buf(options.write_bytes);
        for (size_t i = next++; i < chunks.size(); i = next++) {
          if (abort.stop_requested()) break;
          fetcher.FetchRange(chunks[i], buf, /*probe=*/false, abort.get_token());
        }
      } catch (const Error& e) {
        std::lock_guard lock(error_mu);
        // A connection cancelled because another failed must not hide the real failure.
        bool cancelled_by_peer = e.error_class() == ErrorClass::kCancelled && !stop.stop_requested();
        if (!first_error && !cancelled_by_peer) first_error = std::current_exception();
        abort.request_stop();
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!first_error) first_error = std::current_exception();
        abort.request_stop();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (stop.stop_requested()) throw CancelledError(target.what + ": download stopped");
  if (first_error) std::rethrow_exception(first_error);
  return fetcher.Stats(true);
}

}  // namespace hoist::populators

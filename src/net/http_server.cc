#include "net/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace hoist::net {

std::string ServerRequest::Query(std::string_view name, std::string fallback) const {
  // lower_bound: the first of repeated names, in the order they were sent.
  auto it = query.lower_bound(std::string(name));
  return it == query.end() || it->first != name ? fallback : it->second;
}

bool ServerRequest::HasQuery(std::string_view name) const { return query.count(std::string(name)) > 0; }

namespace {

constexpr size_t kMaxHeaderBytes = 1 << 20;
constexpr size_t kReadChunk = 16 << 10;

// Writes to a socket whose peer has gone raise SIGPIPE. Plain sends use MSG_NOSIGNAL; OpenSSL writes
// through write(2), so every server thread blocks SIGPIPE: the signal then stays pending on that
// thread and is discarded when it exits.
void BlockSigpipeInThisThread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string PeerAddress(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {0};
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "unknown";
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool HasToken(std::string_view header_value, std::string_view token) {
  while (!header_value.empty()) {
    size_t comma = header_value.find(',');
    std::string_view item = TrimOws(header_value.substr(0, comma));
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    header_value.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<uint64_t> ParseHex(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = v * 16 + static_cast<uint64_t>(d);
  }
  return v;
}

void ParseQuery(std::string_view query, std::multimap<std::string, std::string>& out) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    if (!item.empty()) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        out.emplace(UrlDecode(item), "");
      } else {
        out.emplace(UrlDecode(item.substr(0, eq)), UrlDecode(item.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// An error in the request the client sent: answered with `status` and the connection is closed.
struct RequestError {
  int status;
  std::string message;
};

// The outcome of reading from the connection.
enum class ReadResult { kData, kClosed };

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  SSL_CTX* ssl_ctx = nullptr;
  int listen_fd = -1;
  int wake_fd = -1;
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;
  std::mutex stop_mu;  // serialises Start/Stop
  std::thread accept_thread;
  std::function<void()> on_stopping;

  struct Connection {
    int fd = -1;  // guarded by conn_mu; closed (and set to -1) only under it
    std::thread thread;
    std::atomic<bool> finished{false};
  };
  std::mutex conn_mu;
  std::list<std::unique_ptr<Connection>> connections;

  void AcceptLoop();
  void ReapFinished();
  void Serve(Connection* conn, std::string remote);
};

namespace {

// One client connection: buffered reads, writes that never raise SIGPIPE, optional TLS.
class Conn {
 public:
  Conn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Conn() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }

  // Appends what is available (blocking until something is, or the receive timeout).
  ReadResult Fill() {
    char buf[kReadChunk];
    for (;;) {
      ssize_t n;
      if (ssl_ != nullptr) {
        ERR_clear_error();
        int r = SSL_read(ssl_, buf, sizeof buf);
        if (r > 0) {
          n = r;
        } else {
          if (InterruptedTls(r)) continue;
          // Closed, reset, or the receive timeout (idle connection) expired.
          ERR_clear_error();
          return ReadResult::kClosed;
        }
      } else {
        n = recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return ReadResult::kClosed;
      }
      in_.append(buf, static_cast<size_t>(n));
      return ReadResult::kData;
    }
  }

  // A line ending in CRLF (or LF), without it. Throws RequestError when longer than `max`.
  std::optional<std::string> ReadLine(size_t max, int too_long_status) {
    for (;;) {
      size_t nl = in_.find('\n', pos_);
      if (nl != std::string::npos) {
        size_t end = nl;
        if (end > pos_ && in_[end - 1] == '\r') --end;
        std::string line = in_.substr(pos_, end - pos_);
        pos_ = nl + 1;
        Compact();
        return line;
      }
      if (in_.size() - pos_ > max) throw RequestError{too_long_status, "request line or header too long"};
      if (Fill() == ReadResult::kClosed) return std::nullopt;
    }
  }

  // Appends exactly `n` bytes to `out`; false when the connection ends first.
  bool ReadExact(size_t n, std::string& out) {
    while (in_.size() - pos_ < n) {
      size_t have = in_.size() - pos_;
      out.append(in_, pos_, have);
      n -= have;
      in_.clear();
      pos_ = 0;
      if (Fill() == ReadResult::kClosed) return false;
    }
    out.append(in_, pos_, n);
    pos_ += n;
    Compact();
    return true;
  }

  bool HasBuffered() const { return pos_ < in_.size(); }

  bool WriteAll(std::string_view data) {
    if (broken_) return false;
    while (!data.empty()) {
      if (ssl_ != nullptr) {
        ERR_clear_error();
        int r = SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
        if (r <= 0) {
          if (InterruptedTls(r)) continue;
          ERR_clear_error();
          broken_ = true;
          return false;
        }
        data.remove_prefix(static_cast<size_t>(r));
      } else {
        ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          broken_ = true;
          return false;
        }
        data.remove_prefix(static_cast<size_t>(n));
      }
    }
    return true;
  }

  // Non-blocking: has the peer closed or reset the connection?
  bool PeerGone() {
    if (broken_) return true;
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    int r = poll(&p, 1, 0);
    if (r <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
    if (p.revents & POLLIN) {
      char c;
      ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) return true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
    }
    return false;
  }

  // After an error answer sent before the request was read completely: stop sending, then discard
  // what the client still sends for a moment before closing. Closing with unread data makes the kernel
  // send a reset, which can destroy the answer before the client has read it.
  void LingeringClose() {
    if (ssl_ != nullptr && !broken_) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
      ERR_clear_error();
    }
    broken_ = true;  // nothing more is written
    shutdown(fd_, SHUT_WR);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    size_t discarded = 0;
    char buf[kReadChunk];
    while (discarded < (64u << 20)) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      discarded += static_cast<size_t>(n);
    }
  }

  bool broken() const { return broken_; }
  // Nothing more is written; the connection is closed after the current response.
  void MarkBroken() { broken_ = true; }

 private:
  // A signal handled by this thread interrupted the socket call inside OpenSSL: try again.
  bool InterruptedTls(int r) {
    int saved = errno;
    bool interrupted = SSL_get_error(ssl_, r) == SSL_ERROR_SYSCALL && saved == EINTR;
    if (interrupted) ERR_clear_error();
    return interrupted;
  }

  void Compact() {
    if (pos_ > 64 * 1024 && pos_ * 2 > in_.size()) {
      in_.erase(0, pos_);
      pos_ = 0;
    }
  }

  int fd_;
  SSL* ssl_;
  std::string in_;
  size_t pos_ = 0;
  bool broken_ = false;
};

class Writer : public ResponseWriter {
 public:
  Writer(Conn& conn, bool head, bool close_after, const std::atomic<bool>& stopping)
      : conn_(conn), head_(head), close_after_(close_after), stopping_(stopping) {}

  void Send(int status, const Headers& headers, std::string_view body) override {
    if (started_) throw BugError("HTTP handler sent a response twice");
    started_ = true;
    finished_ = true;
    bool no_body = status < 200 || status == 204 || status == 304;
    std::string out = StatusLine(status);
    bool has_length = false;
    for (const auto& [name, value] : headers.items()) {
      if (EqualsIgnoreCase(name, "Content-Length")) {
        // A HEAD answer may state the length of the body a GET would get.
        if (!head_) continue;
        has_length = true;
      }
      if (Hop(name)) continue;
      AppendHeader(out, name, value);
    }
    if (!no_body && !has_length) AppendHeader(out, "Content-Length", std::to_string(body.size()));
    if (close_after_) AppendHeader(out, "Connection", "close");
    out += "\r\n";
    if (!head_ && !no_body) out.append(body);
    conn_.WriteAll(out);
  }

  void StartChunked(int status, const Headers& headers) override {
    if (started_) throw BugError("HTTP handler started a response twice");
    started_ = true;
    chunked_ = true;
    std::string out = StatusLine(status);
    for (const auto& [name, value] : headers.items()) {
      if (Hop(name) || EqualsIgnoreCase(name, "Content-Length")) continue;
      AppendHeader(out, name, value);
    }
    AppendHeader(out, "Transfer-Encoding", "chunked");
    if (close_after_) AppendHeader(out, "Connection", "close");
    out += "\r\n";
    conn_.WriteAll(out);
  }

  void StartFixedLength(int status, const Headers& headers, uint64_t length) override {
    if (started_) throw BugError("HTTP handler started a response twice");
    started_ = true;
    chunked_ = true;
    fixed_length_ = true;
    remaining_ = length;
    std::string out = StatusLine(status);
    for (const auto& [name, value] : headers.items()) {
      if (Hop(name) || EqualsIgnoreCase(name, "Content-Length")) continue;
      AppendHeader(out, name, value);
    }
    AppendHeader(out, "Content-Length", std::to_string(length));
    if (close_after_) AppendHeader(out, "Connection", "close");
    out += "\r\n";
    conn_.WriteAll(out);
  }

  bool WriteChunk(std::string_view data) override {
    if (!chunked_ || finished_) throw BugError("HTTP handler wrote a chunk outside a chunked response");
    if (stopping_.load() || conn_.broken()) return false;
    if (head_) return !conn_.PeerGone();
    if (fixed_length_) {
      if (data.size() > remaining_) {
        throw BugError("HTTP handler wrote more than the Content-Length it announced");
      }
      remaining_ -= data.size();
      return conn_.WriteAll(data);
    }
    if (data.empty()) return true;  // an empty chunk would end the body
    char size[32];
    int n = snprintf(size, sizeof size, "%zx\r\n", data.size());
    std::string out;
    out.reserve(static_cast<size_t>(n) + data.size() + 2);
    out.append(size, static_cast<size_t>(n));
    out.append(data);
    out.append("\r\n");
    return conn_.WriteAll(out);
  }

  void Finish() override {
    if (!chunked_) throw BugError("HTTP handler finished a response that is not chunked");
    if (finished_) return;
    finished_ = true;
    if (fixed_length_) {
      // A short body cannot be told apart from a slow one but by closing the connection.
      if (remaining_ > 0 && !head_) conn_.MarkBroken();
      return;
    }
    if (!head_) conn_.WriteAll("0\r\n\r\n");
  }

  bool ClientGone() override { return conn_.PeerGone(); }
  bool ServerStopping() const override { return stopping_.load(); }

  bool started() const { return started_; }
  bool finished() const { return finished_; }

 private:
  static bool Hop(std::string_view name) {
    return EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
           EqualsIgnoreCase(name, "Keep-Alive");
  }
  static std::string StatusLine(int status) {
    std::string line = "HTTP/1.1 " + std::to_string(status) + " ";
    line.append(StatusText(status));
    line += "\r\n";
    return line;
  }
  static void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out += ": ";
    // Header injection guard: CR/LF in a value would end the header.
    for (char c : value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    out += "\r\n";
  }

  Conn& conn_;
  bool head_;
  bool close_after_;
  const std::atomic<bool>& stopping_;
  bool started_ = false;
  bool chunked_ = false;  // streamed: chunked, or fixed length
  bool fixed_length_ = false;
  uint64_t remaining_ = 0;
  bool finished_ = false;
};

void SendError(Conn& conn, int status, std::string_view message) {
  std::string body(message);
  body += "\n";
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(StatusText(status)) + "\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  conn.WriteAll(out);
}

// Reads one request head (request line and headers). nullopt when the connection ended cleanly before
// a request started.
std::optional<ServerRequest> ReadHead(Conn& conn, int& minor_version) {
  std::optional<std::string> line;
  // RFC 9112 2.2: ignore empty lines before a request line.
  do {
    line = conn.ReadLine(kMaxHeaderBytes, 414);
    if (!line) return std::nullopt;
  } while (line->empty());

  ServerRequest req;
  size_t sp1 = line->find(' ');
  size_t sp2 = line->rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) throw RequestError{400, "malformed request line"};
  req.method = line->substr(0, sp1);
  req.target = line->substr(sp1 + 1, sp2 - sp1 - 1);
  std::string version = line->substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    minor_version = 1;
  } else if (version == "HTTP/1.0") {
    minor_version = 0;
  } else {
    throw RequestError{505, "only HTTP/1.0 and HTTP/1.1 are supported"};
  }
  if (req.method.empty() || req.target.empty()) throw RequestError{400, "malformed request line"};

  size_t header_bytes = 0;
  for (;;) {
    std::optional<std::string> h = conn.ReadLine(kMaxHeaderBytes, 431);
    if (!h) throw RequestError{400, "connection closed inside the request headers"};
    if (h->empty()) break;
    header_bytes += h->size();
    if (header_bytes > kMaxHeaderBytes) throw RequestError{431, "request headers too large"};
    if (h->front() == ' ' || h->front() == '\t') throw RequestError{400, "obsolete header line folding"};
    size_t colon = h->find(':');
    if (colon == std::string::npos || colon == 0) throw RequestError{400, "malformed header line"};
    std::string_view name = std::string_view(*h).substr(0, colon);
    if (name.back() == ' ' || name.back() == '\t')
      throw RequestError{400, "whitespace before ':' in a header"};
    req.headers.Add(std::string(name), std::string(TrimOws(std::string_view(*h).substr(colon + 1))));
  }

  // Target: origin-form "/path?query", absolute-form "http://host/path?query", or "*".
  std::string_view target = req.target;
  if (size_t scheme = target.find("://"); scheme != std::string_view::npos && target.front() != '/') {
    size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  size_t q = target.find('?');
  req.raw_path = std::string(target.substr(0, q));
  req.path = UrlDecode(req.raw_path, false);
  if (q != std::string_view::npos) ParseQuery(target.substr(q + 1), req.query);
  return req;
}

// Reads the body announced by the headers into `req.body`.
void ReadBody(Conn& conn, ServerRequest& req, size_t max_body, bool& must_close) {
  std::string te = req.headers.Get("Transfer-Encoding");
  bool chunked = false;
  if (!te.empty()) {
    // Only plain "chunked" is understood (no compression codings).
    if (!EqualsIgnoreCase(TrimOws(te), "chunked"))
      throw RequestError{501, "unsupported Transfer-Encoding " + te};
    chunked = true;
    if (req.headers.Has("Content-Length")) must_close = true;  // RFC 9112 6.1: TE wins, then close
  }

  std::optional<uint64_t> length;
  if (!chunked) {
    const auto& items = req.headers.items();
    for (const auto& [name, value] : items) {
      if (!EqualsIgnoreCase(name, "Content-Length")) continue;
      std::optional<uint64_t> v = ParseDecimal(TrimOws(value));
      if (!v || (length && *length != *v)) throw RequestError{400, "invalid Content-Length"};
      length = v;
    }
    if (length && *length > max_body) {
      throw RequestError{413, "request body of " + std::to_string(*length) + " bytes exceeds the limit of " +
                                  std::to_string(max_body) + " bytes"};
    }
  }
  bool has_body = chunked || (length && *length > 0);
  if (has_body && HasToken(req.headers.Get("Expect"), "100-continue")) {
    if (!conn.WriteAll("HTTP/1.1 100 Continue\r\n\r\n")) throw RequestError{0, "client went away"};
  }

  if (!chunked) {
    if (length && *length > 0) {
      req.body.reserve(*length);
      if (!conn.ReadExact(*length, req.body))
        throw RequestError{0, "connection closed inside the request body"};
    }
    return;
  }

  for (;;) {
    std::optional<std::string> size_line = conn.ReadLine(4096, 400);
    if (!size_line) throw RequestError{0, "connection closed inside a chunked request body"};
    std::string_view s = *size_line;
    s = TrimOws(s.substr(0, s.find(';')));  // chunk extensions are ignored
    std::optional<uint64_t> size = ParseHex(s);
    if (!size) throw RequestError{400, "malformed chunk size"};
    if (*size == 0) break;
    if (req.body.size() + *size > max_body) {
      throw RequestError{413, "request body exceeds the limit of " + std::to_string(max_body) + " bytes"};
    }
    if (!conn.ReadExact(*size, req.body)) throw RequestError{0, "connection closed inside a chunk"};
    std::string crlf;
    if (!conn.ReadExact(2, crlf)) throw RequestError{0, "connection closed inside a chunk"};
    if (crlf != "\r\n") throw RequestError{400, "malformed chunk"};
  }
  // Trailer fields, up to the empty line.
  size_t trailer_bytes = 0;
  for (;;) {
    std::optional<std::string> line = conn.ReadLine(kMaxHeaderBytes, 431);
    if (!line) throw RequestError{0, "connection closed inside the chunked trailer"};
    if (line->empty()) break;
    trailer_bytes += line->size();
    if (trailer_bytes > kMaxHeaderBytes) throw RequestError{431, "request trailer too large"};
  }
}

}  // namespace

void HttpServer::Impl::Serve(Connection* connection, std::string remote) {
  BlockSigpipeInThisThread();
  int fd = connection->fd;  // stays open until this function marks the connection finished

  SSL* ssl = nullptr;
  if (ssl_ctx != nullptr) {
    ssl = SSL_new(ssl_ctx);
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
      log::Warn("net", "could not set up TLS for a connection",
                {{"remote", remote}, {"error", OpenSslErrors()}});
      if (ssl != nullptr) SSL_free(ssl);
      ssl = nullptr;
    } else {
      ERR_clear_error();
      if (SSL_accept(ssl) != 1) {
        log::Debug("net", "TLS handshake failed", {{"remote", remote}, {"error", OpenSslErrors()}});
        SSL_free(ssl);
        ssl = nullptr;
      }
    }
  }

  if (ssl_ctx == nullptr || ssl != nullptr) {
    Conn conn(fd, ssl);
    bool keep_alive = true;
    while (keep_alive && !stopping.load()) {
      bool must_close = false;
      int minor = 1;
      std::optional<ServerRequest> req;
      try {
        req = ReadHead(conn, minor);
        if (!req) break;
        req->remote_address = remote;
        std::string connection_header = req->headers.Get("Connection");
        if (minor == 0) {
          keep_alive = HasToken(connection_header, "keep-alive");
        } else {
          keep_alive = !HasToken(connection_header, "close");
        }
        ReadBody(conn, *req, options.max_body_bytes, must_close);
      } catch (const RequestError& e) {
        if (e.status != 0) {
          SendError(conn, e.status, e.message);
          conn.LingeringClose();
        }
        break;
      }
      if (must_close || stopping.load()) keep_alive = false;

      bool head = req->method == "HEAD";
      Writer writer(conn, head, !keep_alive, stopping);
      try {
        handler(*req, writer);
      } catch (const std::exception& e) {
        log::Warn("net", "HTTP handler failed",
                  {{"method", req->method}, {"path", req->path}, {"error", e.what()}});
        if (!writer.started()) {
          SendError(conn, 500, "internal server error");
        }
        // A response cut in the middle can only be signalled by closing the connection.
        break;
      } catch (...) {
        log::Warn("net", "HTTP handler failed", {{"method", req->method}, {"path", req->path}});
        if (!writer.started()) SendError(conn, 500, "internal server error");
        break;
      }
      if (!writer.started()) {
        log::Warn("net", "HTTP handler returned without a response",
                  {{"method", req->method}, {"path", req->path}});
        SendError(conn, 500, "internal server error: no response");
        break;
      }
      if (!writer.finished()) writer.Finish();
      if (conn.broken()) break;
    }
    if (ssl != nullptr && !conn.broken()) {
      ERR_clear_error();
      SSL_shutdown(ssl);  // best effort close_notify
      ERR_clear_error();
    }
  }  // Conn frees the SSL

  {
    std::lock_guard<std::mutex> lock(conn_mu);
    close(connection->fd);
    connection->fd = -1;
  }
  connection->finished.store(true);
}

void HttpServer::Impl::ReapFinished() {
  std::list<std::unique_ptr<Connection>> done;
  {
    std::lock_guard<std::mutex> lock(conn_mu);
    for (auto it = connections.begin(); it != connections.end();) {
      if ((*it)->finished.load()) {
        done.push_back(std::move(*it));
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : done) c->thread.join();
}

void HttpServer::Impl::AcceptLoop() {
  BlockSigpipeInThisThread();
  pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  while (!stopping.load()) {
    int r = poll(fds, 2, 1000);
    if (r < 0 && errno != EINTR) {
      log::Error("net", "poll on the listening socket failed", {{"error", std::strerror(errno)}});
      break;
    }
    ReapFinished();
    if (stopping.load()) break;
    if (r <= 0 || !(fds[0].revents & POLLIN)) continue;

    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        log::Warn("net", "cannot accept a connection", {{"error", std::strerror(errno)}});
        // Let connections finish before trying again.
        poll(&fds[1], 1, 100);
      }
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (options.idle_timeout.count() > 0) {
      timeval tv{};
      tv.tv_sec = options.idle_timeout.count() / 1000;
      tv.tv_usec = (options.idle_timeout.count() % 1000) * 1000;
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }

    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    Connection* raw = conn.get();
    std::lock_guard<std::mutex> lock(conn_mu);
    try {
      raw->thread = std::thread(&Impl::Serve, this, raw, PeerAddress(addr));
      connections.push_back(std::move(conn));
    } catch (const std::system_error& e) {
      log::Warn("net", "cannot start a connection thread", {{"error", e.what()}});
      close(fd);
    }
  }
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() {
  Stop();
  if (impl_->ssl_ctx != nullptr) SSL_CTX_free(impl_->ssl_ctx);
}

namespace {

SSL_CTX* NewServerContext(const std::string& cert_pem, const std::string& key_pem) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw BugError("creating a TLS context: " + OpenSslErrors());
  auto fail = [&](const std::string& what) {
    std::string detail = OpenSslErrors();
    SSL_CTX_free(ctx);
    return PreconditionError("configuring the HTTPS server: " + what + " (" + detail +
                             ") — check the PEM certificate and key");
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);

  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (leaf == nullptr) {
    BIO_free(bio);
    throw fail("reading the certificate");
  }
  int ok = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (ok != 1) {
    BIO_free(bio);
    throw fail("using the certificate");
  }
  // Further certificates in the PEM are the chain sent after the leaf.
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      BIO_free(bio);
      throw fail("adding a chain certificate");
    }
  }
  ERR_clear_error();  // the loop above ends on "no start line"
  BIO_free(bio);

  bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) throw fail("reading the private key");
  ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (ok != 1) throw fail("using the private key");
  if (SSL_CTX_check_private_key(ctx) != 1) throw fail("the private key does not match the certificate");

  // ALPN: this server speaks HTTP/1.1 only; clients offering h2 (Go, kubectl) fall back.
  SSL_CTX_set_alpn_select_cb(
      ctx,
      [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
         void*) -> int {
        static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
        unsigned char* selected = nullptr;
        if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) ==
            OPENSSL_NPN_NEGOTIATED) {
          *out = selected;
          return SSL_TLSEXT_ERR_OK;
        }
        return SSL_TLSEXT_ERR_NOACK;
      },
      nullptr);
  return ctx;
}

}  // namespace

void HttpServer::Start() {
  std::lock_guard<std::mutex> lock(impl_->stop_mu);
  Impl& im = *impl_;
  if (im.started) throw BugError("HttpServer::Start called twice");
  const HttpServerOptions& o = im.options;
  if (o.tls_cert_pem.empty() != o.tls_key_pem.empty()) {
    throw PreconditionError("configuring the HTTPS server: both a certificate and a key are needed");
  }
  if (!o.tls_cert_pem.empty() && im.ssl_ctx == nullptr)
    im.ssl_ctx = NewServerContext(o.tls_cert_pem, o.tls_key_pem);

  std::string where = o.bind_address + ":" + std::to_string(o.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  int gai =
      getaddrinfo(o.bind_address.empty() ? nullptr : o.bind_address.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    throw PreconditionError("starting the HTTP server on " + where + ": cannot resolve the bind address (" +
                            gai_strerror(gai) + ")");
  }
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) break;
    last_errno = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    std::string msg = "starting the HTTP server on " + where + ": " + std::strerror(last_errno);
    if (last_errno == EADDRINUSE)
      throw PreconditionError(msg + " — another process uses this port; choose another");
    if (last_errno == EACCES)
      throw PreconditionError(msg + " — the port needs privileges; choose one above 1023");
    throw TransientError(msg);
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  im.bound_port = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                             : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  im.listen_fd = fd;
  im.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (im.wake_fd < 0) {
    close(fd);
    im.listen_fd = -1;
    throw TransientError("starting the HTTP server on " + where + ": eventfd: " + std::strerror(errno));
  }
  im.started = true;
  im.accept_thread = std::thread(&Impl::AcceptLoop, &im);
  log::Debug(
      "net", "HTTP server listening",
      {{"address", o.bind_address}, {"port", im.bound_port}, {"tls", im.ssl_ctx != nullptr ? "yes" : "no"}});
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lock(impl_->stop_mu);
  Impl& im = *impl_;
  if (!im.started || im.stopped) return;
  im.stopped = true;
  im.stopping.store(true);
  if (im.on_stopping) {
    try {
      im.on_stopping();
    } catch (const std::exception& e) {
      log::Warn("net", "stop callback failed", {{"error", e.what()}});
    }
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t w = write(im.wake_fd, &one, sizeof one);
  im.accept_thread.join();
  close(im.listen_fd);
  im.listen_fd = -1;

  // Wake every connection thread blocked in a read or write; handlers see ServerStopping() and
  // failing writes.
  std::list<std::unique_ptr<Impl::Connection>> all;
  {
    std::lock_guard<std::mutex> conn_lock(im.conn_mu);
    for (auto& c : im.connections) {
      if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
    }
    all.swap(im.connections);
  }
  for (auto& c : all) c->thread.join();
  close(im.wake_fd);
  im.wake_fd = -1;
}

void HttpServer::SetOnStopping(std::function<void()> callback) { impl_->on_stopping = std::move(callback); }

uint16_t HttpServer::port() const { return impl_->bound_port; }

bool HttpServer::tls() const { return !impl_->options.tls_cert_pem.empty(); }

}  // namespace hoist::net

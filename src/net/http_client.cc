#include "net/http_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace hoist::net {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The URL as it may appear in an error message: without user:password@.
std::string UrlForMessage(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at != std::string::npos && at >= start) return url.substr(0, start) + url.substr(at + 1);
  return url;
}

// libcurl is told not to touch signal dispositions (CURLOPT_NOSIGNAL: they are process-wide and this
// client is used from many threads), yet a TLS write to a peer that has gone can still raise SIGPIPE.
// The signal is blocked in the calling thread for the transfer and a SIGPIPE it caused is consumed.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &old_mask_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        sigtimedwait(&sigpipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t sigpipe_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

class HeaderList {
 public:
  ~HeaderList() { curl_slist_free_all(list_); }
  void Add(const std::string& line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) throw BugError("out of memory building HTTP request headers");
    list_ = next;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// State of one transfer, shared with libcurl's callbacks.
struct Transfer {
  HttpResponse response;
  bool streaming = false;
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::function<void(int, const Headers&)>* on_headers = nullptr;
  bool headers_delivered = false;
  bool stopped_by_caller = false;  // on_data returned false
  std::exception_ptr callback_error;

  // Idle and cancellation checks (in the transfer loop).
  std::chrono::steady_clock::time_point last_data;
  std::chrono::milliseconds idle_timeout{0};
  bool idle_expired = false;
  const std::atomic<uint64_t>* cancel_generation = nullptr;
  uint64_t start_generation = 0;
  std::stop_token stop;
  bool cancelled = false;

  void DeliverHeaders() {
    if (headers_delivered) return;
    headers_delivered = true;
    if (on_headers != nullptr && *on_headers) (*on_headers)(response.status, response.headers);
  }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t HeaderCallback(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  size_t n = line.size();
  try {
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line (after 100 Continue or a redirect): start over.
      t->response.headers = Headers();
      t->response.status = 0;
      size_t sp = line.find(' ');
      if (sp != std::string_view::npos) {
        int status = 0;
        for (size_t i = sp + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
          status = status * 10 + (line[i] - '0');
        }
        t->response.status = status;
      }
      return n;
    }
    std::string_view trimmed = Trim(line);
    if (trimmed.empty()) {
      // End of a header block; 1xx blocks are followed by the real one.
      if (t->streaming && t->response.status >= 200) t->DeliverHeaders();
      return n;
    }
    size_t colon = trimmed.find(':');
    if (colon != std::string_view::npos) {
      t->response.headers.Add(std::string(Trim(trimmed.substr(0, colon))),
                              std::string(Trim(trimmed.substr(colon + 1))));
    }
    return n;
  } catch (...) {
    t->callback_error = std::current_exception();
    return 0;  // aborts the transfer
  }
}

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_data = std::chrono::steady_clock::now();
  if (!t->streaming) {
    t->response.body.append(data, n);
    return n;
  }
  try {
    t->DeliverHeaders();
    if (!(*t->on_data)(std::string_view(data, n))) {
      t->stopped_by_caller = true;
      return 0;
    }
    return n;
  } catch (...) {
    t->callback_error = std::current_exception();
    return 0;
  }
}

// A multi handle with one easy handle. The multi handle owns the connection cache, so a slot taken
// from the pool again reuses its connections; running each transfer through curl_multi_poll lets
// another thread wake it (curl_multi_wakeup) to cancel it at once.
struct Slot {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  ~Slot() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

}  // namespace

struct HttpClient::Impl {
  HttpClientOptions options;
  std::mutex mu;
  std::vector<std::unique_ptr<Slot>> idle;  // guarded by mu
  std::vector<Slot*> active;                // guarded by mu: transfers CancelStreams wakes
  std::atomic<uint64_t> cancel_generation{0};

  std::unique_ptr<Slot> Acquire() {
    std::unique_ptr<Slot> slot;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        slot = std::move(idle.back());
        idle.pop_back();
      }
    }
    if (slot) {
      curl_easy_reset(slot->easy);
    } else {
      slot = std::make_unique<Slot>();
      slot->multi = curl_multi_init();
      slot->easy = curl_easy_init();
      if (slot->multi == nullptr || slot->easy == nullptr) {
        throw BugError("libcurl could not create a handle (out of memory?)");
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    active.push_back(slot.get());
    return slot;
  }

  void Release(std::unique_ptr<Slot> slot) {
    std::lock_guard<std::mutex> lock(mu);
    std::erase(active, slot.get());
    if (static_cast<int>(idle.size()) < options.max_pooled_connections) idle.push_back(std::move(slot));
    // else: the slot (and its connections) is freed here
  }

  void WakeAll() {
    std::lock_guard<std::mutex> lock(mu);
    for (Slot* s : active) curl_multi_wakeup(s->multi);
  }

  struct SlotLease {
    Impl* impl;
    std::unique_ptr<Slot> slot;
    ~SlotLease() { impl->Release(std::move(slot)); }
  };

  HttpResponse Perform(const HttpRequest& request, Transfer& t);
  CURLcode Run(Slot& slot, Transfer& t);
};

// Drives one transfer to its end, checking for cancellation and idleness between rounds.
CURLcode HttpClient::Impl::Run(Slot& slot, Transfer& t) {
  if (curl_multi_add_handle(slot.multi, slot.easy) != CURLM_OK) {
    throw BugError("libcurl refused to start a transfer");
  }
  // A stop request wakes the poll below; the flag is then seen by the loop.
  std::optional<std::stop_callback<std::function<void()>>> on_stop;
  if (t.stop.stop_possible()) {
    on_stop.emplace(t.stop, std::function<void()>([&slot] { curl_multi_wakeup(slot.multi); }));
  }
  CURLcode result = CURLE_OK;
  bool done = false;
  while (!done) {
    int running = 0;
    if (curl_multi_perform(slot.multi, &running) != CURLM_OK) {
      result = CURLE_OUT_OF_MEMORY;  // the only way the multi interface fails on a valid handle
      break;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(slot.multi, &queued)) {
      if (msg->msg == CURLMSG_DONE) {
        result = msg->data.result;
        done = true;
      }
    }
    if (done || running == 0) break;
    if ((t.cancel_generation != nullptr && t.cancel_generation->load() != t.start_generation) ||
        t.stop.stop_requested()) {
      t.cancelled = true;
      result = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    int wait_ms = 1000;
    if (t.idle_timeout.count() > 0) {
      auto left = t.idle_timeout - (std::chrono::steady_clock::now() - t.last_data);
      auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(left).count();
      if (left_ms <= 0) {
        t.idle_expired = true;
        result = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
      wait_ms = static_cast<int>(std::min<long long>(wait_ms, left_ms + 1));
    }
    curl_multi_poll(slot.multi, nullptr, 0, wait_ms, nullptr);
  }
  on_stop.reset();
  // Removing an unfinished transfer closes its connection; a finished one goes back to the cache.
  curl_multi_remove_handle(slot.multi, slot.easy);
  return result;
}

HttpResponse HttpClient::Impl::Perform(const HttpRequest& request, Transfer& t) {
  std::string what = request.method + " " + UrlForMessage(request.url);
  if (request.cancel.stop_requested()) throw CancelledError(what + ": cancelled before it started");
  SlotLease lease{this, Acquire()};
  CURL* h = lease.slot->easy;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (request.receive_buffer_bytes > 0) {
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE,
                     static_cast<long>(std::min<size_t>(request.receive_buffer_bytes, CURL_MAX_READ_SIZE)));
  }

  // Method and body.
  const std::string& method = request.method;
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "GET" && request.body.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  HeaderList headers;
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers.items()) {
    if (EqualsIgnoreCase(name, "Content-Type")) has_content_type = true;
    // "Name;" is libcurl's way to send a header with an empty value.
    headers.Add(value.empty() ? name + ";" : name + ": " + value);
  }
  // No "Expect: 100-continue" round trip before bodies; no form content type nobody asked for.
  headers.Add("Expect:");
  if (!has_content_type) headers.Add("Content-Type:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  // TLS.
  const TlsClientOptions& tls = options.tls;
  curl_blob ca_blob{};
  curl_blob cert_blob{};
  curl_blob key_blob{};
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!tls.ca_pem.empty()) {
    ca_blob = curl_blob{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca_blob);
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);  // only these certificates
  } else if (!tls.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
  }
  if (!tls.client_cert_pem.empty()) {
    cert_blob = curl_blob{const_cast<char*>(tls.client_cert_pem.data()), tls.client_cert_pem.size(),
                          CURL_BLOB_NOCOPY};
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert_blob);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!tls.client_key_pem.empty()) {
    key_blob =
        curl_blob{const_cast<char*>(tls.client_key_pem.data()), tls.client_key_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key_blob);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }

  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, HeaderCallback);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteCallback);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  t.last_data = std::chrono::steady_clock::now();
  t.idle_timeout = t.streaming ? request.idle_timeout : std::chrono::milliseconds(0);
  t.stop = request.cancel;

  CURLcode rc;
  {
    SigpipeGuard sigpipe_guard;
    rc = Run(*lease.slot, t);
  }
  // The handle must not point at this stack frame once it goes back to the pool.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);

  if (t.callback_error) std::rethrow_exception(t.callback_error);
  if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t.stopped_by_caller)) {
    if (t.streaming && t.response.status >= 200) t.DeliverHeaders();
    return std::move(t.response);
  }

  std::string detail = errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
      if (t.cancelled) throw CancelledError(what + ": cancelled (the caller is stopping)");
      if (t.idle_expired) {
        throw TransientError(what + ": no data received for " + std::to_string(request.idle_timeout.count()) +
                             " ms; the server or the network stalled");
      }
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      throw PreconditionError(
          what + ": the server's TLS certificate could not be verified (" + detail +
          ") — check the CA bundle configured for this endpoint, or set insecureSkipVerify "
          "if the endpoint is meant to be used without verification");
    case CURLE_SSL_CERTPROBLEM:
      throw PreconditionError(what + ": the client certificate or key could not be used (" + detail +
                              ") — check the client certificate and key data");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      throw PreconditionError(what + ": invalid URL (" + detail + ")");
    case CURLE_OPERATION_TIMEDOUT:
      throw TransientError(what + ": timed out (" + detail + ")");
    default:
      break;
  }
  throw TransientError(what + ": " + detail);
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->options = std::move(options);
  if (impl_->options.max_pooled_connections < 0) impl_->options.max_pooled_connections = 0;
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Do(const HttpRequest& request) {
  Transfer t;
  return impl_->Perform(request, t);
}

HttpResponse HttpClient::Stream(const HttpRequest& request,
                                const std::function<bool(std::string_view)>& on_data,
                                const std::function<void(int status, const Headers&)>& on_headers) {
  Transfer t;
  t.streaming = true;
  t.on_data = &on_data;
  t.on_headers = &on_headers;
  t.cancel_generation = &impl_->cancel_generation;
  t.start_generation = impl_->cancel_generation.load();
  HttpResponse response = impl_->Perform(request, t);
  response.body.clear();
  return response;
}

void HttpClient::CancelStreams() {
  impl_->cancel_generation.fetch_add(1);
  impl_->WakeAll();
}

}  // namespace hoist::net

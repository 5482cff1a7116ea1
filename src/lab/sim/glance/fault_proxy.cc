#include "lab/sim/glance/fault_proxy.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include "core/error.h"
#include "net/http_client.h"
#include "net/http_server.h"

namespace hoist::lab::sim::glance {

struct FaultProxy::Impl {
  std::string upstream;
  net::HttpClient client;
  std::unique_ptr<net::HttpServer> server;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::optional<uint64_t> stall_at;
  bool stalled = false;
  bool stopping = false;
  std::optional<uint64_t> corrupt_at;
  int fail_status = 0;
  int fail_times = 0;
  std::vector<DataRequest> requests;

  explicit Impl(std::string u) : upstream(std::move(u)) {}

  static bool IsData(const net::ServerRequest& r) {
    return r.method == "GET" && r.path.size() > 5 && r.path.rfind("/v2/images/", 0) == 0 &&
           r.path.substr(r.path.size() - 5) == "/file";
  }

  void Handle(const net::ServerRequest& req, net::ResponseWriter& w) {
    bool data = IsData(req);
    size_t index = 0;
    DataRequest rec;
    if (data) {
      rec.path = req.path;
      unsigned long long a = 0, b = 0;
      std::string range = req.headers.Get("Range");
      if (std::sscanf(range.c_str(), "bytes=%llu-%llu", &a, &b) == 2) {
        rec.begin = a;
        rec.end = b + 1;
      }
      std::lock_guard lock(mu);
      if (fail_times > 0) {
        --fail_times;
        rec.status = fail_status;
        requests.push_back(rec);
        net::Headers h;
        h.Set("Content-Type", "text/plain");
        w.Send(fail_status, h, "injected failure\n");
        return;
      }
      index = requests.size();
      requests.push_back(rec);
    }

    net::HttpRequest up;
    up.method = req.method;
    up.url = upstream + req.target;
    for (const auto& [k, v] : req.headers.items()) {
      if (net::EqualsIgnoreCase(k, "Host") || net::EqualsIgnoreCase(k, "Content-Length") ||
          net::EqualsIgnoreCase(k, "Connection") || net::EqualsIgnoreCase(k, "Transfer-Encoding")) {
        continue;
      }
      up.headers.Add(k, v);
    }
    up.body = req.body;
    up.timeout = std::chrono::milliseconds(0);
    up.receive_buffer_bytes = 256 << 10;

    uint64_t pos = rec.begin;  // absolute image offset of the next byte sent
    bool started = false;
    bool gone = false;
    auto on_headers = [&](int status, const net::Headers& h) {
      net::Headers out;
      for (const auto& [k, v] : h.items()) {
        if (net::EqualsIgnoreCase(k, "Transfer-Encoding") || net::EqualsIgnoreCase(k, "Connection") ||
            net::EqualsIgnoreCase(k, "Content-Length") || net::EqualsIgnoreCase(k, "Keep-Alive")) {
          continue;
        }
        out.Add(k, v);
      }
      std::string len = h.Get("Content-Length");
      if (!len.empty()) {
        w.StartFixedLength(status, out, std::stoull(len));
      } else {
        w.StartChunked(status, out);
      }
      started = true;
      if (data) {
        std::lock_guard lock(mu);
        requests[index].status = status;
      }
    };
    auto on_data = [&](std::string_view d) -> bool {
      std::string piece(d);
      if (data) {
        std::unique_lock lock(mu);
        if (corrupt_at && *corrupt_at >= pos && *corrupt_at < pos + piece.size()) {
          piece[*corrupt_at - pos] = static_cast<char>(piece[*corrupt_at - pos] ^ 0x5a);
        }
        if (stall_at && *stall_at >= pos && *stall_at < pos + piece.size()) {
          // Send what lies before the stall point, then hold.
          size_t before = *stall_at - pos;
          lock.unlock();
          if (before > 0 && !w.WriteChunk(std::string_view(piece).substr(0, before)))
            return gone = true, false;
          lock.lock();
          requests[index].served += before;
          pos += before;
          piece.erase(0, before);
          stalled = true;
          cv.notify_all();
          // Release and Stop notify; a client that went away (a killed populator) is polled for.
          while (stall_at && !stopping && !w.ClientGone()) cv.wait_for(lock, std::chrono::milliseconds(100));
          stalled = false;
          if (stopping) return false;
        }
      }
      if (!w.WriteChunk(piece)) return gone = true, false;
      if (data) {
        std::lock_guard lock(mu);
        requests[index].served += piece.size();
      }
      pos += piece.size();
      return true;
    };
    try {
      client.Stream(up, on_data, on_headers);
    } catch (const Error&) {
      if (!started) {
        w.Send(502, {}, "upstream failed\n");
        return;
      }
    }
    (void)gone;
  }
};

FaultProxy::FaultProxy(std::string upstream) : impl_(std::make_unique<Impl>(std::move(upstream))) {}
FaultProxy::~FaultProxy() { Stop(); }

void FaultProxy::Start() {
  net::HttpServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(300000);
  impl_->server = std::make_unique<net::HttpServer>(
      o, [this](const net::ServerRequest& r, net::ResponseWriter& w) { impl_->Handle(r, w); });
  impl_->server->SetOnStopping([this] {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  });
  impl_->server->Start();
}

void FaultProxy::Stop() {
  if (impl_->server) {
    impl_->server->Stop();
    impl_->server.reset();
  }
}

std::string FaultProxy::url() const { return "http://127.0.0.1:" + std::to_string(impl_->server->port()); }

void FaultProxy::StallAt(uint64_t offset) {
  std::lock_guard lock(impl_->mu);
  impl_->stall_at = offset;
}

void FaultProxy::Release() {
  std::lock_guard lock(impl_->mu);
  impl_->stall_at.reset();
  impl_->cv.notify_all();
}

bool FaultProxy::Stalled() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stalled;
}

void FaultProxy::CorruptAt(uint64_t offset) {
  std::lock_guard lock(impl_->mu);
  impl_->corrupt_at = offset;
}

void FaultProxy::FailNext(int status, int times) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_status = status;
  impl_->fail_times = times;
}

std::vector<DataRequest> FaultProxy::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

void FaultProxy::ClearRequests() {
  std::lock_guard lock(impl_->mu);
  impl_->requests.clear();
}

}  // namespace hoist::lab::sim::glance

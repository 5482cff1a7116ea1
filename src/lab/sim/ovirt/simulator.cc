#include "lab/sim/ovirt/simulator.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace hoist::lab::sim::ovirt {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string NewId() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

void SendJson(net::ResponseWriter& w, int status, const json& body) {
  net::Headers h;
  h.Set("Content-Type", "application/json");
  w.Send(status, h, body.dump());
}

// The engine's fault document.
void SendFault(net::ResponseWriter& w, int status, const std::string& reason, const std::string& detail) {
  SendJson(w, status, {{"reason", reason}, {"detail", detail}});
}

void SendText(net::ResponseWriter& w, int status, const std::string& text) {
  net::Headers h;
  h.Set("Content-Type", "text/plain");
  w.Send(status, h, text + "\n");
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    std::string part = body.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = part.find('=');
    if (!part.empty()) {
      out[net::UrlDecode(part.substr(0, eq))] =
          eq == std::string::npos ? "" : net::UrlDecode(part.substr(eq + 1));
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

uint64_t FileSize(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  off_t end = lseek(fd, 0, SEEK_END);
  close(fd);
  return end < 0 ? 0 : static_cast<uint64_t>(end);
}

}  // namespace

struct Simulator::Impl {
  SimulatorOptions options;
  net::CaAndServer pki;
  std::unique_ptr<net::HttpServer> engine, daemon, proxy;
  uint16_t closed_port = 1;  // a port nothing listens on (transfer_url when unreachable)

  struct Transfer {
    TransferRecord record;
    std::string ticket;
    std::string phase;
    Clock::time_point phase_since;
    Clock::time_point last_activity;
    int active_requests = 0;
  };

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, SimDisk> disks;
  std::map<std::string, std::string> disk_status;  // ok | locked
  std::map<std::string, Transfer> transfers;
  std::vector<TransferRecord> finished;
  std::map<std::string, std::string> tickets;  // ticket → transfer id
  std::map<std::string, bool> tokens;
  std::optional<uint64_t> corrupt_at, stall_at;
  bool stalled = false;
  bool stopping = false;
  int fail_status = 0, fail_times = 0;
  std::vector<DataRequest> data_requests;
  std::thread monitor;

  void SetPhase(Transfer& t, const std::string& phase) {
    t.phase = phase;
    t.phase_since = Clock::now();
    t.record.phases.push_back(phase);
  }

  json TransferJson(const Transfer& t) const {
    json j = {{"id", t.record.id},
              {"href", "/ovirt-engine/api/imagetransfers/" + t.record.id},
              {"direction", "download"},
              {"format", "raw"},
              {"phase", t.phase},
              {"inactivity_timeout", std::to_string(t.record.inactivity_timeout)},
              {"timeout_policy", "legacy"},
              {"transferred", "0"},
              {"disk", {{"id", t.record.disk_id}, {"href", "/ovirt-engine/api/disks/" + t.record.disk_id}}}};
    if (!t.ticket.empty()) {
      uint16_t daemon_port = options.transfer_url_reachable ? daemon->port() : closed_port;
      j["transfer_url"] = "https://127.0.0.1:" + std::to_string(daemon_port) + "/images/" + t.ticket;
      j["proxy_url"] = "https://127.0.0.1:" + std::to_string(proxy->port()) + "/images/" + t.ticket;
    }
    return j;
  }

  void Monitor() {
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait_for(lock, std::chrono::milliseconds(25));
      auto now = Clock::now();
      for (auto it = transfers.begin(); it != transfers.end();) {
        Transfer& t = it->second;
        if (t.phase == "initializing" && now - t.phase_since >= options.initializing_for) {
          t.ticket = NewId();
          tickets[t.ticket] = t.record.id;
          t.last_activity = now;
          SetPhase(t, "transferring");
        } else if (t.phase == "transferring" && t.active_requests == 0 &&
                   now - t.last_activity >= std::chrono::seconds(t.record.inactivity_timeout)) {
          // The legacy timeout policy: the system pauses an idle transfer and drops its ticket.
          log::Info("ovirt-sim", "transfer paused by the system after inactivity",
                    {{"transfer", t.record.id}});
          tickets.erase(t.ticket);
          t.ticket.clear();
          SetPhase(t, "paused_system");
        } else if ((t.phase == "finalizing_success" || t.phase == "cancelled_user") &&
                   now - t.phase_since >= options.finalizing_for) {
          SetPhase(t, t.phase == "finalizing_success" ? "finished_success" : "finished_failure");
          disk_status[t.record.disk_id] = "ok";
        } else if ((t.phase == "finished_success" || t.phase == "finished_failure") &&
                   now - t.phase_since >= std::chrono::seconds(1)) {
          finished.push_back(t.record);
          it = transfers.erase(it);  // the engine forgets finished transfers: GET is 404
          continue;
        }
        ++it;
      }
    }
  }

  bool Authorized(const net::ServerRequest& req) {
    std::string auth = req.headers.Get("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) return false;
    std::lock_guard lock(mu);
    return tokens.count(auth.substr(7)) > 0;
  }

  void HandleEngine(const net::ServerRequest& req, net::ResponseWriter& w) {
    const std::string& p = req.path;
    if (p == "/ovirt-engine/sso/oauth/token" && req.method == "POST") {
      auto form = ParseForm(req.body);
      if (form["grant_type"] != "password" || form["scope"].find("ovirt-app-api") == std::string::npos) {
        SendJson(w, 400,
                 {{"error_code", "invalid_request"},
                  {"error", "grant_type password and scope ovirt-app-api are required"}});
        return;
      }
      if (form["username"] != options.username || form["password"] != options.password) {
        SendJson(w, 400,
                 {{"error_code", "access_denied"},
                  {"error", "Cannot authenticate user '" + form["username"] +
                                "': The username or password is incorrect.."}});
        return;
      }
      std::string token = NewId() + NewId();
      {
        std::lock_guard lock(mu);
        tokens[token] = true;
      }
      SendJson(w, 200,
               {{"access_token", token},
                {"scope", "ovirt-app-api"},
                {"token_type", "bearer"},
                {"exp", "9999999999999"}});
      return;
    }
    if (p.rfind("/ovirt-engine/api", 0) != 0) {
      SendText(w, 404, "not found");
      return;
    }
    if (!Authorized(req)) {
      net::Headers h;
      h.Set("WWW-Authenticate", "Bearer");
      h.Set("Content-Type", "application/json");
      w.Send(401, h,
             json{{"reason", "Unauthorized"}, {"detail", "Access token is missing or invalid"}}.dump());
      return;
    }
    const std::string api = "/ovirt-engine/api";
    std::string rest = p.substr(api.size());
    std::lock_guard lock(mu);
    if (rest.rfind("/disks/", 0) == 0 && req.method == "GET") {
      std::string id = rest.substr(7);
      auto it = disks.find(id);
      if (it == disks.end()) return SendFault(w, 404, "Operation Failed", "Entity not found: " + id);
      const SimDisk& d = it->second;
      std::string size = std::to_string(FileSize(d.path));
      SendJson(w, 200,
               {{"id", d.id},
                {"href", api + "/disks/" + d.id},
                {"name", d.name},
                {"alias", d.name},
                {"format", "raw"},
                {"content_type", "data"},
                {"storage_type", "image"},
                {"sparse", "true"},
                {"shareable", "false"},
                {"status", disk_status[d.id]},
                {"provisioned_size", size},
                {"actual_size", size},
                {"image_id", d.image_id}});
      return;
    }
    if (rest == "/imagetransfers" && req.method == "POST") {
      json body;
      try {
        body = json::parse(req.body);
      } catch (...) {
        return SendFault(w, 400, "Bad Request", "Request syntactically incorrect.");
      }
      std::string disk_id;
      if (body.contains("disk") && body["disk"].contains("id"))
        disk_id = body["disk"]["id"].get<std::string>();
      if (body.contains("image") && body["image"].contains("id"))
        disk_id = body["image"]["id"].get<std::string>();
      if (body.value("direction", "upload") != "download") {
        return SendFault(w, 400, "Operation Failed", "the lab simulator serves downloads only");
      }
      if (!disks.count(disk_id)) {
        return SendFault(w, 404, "Operation Failed", "Entity not found: disk " + disk_id);
      }
      if (disk_status[disk_id] != "ok") {
        return SendFault(w, 409, "Operation Failed",
                         "[Cannot transfer Virtual Disk. Disk " + disks[disk_id].name +
                             " is locked. Please try again in a few minutes.]");
      }
      Transfer t;
      t.record.id = NewId();
      t.record.disk_id = disk_id;
      int timeout = 60;
      if (body.contains("inactivity_timeout")) {
        const json& v = body["inactivity_timeout"];
        timeout = v.is_string() ? std::stoi(v.get<std::string>()) : v.get<int>();
      }
      t.record.inactivity_timeout = timeout;
      SetPhase(t, "initializing");
      disk_status[disk_id] = "locked";
      json out = TransferJson(t);
      transfers[t.record.id] = t;
      SendJson(w, 201, out);
      return;
    }
    if (rest == "/imagetransfers" && req.method == "GET") {
      json list = json::array();
      for (const auto& [id, t] : transfers) list.push_back(TransferJson(t));
      return SendJson(w, 200, {{"image_transfer", list}});
    }
    if (rest.rfind("/imagetransfers/", 0) == 0) {
      std::string tail = rest.substr(16);
      std::string id = tail.substr(0, tail.find('/'));
      std::string action = tail.find('/') == std::string::npos ? "" : tail.substr(tail.find('/') + 1);
      auto it = transfers.find(id);
      if (it == transfers.end())
        return SendFault(w, 404, "Operation Failed", "Entity not found: image transfer " + id);
      Transfer& t = it->second;
      if (action.empty() && req.method == "GET") return SendJson(w, 200, TransferJson(t));
      if (req.method == "POST" && (action == "finalize" || action == "cancel")) {
        tickets.erase(t.ticket);
        t.ticket.clear();
        SetPhase(t, action == "finalize" ? "finalizing_success" : "cancelled_user");
        return SendJson(w, 200, {{"status", "complete"}});
      }
    }
    SendFault(w, 404, "Operation Failed", "no such resource: " + req.method + " " + p);
  }

  // Looks up the ticket and marks the transfer active; nullopt (and a 403 sent) when there is none.
  std::optional<std::pair<std::string, SimDisk>> OpenTicket(const std::string& ticket,
                                                            net::ResponseWriter& w) {
    std::lock_guard lock(mu);
    auto tk = tickets.find(ticket);
    if (tk == tickets.end()) {
      SendText(w, 403, "You are not allowed to access this resource: No such ticket " + ticket);
      return std::nullopt;
    }
    Transfer& t = transfers[tk->second];
    t.active_requests++;
    t.last_activity = Clock::now();
    return std::make_pair(tk->second, disks[t.record.disk_id]);
  }

  void CloseTicket(const std::string& transfer_id) {
    std::lock_guard lock(mu);
    auto it = transfers.find(transfer_id);
    if (it == transfers.end()) return;
    it->second.active_requests--;
    it->second.last_activity = Clock::now();
  }

  void HandleImageio(const std::string& server, const net::ServerRequest& req, net::ResponseWriter& w) {
    const std::string prefix = "/images/";
    if (req.path.rfind(prefix, 0) != 0) return SendText(w, 404, "not found");
    std::string rest = req.path.substr(prefix.size());
    std::string ticket = rest.substr(0, rest.find('/'));
    std::string sub = rest.find('/') == std::string::npos ? "" : rest.substr(rest.find('/') + 1);
    auto opened = OpenTicket(ticket, w);
    if (!opened) return;
    const std::string transfer_id = opened->first;
    const SimDisk disk = opened->second;
    struct Closer {
      Impl* impl;
      std::string id;
      ~Closer() { impl->CloseTicket(id); }
    } closer{this, transfer_id};

    if (req.method == "OPTIONS" && sub.empty()) {
      json features = json::array();
      if (options.extents) features.push_back("extents");
      net::Headers h;
      h.Set("Allow", "OPTIONS,GET");
      h.Set("Content-Type", "application/json");
      w.Send(200, h,
             json{{"features", features}, {"max_readers", options.max_readers}, {"max_writers", 1}}.dump());
      return;
    }
    if (req.method != "GET") return SendText(w, 405, "method not allowed");
    if (sub == "extents") {
      if (!options.extents) return SendText(w, 404, "not found");
      return SendExtents(disk, w);
    }
    if (sub == "checksum") {
      if (!options.checksum) return SendText(w, 404, "not found");
      return SendChecksum(disk, req, w);
    }
    if (!sub.empty()) return SendText(w, 404, "not found");
    SendData(server, disk, req, w);
  }

  void SendExtents(const SimDisk& disk, net::ResponseWriter& w) {
    int fd = open(disk.path.c_str(), O_RDONLY);
    uint64_t size = FileSize(disk.path);
    json list = json::array();
    uint64_t pos = 0;
    while (pos < size) {
      off_t data = lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
      uint64_t data_at = data < 0 ? size : static_cast<uint64_t>(data);
      if (data_at > pos) {
        list.push_back({{"start", pos}, {"length", data_at - pos}, {"zero", true}, {"hole", false}});
        pos = data_at;
        continue;
      }
      off_t hole = lseek(fd, static_cast<off_t>(pos), SEEK_HOLE);
      uint64_t hole_at = hole < 0 ? size : std::min<uint64_t>(size, static_cast<uint64_t>(hole));
      list.push_back({{"start", pos}, {"length", hole_at - pos}, {"zero", false}, {"hole", false}});
      pos = hole_at;
    }
    close(fd);
    SendJson(w, 200, list);
  }

  void SendChecksum(const SimDisk& disk, const net::ServerRequest& req, net::ResponseWriter& w) {
    std::string algorithm = req.Query("algorithm", "blake2b");
    uint64_t block_size = std::stoull(req.Query("block_size", std::to_string(4 << 20)));
    if (block_size < (1 << 20) || block_size > (16 << 20) || block_size % 4096 != 0) {
      return SendText(w, 400, "Block size out of allowed range or not aligned to 4096");
    }
    const EVP_MD* md = algorithm == "blake2b" ? nullptr : EVP_get_digestbyname(algorithm.c_str());
    if (md == nullptr) {
      return SendText(w, 400,
                      "Invalid algorithm: " + algorithm +
                          " (the lab simulator has OpenSSL's digests: sha256, sha1, md5, …)");
    }
    int fd = open(disk.path.c_str(), O_RDONLY);
    uint64_t size = FileSize(disk.path);
    std::string buf(block_size, '\0');
    EVP_MD_CTX* outer = EVP_MD_CTX_new();
    EVP_DigestInit_ex(outer, md, nullptr);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    for (uint64_t off = 0; off < size; off += block_size) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(block_size, size - off));
      size_t got = 0;
      while (got < len) {
        ssize_t r = pread(fd, buf.data() + got, len - got, static_cast<off_t>(off + got));
        if (r <= 0) break;
        got += static_cast<size_t>(r);
      }
      EVP_Digest(buf.data(), len, d, &n, md, nullptr);
      EVP_DigestUpdate(outer, d, n);
    }
    close(fd);
    EVP_DigestFinal_ex(outer, d, &n);
    EVP_MD_CTX_free(outer);
    std::string hex;
    char b[3];
    for (unsigned int i = 0; i < n; ++i) {
      std::snprintf(b, sizeof b, "%02x", d[i]);
      hex += b;
    }
    SendJson(w, 200, {{"algorithm", algorithm}, {"block_size", block_size}, {"checksum", hex}});
  }

  void SendData(const std::string& server, const SimDisk& disk, const net::ServerRequest& req,
                net::ResponseWriter& w) {
    uint64_t size = FileSize(disk.path);
    DataRequest rec{server, 0, size, 0, 200};
    std::string range = req.headers.Get("Range");
    bool ranged = false;
    if (!range.empty()) {
      unsigned long long a = 0, b = 0;
      if (std::sscanf(range.c_str(), "bytes=%llu-%llu", &a, &b) != 2 || b < a || b >= size) {
        SendText(w, 416, "Requested range not satisfiable");
        return;
      }
      rec.begin = a;
      rec.end = b + 1;
      rec.status = 206;
      ranged = true;
    }
    size_t index;
    {
      std::lock_guard lock(mu);
      if (fail_times > 0) {
        --fail_times;
        rec.status = fail_status;
        data_requests.push_back(rec);
        SendText(w, fail_status, "injected failure");
        return;
      }
      index = data_requests.size();
      data_requests.push_back(rec);
    }
    net::Headers h;
    h.Set("Content-Type", "application/octet-stream");
    if (ranged)
      h.Set("Content-Range", "bytes " + std::to_string(rec.begin) + "-" + std::to_string(rec.end - 1) + "/*");
    w.StartFixedLength(rec.status, h, rec.end - rec.begin);
    int fd = open(disk.path.c_str(), O_RDONLY);
    std::string buf(1 << 20, '\0');
    uint64_t pos = rec.begin;
    while (pos < rec.end) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(buf.size(), rec.end - pos));
      ssize_t r = pread(fd, buf.data(), len, static_cast<off_t>(pos));
      if (r <= 0) break;
      std::string_view piece(buf.data(), static_cast<size_t>(r));
      {
        std::unique_lock lock(mu);
        if (corrupt_at && *corrupt_at >= pos && *corrupt_at < pos + piece.size()) {
          buf[*corrupt_at - pos] = static_cast<char>(buf[*corrupt_at - pos] ^ 0x5a);
        }
        if (stall_at && *stall_at >= pos && *stall_at < pos + piece.size()) {
          size_t before = static_cast<size_t>(*stall_at - pos);
          lock.unlock();
          if (before > 0 && !w.WriteChunk(piece.substr(0, before))) break;
          lock.lock();
          data_requests[index].served += before;
          pos += before;
          piece.remove_prefix(before);
          stalled = true;
          while (stall_at && !stopping && !w.ClientGone()) cv.wait_for(lock, std::chrono::milliseconds(100));
          stalled = false;
          if (stopping) break;
        }
      }
      if (!w.WriteChunk(piece)) break;
      {
        std::lock_guard lock(mu);
        data_requests[index].served += piece.size();
      }
      pos += piece.size();
      Touch(req.path);
    }
    close(fd);
  }

  void Touch(const std::string& path) {
    std::string ticket =
        path.substr(8, path.find('/', 8) == std::string::npos ? std::string::npos : path.find('/', 8) - 8);
    std::lock_guard lock(mu);
    auto tk = tickets.find(ticket);
    if (tk != tickets.end()) transfers[tk->second].last_activity = Clock::now();
  }
};

Simulator::Simulator(SimulatorOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->pki = net::GenerateCaAndServer("hoist lab oVirt CA", "ovirt-engine.lab",
                                        {"localhost", "ovirt-engine.lab"}, {"127.0.0.1"});
}

Simulator::~Simulator() { Stop(); }

void Simulator::Start() {
  auto make = [this](std::function<void(const net::ServerRequest&, net::ResponseWriter&)> h) {
    net::HttpServerOptions o;
    o.tls_cert_pem = impl_->pki.server.cert_pem;
    o.tls_key_pem = impl_->pki.server.key_pem;
    auto s = std::make_unique<net::HttpServer>(o, std::move(h));
    s->SetOnStopping([this] {
      std::lock_guard lock(impl_->mu);
      impl_->stopping = true;
      impl_->cv.notify_all();
    });
    s->Start();
    return s;
  };
  impl_->engine =
      make([this](const net::ServerRequest& r, net::ResponseWriter& w) { impl_->HandleEngine(r, w); });
  impl_->daemon = make(
      [this](const net::ServerRequest& r, net::ResponseWriter& w) { impl_->HandleImageio("daemon", r, w); });
  impl_->proxy = make(
      [this](const net::ServerRequest& r, net::ResponseWriter& w) { impl_->HandleImageio("proxy", r, w); });
  {
    // A port that was free a moment ago and is closed now: connections to it are refused.
    net::HttpServer probe({}, [](const net::ServerRequest&, net::ResponseWriter& w) { w.Send(500, {}, ""); });
    probe.Start();
    impl_->closed_port = probe.port();
    probe.Stop();
  }
  impl_->monitor = std::thread([this] { impl_->Monitor(); });
}

void Simulator::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  for (auto* s : {&impl_->engine, &impl_->daemon, &impl_->proxy}) {
    if (*s) {
      (*s)->Stop();
      s->reset();
    }
  }
  if (impl_->monitor.joinable()) impl_->monitor.join();
}

std::string Simulator::engine_url() const {
  return "https://127.0.0.1:" + std::to_string(impl_->engine->port());
}
const std::string& Simulator::ca_pem() const { return impl_->pki.ca.cert_pem; }

void Simulator::AddDisk(SimDisk disk) {
  std::lock_guard lock(impl_->mu);
  if (disk.image_id.empty()) disk.image_id = NewId();
  impl_->disk_status[disk.id] = "ok";
  impl_->disks[disk.id] = std::move(disk);
}

void Simulator::CorruptAt(uint64_t offset) {
  std::lock_guard lock(impl_->mu);
  impl_->corrupt_at = offset;
}
void Simulator::StallAt(uint64_t offset) {
  std::lock_guard lock(impl_->mu);
  impl_->stall_at = offset;
}
void Simulator::Release() {
  std::lock_guard lock(impl_->mu);
  impl_->stall_at.reset();
  impl_->cv.notify_all();
}
bool Simulator::Stalled() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stalled;
}
void Simulator::FailNextData(int status, int times) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_status = status;
  impl_->fail_times = times;
}
std::vector<DataRequest> Simulator::data_requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->data_requests;
}
void Simulator::ClearDataRequests() {
  std::lock_guard lock(impl_->mu);
  impl_->data_requests.clear();
}
std::vector<TransferRecord> Simulator::transfers() const {
  std::lock_guard lock(impl_->mu);
  std::vector<TransferRecord> out = impl_->finished;
  for (const auto& [id, t] : impl_->transfers) out.push_back(t.record);
  return out;
}
int Simulator::active_transfers() const {
  std::lock_guard lock(impl_->mu);
  int n = 0;
  for (const auto& [id, t] : impl_->transfers) {
    if (t.phase == "initializing" || t.phase == "transferring" || t.phase.rfind("paused", 0) == 0) ++n;
  }
  return n;
}

}  // namespace hoist::lab::sim::ovirt

#include "lab/sim/common/sim_common.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text.h"
#include "net/http_server.h"
#include "net/tls.h"

namespace hoist::lab::sim::common {
namespace fs = std::filesystem;

void FaultBook::Add(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

std::optional<Fault> FaultBook::Next(std::string_view method, std::string_view path) {
  std::lock_guard lock(mu_);
  requests_.emplace_back(std::string(method), std::string(path));
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if ((it->method.empty() || it->method == method) && path.rfind(it->path_prefix, 0) == 0) {
      Fault f = *it;
      if (--it->times <= 0) faults_.erase(it);
      return f;
    }
  }
  return std::nullopt;
}

int FaultBook::Count(std::string_view method, std::string_view path_prefix) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [m, p] : requests_) {
    if ((method.empty() || m == method) && p.rfind(path_prefix, 0) == 0) ++n;
  }
  return n;
}

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileAtomic(const fs::path& path, const std::string& content, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    throw TransientError("writing " + path.string() + ": " + std::strerror(errno) +
                         " — check the directory's permissions and free space");
  }
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      throw TransientError("writing " + path.string() + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  fs::rename(tmp, path, ec);
  if (ec) throw TransientError("renaming " + tmp + " to " + path.string() + ": " + ec.message());
}

}  // namespace

TlsMaterial LoadOrCreateCertificate(const std::string& dir, const std::string& common_name) {
  TlsMaterial t;
  if (!dir.empty()) {
    t.cert_pem = ReadFile(fs::path(dir) / "tls.crt");
    t.key_pem = ReadFile(fs::path(dir) / "tls.key");
    if (!t.cert_pem.empty() && !t.key_pem.empty()) return t;
  }
  net::CertAndKey c = net::GenerateSelfSigned(common_name, {"localhost"}, {"127.0.0.1"}, 3650);
  t.cert_pem = c.cert_pem;
  t.key_pem = c.key_pem;
  if (!dir.empty()) {
    WriteFileAtomic(fs::path(dir) / "tls.key", t.key_pem, 0600);
    WriteFileAtomic(fs::path(dir) / "tls.crt", t.cert_pem, 0644);
  }
  return t;
}

ArraySimulator::ArraySimulator(const SimulatorOptionsBase& options, std::string vendor,
                               std::string certificate_name, std::string content_type)
    : state_dir_(options.state_dir),
      certificate_name_(std::move(certificate_name)),
      content_type_(std::move(content_type)),
      tls_(options.tls),
      port_(options.port) {
  if (options.lun_dir.empty()) throw BugError("the " + vendor + " simulator needs a LUN directory");
  fs::create_directories(options.lun_dir);
}

ArraySimulator::~ArraySimulator() { Stop(); }

void ArraySimulator::Start() {
  net::HttpServerOptions so;
  so.port = port_;
  if (tls_) {
    cert_ = LoadOrCreateCertificate(state_dir_, certificate_name_);
    so.tls_cert_pem = cert_.cert_pem;
    so.tls_key_pem = cert_.key_pem;
  }
  server_ = std::make_unique<net::HttpServer>(
      so, [this](const net::ServerRequest& req, net::ResponseWriter& w) { Serve(req, w); });
  server_->Start();
}

void ArraySimulator::Stop() {
  if (server_) server_->Stop();
}

uint16_t ArraySimulator::port() const { return server_ ? server_->port() : 0; }
std::string ArraySimulator::host() const { return "127.0.0.1:" + std::to_string(port()); }
std::string ArraySimulator::url() const { return (tls_ ? "https://" : "http://") + host(); }
const std::string& ArraySimulator::ca_pem() const { return cert_.cert_pem; }

void ArraySimulator::InjectFaultForTest(Fault fault) { faults_.Add(std::move(fault)); }

int ArraySimulator::RequestCountForTest(std::string_view method, std::string_view path_prefix) const {
  return faults_.Count(method, path_prefix);
}

nlohmann::json LoadState(const SimulatorOptionsBase& options) {
  return options.state_dir.empty() ? nlohmann::json() : LoadJsonFile(options.state_dir + "/state.json");
}

void SaveState(const SimulatorOptionsBase& options, const nlohmann::json& state) {
  if (!options.state_dir.empty()) SaveJsonFile(options.state_dir + "/state.json", state);
}

nlohmann::json SanEntry(const std::string& backing, const std::string& array, const std::string& vendor,
                        const std::string& model, int lun_id, uint64_t size_bytes) {
  nlohmann::json entry = {{"backing", backing},
                          {"array", array},
                          {"vendor", vendor},
                          {"model", model},
                          {"sizeBytes", size_bytes}};
  if (lun_id >= 0) entry["lunId"] = lun_id;
  return entry;
}

void ArraySimulator::Serve(const net::ServerRequest& req, net::ResponseWriter& w) {
  // The log keeps the query too, so tests can tell a filtered collection read from a whole one.
  std::optional<Fault> fault = faults_.Next(req.method, req.target);
  if (fault && fault->delay.count() > 0) std::this_thread::sleep_for(fault->delay);
  Reply r;
  if (fault && fault->status != 0 && !fault->cut) {
    r = FaultReply(fault->status);
  } else {
    try {
      r = Handle(req);
    } catch (const std::exception& e) {
      r = InternalError(e.what());
    }
  }
  if (fault && fault->cut && r.chunk_bytes == 0) {
    // Not a streamed answer: it goes out whole, and the fault waits for the next one that is.
    Fault again = *fault;
    again.times = 1;
    faults_.Add(again);
    fault.reset();
  }
  net::Headers h;
  h.Add("Content-Type", content_type_);
  for (const auto& [k, v] : r.headers) h.Add(k, v);
  if (fault && fault->cut) {
    // Half the body, then the connection closes without the last chunk: the server drops a
    // connection whose handler fails after the answer started.
    w.StartChunked(r.status, h);
    w.WriteChunk(std::string_view(r.body).substr(0, r.body.size() / 2));
    throw TransientError("injected fault: the answer to " + req.path + " is cut off");
  }
  if (r.chunk_bytes == 0) {
    w.Send(r.status, h, r.body);
    return;
  }
  w.StartChunked(r.status, h);
  for (size_t at = 0; at < r.body.size(); at += r.chunk_bytes) {
    if (!w.WriteChunk(std::string_view(r.body).substr(at, r.chunk_bytes))) return;
  }
  w.Finish();
}

void CreateSparseFile(const std::string& path, uint64_t size_bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size_bytes)) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw TransientError("creating the LUN backing file " + path + " (" + std::to_string(size_bytes) +
                         " bytes): " + std::strerror(err) + " — check free space and permissions");
  }
  ::close(fd);
}

namespace {

void WriteSanEntry(const std::string& san_dir, const std::string& initiator, const std::string& device,
                   const nlohmann::json& entry) {
  if (san_dir.empty()) return;
  WriteFileAtomic(fs::path(san_dir) / initiator / device, entry.dump() + "\n", 0644);
}

void RemoveSanEntry(const std::string& san_dir, const std::string& initiator, const std::string& device) {
  if (san_dir.empty()) return;
  fs::path dir = fs::path(san_dir) / initiator;
  std::error_code ec;
  fs::remove(dir / device, ec);
  if (fs::is_directory(dir, ec) && fs::is_empty(dir, ec)) fs::remove(dir, ec);
}

}  // namespace

void SanPublisher::Publish(const std::vector<std::tuple<std::string, std::string, nlohmann::json>>& desired) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::pair<std::string, std::string>, std::string>> next;
  for (const auto& [initiator, device, entry] : desired) {
    std::pair<std::string, std::string> key{initiator, device};
    std::string text = entry.dump();
    bool same = false;
    for (const auto& [k, t] : published_) same = same || (k == key && t == text);
    bool dup = false;
    for (const auto& [k, _] : next) dup = dup || k == key;
    if (dup) continue;
    if (!same) WriteSanEntry(san_dir_, initiator, device, entry);
    next.emplace_back(key, text);
  }
  for (const auto& [k, _] : published_) {
    bool keep = false;
    for (const auto& [n, __] : next) keep = keep || n == k;
    if (!keep) RemoveSanEntry(san_dir_, k.first, k.second);
  }
  published_ = std::move(next);
}

void SaveJsonFile(const std::string& path, const nlohmann::json& state) {
  if (path.empty()) return;
  WriteFileAtomic(path, state.dump(1) + "\n", 0600);
}

nlohmann::json LoadJsonFile(const std::string& path) {
  std::error_code ec;
  if (path.empty() || !fs::exists(path, ec)) return nullptr;
  auto j = nlohmann::json::parse(ReadFile(path), nullptr, false);
  if (j.is_discarded()) {
    throw PreconditionError("the simulator state file " + path +
                            " is not valid JSON; remove it to start with an empty array");
  }
  return j;
}

std::string RandomHex(std::mt19937_64& rng, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kDigits[rng() % 16];
  return s;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace hoist::lab::sim::common

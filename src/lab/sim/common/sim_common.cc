#include "lab/sim/common/sim_common.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
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

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace hoist::lab::sim::common

// `hoist lab apiserver --dir DIR [--port N] [--bind ADDR]`: runs the lab's Kubernetes-compatible API
// server alone (no controllers). State lives in DIR/store; DIR/kubeconfig is written once the server
// listens (atomically, so its presence means "ready"). The CA, serving certificate and token are kept in
// DIR and reused on restart, so kubeconfigs stay valid.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "cmd/common/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "lab/apiserver.h"
#include "lab/store.h"
#include "net/tls.h"

namespace hoist::cli {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

void WriteFileAtomic(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw PreconditionError("cannot write " + tmp + ": check that the directory is writable");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      throw PreconditionError("cannot write " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw PreconditionError("cannot rename " + tmp + " to " + path);
}

std::string RandomToken() {
  std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 40; ++i) t += kHex[rd() % 16];
  return t;
}

int Usage() {
  std::fprintf(stderr,
               "usage: hoist lab apiserver --dir DIR [--port N] [--bind ADDR] [--no-fsync] [--log-level LEVEL]\n"
               "  Runs the lab Kubernetes API server; writes DIR/kubeconfig when ready.\n"
               "  --no-fsync: journal writes are not fsync'd (faster; a crash may lose the last writes)\n");
  return 2;
}

int Run(const std::vector<std::string>& args) {
  std::string dir, bind = "127.0.0.1";
  int port = 0;
  bool fsync = true;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (args[i] == "--dir" && value(&v)) {
      dir = v;
    } else if (args[i] == "--port" && value(&v)) {
      port = std::atoi(v.c_str());
    } else if (args[i] == "--bind" && value(&v)) {
      bind = v;
    } else if (args[i] == "--no-fsync") {
      fsync = false;
    } else if (args[i] == "--log-level" && value(&v)) {
      log::SetLevel(log::ParseLevel(v));
    } else if (args[i] == "-h" || args[i] == "--help") {
      Usage();
      return 0;
    } else {
      return Usage();
    }
  }
  if (dir.empty()) return Usage();
  try {
    ::mkdir(dir.c_str(), 0700);
    std::string ca, cert, key, token;
    if (!(ReadFile(dir + "/ca.crt", &ca) && ReadFile(dir + "/server.crt", &cert) &&
          ReadFile(dir + "/server.key", &key) && ReadFile(dir + "/token", &token) && !token.empty())) {
      auto pki = net::GenerateCaAndServer("hoist-lab-ca", "hoist-lab-apiserver", {"localhost"}, {"127.0.0.1"});
      ca = pki.ca.cert_pem;
      cert = pki.server.cert_pem;
      key = pki.server.key_pem;
      token = RandomToken();
      WriteFileAtomic(dir + "/ca.crt", ca, 0644);
      WriteFileAtomic(dir + "/server.crt", cert, 0644);
      WriteFileAtomic(dir + "/server.key", key, 0600);
      WriteFileAtomic(dir + "/token", token, 0600);
    }
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();

    // Block the stop signals before any thread starts, then wait for them here.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    lab::StoreOptions so;
    so.dir = dir + "/store";
    so.fsync = fsync;
    lab::Store store(so);
    lab::ApiServerOptions ao;
    ao.bind_address = bind;
    ao.port = static_cast<uint16_t>(port);
    ao.token = token;
    ao.tls_cert_pem = cert;
    ao.tls_key_pem = key;
    lab::ApiServer server(store, ao);
    server.Start();
    WriteFileAtomic(dir + "/kubeconfig", lab::MakeKubeconfig(server.url(), ca, token), 0600);
    std::printf("port=%u\nurl=%s\nkubeconfig=%s/kubeconfig\n", server.port(), server.url().c_str(), dir.c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    log::Info("lab.apiserver", "stopping", {{"signal", sig}});
    server.Stop();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist lab apiserver: %s\n", e.what());
    return 1;
  }
}

HOIST_REGISTER_COMMAND(Command{{"lab", "apiserver"}, "run the lab Kubernetes API server alone", Run});

}  // namespace
}  // namespace hoist::cli

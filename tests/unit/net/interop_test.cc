// hoist's HTTP server and TLS material against real clients: the curl program (OpenSSL) and kubectl
// (Go's crypto/tls and crypto/x509), as installed by scripts/setup.sh.
#include <gtest/gtest.h>

#include <thread>

#include "net/http_server.h"
#include "net/tls.h"
#include "net_test_util.h"

namespace hoist::net {
namespace {

using namespace std::chrono_literals;
using testing::RunCommand;

struct TlsServer {
  CaAndServer pki = GenerateCaAndServer("hoist-test-ca", "hoist-lab", {"localhost"}, {"127.0.0.1"});
  testing::TempDir dir;
  std::string ca_file = dir.File("ca.pem", pki.ca.cert_pem);
  std::unique_ptr<HttpServer> server;

  explicit TlsServer(Handler handler) {
    HttpServerOptions o;
    o.tls_cert_pem = pki.server.cert_pem;
    o.tls_key_pem = pki.server.key_pem;
    server = std::make_unique<HttpServer>(o, std::move(handler));
    server->Start();
  }
  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server->port()) + path;
  }
};

void Handle(const ServerRequest& req, ResponseWriter& w) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  if (req.path == "/stream") {
    w.StartChunked(200, h);
    for (int i = 0; i < 3; ++i) w.WriteChunk("event " + std::to_string(i) + "\n");
    w.Finish();
  } else if (req.path == "/upload") {
    w.Send(200, h, "got " + std::to_string(req.body.size()) + " bytes, expect=" + req.headers.Get("Expect"));
  } else if (req.path == "/version") {
    h.Set("Content-Type", "application/json");
    w.Send(200, h, R"({"major":"1","minor":"30","gitVersion":"v1.30.0"})");
  } else {
    w.Send(200, h, "path=" + req.path + " q=" + req.Query("q"));
  }
}

TEST(NetInterop, CurlVerifiesAndTalksToTheServer) {
  ASSERT_TRUE(testing::HaveProgram("curl")) << "curl is installed by scripts/setup.sh";
  TlsServer t(Handle);
  std::string curl = "curl -sS --max-time 20 --cacert " + t.ca_file + " ";

  auto r = RunCommand(curl + "'" + t.Url("/a%20b?q=x%26y") + "'");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "path=/a b q=x&y");

  r = RunCommand(curl + "-N " + t.Url("/stream"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "event 0\nevent 1\nevent 2\n");

  // curl asks "Expect: 100-continue" for large uploads and waits for the interim answer.
  std::string big = t.dir.File("big.bin", std::string(3 << 20, 'z'));
  r = RunCommand(curl + "--data-binary @" + big + " " + t.Url("/upload"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "got 3145728 bytes, expect=100-continue");

  r = RunCommand(curl + "-I " + t.Url("/x"));
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("HTTP/1.1 200 OK"), std::string::npos) << r.output;

  // Several URLs on one command line reuse the connection.
  r = RunCommand(curl + "-w '%{num_connects} ' -o /dev/null -o /dev/null " + t.Url("/1") + " " + t.Url("/2"));
  EXPECT_EQ(r.output, "1 0 ");

  // Without the CA, curl refuses the certificate (exit 60).
  r = RunCommand("curl -sS --max-time 20 " + t.Url("/x") + " 2>/dev/null");
  EXPECT_EQ(r.status, 60);
}

TEST(NetInterop, KubectlVerifiesTheLabCertificates) {
  ASSERT_TRUE(testing::HaveProgram("kubectl")) << "kubectl is installed by scripts/setup.sh";
  TlsServer t(Handle);
  std::string kubeconfig = t.dir.File("kubeconfig", "apiVersion: v1\nkind: Config\n");
  std::string kubectl =
      "kubectl --kubeconfig=" + kubeconfig +
      " --token=unused --request-timeout=20s --server=https://127.0.0.1:" + std::to_string(t.server->port()) +
      " ";

  auto r = RunCommand(kubectl + "--certificate-authority=" + t.ca_file + " get --raw /version 2>&1");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("v1.30.0"), std::string::npos) << r.output;

  // And by host name, which the certificate also names.
  r = RunCommand(
      "kubectl --kubeconfig=" + kubeconfig +
      " --token=unused --request-timeout=20s --server=https://localhost:" + std::to_string(t.server->port()) +
      " --certificate-authority=" + t.ca_file + " get --raw /version 2>&1");
  EXPECT_EQ(r.status, 0) << r.output;

  r = RunCommand(kubectl + "get --raw /version 2>&1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("x509"), std::string::npos) << r.output;
}

TEST(NetInterop, KubectlAcceptsASelfSignedCertificate) {
  ASSERT_TRUE(testing::HaveProgram("kubectl")) << "kubectl is installed by scripts/setup.sh";
  CertAndKey ck = GenerateSelfSigned("metrics", {"localhost"}, {"127.0.0.1"});
  HttpServerOptions o;
  o.tls_cert_pem = ck.cert_pem;
  o.tls_key_pem = ck.key_pem;
  HttpServer server(o, Handle);
  server.Start();
  testing::TempDir dir;
  std::string kubeconfig = dir.File("kubeconfig", "apiVersion: v1\nkind: Config\n");
  auto r = RunCommand(
      "kubectl --kubeconfig=" + kubeconfig +
      " --token=unused --request-timeout=20s --server=https://127.0.0.1:" + std::to_string(server.port()) +
      " --certificate-authority=" + dir.File("cert.pem", ck.cert_pem) + " get --raw /version 2>&1");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("v1.30.0"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hoist::net

// The client over real HTTPS (hoist's own server on loopback, with a CA made for the test): the
// certificate is verified against the configured CA, and the session cookie travels as on vCenter.
#include <gtest/gtest.h>

#include "core/error.h"
#include "net/http_server.h"
#include "net/tls.h"
#include "unit/vsphere/fake_vcenter.h"
#include "vsphere/client.h"

namespace hoist::vsphere {
namespace {

class TlsVcenter {
 public:
  TlsVcenter() : material_(net::GenerateCaAndServer("test-ca", "vc.test", {"localhost"}, {"127.0.0.1"})) {
    net::HttpServerOptions o;
    o.tls_cert_pem = material_.server.cert_pem;
    o.tls_key_pem = material_.server.key_pem;
    server_ =
        std::make_unique<net::HttpServer>(o, [this](const net::ServerRequest& req, net::ResponseWriter& w) {
          net::HttpRequest forwarded;
          forwarded.method = req.method;
          forwarded.url = req.path;
          forwarded.headers = req.headers;
          forwarded.body = req.body;
          net::HttpResponse r = fake_.Post(forwarded);
          w.Send(r.status, r.headers, r.body);
        });
    server_->Start();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()) + "/sdk"; }
  const std::string& ca() const { return material_.ca.cert_pem; }
  testing::FakeVcenter& fake() { return fake_; }

 private:
  net::CaAndServer material_;
  testing::FakeVcenter fake_;
  std::unique_ptr<net::HttpServer> server_;
};

ClientOptions Options(const TlsVcenter& vc) {
  ClientOptions o = testing::TestOptions();
  o.url = vc.url();
  return o;
}

TEST(Tls, LoginWorksWithTheRightCaAndKeepsTheCookie) {
  TlsVcenter vc;
  ClientOptions o = Options(vc);
  o.tls.ca_pem = vc.ca();
  Client c(o);
  c.Login();
  EXPECT_EQ(c.session_key(), "session-1");
  XmlNode r = c.Call("CurrentTime", Client::service_instance());  // needs the cookie
  EXPECT_EQ(r.ChildText("returnval"), "2026-11-22T00:00:00Z");
}

TEST(Tls, UnknownCaIsAPrecondition) {
  TlsVcenter vc;
  Client c(Options(vc));
  try {
    c.Login();
    FAIL() << "login without trusting the CA succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
  }
  EXPECT_EQ(vc.fake().Count("Login"), 0u);
}

TEST(Tls, InsecureSkipsVerification) {
  TlsVcenter vc;
  ClientOptions o = Options(vc);
  o.tls.insecure_skip_verify = true;
  Client c(o);
  EXPECT_NO_THROW(c.Login());
}

}  // namespace
}  // namespace hoist::vsphere

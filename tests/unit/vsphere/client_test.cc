#include "vsphere/client.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "unit/vsphere/fake_vcenter.h"
#include "vsphere/fault.h"

namespace hoist::vsphere {
namespace {

using testing::FakeVcenter;
using testing::Response;

struct Fixture {
  FakeVcenter* fake;
  std::unique_ptr<Client> client;
};

Fixture Make(std::string password = "secret",
             std::chrono::milliseconds keepalive = std::chrono::milliseconds(0)) {
  auto fake = std::make_unique<FakeVcenter>();
  FakeVcenter* raw = fake.get();
  ClientOptions o;
  o.url = "vc.example.com";
  o.username = "administrator@vsphere.local";
  o.password = std::move(password);
  o.keepalive_interval = keepalive;
  return {raw, std::make_unique<Client>(o, std::move(fake))};
}

TEST(Envelope, CarriesMethodThisAndParams) {
  std::string env = BuildEnvelope("RescanAllHba", {"HostStorageSystem", "storageSystem-<9>"}, "<x>1</x>");
  XmlNode doc = ParseXml(env);
  EXPECT_EQ(doc.ns, kSoapEnvNs);
  const XmlNode* call = doc.Find("Body/RescanAllHba");
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(call->ns, kVim25Ns);
  const XmlNode* self = call->Child("_this");
  EXPECT_EQ(*self->Attribute("type"), "HostStorageSystem");
  EXPECT_EQ(self->text, "storageSystem-<9>");
  EXPECT_EQ(call->ChildText("x"), "1");
}

TEST(Url, Normalizes) {
  EXPECT_EQ(NormalizeSdkUrl("vc.example.com"), "https://vc.example.com/sdk");
  EXPECT_EQ(NormalizeSdkUrl("https://vc.example.com/"), "https://vc.example.com/sdk");
  EXPECT_EQ(NormalizeSdkUrl("http://user:pass@127.0.0.1:8989/sdk"), "http://127.0.0.1:8989/sdk");
  EXPECT_EQ(NormalizeSdkUrl("https://10.0.0.5:443/sdk"), "https://10.0.0.5:443/sdk");
}

TEST(Client, LoginKeepsTheSessionCookieAndServiceContent) {
  auto f = Make();
  f.client->Login();
  EXPECT_TRUE(f.client->logged_in());
  EXPECT_EQ(f.client->service_content().api_version, "8.0.2.0");
  EXPECT_EQ(f.client->service_content().property_collector.value, "propertyCollector");
  EXPECT_EQ(f.client->session_key(), "session-1");
  XmlNode r = f.client->Call("CurrentTime", Client::service_instance());
  EXPECT_EQ(r.ChildText("returnval"), "2026-11-22T00:00:00Z");
  auto reqs = f.fake->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].url, "https://vc.example.com/sdk");
  EXPECT_FALSE(reqs[0].headers.Has("Cookie"));
  EXPECT_EQ(reqs[2].headers.Get("Cookie"), "vmware_soap_session=\"session-1\"");
  EXPECT_EQ(reqs[2].headers.Get("SOAPAction"), "urn:vim25/8.0.2.0");
  EXPECT_EQ(f.client->round_trips(), 3u);
}

TEST(Client, WrongPasswordIsAPreconditionThatNamesTheSecretButNotThePassword) {
  auto f = Make("hunter2-wrong");
  try {
    f.client->Login();
    FAIL() << "expected InvalidLogin";
  } catch (const Fault& e) {
    EXPECT_EQ(e.fault_type(), "InvalidLogin");
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    std::string msg = e.what();
    EXPECT_NE(msg.find("GOVMOMI_PASSWORD"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  }
  EXPECT_FALSE(f.client->logged_in());
}

TEST(Client, LogsInAgainOnceWhenTheSessionWasTerminated) {
  auto f = Make();
  f.client->Login();
  f.fake->TerminateSessions();
  XmlNode r = f.client->Call("CurrentTime", Client::service_instance());
  EXPECT_EQ(r.ChildText("returnval"), "2026-11-22T00:00:00Z");
  EXPECT_EQ(f.client->logins(), 2u);
  EXPECT_EQ(f.client->session_key(), "session-2");
  // CurrentTime (fault), Login, CurrentTime; RetrieveServiceContent is not repeated.
  auto m = f.fake->methods();
  std::vector<std::string> tail(m.end() - 3, m.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"CurrentTime", "Login", "CurrentTime"}));
  EXPECT_EQ(f.fake->Count("RetrieveServiceContent"), 1u);
}

TEST(Client, DoesNotLoopWhenReloginDoesNotHelp) {
  auto f = Make();
  f.client->Login();
  // A method that always says NotAuthenticated (e.g. the user lost its role): one retry, then the fault.
  f.fake->On("RetrievePropertiesEx", [](const XmlNode&) {
    return testing::FaultBody("NotAuthenticated", "The session is not authenticated.");
  });
  try {
    f.client->Call("RetrievePropertiesEx", {"PropertyCollector", "propertyCollector"});
    FAIL() << "expected NotAuthenticated";
  } catch (const Fault& e) {
    EXPECT_EQ(e.fault_type(), "NotAuthenticated");
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
  }
  EXPECT_EQ(f.fake->Count("RetrievePropertiesEx"), 2u);
  EXPECT_EQ(f.client->logins(), 2u);
}

TEST(Client, HttpStatusesWithoutFaults) {
  auto f = Make();
  f.client->Login();
  f.fake->NextRaw(503, "Service Unavailable");
  try {
    f.client->Call("CurrentTime", Client::service_instance());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
    EXPECT_NE(std::string(e.what()).find("HTTP 503"), std::string::npos) << e.what();
  }
  f.fake->NextRaw(404, "<html>not here</html>");
  try {
    f.client->Call("CurrentTime", Client::service_instance());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("/sdk"), std::string::npos) << e.what();
  }
}

TEST(Client, KeepAliveCallsCurrentTimeWhenIdle) {
  auto f = Make("secret", std::chrono::milliseconds(50));
  f.client->Login();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (f.fake->Count("CurrentTime") < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(f.fake->Count("CurrentTime"), 2u);
}

TEST(Client, LogoutEndsTheSession) {
  auto f = Make();
  f.client->Login();
  f.client->Logout();
  EXPECT_EQ(f.fake->Count("Logout"), 1u);
  EXPECT_FALSE(f.client->logged_in());
  // A call after logout does not silently log in again.
  EXPECT_THROW(f.client->Call("CurrentTime", Client::service_instance()), Fault);
}

}  // namespace
}  // namespace hoist::vsphere

// The populators' metrics endpoint: HTTPS with its own certificate, the registry's exposition at
// /metrics, the pod-address default, and the final-scrape wait that lets the controller read a
// finished populator's last values.
#include "populators/common/metrics_endpoint.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "net/http_client.h"
#include "prom/metrics.h"

namespace hoist::populators {
namespace {

net::HttpResponse Get(const MetricsEndpoint& ep, const std::string& path = "/metrics") {
  net::HttpClientOptions o;
  o.tls.ca_pem = ep.certificate_pem();  // verified against the endpoint's own certificate
  net::HttpClient client(o);
  net::HttpRequest r;
  r.url = "https://" + ep.address() + ":" + std::to_string(ep.port()) + path;
  return client.Do(r);
}

TEST(MetricsEndpoint, ServesTheRegistryOverHttps) {
  prom::Registry reg;
  reg.AddCounterFamily("openstack_populator_progress", "Progress of volume population", {"ownerUID"})
      .WithLabels({"uid-1"})
      .RaiseTo(42);
  MetricsEndpoint ep(reg, {.listen = "127.0.0.1:0"});
  ep.Start();
  EXPECT_EQ(ep.address(), "127.0.0.1");
  EXPECT_EQ(ep.url(), "https://127.0.0.1:" + std::to_string(ep.port()) + "/metrics");
  auto resp = Get(ep);
  EXPECT_EQ(resp.status, 200);
  EXPECT_NE(resp.body.find("openstack_populator_progress{ownerUID=\"uid-1\"} 42\n"), std::string::npos)
      << resp.body;
  EXPECT_EQ(Get(ep, "/other").status, 404);
  EXPECT_EQ(ep.scrapes(), 1u);
}

TEST(MetricsEndpoint, DefaultsToThePodAddress) {
  prom::Registry reg;
  MetricsEndpointOptions o;
  o.port = 0;
  MetricsEndpoint ep(reg, o);
  ep.Start();
  std::string pod = PodAddress();
  EXPECT_EQ(ep.address(), pod.empty() ? "0.0.0.0" : pod);
  if (!pod.empty()) {
    EXPECT_EQ(Get(ep).status, 200);
  }
}

TEST(MetricsEndpoint, PortInUseIsAClearError) {
  prom::Registry reg;
  MetricsEndpoint a(reg, {.listen = "127.0.0.1:0"});
  a.Start();
  MetricsEndpoint b(reg, {.listen = "127.0.0.1:" + std::to_string(a.port())});
  try {
    b.Start();
    FAIL() << "second endpoint started on a used port";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find(std::to_string(a.port())), std::string::npos) << e.what();
  }
  EXPECT_THROW(MetricsEndpoint(reg, {.listen = "nonsense"}).Start(), Error);
}

TEST(MetricsEndpoint, WaitForScrapeNeedsARequestAfterTheCall) {
  prom::Registry reg;
  auto& done = reg.AddGauge("done", "whether the copy finished");
  MetricsEndpoint ep(reg, {.listen = "127.0.0.1:0"});
  ep.Start();
  Get(ep);  // a scrape before the call does not count
  EXPECT_FALSE(ep.WaitForScrape(std::chrono::milliseconds(50)));

  done.Set(1);
  std::string seen;
  std::thread scraper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = Get(ep).body;
  });
  EXPECT_TRUE(ep.WaitForScrape(std::chrono::seconds(10)));
  scraper.join();
  EXPECT_NE(seen.find("done 1\n"), std::string::npos) << seen;
}

}  // namespace
}  // namespace hoist::populators

// ProgressMonitor with a scripted fetcher: steady scrapes, merging, back-off on failures instead of a
// busy loop, one final scrape after Finish, and the HTTPS fetcher against a self-signed server.
#include "controller/monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "net/http_server.h"
#include "net/tls.h"
#include "unit/kube/test_util.h"

namespace hoist::controller {
namespace {

using std::chrono::milliseconds;
using kube::testing::Eventually;

class Script {
 public:
  // The body the next fetch returns; empty: the fetch fails.
  void Set(std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    body_ = std::move(body);
  }
  std::string Fetch(const std::string& url) {
    std::lock_guard<std::mutex> l(mu_);
    urls_.push_back(url);
    ++calls_;
    if (body_.empty()) throw TransientError("connection refused");
    return body_;
  }
  int calls() const { return calls_.load(); }
  std::vector<std::string> urls() const {
    std::lock_guard<std::mutex> l(mu_);
    return urls_;
  }

 private:
  mutable std::mutex mu_;
  std::string body_;
  std::vector<std::string> urls_;
  std::atomic<int> calls_{0};
};

std::string Progress(double v) { return "ovirt_progress{ownerUID=\"u1\"} " + std::to_string(v) + "\n"; }

struct Harness {
  explicit Harness(milliseconds interval = milliseconds(20))
      : monitor([this](const std::string& url) { return script.Fetch(url); }, MonitorOptions{interval, 2},
                [this](const std::string& key) {
                  std::lock_guard<std::mutex> l(mu);
                  changes.push_back(key);
                }) {
    monitor.Start();
  }
  size_t Changes() {
    std::lock_guard<std::mutex> l(mu);
    return changes.size();
  }
  Script script;
  std::mutex mu;
  std::vector<std::string> changes;
  ProgressMonitor monitor;
};

MonitorTarget Target(const std::string& pod_uid = "pod-1") {
  return MonitorTarget{PopulatorKind::kOvirt, "u1", pod_uid, "https://127.10.0.2:8443/metrics"};
}

TEST(ProgressMonitor, ScrapesSteadilyAndReportsOnlyChanges) {
  Harness h;
  h.script.Set(Progress(10));
  EXPECT_TRUE(h.monitor.Watch("ns/a", Target()));
  EXPECT_FALSE(h.monitor.Watch("ns/a", Target())) << "already watched";
  ASSERT_TRUE(Eventually([&] { return h.Changes() == 1; }));
  int calls = h.script.calls();
  ASSERT_TRUE(Eventually([&] { return h.script.calls() >= calls + 3; }));
  EXPECT_EQ(h.Changes(), 1u) << "the same reading is not a change";
  EXPECT_EQ(h.monitor.Latest("ns/a")->progress, 10);

  h.script.Set(Progress(55.5));
  ASSERT_TRUE(Eventually([&] { return h.monitor.Latest("ns/a")->progress == 55.5; }));
  h.script.Set(Progress(20));  // a counter that went down (a restarted process): ignored
  int before = h.script.calls();
  ASSERT_TRUE(Eventually([&] { return h.script.calls() >= before + 2; }));
  EXPECT_EQ(h.monitor.Latest("ns/a")->progress, 55.5);
  EXPECT_EQ(h.script.urls().front(), "https://127.10.0.2:8443/metrics");
  EXPECT_EQ(h.monitor.Watched(), 1u);
}

TEST(ProgressMonitor, FailedScrapesBackOffInsteadOfSpinning) {
  Harness h;  // 20 ms interval: steady scraping makes ~25 calls in half a second
  h.script.Set(Progress(5));
  h.monitor.Watch("ns/a", Target());
  ASSERT_TRUE(Eventually([&] { return h.monitor.Latest("ns/a").has_value(); }));
  h.script.Set("");  // the populator stops answering
  int before = h.script.calls();
  std::this_thread::sleep_for(milliseconds(500));
  int calls = h.script.calls() - before;
  EXPECT_GE(calls, 1);
  EXPECT_LE(calls, 8);  // 20, 40, 80, 160, 240 ms, ...
  EXPECT_GE(h.monitor.scrapes_failed(), 1u);
  // Once it answers again the reading arrives (within the capped back-off).
  h.script.Set(Progress(7));
  ASSERT_TRUE(Eventually([&] { return h.monitor.Latest("ns/a")->progress == 7; }, milliseconds(5000)));
}

TEST(ProgressMonitor, AStartingPodIsScrapedAtTheSteadyInterval) {
  Harness h;  // the endpoint is not up yet: no back-off before its first answer
  h.monitor.Watch("ns/a", Target());
  ASSERT_TRUE(Eventually([&] { return h.script.calls() >= 10; }, milliseconds(2000)));
  EXPECT_FALSE(h.monitor.Latest("ns/a").has_value());
}

TEST(ProgressMonitor, FinishTakesOneFinalScrapeThenStops) {
  Harness h(milliseconds(10000));  // periodic scrapes would not come again during the test
  h.script.Set(Progress(90));
  h.monitor.Watch("ns/a", Target());
  ASSERT_TRUE(Eventually([&] { return h.script.calls() == 1; }));
  h.script.Set(Progress(100));
  h.monitor.Finish("ns/a");
  ASSERT_TRUE(Eventually([&] { return h.monitor.Latest("ns/a")->progress == 100; }));
  EXPECT_EQ(h.script.calls(), 2);
  EXPECT_EQ(h.monitor.Watched(), 0u);
  h.monitor.Finish("ns/a");  // again: nothing more
  EXPECT_FALSE(h.monitor.Watch("ns/a", Target())) << "a late Running pod from the cache does not restart it";
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(h.script.calls(), 2);
  h.monitor.Forget("ns/a");
  EXPECT_FALSE(h.monitor.Latest("ns/a").has_value());
}

TEST(ProgressMonitor, ARecreatedPodStartsAFreshReading) {
  Harness h;
  h.script.Set(Progress(70));
  h.monitor.Watch("ns/a", Target("pod-1"));
  ASSERT_TRUE(Eventually([&] { return h.monitor.Latest("ns/a").has_value(); }));
  h.script.Set(Progress(3));
  EXPECT_TRUE(h.monitor.Watch("ns/a", Target("pod-2")));
  ASSERT_TRUE(Eventually([&] {
    auto r = h.monitor.Latest("ns/a");
    return r && r->progress == 3;
  }));
}

TEST(MergeReading, CompletionSticksAndEmptyLabelsKeepValues) {
  std::optional<ScrapeReading> r;
  ScrapeReading a;
  a.progress = 50;
  a.xcopy_used = "1";
  EXPECT_TRUE(MergeReading(r, a));
  EXPECT_FALSE(MergeReading(r, a));
  ScrapeReading done;
  done.completed = true;
  done.result = "success";
  done.storage_vendor = "ontap";
  EXPECT_TRUE(MergeReading(r, done));
  EXPECT_EQ(r->progress, 50);
  EXPECT_EQ(r->xcopy_used, "1");
  EXPECT_TRUE(r->completed);
  ScrapeReading later;
  later.progress = 100;
  later.completed = true;
  later.result = "success";
  EXPECT_TRUE(MergeReading(r, later));
  EXPECT_EQ(r->storage_vendor, "ontap");
  EXPECT_EQ(r->progress, 100);
}

TEST(HttpsMetricsFetcher, ReadsASelfSignedEndpointAndReportsErrors) {
  net::CertAndKey cert = net::GenerateSelfSigned("populator", {"localhost"}, {"127.0.0.1"});
  net::HttpServerOptions o;
  o.tls_cert_pem = cert.cert_pem;
  o.tls_key_pem = cert.key_pem;
  net::HttpServer server(o, [](const net::ServerRequest& req, net::ResponseWriter& w) {
    net::Headers h;
    if (req.path == "/metrics") {
      w.Send(200, h, "ovirt_progress{ownerUID=\"u1\"} 12\n");
    } else {
      w.Send(404, h, "no");
    }
  });
  server.Start();
  MetricsFetcher fetch = HttpsMetricsFetcher(milliseconds(2000));
  std::string base = "https://127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(fetch(base + "/metrics"), "ovirt_progress{ownerUID=\"u1\"} 12\n");
  EXPECT_THROW(fetch(base + "/other"), Error);
  server.Stop();
  EXPECT_THROW(fetch(base + "/metrics"), Error);
}

}  // namespace
}  // namespace hoist::controller

#include "prom/metrics.h"

#include <cmath>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist::prom {
namespace {

TEST(Registry, ExposesCounterGaugeWithHelpAndType) {
  Registry r;
  r.AddCounter("hoist_requests_total", "Requests served.").Inc(3);
  r.AddGauge("hoist_temperature", "Current temperature.").Set(-1.5);
  EXPECT_EQ(r.Expose(),
            "# HELP hoist_requests_total Requests served.\n"
            "# TYPE hoist_requests_total counter\n"
            "hoist_requests_total 3\n"
            "# HELP hoist_temperature Current temperature.\n"
            "# TYPE hoist_temperature gauge\n"
            "hoist_temperature -1.5\n");
}

TEST(Registry, LabelsAreWrittenAlphabeticallyWhateverTheDeclarationOrder) {
  // Forklift's controller regexes expect owner_uid before type (Go client order).
  Registry r;
  auto& f = r.AddGaugeFamily("vsphere_xcopy_volume_populator_source_disk_bytes", "Bytes.",
                             {"type", "owner_uid", "clone_method"});
  f.WithLabels({"provisioned", "uid-1", "vib"}).Set(1073741824);
  EXPECT_NE(r.Expose().find("vsphere_xcopy_volume_populator_source_disk_bytes{clone_method=\"vib\",owner_uid="
                            "\"uid-1\",type=\"provisioned\"} 1073741824\n"),
            std::string::npos)
      << r.Expose();
}

TEST(Registry, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.AddCounterFamily("hoist_x_total", "Line one\nback\\slash \"quoted\"", {"path"})
      .WithLabels({"[ds 1] vm \"a\"\\b\nc.vmdk"})
      .Inc();
  std::string out = r.Expose();
  EXPECT_NE(out.find("# HELP hoist_x_total Line one\\nback\\\\slash \"quoted\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("hoist_x_total{path=\"[ds 1] vm \\\"a\\\"\\\\b\\nc.vmdk\"} 1\n"), std::string::npos)
      << out;
}

TEST(Registry, HistogramHasCumulativeBucketsSumAndCount) {
  Registry r;
  auto& h =
      r.AddHistogramFamily("volume_populator_operation_seconds", "Duration.", {"result"}, {0.5, 2.5, 10});
  auto& ok = h.WithLabels({"success"});
  ok.Observe(0.25);
  ok.Observe(0.5);  // le is inclusive
  ok.Observe(3);
  ok.Observe(100);
  EXPECT_EQ(r.Expose(),
            "# HELP volume_populator_operation_seconds Duration.\n"
            "# TYPE volume_populator_operation_seconds histogram\n"
            "volume_populator_operation_seconds_bucket{result=\"success\",le=\"0.5\"} 2\n"
            "volume_populator_operation_seconds_bucket{result=\"success\",le=\"2.5\"} 2\n"
            "volume_populator_operation_seconds_bucket{result=\"success\",le=\"10\"} 3\n"
            "volume_populator_operation_seconds_bucket{result=\"success\",le=\"+Inf\"} 4\n"
            "volume_populator_operation_seconds_sum{result=\"success\"} 103.75\n"
            "volume_populator_operation_seconds_count{result=\"success\"} 4\n");
}

TEST(Registry, UnlabelledHistogramPutsOnlyLeInBraces) {
  Registry r;
  r.AddHistogram("hoist_h", "h.", {1}).Observe(0.5);
  EXPECT_NE(r.Expose().find("hoist_h_bucket{le=\"1\"} 1\nhoist_h_bucket{le=\"+Inf\"} 1\nhoist_h_sum 0.5\n"),
            std::string::npos)
      << r.Expose();
}

TEST(Registry, EmptyLabelledFamilyIsLeftOutAndRemoveDropsChild) {
  Registry r;
  auto& f = r.AddGaugeFamily("hoist_g", "g.", {"pvc"});
  EXPECT_EQ(r.Expose(), "");
  f.WithLabels({"a"}).Set(1);
  f.WithLabels({"b"}).Set(2);
  EXPECT_EQ(f.size(), 2u);
  f.Remove({"a"});
  EXPECT_EQ(r.Expose(), "# HELP hoist_g g.\n# TYPE hoist_g gauge\nhoist_g{pvc=\"b\"} 2\n");
}

TEST(Registry, FamiliesAreSortedByName) {
  Registry r;
  r.AddGauge("b_metric", "b").Set(1);
  r.AddGauge("a_metric", "a").Set(1);
  std::string out = r.Expose();
  EXPECT_LT(out.find("a_metric"), out.find("b_metric"));
}

TEST(Registry, RefusesProgrammingErrors) {
  Registry r;
  r.AddCounter("dup_total", "x");
  EXPECT_THROW(r.AddGauge("dup_total", "x"), Error);
  r.AddHistogram("lat", "x", {1});
  EXPECT_THROW(r.AddGauge("lat_count", "x"), Error);  // collides with the histogram's series
  EXPECT_THROW(r.AddGauge("bad-name", "x"), Error);
  EXPECT_THROW(r.AddGaugeFamily("g1", "x", {"__reserved"}), Error);
  EXPECT_THROW(r.AddGaugeFamily("g2", "x", {"a", "a"}), Error);
  EXPECT_THROW(r.AddHistogramFamily("h1", "x", {"le"}, {1}), Error);
  EXPECT_THROW(r.AddHistogram("h2", "x", {2, 1}), Error);
  auto& f = r.AddGaugeFamily("g3", "x", {"a", "b"});
  try {
    f.WithLabels({"only-one"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kBug);
    EXPECT_NE(std::string(e.what()).find("g3"), std::string::npos);
  }
}

TEST(Counter, RaiseToNeverLowersAndIncRejectsNegative) {
  Counter c;
  c.RaiseTo(37.5);
  c.RaiseTo(20);
  EXPECT_EQ(c.Value(), 37.5);
  c.RaiseTo(100);
  EXPECT_EQ(c.Value(), 100);
  EXPECT_THROW(c.Inc(-1), Error);
}

TEST(Gauge, IncDecSetCurrentTime) {
  Gauge g;
  g.Inc();
  g.Inc(2);
  g.Dec(0.5);
  EXPECT_EQ(g.Value(), 2.5);
  g.SetToCurrentTime();
  EXPECT_GT(g.Value(), 1.7e9);  // after 2023
}

TEST(Buckets, Layouts) {
  EXPECT_EQ(LinearBuckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(ExponentialBuckets(1, 10, 3), (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(DefaultBuckets().size(), 11u);
  EXPECT_THROW(ExponentialBuckets(0, 2, 3), Error);
}

TEST(Concurrency, ParallelUpdatesAreNotLost) {
  Registry r;
  auto& fam = r.AddCounterFamily("hoist_c_total", "c", {"worker"});
  auto& hist = r.AddHistogram("hoist_h", "h", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        fam.WithLabels({std::to_string(t % 2)}).Inc();
        hist.Observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 1000 == 0) (void)r.Expose();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fam.WithLabels({"0"}).Value() + fam.WithLabels({"1"}).Value(), 20000);
  auto snap = hist.Collect();
  EXPECT_EQ(snap.count, 20000u);
  EXPECT_EQ(snap.cumulative_counts[0], 10000u);
  EXPECT_DOUBLE_EQ(snap.sum, 10000 * 0.25 + 10000 * 1.0);
}

}  // namespace
}  // namespace hoist::prom

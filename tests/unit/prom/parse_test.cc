#include "prom/parse.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "prom/metrics.h"

namespace hoist::prom {
namespace {

using ::testing::HasSubstr;

// Expects ParseText to throw a kPrecondition error whose message contains `line N` and `what`.
void ExpectParseError(std::string_view text, int line, std::string_view what) {
  try {
    ParseText(text);
    ADD_FAILURE() << "no error for:\n" << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_THAT(e.what(), HasSubstr("line " + std::to_string(line) + ":")) << text;
    EXPECT_THAT(e.what(), HasSubstr(std::string(what))) << text;
  }
}

TEST(Parse, FamiliesWithHelpTypeAndLabels) {
  Scrape s = ParseText(
      "# HELP ovirt_progress Progress of volume population\n"
      "# TYPE ovirt_progress counter\n"
      "ovirt_progress{ownerUID=\"5b1c\"} 37.5\n"
      "\n"
      "# A free comment\n"
      "   # indented comment\n"
      "go_goroutines 12\n");
  ASSERT_EQ(s.families().size(), 2u);
  const MetricFamily* f = s.FindFamily("ovirt_progress");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, MetricType::kCounter);
  EXPECT_EQ(f->help, "Progress of volume population");
  ASSERT_EQ(f->samples.size(), 1u);
  EXPECT_EQ(f->samples[0].Label("ownerUID"), "5b1c");
  EXPECT_EQ(f->samples[0].value, 37.5);
  EXPECT_EQ(f->samples[0].line, 3);
  const MetricFamily* g = s.FindFamily("go_goroutines");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->type, MetricType::kUntyped);
  EXPECT_EQ(s.Value("go_goroutines"), 12);
}

TEST(Parse, FindSampleMatchesLabelsRegardlessOfOrder) {
  Scrape s = ParseText(
      "vsphere_xcopy_volume_populator_source_disk_bytes{type=\"provisioned\",owner_uid=\"u1\"} "
      "1.073741824e+09\n"
      "vsphere_xcopy_volume_populator_source_disk_bytes{owner_uid=\"u1\",type=\"datastore_allocated\"} 5e8\n"
      "vsphere_xcopy_volume_populator_source_disk_bytes{owner_uid=\"u2\",type=\"provisioned\"} 7\n");
  EXPECT_EQ(s.Value("vsphere_xcopy_volume_populator_source_disk_bytes",
                    {{"owner_uid", "u1"}, {"type", "provisioned"}}),
            1073741824);
  EXPECT_EQ(s.Value("vsphere_xcopy_volume_populator_source_disk_bytes",
                    {{"type", "datastore_allocated"}, {"owner_uid", "u1"}}),
            5e8);
  EXPECT_EQ(
      s.FindSamples("vsphere_xcopy_volume_populator_source_disk_bytes", {{"type", "provisioned"}}).size(),
      2u);
  EXPECT_EQ(s.FindSample("vsphere_xcopy_volume_populator_source_disk_bytes", {{"owner_uid", "u3"}}), nullptr);
  // Exact name match: "progress" must not find "ovirt_progress" (Forklift's substring regex did).
  EXPECT_EQ(s.FindSample("source_disk_bytes"), nullptr);
}

TEST(Parse, EscapesInLabelValuesAndHelp) {
  Scrape s = ParseText(
      "# HELP m Help with \\\\ backslash and \\n newline \"quotes\" kept\n"
      "m{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\",b=\"}{,=\"} 1\n");
  const MetricFamily* f = s.FindFamily("m");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->help, "Help with \\ backslash and \n newline \"quotes\" kept");
  EXPECT_EQ(f->samples[0].Label("path"), "C:\\dir\\\"x\"\nnext");
  EXPECT_EQ(f->samples[0].Label("b"), "}{,=");
}

TEST(Parse, SpecialValuesTimestampsWhitespaceAndTrailingComma) {
  Scrape s = ParseText(
      "a NaN\n"
      "b +Inf 1700000000000\n"
      "c{x=\"1\",} -Inf\n"
      "d { x = \"1\" , y=\"2\" }\t1e-05\t-5\n"
      "e 12\r\n");
  EXPECT_TRUE(std::isnan(*s.Value("a")));
  const Sample* b = s.FindSample("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->value, INFINITY);
  EXPECT_EQ(b->timestamp_ms, 1700000000000);
  EXPECT_FALSE(s.FindSample("a")->timestamp_ms.has_value());
  EXPECT_EQ(s.Value("c", {{"x", "1"}}), -INFINITY);
  const Sample* d = s.FindSample("d", {{"x", "1"}, {"y", "2"}});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->value, 1e-05);  // a regex \d+\.?\d* would have read "1"
  EXPECT_EQ(d->timestamp_ms, -5);
  EXPECT_EQ(s.Value("e"), 12);
}

TEST(Parse, HistogramAndSummarySeriesAreGroupedUnderTheirFamily) {
  Scrape s = ParseText(
      "# TYPE op_seconds histogram\n"
      "op_seconds_bucket{result=\"success\",le=\"0.1\"} 0\n"
      "op_seconds_bucket{result=\"success\",le=\"+Inf\"} 1\n"
      "op_seconds_sum{result=\"success\"} 1.2\n"
      "op_seconds_count{result=\"success\"} 1\n"
      "# TYPE rpc summary\n"
      "rpc{quantile=\"0.5\"} 3\n"
      "rpc_sum 9\n"
      "rpc_count 3\n"
      "other_count 5\n");
  ASSERT_EQ(s.families().size(), 3u);
  EXPECT_EQ(s.FindFamily("op_seconds")->samples.size(), 4u);
  EXPECT_EQ(s.FindFamily("rpc")->samples.size(), 3u);
  EXPECT_EQ(s.FindFamily("other_count")->type, MetricType::kUntyped);
  EXPECT_EQ(s.Value("op_seconds_bucket", {{"le", "+Inf"}}), 1);
  EXPECT_EQ(s.Value("op_seconds_count"), 1);
}

TEST(Parse, EmptyInputAndCommentsOnly) {
  EXPECT_TRUE(ParseText("").families().empty());
  EXPECT_TRUE(ParseText("\n\n# just a comment\n#\n").families().empty());
  // HELP/TYPE with no samples still declares the family.
  Scrape s = ParseText("# HELP x nothing yet\n# TYPE x gauge\n");
  ASSERT_NE(s.FindFamily("x"), nullptr);
  EXPECT_TRUE(s.FindFamily("x")->samples.empty());
}

TEST(Parse, ErrorsNameTheLine) {
  ExpectParseError("ok 1\nbad{a=\"x} 1\n", 2, "not terminated");
  ExpectParseError("m{a=\"x\" 1\n", 1, "expected , or }");
  ExpectParseError("m{a=x} 1\n", 1, "double quotes");
  ExpectParseError("m{1a=\"x\"} 1\n", 1, "invalid label name");
  ExpectParseError("m{a=\"x\",a=\"y\"} 1\n", 1, "appears twice");
  ExpectParseError("m{a=\"\\t\"} 1\n", 1, "invalid escape sequence");
  ExpectParseError("m\n", 1, "has no value");
  ExpectParseError("m 12abc\n", 1, "not a number");
  ExpectParseError("m 1 12.5\n", 1, "timestamp");
  ExpectParseError("m 1 2 3\n", 1, "unexpected text");
  ExpectParseError("9m 1\n", 1, "invalid metric name");
  ExpectParseError("\n\n# TYPE m gauge\n# TYPE m counter\n", 4, "second TYPE");
  ExpectParseError("# HELP m a\n# HELP m b\n", 2, "second HELP");
  ExpectParseError("m 1\n# TYPE m gauge\n", 2, "after its samples");
  ExpectParseError("# TYPE m gaug\n", 1, "unknown metric type");
  ExpectParseError("# TYPE h histogram\nh_bucket 1\n", 2, "no \"le\" label");
  ExpectParseError("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n", 2, "not a number");
  ExpectParseError("# TYPE h histogram\nh 1\n", 2, "must be named");
  ExpectParseError("# TYPE s summary\ns 1\n", 2, "no \"quantile\" label");
  ExpectParseError("# HELP m bad \\t escape\n", 1, "invalid escape sequence");
}

TEST(RoundTrip, ExposeThenParseGivesBackEveryValue) {
  Registry r;
  auto& prog = r.AddCounterFamily("vsphere_xcopy_volume_populator_progress", "Progress.", {"owner_uid"});
  prog.WithLabels({"uid-1"}).RaiseTo(37);
  auto& g = r.AddGaugeFamily("hoist_weird", "Help with \\ and\nnewline", {"z", "a"});
  const std::string tricky = "quote\" backslash\\ newline\n brace} comma, equals=";
  g.WithLabels({tricky, "x"}).Set(NAN);
  g.WithLabels({"inf", "y"}).Set(-INFINITY);
  g.WithLabels({"tiny", "w"}).Set(1e-05);
  g.WithLabels({"big", "v"}).Set(1.8446744073709552e19);
  auto& h = r.AddHistogramFamily("hoist_op_seconds", "Op.", {"result"}, {0.25, 1, 60});
  h.WithLabels({"success"}).Observe(0.5);
  h.WithLabels({"success"}).Observe(120);

  Scrape s = ParseText(r.Expose());
  EXPECT_EQ(s.Value("vsphere_xcopy_volume_populator_progress", {{"owner_uid", "uid-1"}}), 37);
  const MetricFamily* weird = s.FindFamily("hoist_weird");
  ASSERT_NE(weird, nullptr);
  EXPECT_EQ(weird->help, "Help with \\ and\nnewline");
  EXPECT_EQ(weird->type, MetricType::kGauge);
  EXPECT_TRUE(std::isnan(*s.Value("hoist_weird", {{"z", tricky}, {"a", "x"}})));
  EXPECT_EQ(s.Value("hoist_weird", {{"z", "inf"}}), -INFINITY);
  EXPECT_EQ(s.Value("hoist_weird", {{"z", "tiny"}}), 1e-05);
  EXPECT_EQ(s.Value("hoist_weird", {{"z", "big"}}), 1.8446744073709552e19);
  const MetricFamily* hist = s.FindFamily("hoist_op_seconds");
  ASSERT_NE(hist, nullptr);
  EXPECT_EQ(hist->type, MetricType::kHistogram);
  EXPECT_EQ(hist->samples.size(), 6u);  // 3 bounds + Inf + sum + count
  EXPECT_EQ(s.Value("hoist_op_seconds_bucket", {{"le", "0.25"}}), 0);
  EXPECT_EQ(s.Value("hoist_op_seconds_bucket", {{"le", "1"}}), 1);
  EXPECT_EQ(s.Value("hoist_op_seconds_bucket", {{"le", "+Inf"}}), 2);
  EXPECT_EQ(s.Value("hoist_op_seconds_sum"), 120.5);
  EXPECT_EQ(s.Value("hoist_op_seconds_count", {{"result", "success"}}), 2);
}

}  // namespace
}  // namespace hoist::prom

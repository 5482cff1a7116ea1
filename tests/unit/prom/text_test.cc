#include "prom/text.h"

#include <cmath>

#include <gtest/gtest.h>

namespace hoist::prom {
namespace {

TEST(FormatValue, SpecialValuesUsePrometheusSpelling) {
  EXPECT_EQ(FormatValue(NAN), "NaN");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
}

TEST(FormatValue, IntegersHaveNoExponentOrFraction) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(100), "100");
  EXPECT_EQ(FormatValue(1000000), "1000000");  // Go's client would print 1e+06
  EXPECT_EQ(FormatValue(1073741824.0), "1073741824");
  EXPECT_EQ(FormatValue(-42), "-42");
  EXPECT_EQ(FormatValue(9007199254740991.0), "9007199254740991");
}

TEST(FormatValue, FractionsAreShortestRoundTrip) {
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(2.5), "2.5");
  EXPECT_EQ(FormatValue(37.5), "37.5");
  EXPECT_EQ(FormatValue(1e-05), "1e-05");
  for (double v : {0.1, 1.0 / 3, 1e-300, 6.02214076e23, 1.8446744073709552e19, -2.5e-7}) {
    auto back = ParseValue(FormatValue(v));
    ASSERT_TRUE(back.has_value()) << FormatValue(v);
    EXPECT_EQ(*back, v) << FormatValue(v);
  }
}

TEST(ParseValue, AcceptsWhatGoAccepts) {
  EXPECT_EQ(ParseValue("42"), 42);
  EXPECT_EQ(ParseValue("+42"), 42);
  EXPECT_EQ(ParseValue("-1.5"), -1.5);
  EXPECT_EQ(ParseValue("1e-05"), 1e-05);
  EXPECT_EQ(ParseValue("1.5E+3"), 1500);
  EXPECT_EQ(ParseValue(".5"), 0.5);
  EXPECT_EQ(ParseValue("+Inf"), INFINITY);
  EXPECT_EQ(ParseValue("-Inf"), -INFINITY);
  EXPECT_EQ(ParseValue("inf"), INFINITY);
  EXPECT_TRUE(std::isnan(*ParseValue("NaN")));
  EXPECT_TRUE(std::isnan(*ParseValue("nan")));
}

TEST(ParseValue, RejectsGarbage) {
  for (const char* bad : {"", "abc", "1.2.3", "12abc", "0x10", "+", "--1", "1 2", "+NaN"}) {
    EXPECT_FALSE(ParseValue(bad).has_value()) << bad;
  }
}

TEST(Escape, LabelValuesEscapeBackslashQuoteNewline) {
  EXPECT_EQ(EscapeLabelValue(R"(C:\dir "x")"), R"(C:\\dir \"x\")");
  EXPECT_EQ(EscapeLabelValue("a\nb"), "a\\nb");
  EXPECT_EQ(EscapeLabelValue("plain ünïcode"), "plain ünïcode");
}

TEST(Escape, HelpEscapesBackslashAndNewlineOnly) {
  EXPECT_EQ(EscapeHelp("say \"hi\"\\now\nnext"), "say \"hi\"\\\\now\\nnext");
}

TEST(Names, MetricAndLabelNameRules) {
  EXPECT_TRUE(IsValidMetricName("ovirt_progress"));
  EXPECT_TRUE(IsValidMetricName("ns:rule_name"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_TRUE(IsValidLabelName("owner_uid"));
  EXPECT_TRUE(IsValidLabelName("ownerUID"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("9a"));
}

}  // namespace
}  // namespace hoist::prom

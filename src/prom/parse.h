#pragma once
// A parser for the Prometheus text exposition format 0.0.4, used by the controller to read a
// populator's /metrics. It follows the format's rules rather than matching text with regular
// expressions: label order, exponent notation, escapes and timestamps do not matter.
//
// Grouping: `# HELP` / `# TYPE` introduce a family; a sample whose name is `<family>_bucket`,
// `_sum` or `_count` of a histogram family (`_sum`, `_count` or the bare name of a summary) belongs
// to that family; a sample without a preceding TYPE forms an untyped family of its own name.
// Malformed input throws a kPrecondition hoist::Error naming the line ("line 12: ...").
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/metrics.h"

namespace hoist::prom {

using LabelSet = std::map<std::string, std::string, std::less<>>;

struct Sample {
  std::string name;  // as written, e.g. "foo_bucket"
  LabelSet labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
  int line = 0;  // 1-based line in the scraped text

  // The value of label `name`, or "" when the sample does not carry it.
  std::string_view Label(std::string_view name) const;
  // True when every matcher (name -> value) is present with that exact value.
  bool Matches(const LabelSet& matchers) const;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kUntyped;
  std::vector<Sample> samples;
};

class Scrape {
 public:
  Scrape() = default;
  explicit Scrape(std::vector<MetricFamily> families) : families_(std::move(families)) {}

  const std::vector<MetricFamily>& families() const { return families_; }
  const MetricFamily* FindFamily(std::string_view family_name) const;
  // The first sample named exactly `sample_name` (e.g. "foo_count") whose labels include `matchers`.
  const Sample* FindSample(std::string_view sample_name, const LabelSet& matchers = {}) const;
  std::vector<const Sample*> FindSamples(std::string_view sample_name, const LabelSet& matchers = {}) const;
  // FindSample(...)->value, or nullopt.
  std::optional<double> Value(std::string_view sample_name, const LabelSet& matchers = {}) const;

 private:
  std::vector<MetricFamily> families_;
};

// Parses a whole exposition. Throws kPrecondition hoist::Error on malformed input.
Scrape ParseText(std::string_view text);

}  // namespace hoist::prom

#include "prom/metrics.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "prom/text.h"

namespace hoist::prom {

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      return "untyped";
  }
  return "untyped";
}

// ---- Counter / Gauge ---------------------------------------------------------------------------

void Counter::Inc(double delta) {
  if (delta < 0 || std::isnan(delta)) {
    throw BugError("prometheus counter increment must be non-negative, got " + FormatValue(delta));
  }
  value_.fetch_add(delta, std::memory_order_relaxed);
}

void Counter::RaiseTo(double value) {
  if (std::isnan(value)) return;
  double current = value_.load(std::memory_order_relaxed);
  while (value > current && !value_.compare_exchange_weak(current, value, std::memory_order_relaxed)) {
  }
}

void Gauge::SetToCurrentTime() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  Set(std::chrono::duration<double>(now).count());
}

// ---- Histogram ---------------------------------------------------------------------------------

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  // A trailing +Inf is tolerated (callers copying a layout from elsewhere); it is implicit anyway.
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i])) throw BugError("histogram bucket bound must be finite");
    if (i > 0 && !(bounds_[i] > bounds_[i - 1])) {
      throw BugError("histogram bucket bounds must be strictly increasing, got " +
                     FormatValue(bounds_[i - 1]) + " then " + FormatValue(bounds_[i]));
    }
  }
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // First bucket whose bound is >= value (le = "less or equal"); NaN lands in +Inf.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  if (std::isnan(value)) i = bounds_.size();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative_counts.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative_counts[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> DefaultBuckets() { return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}; }

std::vector<double> LinearBuckets(double start, double width, int count) {
  if (count < 1 || !(width > 0)) throw BugError("linear buckets need count >= 1 and width > 0");
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (count < 1 || !(start > 0) || !(factor > 1)) {
    throw BugError("exponential buckets need count >= 1, start > 0 and factor > 1");
  }
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

// ---- Rendering ---------------------------------------------------------------------------------

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {
  sorted_order_.resize(label_names_.size());
  std::iota(sorted_order_.begin(), sorted_order_.end(), 0);
  std::sort(sorted_order_.begin(), sorted_order_.end(),
            [this](size_t a, size_t b) { return label_names_[a] < label_names_[b]; });
}

void FamilyBase::CheckArity(const std::vector<std::string>& values) const {
  if (values.size() != label_names_.size()) {
    throw BugError("metric " + name_ + " has " + std::to_string(label_names_.size()) + " label(s), got " +
                   std::to_string(values.size()) + " value(s)");
  }
}

std::string FamilyBase::LabelPrefix(const std::vector<std::string>& values) const {
  if (values.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (size_t i : sorted_order_) {
    if (!first) out += ',';
    first = false;
    out += label_names_[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  return out;
}

void FamilyBase::Render(std::string& out) const {
  // Like the Go client, a labelled family without children is left out entirely.
  std::string samples;
  RenderChildren(samples);
  if (samples.empty()) return;
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += EscapeHelp(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += MetricTypeName(type_);
  out += '\n';
  out += samples;
}

namespace {

// name + labels (prefix plus optional extra label) + value.
void Line(std::string& out, std::string_view name, std::string_view suffix, std::string_view label_prefix,
          std::string_view extra_label, double value) {
  out += name;
  out += suffix;
  if (!label_prefix.empty() || !extra_label.empty()) {
    if (label_prefix.empty()) {
      out += '{';
    } else {
      out += label_prefix;
      if (!extra_label.empty()) out += ',';
    }
    out += extra_label;
    out += '}';
  }
  out += ' ';
  out += FormatValue(value);
  out += '\n';
}

}  // namespace

void RenderChild(std::string& out, std::string_view name, std::string_view label_prefix, const Counter& c) {
  Line(out, name, "", label_prefix, "", c.Value());
}

void RenderChild(std::string& out, std::string_view name, std::string_view label_prefix, const Gauge& g) {
  Line(out, name, "", label_prefix, "", g.Value());
}

void RenderChild(std::string& out, std::string_view name, std::string_view label_prefix, const Histogram& h) {
  Histogram::Snapshot s = h.Collect();
  for (size_t i = 0; i < s.upper_bounds.size(); ++i) {
    Line(out, name, "_bucket", label_prefix, "le=\"" + FormatValue(s.upper_bounds[i]) + "\"",
         static_cast<double>(s.cumulative_counts[i]));
  }
  Line(out, name, "_bucket", label_prefix, "le=\"+Inf\"", static_cast<double>(s.count));
  Line(out, name, "_sum", label_prefix, "", s.sum);
  Line(out, name, "_count", label_prefix, "", static_cast<double>(s.count));
}

// ---- Registry ----------------------------------------------------------------------------------

void Registry::Reserve(const std::string& name, MetricType type,
                       const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) throw BugError("invalid prometheus metric name \"" + name + "\"");
  std::vector<std::string> seen;
  for (const auto& l : label_names) {
    if (!IsValidLabelName(l) || l.rfind("__", 0) == 0) {
      throw BugError("invalid label name \"" + l + "\" on metric " + name);
    }
    if (type == MetricType::kHistogram && l == "le") {
      throw BugError("histogram " + name + " cannot have a label named \"le\"");
    }
    if (std::find(seen.begin(), seen.end(), l) != seen.end()) {
      throw BugError("label \"" + l + "\" appears twice on metric " + name);
    }
    seen.push_back(l);
  }
  std::vector<std::string> series = {name};
  if (type == MetricType::kHistogram) {
    series.push_back(name + "_bucket");
    series.push_back(name + "_sum");
    series.push_back(name + "_count");
  }
  for (const auto& s : series) {
    auto it = reserved_.find(s);
    if (it != reserved_.end()) {
      throw BugError("prometheus metric " + name + " collides with already registered " + it->second);
    }
  }
  for (const auto& s : series) reserved_.emplace(s, name);
}

Family<Counter>& Registry::AddCounterFamily(std::string name, std::string help,
                                            std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  Reserve(name, MetricType::kCounter, label_names);
  auto family =
      std::make_unique<Family<Counter>>(name, std::move(help), MetricType::kCounter, std::move(label_names),
                                        [] { return std::make_unique<Counter>(); });
  auto& ref = *family;
  families_.emplace(name, std::move(family));
  return ref;
}

Family<Gauge>& Registry::AddGaugeFamily(std::string name, std::string help,
                                        std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  Reserve(name, MetricType::kGauge, label_names);
  auto family =
      std::make_unique<Family<Gauge>>(name, std::move(help), MetricType::kGauge, std::move(label_names),
                                      [] { return std::make_unique<Gauge>(); });
  auto& ref = *family;
  families_.emplace(name, std::move(family));
  return ref;
}

Family<Histogram>& Registry::AddHistogramFamily(std::string name, std::string help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> upper_bounds) {
  Histogram probe(upper_bounds);  // validates the bounds before anything is registered
  std::lock_guard<std::mutex> lock(mu_);
  Reserve(name, MetricType::kHistogram, label_names);
  auto family = std::make_unique<Family<Histogram>>(
      name, std::move(help), MetricType::kHistogram, std::move(label_names),
      [bounds = std::move(upper_bounds)] { return std::make_unique<Histogram>(bounds); });
  auto& ref = *family;
  families_.emplace(name, std::move(family));
  return ref;
}

Counter& Registry::AddCounter(std::string name, std::string help) {
  return AddCounterFamily(std::move(name), std::move(help), {}).WithLabels({});
}

Gauge& Registry::AddGauge(std::string name, std::string help) {
  return AddGaugeFamily(std::move(name), std::move(help), {}).WithLabels({});
}

Histogram& Registry::AddHistogram(std::string name, std::string help, std::vector<double> upper_bounds) {
  return AddHistogramFamily(std::move(name), std::move(help), {}, std::move(upper_bounds)).WithLabels({});
}

std::string Registry::Expose() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) family->Render(out);
  return out;
}

}  // namespace hoist::prom

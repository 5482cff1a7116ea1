#pragma once
// Prometheus metrics that a hoist process exposes: counters, gauges and histograms, alone or as
// labelled families, collected in a Registry that renders the text exposition format 0.0.4.
//
// Updates are lock-free (atomics); creating a labelled child or rendering takes a per-family mutex.
// Labels are written in alphabetical order of their names (with `le` last on histogram buckets), as
// the Go client does: Forklift's populator-controller finds samples with regular expressions that
// depend on that order (`…owner_uid="…"…type="provisioned"…`), so hoist's populators must keep it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::prom {

// The Content-Type of an exposition served over HTTP.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge, kHistogram, kSummary, kUntyped };
std::string_view MetricTypeName(MetricType type);  // "counter", "gauge", ...

// A value that only goes up. Throws BugError on a negative increment.
class Counter {
 public:
  void Inc(double delta = 1);
  // Raises the counter to `value` if it is higher than the current value; never lowers it. Suits
  // progress counters ("percent done") that a populator recomputes from bytes copied.
  void RaiseTo(double value);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Inc(double delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Dec(double delta = 1) { value_.fetch_add(-delta, std::memory_order_relaxed); }
  void SetToCurrentTime();  // seconds since the Unix epoch, e.g. for *_start_time_seconds
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets with the given upper bounds (`le`); the +Inf bucket is implicit.
class Histogram {
 public:
  // Bounds must be finite and strictly increasing; throws BugError otherwise.
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;         // without +Inf
    std::vector<uint64_t> cumulative_counts;  // one per bound, then the +Inf bucket
    double sum = 0;
    uint64_t count = 0;  // equals the +Inf bucket
  };
  Snapshot Collect() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; last is +Inf
  std::atomic<double> sum_{0};
};

// Bucket layouts.
std::vector<double> DefaultBuckets();  // the Go client's: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10
std::vector<double> LinearBuckets(double start, double width, int count);
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// Sample lines of one child; `label_prefix` comes from FamilyBase::LabelPrefix.
void RenderChild(std::string& out, std::string_view name, std::string_view label_prefix, const Counter& c);
void RenderChild(std::string& out, std::string_view name, std::string_view label_prefix, const Gauge& g);
void RenderChild(std::string& out, std::string_view name, std::string_view label_prefix, const Histogram& h);

// Type-independent part of a family: name, help, label names, rendering.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends `# HELP`, `# TYPE` and every child's samples to `out`; nothing when there are no children.
  void Render(std::string& out) const;

 protected:
  // Checks the number of values; throws BugError naming the family when it is wrong.
  void CheckArity(const std::vector<std::string>& values) const;
  // `{a="x",b="y"` (no closing brace) with labels in alphabetical order, or "" without labels.
  std::string LabelPrefix(const std::vector<std::string>& values) const;
  virtual void RenderChildren(std::string& out) const = 0;
  // Lets Family<M>::RenderChildren reach the RenderChild overloads with the family's name.
  void RenderOne(std::string& out, std::string_view label_prefix, const auto& child) const {
    ::hoist::prom::RenderChild(out, name_, label_prefix, child);
  }

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::vector<size_t> sorted_order_;  // indices into label_names_ in alphabetical order
};

// A metric with a fixed set of label names; one child per combination of label values. References
// returned by WithLabels stay valid until Remove() of the same values or the family is destroyed.
template <typename M>
class Family : public FamilyBase {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::function<std::unique_ptr<M>()> factory)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        factory_(std::move(factory)) {}

  // The child for these label values (in the order of label_names()), created on first use.
  M& WithLabels(const std::vector<std::string>& values) {
    CheckArity(values);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) it = children_.emplace(values, factory_()).first;
    return *it->second;
  }
  // Drops a child (e.g. when the PVC it describes is gone). Unknown values are ignored.
  void Remove(const std::vector<std::string>& values) {
    std::lock_guard<std::mutex> lock(mu_);
    children_.erase(values);
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return children_.size();
  }

 protected:
  void RenderChildren(std::string& out) const override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, child] : children_) RenderOne(out, LabelPrefix(values), *child);
  }

 private:
  std::function<std::unique_ptr<M>()> factory_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

// Owns families and renders them, sorted by name. Registering a name twice (or a name that collides
// with a histogram's _bucket/_sum/_count series) is a BugError; so are invalid metric or label names.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Family<Counter>& AddCounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Gauge>& AddGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Histogram>& AddHistogramFamily(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> upper_bounds);
  // Unlabelled metrics: a family with no label names and its single child.
  Counter& AddCounter(std::string name, std::string help);
  Gauge& AddGauge(std::string name, std::string help);
  Histogram& AddHistogram(std::string name, std::string help, std::vector<double> upper_bounds);

  // The whole exposition in the text format 0.0.4.
  std::string Expose() const;

 private:
  void Reserve(const std::string& name, MetricType type, const std::vector<std::string>& label_names);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
  std::map<std::string, std::string> reserved_;  // series name -> owning family
};

}  // namespace hoist::prom

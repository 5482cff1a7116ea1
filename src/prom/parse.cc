#include "prom/parse.h"

#include <charconv>
#include <unordered_map>

#include "core/error.h"
#include "prom/text.h"

namespace hoist::prom {

std::string_view Sample::Label(std::string_view name) const {
  auto it = labels.find(name);
  return it == labels.end() ? std::string_view() : std::string_view(it->second);
}

bool Sample::Matches(const LabelSet& matchers) const {
  for (const auto& [k, v] : matchers) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

const MetricFamily* Scrape::FindFamily(std::string_view family_name) const {
  for (const auto& f : families_) {
    if (f.name == family_name) return &f;
  }
  return nullptr;
}

const Sample* Scrape::FindSample(std::string_view sample_name, const LabelSet& matchers) const {
  for (const auto& f : families_) {
    for (const auto& s : f.samples) {
      if (s.name == sample_name && s.Matches(matchers)) return &s;
    }
  }
  return nullptr;
}

std::vector<const Sample*> Scrape::FindSamples(std::string_view sample_name, const LabelSet& matchers) const {
  std::vector<const Sample*> out;
  for (const auto& f : families_) {
    for (const auto& s : f.samples) {
      if (s.name == sample_name && s.Matches(matchers)) out.push_back(&s);
    }
  }
  return out;
}

std::optional<double> Scrape::Value(std::string_view sample_name, const LabelSet& matchers) const {
  const Sample* s = FindSample(sample_name, matchers);
  if (s == nullptr) return std::nullopt;
  return s->value;
}

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

struct FamilyState {
  bool has_help = false;
  bool has_type = false;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Scrape Run() {
    size_t start = 0;
    while (start <= text_.size()) {
      size_t end = text_.find('\n', start);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      ++line_no_;
      line_ = line;
      pos_ = 0;
      ParseLine();
      start = end + 1;
    }
    return Scrape(std::move(families_));
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    std::string shown(line_.substr(0, 120));
    if (line_.size() > 120) shown += "...";
    throw PreconditionError("Prometheus text format, line " + std::to_string(line_no_) + ": " + what +
                            " (in `" + shown + "`)");
  }

  bool AtEnd() const { return pos_ >= line_.size(); }
  char Peek() const { return AtEnd() ? '\0' : line_[pos_]; }
  void SkipBlanks() {
    while (!AtEnd() && IsBlank(line_[pos_])) ++pos_;
  }
  std::string_view Token() {
    size_t b = pos_;
    while (!AtEnd() && !IsBlank(line_[pos_])) ++pos_;
    return line_.substr(b, pos_ - b);
  }

  void ParseLine() {
    SkipBlanks();
    if (AtEnd()) return;
    if (Peek() == '#') {
      ++pos_;
      ParseComment();
    } else {
      ParseSample();
    }
  }

  MetricFamily& Family(std::string_view name) {
    auto it = index_.find(std::string(name));
    if (it != index_.end()) return families_[it->second];
    index_.emplace(std::string(name), families_.size());
    states_.emplace_back();
    families_.push_back(MetricFamily{std::string(name), "", MetricType::kUntyped, {}});
    return families_.back();
  }
  FamilyState& State(const MetricFamily& f) { return states_[&f - families_.data()]; }

  void ParseComment() {
    SkipBlanks();
    std::string_view keyword = Token();
    if (keyword != "HELP" && keyword != "TYPE") return;  // an ordinary comment
    SkipBlanks();
    std::string_view name = Token();
    if (name.empty()) Fail(std::string(keyword) + " line without a metric name");
    if (!IsValidMetricName(name)) Fail("invalid metric name \"" + std::string(name) + "\"");
    MetricFamily& f = Family(name);
    FamilyState& st = State(f);
    if (keyword == "HELP") {
      if (st.has_help) Fail("second HELP line for metric " + f.name);
      st.has_help = true;
      if (!AtEnd()) ++pos_;  // the one blank separating name and text
      f.help = ReadHelp();
      return;
    }
    if (st.has_type) Fail("second TYPE line for metric " + f.name);
    if (!f.samples.empty()) Fail("TYPE line for metric " + f.name + " comes after its samples");
    SkipBlanks();
    std::string_view type = Token();
    SkipBlanks();
    if (!AtEnd()) Fail("unexpected text after the type of metric " + f.name);
    if (type == "counter") {
      f.type = MetricType::kCounter;
    } else if (type == "gauge") {
      f.type = MetricType::kGauge;
    } else if (type == "histogram") {
      f.type = MetricType::kHistogram;
    } else if (type == "summary") {
      f.type = MetricType::kSummary;
    } else if (type == "untyped") {
      f.type = MetricType::kUntyped;
    } else {
      Fail("unknown metric type \"" + std::string(type) + "\" for metric " + f.name +
           " (expected counter, gauge, histogram, summary or untyped)");
    }
    st.has_type = true;
  }

  std::string ReadHelp() {
    std::string out;
    while (!AtEnd()) {
      char c = line_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (AtEnd()) Fail("HELP text ends with a lone backslash");
      char e = line_[pos_++];
      if (e == '\\') {
        out += '\\';
      } else if (e == 'n') {
        out += '\n';
      } else {
        Fail(std::string("invalid escape sequence \\") + e + " in HELP text (only \\\\ and \\n are allowed)");
      }
    }
    return out;
  }

  void ParseSample() {
    Sample s;
    s.line = line_no_;
    size_t b = pos_;
    while (!AtEnd() && Peek() != '{' && !IsBlank(Peek())) ++pos_;
    s.name = std::string(line_.substr(b, pos_ - b));
    if (!IsValidMetricName(s.name)) Fail("invalid metric name \"" + s.name + "\"");
    SkipBlanks();
    if (Peek() == '{') {
      ++pos_;
      ParseLabels(s);
    }
    SkipBlanks();
    std::string_view value = Token();
    if (value.empty()) Fail("sample " + s.name + " has no value");
    std::optional<double> v = ParseValue(value);
    if (!v) Fail("value \"" + std::string(value) + "\" of sample " + s.name + " is not a number");
    s.value = *v;
    SkipBlanks();
    if (!AtEnd()) {
      std::string_view ts = Token();
      int64_t t = 0;
      auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
      if (ec != std::errc() || ptr != ts.data() + ts.size()) {
        Fail("timestamp \"" + std::string(ts) + "\" of sample " + s.name +
             " is not an integer (milliseconds)");
      }
      s.timestamp_ms = t;
      SkipBlanks();
      if (!AtEnd()) Fail("unexpected text after the timestamp of sample " + s.name);
    }
    Place(std::move(s));
  }

  void ParseLabels(Sample& s) {
    while (true) {
      SkipBlanks();
      if (AtEnd()) Fail("label set of " + s.name + " is not closed with }");
      if (Peek() == '}') {
        ++pos_;
        return;
      }
      size_t b = pos_;
      while (!AtEnd() && Peek() != '=' && Peek() != '}' && Peek() != ',' && !IsBlank(Peek())) ++pos_;
      std::string name(line_.substr(b, pos_ - b));
      if (!IsValidLabelName(name)) Fail("invalid label name \"" + name + "\" on " + s.name);
      SkipBlanks();
      if (Peek() != '=') Fail("expected = after label name \"" + name + "\" on " + s.name);
      ++pos_;
      SkipBlanks();
      if (Peek() != '"') Fail("value of label \"" + name + "\" on " + s.name + " must be in double quotes");
      ++pos_;
      std::string value;
      bool closed = false;
      while (!AtEnd()) {
        char c = line_[pos_++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          value += c;
          continue;
        }
        if (AtEnd()) break;
        char e = line_[pos_++];
        if (e == '\\') {
          value += '\\';
        } else if (e == '"') {
          value += '"';
        } else if (e == 'n') {
          value += '\n';
        } else {
          Fail(std::string("invalid escape sequence \\") + e + " in the value of label \"" + name + "\"");
        }
      }
      if (!closed)
        Fail("value of label \"" + name + "\" on " + s.name + " is not terminated by a double quote");
      if (!s.labels.emplace(name, std::move(value)).second) {
        Fail("label \"" + name + "\" appears twice on " + s.name);
      }
      SkipBlanks();
      if (Peek() == ',') {
        ++pos_;
      } else if (Peek() != '}') {
        Fail("expected , or } after the value of label \"" + name + "\" on " + s.name);
      }
    }
  }

  static bool EndsWith(std::string_view s, std::string_view suffix) {
    return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
  }

  // Finds the family a sample belongs to (histogram/summary series are grouped under their base name).
  void Place(Sample s) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!EndsWith(s.name, suffix)) continue;
      std::string base = s.name.substr(0, s.name.size() - suffix.size());
      auto it = index_.find(base);
      if (it == index_.end()) continue;
      MetricFamily& f = families_[it->second];
      bool histogram = f.type == MetricType::kHistogram;
      bool summary = f.type == MetricType::kSummary && suffix != "_bucket";
      if (!histogram && !summary) continue;
      if (suffix == "_bucket") {
        std::string_view le = s.Label("le");
        if (s.labels.find("le") == s.labels.end())
          Fail("histogram bucket " + s.name + " has no \"le\" label");
        if (!ParseValue(le))
          Fail("\"le\" label of " + s.name + " is not a number: \"" + std::string(le) + "\"");
      }
      f.samples.push_back(std::move(s));
      return;
    }
    MetricFamily& f = Family(s.name);
    if (f.type == MetricType::kHistogram) {
      Fail("sample " + s.name + " of histogram " + f.name + " must be named " + f.name + "_bucket, " +
           f.name + "_sum or " + f.name + "_count");
    }
    if (f.type == MetricType::kSummary) {
      std::string_view q = s.Label("quantile");
      if (s.labels.find("quantile") == s.labels.end())
        Fail("summary sample " + s.name + " has no \"quantile\" label");
      if (!ParseValue(q))
        Fail("\"quantile\" label of " + s.name + " is not a number: \"" + std::string(q) + "\"");
    }
    f.samples.push_back(std::move(s));
  }

  std::string_view text_;
  std::string_view line_;
  size_t pos_ = 0;
  int line_no_ = 0;
  std::vector<MetricFamily> families_;
  std::vector<FamilyState> states_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace

Scrape ParseText(std::string_view text) { return Parser(text).Run(); }

}  // namespace hoist::prom

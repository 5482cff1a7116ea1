// `hoist watch`: live progress of the populations in a namespace (or of one Plan) until every disk is
// done. On a terminal: one progress bar per disk, redrawn in place, with rate and ETA; otherwise (a
// pipe, a log file): one plain line whenever a disk changes state or crosses a 10 % step.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd/common/commands.h"
#include "cmd/hoist/cluster_flags.h"
#include "kube/client.h"
#include "kube/objects.h"
#include "planner/populations.h"

namespace hoist::cli {
namespace {

using Clock = std::chrono::steady_clock;

const char kAbout[] =
    "Follows the volume populations of a namespace (or of one Plan with --plan) until every disk has\n"
    "succeeded or failed: progress bars with rate and ETA on a terminal, plain lines otherwise.\n"
    "Exit status: 0 when all succeeded, 1 when any failed, 3 on --timeout.\n";

std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted = true; }

// Transfer rate over the last few samples (progress moves in steps, every scrape), else since start.
class RateMeter {
 public:
  std::optional<double> Rate(const std::string& key, Clock::time_point t, int64_t bytes, std::optional<double> fallback) {
    auto& s = samples_[key];
    if (!s.empty() && bytes < s.back().second) s.clear();  // restarted
    s.emplace_back(t, bytes);
    while (s.size() > 2 && t - s.front().first > std::chrono::seconds(15)) s.pop_front();
    double span = std::chrono::duration<double>(s.back().first - s.front().first).count();
    if (span >= 3 && s.back().second > s.front().second) return (s.back().second - s.front().second) / span;
    return fallback;
  }

 private:
  std::map<std::string, std::deque<std::pair<Clock::time_point, int64_t>>> samples_;
};

std::string Bar(int percent, int width) {
  int filled = percent * width / 100;
  std::string b = "[";
  for (int i = 0; i < width; ++i) b += i < filled ? '#' : (i == filled && percent < 100 ? '>' : '.');
  return b + "]";
}

std::string Cut(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  return n > 3 ? s.substr(0, n - 3) + "..." : s.substr(0, n);
}

std::string Pad(const std::string& s, size_t n) { return s.size() >= n ? s : s + std::string(n - s.size(), ' '); }

std::string StateText(const planner::Population& p) {
  if (p.state == "Pending" && !p.reason.empty()) return "Pending: " + p.reason;
  if (p.state == "Failed") return "FAILED" + (p.reason.empty() ? "" : ": " + p.reason);
  if (p.state == "Running" && p.percent >= 100) return "Running: finishing";  // copied; the volume is being handed over
  return p.state;
}

std::string Clocktime() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

struct Totals {
  int total = 0, running = 0, pending = 0, succeeded = 0, failed = 0;
  int64_t bytes = 0, done_bytes = 0;
};

Totals Sum(const std::vector<planner::Population>& rows) {
  Totals t;
  for (const auto& p : rows) {
    ++t.total;
    t.bytes += p.total_bytes;
    t.done_bytes += p.transferred_bytes;
    if (p.state == "Running") ++t.running;
    if (p.state == "Pending") ++t.pending;
    if (p.state == "Succeeded") ++t.succeeded;
    if (p.state == "Failed") ++t.failed;
  }
  return t;
}

std::string Summary(const Totals& t) {
  return std::to_string(t.total) + " disk(s): " + std::to_string(t.running) + " copying, " + std::to_string(t.pending) +
         " waiting, " + std::to_string(t.succeeded) + " done, " + std::to_string(t.failed) + " failed — " +
         planner::FormatBytes(t.done_bytes) + " of " + planner::FormatBytes(t.bytes);
}

int Watch(const std::vector<std::string>& args) {
  return RunCommand("watch", [&] {
    FlagSet fs("hoist watch");
    ClusterFlags cf;
    cf.Add(fs, true);
    auto& plan = fs.String("plan", "", "follow this Plan's disks (the Plan is in -n; its disks in its target namespace)");
    auto& interval = fs.Duration("interval", 1000, "time between refreshes");
    auto& timeout = fs.Duration("timeout", 0, "give up after this long (0: never)");
    auto& plain = fs.Bool("plain", false, "plain lines even on a terminal");
    fs.Parse(args);
    if (fs.help_requested()) {
      std::printf("%s\n%s", fs.Usage().c_str(), kAbout);
      return 0;
    }
    if (*interval <= 0) throw PreconditionError("--interval must be positive");
    kube::RestConfig config = cf.Config();
    kube::Client client(config);
    planner::PopulationQuery q;
    q.ns = cf.Namespace(config);
    q.events = false;
    std::string plan_ns = q.ns.empty() ? config.ns : q.ns;
    if (!(*plan).empty()) {
      kube::Json p = GetPlan(client, plan_ns, *plan);
      q.plan_uid = kube::Uid(p);
      q.ns = kube::StringAt(p, {"spec", "targetNamespace"});
    }

    const bool tty = !*plain && ::isatty(STDOUT_FILENO);
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    if (tty) std::fputs("\x1b[?25l", stdout);  // hide the cursor while redrawing

    RateMeter meter;
    std::map<std::string, std::string> last_plain;  // key → what was last printed
    int drawn = 0;
    auto started = Clock::now();
    std::vector<planner::Population> rows;
    std::string plan_note;
    bool finished = false;
    while (!g_interrupted) {
      auto now = Clock::now();
      rows = planner::ListPopulations(client, q, std::chrono::system_clock::now());
      bool plan_done = false;
      if (!(*plan).empty()) {
        kube::Json p = GetPlan(client, plan_ns, *plan);
        plan_done = !kube::StringAt(p, {"status", "migration", "completed"}).empty();
        plan_note.clear();
        if (const kube::Json* conds = kube::At(p, {"status", "conditions"}); conds != nullptr && conds->is_array()) {
          for (const auto& c : *conds) {
            if (kube::StringAt(c, {"category"}) == "Critical" && kube::StringAt(c, {"status"}) == "True") {
              plan_note = "Plan " + *plan + " is not ready: " + kube::StringAt(c, {"message"});
            }
          }
        }
      }
      bool all_done = !rows.empty();
      for (const auto& r : rows) all_done = all_done && r.done();
      if (!(*plan).empty()) all_done = plan_done;

      int width = tty ? TerminalWidth() : 0;
      std::vector<std::string> lines;
      if (tty) {
        lines.push_back(Cut("hoist watch " + (q.ns.empty() ? std::string("(all namespaces)") : q.ns) +
                                ((*plan).empty() ? "" : ", plan " + *plan) + ": " + Summary(Sum(rows)),
                            width));
        if (!plan_note.empty()) lines.push_back(Cut(plan_note, width));
        if (rows.empty()) lines.push_back("waiting for populations to appear...");
      }
      int label_w = std::max(20, std::min(48, width - 70));
      for (const auto& p : rows) {
        std::string key = p.ns + "/" + p.name;
        auto rate = meter.Rate(key, now, p.transferred_bytes, p.bytes_per_second);
        std::optional<int64_t> eta;
        if (p.state == "Running" && p.percent < 100 && rate && *rate > 0) eta = static_cast<int64_t>((p.total_bytes - p.transferred_bytes) / *rate);
        std::string rate_s = p.state == "Running" && rate ? planner::FormatRate(*rate) : "";
        std::string eta_s = eta ? "ETA " + planner::FormatDuration(*eta) : "";
        std::string label = p.vm + " " + p.disk;
        if (tty) {
          char pct[8];
          std::snprintf(pct, sizeof pct, "%3d%%", p.percent);
          std::string line = Pad(Cut(label, label_w), label_w) + " " + Bar(p.percent, 24) + " " + pct + "  " + Pad(rate_s, 12) +
                             Pad(eta_s, 12) + StateText(p);
          lines.push_back(Cut(line, width));
        } else {
          std::string what = StateText(p) + " " + std::to_string(p.percent / 10 * 10);
          if (last_plain[key] == what) continue;
          last_plain[key] = what;
          std::printf("%s %s %d%% %s%s%s%s\n", Clocktime().c_str(), label.c_str(), p.percent, StateText(p).c_str(),
                      rate_s.empty() ? "" : ("  " + rate_s).c_str(), eta_s.empty() ? "" : ("  " + eta_s).c_str(),
                      p.message.empty() || p.state == "Running" ? "" : ("  — " + p.message).c_str());
        }
      }
      if (tty) {
        if (drawn > 0) std::printf("\x1b[%dA", drawn);  // back to the first line of the last frame
        for (const auto& l : lines) std::printf("\r\x1b[2K%s\n", l.c_str());
        for (int i = static_cast<int>(lines.size()); i < drawn; ++i) std::printf("\r\x1b[2K\n");
        if (static_cast<int>(lines.size()) < drawn) std::printf("\x1b[%dA", drawn - static_cast<int>(lines.size()));
        drawn = static_cast<int>(lines.size());
      } else if (!plan_note.empty() && last_plain["plan"] != plan_note) {
        last_plain["plan"] = plan_note;
        std::printf("%s %s\n", Clocktime().c_str(), plan_note.c_str());
      }
      std::fflush(stdout);
      if (all_done) {
        finished = true;
        break;
      }
      if (*timeout > 0 && Clock::now() - started > std::chrono::milliseconds(*timeout)) break;
      auto wake = now + std::chrono::milliseconds(*interval);
      while (!g_interrupted && Clock::now() < wake) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (tty) std::fputs("\x1b[?25h", stdout);
    Totals t = Sum(rows);
    if (finished) {
      // The failures once more, with the Events that explain them.
      q.events = true;
      rows = planner::ListPopulations(client, q, std::chrono::system_clock::now());
      std::printf("%s\n", Summary(Sum(rows)).c_str());
      for (const auto& p : rows) {
        if (p.state == "Failed") std::printf("  FAILED %s %s: %s\n", p.vm.c_str(), p.disk.c_str(), p.message.c_str());
      }
      std::fflush(stdout);
      return Sum(rows).failed > 0 ? 1 : 0;
    }
    std::printf("%s\n%s\n", g_interrupted ? "interrupted" : "timed out", Summary(t).c_str());
    return g_interrupted ? 130 : 3;
  });
}

HOIST_REGISTER_COMMAND({{"watch"}, "live progress bars of volume populations until they are done", Watch});

}  // namespace
}  // namespace hoist::cli

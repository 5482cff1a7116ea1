#include "populators/common/copy.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "populators/common/options.h"
#include "populators/common/progress.h"
#include "populators/common/verify.h"
#include "sink/disk_sink.h"

namespace hoist::populators {

using sink::Range;

std::vector<Range> Intersect(const std::vector<Range>& a, const std::vector<Range>& b) {
  std::vector<Range> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    uint64_t lo = std::max(a[i].begin, b[j].begin);
    uint64_t hi = std::min(a[i].end, b[j].end);
    if (lo < hi) out.push_back({lo, hi});
    if (a[i].end < b[j].end)
      ++i;
    else
      ++j;
  }
  return out;
}

std::vector<Range> Subtract(const std::vector<Range>& all, const std::vector<Range>& remove) {
  std::vector<Range> out;
  size_t j = 0;
  for (Range r : all) {
    uint64_t pos = r.begin;
    while (j < remove.size() && remove[j].end <= pos) ++j;
    size_t k = j;
    while (pos < r.end) {
      if (k < remove.size() && remove[k].begin < r.end) {
        if (remove[k].begin > pos) out.push_back({pos, remove[k].begin});
        pos = std::max(pos, remove[k].end);
        ++k;
      } else {
        out.push_back({pos, r.end});
        pos = r.end;
      }
    }
  }
  return out;
}

CopyResult CopyImage(net::HttpClient& client, const CopyPlan& plan, prom::Counter& progress_counter,
                     prom::Gauge* bytes_done, std::stop_token stop) {
  auto started = std::chrono::steady_clock::now();
  sink::SinkOptions so;
  so.path = plan.volume_path;
  so.size = plan.size;
  so.source_identity = plan.source_identity;
  so.block_volume = IsBlockVolumePath(plan.volume_path);
  so.checkpoint_every = plan.checkpoint_every;
  so.checkpoint_every_bytes = plan.checkpoint_every_bytes;
  sink::DiskSink sink(so);

  CopyResult result;
  result.resumed = sink.resumed();
  result.resumed_bytes = sink.DoneBytes();
  log::Info("copy", sink.resumed() ? "resuming the copy from the volume's checkpoint" : "starting the copy",
            {{"source", plan.what},
             {"volume", plan.volume_path},
             {"size", plan.size},
             {"done_bytes", result.resumed_bytes},
             {"checkpoint", sink.CheckpointLocation()}});

  ProgressReporter progress(
      progress_counter, bytes_done, [&sink] { return sink.DoneBytes(); }, plan.size, plan.what,
      std::chrono::seconds(1), std::chrono::seconds(15), [&sink] { sink.CheckpointIfDue(); });

  std::unique_ptr<StreamDigest> digest;
  try {
    // What to fetch: the data ranges (merged across small known-zero gaps: a few zeros cost less than
    // another request) that are not done yet — never bytes an earlier attempt recorded.
    const std::vector<Range> pending = sink.PendingRanges();
    const std::vector<Range> data =
        Coalesce(Subtract({{0, plan.size}}, plan.zero_ranges), plan.download.coalesce_gap);
    const std::vector<Range> fetch = Intersect(data, pending);
    // The rest of what is pending is known zeros: nothing to fetch; a block volume is zeroed here.
    for (const Range& r : Subtract(pending, fetch)) {
      sink.ZeroRange(r.begin, r.length());
      result.zero_bytes += r.length();
    }
    if (plan.verification.kind == Verification::Kind::kStream) {
      digest = std::make_unique<StreamDigest>(plan.verification.algorithm);
      digest->Start(sink);
    }
    result.download = Download(client, plan.target, sink, fetch, plan.download, stop);
    result.fetched_bytes = result.download.bytes_fetched;
    progress.Update();
  } catch (...) {
    if (digest) digest->Cancel();
    try {
      sink.Checkpoint();
    } catch (const std::exception& e) {
      log::Warn("copy", "could not write the checkpoint after a failure", {{"error", e.what()}});
    }
    throw;
  }

  // Verification of what is on the volume.
  const Verification& v = plan.verification;
  if (v.kind != Verification::Kind::kNone) {
    std::string actual = v.kind == Verification::Kind::kStream
                             ? digest->Finish()
                             : BlockChecksum(sink, v.algorithm, v.block_size, 2, stop);
    std::string expected = v.expected ? v.expected() : "";
    if (expected.empty()) {
      log::Warn("copy", "the source gave no checksum; the copy is not verified", {{"source", plan.what}});
    } else if (actual != expected) {
      sink.DiscardCheckpoint();
      throw TransientError("verifying " + plan.what + " on " + plan.volume_path +
                           ": the data on the volume has " + v.algorithm + " " + actual + " but " +
                           v.expected_from + " is " + expected +
                           " — the bytes received differ from the source's; the copy starts over on the next "
                           "attempt (check the network path and the source storage if it happens again)");
    } else {
      result.checksum = actual;
      log::Info("copy", "verified",
                {{"source", plan.what}, {"algorithm", v.algorithm}, {"checksum", actual}});
    }
  }

  sink.Finish();
  progress.Complete();
  auto stats = sink.Stats();
  result.bytes_written = stats.bytes_written;
  result.allocated_bytes = stats.allocated_bytes;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace hoist::populators

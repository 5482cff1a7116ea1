#include "populators/xcopy/lun_copy.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "esxi/task_status.h"

namespace hoist::populators::xcopy {
namespace {

constexpr std::string_view kLog = "xcopy";

// Runs a cleanup step; failures are logged, never thrown (the cleanup must go on).
template <typename F>
bool Step(std::string_view what, F&& f) {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    log::Error(kLog, "cleanup step failed", {{"step", what}, {"error", e.what()}});
    return false;
  }
}

}  // namespace

// What the run changed and must undo, in reverse order, whatever happens.
struct LunCopy::Cleanup {
  storage::StorageArray* array = nullptr;
  storage::Lun lun;
  std::string group;
  std::vector<std::string> original;  // mappings before the run
  bool mapped = false;                // Map was called (or may have been)
  HostStorage* host = nullptr;
  std::string naa;
  bool host_touched = false;  // a rescan may have run: the device may be attached
  std::vector<std::string> adapters;
  esxi::CloneExecutor* clone = nullptr;
  esxi::CloneTask task;
  bool stop_clone = false;  // the run was stopped or failed while the clone may still run
  std::chrono::milliseconds settle{0};
  std::function<bool(std::chrono::milliseconds, std::stop_token)> sleep;

  void Run() {
    if (clone != nullptr && !task.task_id.empty()) {
      if (stop_clone) {
        // Stop the clone before the device goes away under it (Forklift leaves vmkfstools running).
        Step("stop the clone", [&] { clone->Stop(task); });
      }
      if (Step("remove the clone task", [&] { clone->Clean(task); })) task.task_id.clear();
    }
    if (host != nullptr && host_touched && !naa.empty()) {
      Step("detach device " + naa, [&] { host->DetachDevice(naa); });
    }
    if (array != nullptr && mapped) {
      bool was_ours = std::find(original.begin(), original.end(), group) != original.end();
      if (was_ours) {
        // A crashed earlier run left this mapping; it is ours to remove, not to restore (§9.4 #6).
        log::Warn(kLog, "the LUN was already mapped to the host's xcopy group before this run; removing it",
                  {{"lun", lun.name}, {"group", group}});
      }
      Step("unmap from " + group, [&] { array->Unmap(lun, group); });
      std::vector<std::string> now;
      Step("list mappings", [&] { now = array->ListMappings(lun); });
      for (const auto& g : original) {
        if (g == group || std::find(now.begin(), now.end(), g) != now.end()) continue;
        Step("restore mapping to " + g, [&] { array->Map(lun, g); });
      }
      mapped = false;
    }
    if (host != nullptr && host_touched) {
      sleep(settle, {});
      for (const auto& a : adapters) {
        Step("storage core adapter rescan -t delete -A " + a, [&] { host->RescanDeadPaths(a); });
      }
      host_touched = false;
    }
  }
};

LunCopy::LunCopy(CopyTarget target, Tuning tuning, CopyDeps deps)
    : target_(std::move(target)), tuning_(tuning), deps_(std::move(deps)) {}

void LunCopy::Clone(const std::string& device, std::stop_token stop, Cleanup& cleanup) {
  std::string what = target_.source_vmdk + " onto " + device + " on ESXi host " + target_.host;
  esxi::CloneTask started = deps_.clone->StartClone({target_.source_vmdk, device});
  cleanup.task = started;
  cleanup.stop_clone = true;
  log::Info(kLog, "clone started",
            {{"task", started.task_id}, {"source", target_.source_vmdk}, {"device", device}});
  esxi::ProgressTracker progress;
  auto deadline = std::chrono::steady_clock::now() + tuning_.clone_timeout;
  int failures = 0;
  auto cancelled = [&] {
    return CancelledError("stopped (SIGTERM) during the clone of " + what + " at " +
                          std::to_string(progress.current()) + "%; the clone was stopped on the host");
  };
  while (true) {
    if (!deps_.sleep(tuning_.task_poll_interval, stop)) throw cancelled();
    esxi::CloneTaskStatus st;
    try {
      st = deps_.clone->GetStatus(started, stop);
      failures = 0;
    } catch (const Error& e) {
      if (e.error_class() == ErrorClass::kCancelled) throw cancelled();
      // The executor already retried with backoff; keep polling through a few more outages, since
      // the clone goes on on the host regardless (Forklift gives up on the first one).
      if (!e.retryable() || ++failures > tuning_.task_get_retries) throw;
      log::Warn(kLog, "taskGet failed; retrying",
                {{"task", started.task_id}, {"attempt", failures}, {"error", e.what()}});
      continue;
    }
    if (auto p = progress.Update(st)) deps_.reporter->Progress(*p);
    if (st.xcopy_used.has_value()) {
      xcopy_used_ = *st.xcopy_used;
      deps_.reporter->XcopyUsed(*st.xcopy_used);
    }
    if (st.finished()) {
      cleanup.stop_clone = false;
      if (st.succeeded()) {
        deps_.reporter->Progress(100);
        log::Info(kLog, "clone finished", {{"task", started.task_id}, {"xcopy_used", xcopy_used_ ? 1 : 0}});
        return;
      }
      std::string err = st.std_err.empty() ? st.last_line : st.std_err;
      while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
      throw PreconditionError("clone of " + what + " failed with exit code " + std::to_string(*st.exit_code) +
                              ": " + (err.empty() ? "vmkfstools printed no error" : err) +
                              " — check the host's vmkernel log and the source disk");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw TransientError("clone of " + what + " did not finish within the clone timeout (at " +
                           std::to_string(progress.current()) + "%)");
    }
  }
}

void LunCopy::Run(std::stop_token stop) {
  auto stopped_before = [&](const std::string& step) {
    if (stop.stop_requested()) {
      throw CancelledError("stopped (SIGTERM) before " + step + " on ESXi host " + target_.host +
                           "; nothing is left mapped");
    }
  };
  Cleanup cleanup;
  cleanup.settle = tuning_.cleanup_settle;
  cleanup.sleep = deps_.sleep;
  cleanup.clone = deps_.clone;
  cleanup.host = deps_.host;
  cleanup.adapters = target_.adapters;
  try {
    stopped_before("the initiator group was prepared");
    // Array: initiator group, LUN, mappings.
    storage::StorageArray& array = *deps_.array;
    storage::InitiatorGroup group =
        array.EnsureInitiatorGroup("xcopy-" + target_.host_id, target_.initiator_ids);
    storage::Lun lun = array.ResolveVolume(target_.volume);
    cleanup.array = &array;
    cleanup.lun = lun;
    cleanup.group = group.name;
    cleanup.original = array.ListMappings(lun);
    stopped_before("the LUN was mapped");
    cleanup.mapped = true;
    lun = array.Map(lun, group.name);
    cleanup.lun = lun;
    if (lun.naa.empty())
      throw BugError(array.Describe() + " mapped LUN " + lun.name + " without a device name");
    device_ = lun.naa;
    cleanup.naa = lun.naa;
    log::Info(kLog, "LUN mapped",
              {{"lun", lun.name},
               {"device", lun.naa},
               {"group", group.name},
               {"original", Join(cleanup.original)}});

    // ESXi: rescan under the host lease until the device shows.
    stopped_before("the host rescanned for the LUN");
    cleanup.host_touched = true;
    try {
      deps_.lock->WithLock(
          target_.host_id,
          [&](std::stop_token lease) {
            std::stop_source both;
            std::stop_callback a(lease, [&] { both.request_stop(); });
            std::stop_callback b(stop, [&] { both.request_stop(); });
            try {
              deps_.host->WaitForDevice(lun.naa, lun.host_lun_id, both.get_token());
            } catch (const Error& e) {
              if (e.error_class() != ErrorClass::kCancelled || stop.stop_requested()) throw;
              throw TransientError("lost the lease on ESXi host " + target_.host_id + " (Lease esxi-lock-" +
                                   target_.host_id + "-slot-N) while waiting for device " + lun.naa +
                                   " — check the API server's reachability and the lease duration");
            }
          },
          stop);
    } catch (const Error& e) {
      if (e.error_class() != ErrorClass::kCancelled || !stop.stop_requested()) throw;
      throw CancelledError("stopped (SIGTERM) while waiting for device " + lun.naa + " on ESXi host " +
                           target_.host + " (" + e.what() + "); nothing is left mapped");
    }

    stopped_before("the clone was started");
    Clone("/vmfs/devices/disks/" + lun.naa, stop, cleanup);
  } catch (...) {
    cleanup.Run();
    throw;
  }
  cleanup.Run();
}

}  // namespace hoist::populators::xcopy

#include "esxi/wrapper_executor.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "esxi/retry.h"

namespace hoist::esxi {
namespace {

bool ContainsNoCase(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

}  // namespace

int CompareVersions(std::string_view a, std::string_view b) {
  auto core = [](std::string_view v) { return v.substr(0, v.find_first_of("-+")); };
  a = core(a);
  b = core(b);
  while (!a.empty() || !b.empty()) {
    auto take = [](std::string_view& v) {
      auto dot = v.find('.');
      std::string_view part = v.substr(0, dot);
      v = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
      long n = 0;
      for (char c : part) {
        if (!std::isdigit(static_cast<unsigned char>(c))) break;
        n = n * 10 + (c - '0');
      }
      return n;
    };
    long x = take(a), y = take(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

void WrapperExecutor::SetVersion(WrapperVersion v) {
  version_ = std::move(v);
  caps_.hex_args = version_.has("hex-args");
  caps_.quoted_ssh_args = version_.has("quoted-ssh-args");
  prepared_.store(true, std::memory_order_release);
}

std::string WrapperExecutor::TaskWhat(const CloneTask& task) const {
  return "clone task " + task.task_id + " on " + host();
}

CloneTask WrapperExecutor::StartClone(const CloneRequest& request) {
  if (!prepared()) Prepare({});
  std::string what = "cloning " + request.source_vmdk + " onto " + request.target_device + " on " + host() +
                     " (" + std::string(method()) + " method)";
  WrapperReply reply;
  try {
    reply = Send(CloneArgs(request.source_vmdk, request.target_device, caps_), {});
  } catch (const Error& e) {
    // A clone request that may have arrived is not sent again: a second clone onto the same LUN
    // would race the first. The task, if it started, is purged by the wrapper after 5 days.
    throw Error(e.error_class(), what + ": " + e.what());
  }
  CloneStarted started =
      ParseCloneReply(reply, request.source_vmdk + " onto " + request.target_device + " (" + host() + ")");
  log::Info("esxi", "clone started",
            {{"host", host()},
             {"method", method()},
             {"task", started.task_id},
             {"source", request.source_vmdk},
             {"target", request.target_device}});
  return CloneTask{started.task_id, started.pid};
}

CloneTaskStatus WrapperExecutor::GetStatus(const CloneTask& task, std::stop_token stop) {
  std::string what = "polling " + TaskWhat(task);
  return RetryTransient(retry_.status_attempts, retry_.first_delay, retry_.max_delay, stop, what, [&] {
    WrapperReply reply = Send(TaskGetArgs(task.task_id), stop);
    return ParseTaskGetReply(reply, task.task_id + " on " + host());
  });
}

bool WrapperExecutor::CleanTask(const CloneTask& task, std::stop_token stop) {
  std::string what = "cleaning up " + TaskWhat(task);
  return RetryTransient(retry_.status_attempts, retry_.first_delay, retry_.max_delay, stop, what, [&] {
    WrapperReply reply = Send(TaskCleanArgs(task.task_id), stop);
    if (!reply.ok()) {
      CloneTaskStatus st = ParseTaskMessage(reply.message);
      // The host no longer knows the task (cleaned already, or /tmp was wiped by a reboot).
      if (st.error_code == "TaskNotFound" ||
          (st.error_code.empty() && ContainsNoCase(reply.message, "not found"))) {
        return false;
      }
      std::string reason = !st.std_err.empty() ? st.std_err : reply.message;
      throw PreconditionError(what + " failed (status " + reply.status + "): " + reason);
    }
    bool cancelled = false;
    try {
      auto j = nlohmann::json::parse(reply.message);
      if (j.is_object()) cancelled = j.value("cancelled", false);
    } catch (const nlohmann::json::exception&) {
      // Forklift's wrapper answers taskClean with an empty message.
    }
    return cancelled;
  });
}

bool WrapperExecutor::Stop(const CloneTask& task) {
  if (!prepared()) Prepare({});
  if (!version_.has("cancel-on-clean")) {
    throw PreconditionError("cannot stop " + TaskWhat(task) + ": the host's vmkfstools-wrapper " +
                            (version_.version.empty() ? std::string("(unknown version)") : version_.version) +
                            " cannot stop a running clone (Forklift's wrapper); vmkfstools keeps running "
                            "until it finishes — install hoist's wrapper to make clones stoppable");
  }
  bool stopped = CleanTask(task, {});
  log::Info("esxi", stopped ? "stopped a running clone" : "clone was no longer running",
            {{"host", host()}, {"task", task.task_id}});
  return stopped;
}

void WrapperExecutor::Clean(const CloneTask& task) {
  if (task.task_id.empty()) return;
  if (CleanTask(task, {})) {
    log::Warn("esxi", "the clone was still running when its task was cleaned; it was stopped",
              {{"host", host()}, {"task", task.task_id}});
  }
}

}  // namespace hoist::esxi

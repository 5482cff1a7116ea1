#pragma once
// Reading the answers of the ESXi-side vmkfstools-wrapper (esxi/vmkfstools-wrapper/).
//
// Every wrapper command answers with the esxcli plugin's `result` structure: a `status` ("0" = ok)
// and a `message` that holds JSON. Over SSH the wrapper prints that structure as XML; through
// remote esxcli, vSphere has already turned it into fields, so callers build a WrapperReply from
// them directly. Both Forklift's wrapper (v0.3.x) and hoist's are understood:
//   clone    {"taskId": "...", "pid": 1234, "xcopyUsed": false}
//   taskGet  {"taskId", "pid", "exitCode": "" | "<n>", "lastLine", "xcopyUsed": bool|null,
//             "stdErr", and from hoist's wrapper also "running", "progress", "cloneWriteOps"}
//   version  {"version": "x.y.z"} (hoist's adds "implementation" and "features")
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::esxi {

struct WrapperReply {
  std::string status;   // "0" on success
  std::string message;  // JSON text; plain text from very old wrappers
  bool ok() const { return status == "0"; }
};

// Parses the wrapper's XML. Text before the XML (an SSH banner, stray stderr) is skipped.
// Throws hoist::Error: kTransient for empty output (the connection dropped), kPrecondition for
// output that is not the wrapper's (a wrong forced command, an incompatible wrapper).
WrapperReply ParseWrapperXml(std::string_view text);

// The state of one clone task on the host.
struct CloneTaskStatus {
  std::string task_id;
  std::optional<std::int64_t> pid;
  bool running = false;                          // vmkfstools still runs
  std::optional<int> exit_code;                  // set once it has ended
  std::optional<int> progress_percent;           // 0..100, absent if no progress line was seen yet
  std::string last_line;                         // last non-empty output line of vmkfstools
  std::string std_err;                           // tail of vmkfstools' stderr
  std::optional<bool> xcopy_used;                // absent if the host could not tell (vsish failed)
  std::optional<std::uint64_t> clone_write_ops;  // XCOPY writes on the target during this task
  std::string error_code;                        // the wrapper's code for a failed request (TaskNotFound…)

  bool finished() const { return exit_code.has_value(); }
  bool succeeded() const { return exit_code.has_value() && *exit_code == 0; }
};

// The last percentage in vmkfstools output, whose progress line is rewritten in place with `\r`
// (`Clone: 12% done.\rClone: 13% done.`). Lines without a percentage say nothing about progress:
// they give nullopt, never a made-up value. Values above 100 are ignored.
std::optional<int> ParseProgressPercent(std::string_view text);

// The JSON message of a `clone` or `taskGet` answer. Non-JSON text becomes `last_line`.
CloneTaskStatus ParseTaskMessage(std::string_view message);

// A `taskGet` answer. Throws hoist::Error (kPrecondition) when the wrapper reports a failure, e.g.
// the task directory is gone because the host restarted; `what` names the task/host for messages.
CloneTaskStatus ParseTaskGetReply(const WrapperReply& reply, std::string_view what);

struct CloneStarted {
  std::string task_id;
  std::optional<std::int64_t> pid;
};
// A `clone` answer. Throws hoist::Error (kPrecondition) with the wrapper's reason on failure.
CloneStarted ParseCloneReply(const WrapperReply& reply, std::string_view what);

struct WrapperVersion {
  std::string version;                // "1.0.0"
  std::string implementation;         // "hoist", or empty for Forklift's wrapper
  std::vector<std::string> features;  // e.g. "hex-args", "quoted-ssh-args", "cancel-on-clean"
  bool has(std::string_view feature) const;
};
// A `version` answer (XML/JSON message, or the bare version printed by `--output simple`).
WrapperVersion ParseVersionReply(const WrapperReply& reply, std::string_view what);

// Progress as a populator reports it: it only moves forward, and polls that carry no percentage
// leave it where it was.
class ProgressTracker {
 public:
  // Returns the new percentage if this status moved progress forward.
  std::optional<int> Update(const CloneTaskStatus& status);
  int current() const { return current_; }

 private:
  int current_ = 0;
};

// Decodes XML character data (&lt; &gt; &amp; &quot; &apos; &#N; &#xN;). Unknown entities stay as text.
std::string XmlUnescape(std::string_view text);

}  // namespace hoist::esxi

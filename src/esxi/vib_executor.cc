#include "esxi/vib_executor.h"

#include <mutex>

#include "core/error.h"
#include "core/log.h"
#include "esxi/retry.h"
#include "esxi/wrapper_executor.h"

namespace hoist::esxi {
namespace {

// Wrapper arguments → the plugin's esxcli command: {"--task-get", "-i", id} →
// `vmkfstools taskGet -i <id>`. The options keep the plugin's short names; their parameter names are
// the plugin's long options without dashes, as ESXi names them in CLIInfo
// (esxi/vmkfstools-wrapper/esxcli-vmkfstools.xml: source-vmdk, target-lun, id).
EsxcliCommand PluginCommand(const std::vector<std::string>& args) {
  static const std::pair<const char*, const char*> kCommands[] = {{"--clone", "clone"},
                                                                  {"--task-get", "taskGet"},
                                                                  {"--task-clean", "taskClean"},
                                                                  {"--version", "version"}};
  static const std::pair<const char*, const char*> kParams[] = {
      {"-s", "sourcevmdk"}, {"-t", "targetlun"}, {"-i", "id"}};
  const char* name = nullptr;
  for (const auto& [option, command] : kCommands) {
    if (!args.empty() && args[0] == option) name = command;
  }
  if (name == nullptr)
    throw BugError("no esxcli command for wrapper option " + (args.empty() ? "" : args[0]));
  EsxcliCommand cmd({"vmkfstools", name});
  for (std::size_t i = 1; i < args.size(); i += 2) {
    const char* param = nullptr;
    for (const auto& [option, p] : kParams) {
      if (args[i] == option) param = p;
    }
    if (param == nullptr || i + 1 >= args.size())
      throw BugError("esxcli vmkfstools " + std::string(name) + ": unexpected argument " + args[i]);
    cmd.Option(args[i], param, args[i + 1]);
  }
  return cmd;
}

class VibExecutor final : public WrapperExecutor {
 public:
  VibExecutor(EsxcliRunner& esxcli, VibExecutorOptions options)
      : WrapperExecutor(options.retry), esxcli_(esxcli) {}

  std::string_view method() const override { return "vib"; }
  std::string host() const override { return esxcli_.host(); }

  WrapperVersion Prepare(std::stop_token stop) override {
    std::lock_guard<std::mutex> l(prepare_mu_);
    if (prepared()) return version_;
    std::string what = "reading the vmkfstools-wrapper version on " + host();
    WrapperVersion v =
        RetryTransient(retry_.status_attempts, retry_.first_delay, retry_.max_delay, stop, what,
                       [&] { return ParseVersionReply(Send(VersionArgs(), stop), host()); });
    log::Info("esxi", "vmkfstools-wrapper found",
              {{"host", host()},
               {"method", "vib"},
               {"version", v.version},
               {"implementation", v.implementation.empty() ? "forklift" : v.implementation}});
    SetVersion(std::move(v));
    return version_;
  }

 protected:
  WrapperReply Send(const std::vector<std::string>& args, std::stop_token stop) override {
    if (stop.stop_requested()) throw CancelledError("esxcli vmkfstools on " + host() + ": stopped");
    EsxcliCommand cmd = PluginCommand(args);
    const std::string name = "vmkfstools " + cmd.path()[1];
    EsxcliOutput out;
    try {
      out = esxcli_.Run(cmd);
    } catch (const EsxcliError& e) {
      if (e.kind() == EsxcliError::Kind::kUnknownCommand) {
        throw PreconditionError(
            "the esxcli namespace vmkfstools is missing on " + host() +
            ": install the vmkfstools-wrapper VIB (hoist esxi vib install), then restart the host's "
            "management agent (/etc/init.d/hostd restart) so that esxcli sees it; or use the SSH clone "
            "method (esxi says: " +
            e.host_message() + ")");
      }
      // The plugin ran but failed without an answer, e.g. the wrapper is missing or broken.
      throw PreconditionError("esxcli " + name + " on " + host() + " failed: " + e.host_message() +
                              " — check the vmkfstools-wrapper VIB (esxcli software vib get -n "
                              "vmkfstools-wrapper) and the host's syslog (tag vmkfstools-wrapper)");
    }
    // One result structure {status, message}; Forklift joins the messages of every record.
    WrapperReply reply;
    for (std::size_t i = 0; i < out.rows.size(); ++i) {
      if (reply.status.empty()) reply.status = out.Field(i, "status");
      reply.message += out.Field(i, "message");
    }
    if (out.rows.empty() && !out.scalar.empty()) reply.message = out.scalar;
    if (reply.status.empty()) {
      // An answer without a status (a plugin that printed nothing): worth asking again.
      throw TransientError("esxcli " + name + " on " + host() + " answered without a status");
    }
    return reply;
  }

 private:
  EsxcliRunner& esxcli_;
  std::mutex prepare_mu_;
};

}  // namespace

std::unique_ptr<CloneExecutor> MakeVibExecutor(EsxcliRunner& esxcli, VibExecutorOptions options) {
  return std::make_unique<VibExecutor>(esxcli, options);
}

}  // namespace hoist::esxi

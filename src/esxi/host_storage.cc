#include "esxi/host_storage.h"

#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "esxi/retry.h"

namespace hoist::esxi {
namespace {

constexpr std::string_view kLog = "esxi";

bool Has(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

std::optional<std::int64_t> ToInt(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

ScsiDevice DeviceFromRow(const EsxcliOutput& out, std::size_t i) {
  ScsiDevice d;
  d.name = out.Field(i, "Device");
  d.status = out.Field(i, "Status");
  d.display_name = out.Field(i, "DisplayName");
  d.vendor = out.Field(i, "Vendor");
  d.model = out.Field(i, "Model");
  d.devfs_path = out.Field(i, "DevfsPath");
  d.vaai_status = out.Field(i, "VAAIStatus");
  d.offline = out.Field(i, "IsOffline") == "true";
  d.size_mb = ToInt(out.Field(i, "Size")).value_or(0);
  return d;
}

}  // namespace

HostStorage::HostStorage(EsxcliRunner& esxcli, HostStorageOptions options)
    : esxcli_(esxcli), options_(options) {}

std::optional<ScsiDevice> HostStorage::FindDevice(std::string_view naa) {
  std::string what = "listing device " + std::string(naa) + " on " + esxcli_.host();
  return RetryTransient(
      options_.read_attempts, options_.read_retry_delay, options_.read_retry_delay * 4, {}, what,
      [&]() -> std::optional<ScsiDevice> {
        EsxcliOutput out;
        try {
          out = esxcli_.Run(
              EsxcliCommand({"storage", "core", "device", "list"}).Option("-d", "device", std::string(naa)));
        } catch (const EsxcliError& e) {
          // "Unable to find device with name naa.…": the host does not know it (yet).
          if (e.kind() == EsxcliError::Kind::kCommandFailed) return std::nullopt;
          throw;
        }
        for (std::size_t i = 0; i < out.rows.size(); ++i) {
          if (AsciiLower(out.Field(i, "Device")) == AsciiLower(naa)) return DeviceFromRow(out, i);
        }
        return std::nullopt;
      });
}

std::vector<ScsiDevice> HostStorage::Devices() {
  std::string what = "listing the devices of " + esxcli_.host();
  return RetryTransient(
      options_.read_attempts, options_.read_retry_delay, options_.read_retry_delay * 4, {}, what, [&] {
        EsxcliOutput out = esxcli_.Run(EsxcliCommand({"storage", "core", "device", "list"}));
        std::vector<ScsiDevice> devices;
        for (std::size_t i = 0; i < out.rows.size(); ++i) devices.push_back(DeviceFromRow(out, i));
        return devices;
      });
}

std::vector<ScsiPath> HostStorage::Paths(std::string_view naa) {
  std::string what = "listing the paths of " + std::string(naa) + " on " + esxcli_.host();
  return RetryTransient(
      options_.read_attempts, options_.read_retry_delay, options_.read_retry_delay * 4, {}, what, [&] {
        std::vector<ScsiPath> paths;
        EsxcliOutput out;
        try {
          out = esxcli_.Run(
              EsxcliCommand({"storage", "core", "path", "list"}).Option("-d", "device", std::string(naa)));
        } catch (const EsxcliError& e) {
          if (e.kind() == EsxcliError::Kind::kCommandFailed) return paths;
          throw;
        }
        for (std::size_t i = 0; i < out.rows.size(); ++i) {
          ScsiPath p;
          p.uid = out.Field(i, "UID");
          p.runtime_name = out.Field(i, "RuntimeName");
          p.device = out.Field(i, "Device");
          p.adapter = out.Field(i, "Adapter");
          p.state = out.Field(i, "State");
          p.transport = out.Field(i, "Transport");
          if (auto lun = ToInt(out.Field(i, "LUN"))) p.lun = static_cast<int>(*lun);
          paths.push_back(std::move(p));
        }
        return paths;
      });
}

std::optional<VaaiStatus> HostStorage::Vaai(std::string_view naa) {
  EsxcliOutput out;
  try {
    out = esxcli_.Run(EsxcliCommand({"storage", "core", "device", "vaai", "status", "get"})
                          .Option("-d", "device", std::string(naa)));
  } catch (const EsxcliError& e) {
    if (e.kind() == EsxcliError::Kind::kCommandFailed) return std::nullopt;
    throw;
  }
  if (out.rows.empty()) return std::nullopt;
  return VaaiStatus{out.Field(0, "VAAIPluginName"), out.Field(0, "CloneStatus"), out.Field(0, "ATSStatus"),
                    out.Field(0, "ZeroStatus"), out.Field(0, "DeleteStatus")};
}

std::optional<std::int64_t> HostStorage::IntSetting(std::string_view path) {
  std::string what = "reading " + std::string(path) + " on " + esxcli_.host();
  return RetryTransient(options_.read_attempts, options_.read_retry_delay, options_.read_retry_delay * 4, {},
                        what, [&]() -> std::optional<std::int64_t> {
                          EsxcliOutput out;
                          try {
                            out = esxcli_.Run(EsxcliCommand({"system", "settings", "advanced", "list"})
                                                  .Option("-o", "option", std::string(path)));
                          } catch (const EsxcliError& e) {
                            if (e.kind() == EsxcliError::Kind::kCommandFailed) return std::nullopt;
                            throw;
                          }
                          if (out.rows.empty()) return std::nullopt;
                          return ToInt(out.Field(0, "IntValue"));
                        });
}

namespace {

// Rescans are idempotent; a host that is busy with another rescan may refuse one, so every failure
// except a missing command and a stop is tried again.
template <typename Fn>
void RetryRescan(int attempts, std::chrono::milliseconds pause, std::stop_token stop, const std::string& what,
                 Fn&& fn) {
  for (int attempt = 1;; ++attempt) {
    if (stop.stop_requested()) throw CancelledError(what + ": stopped");
    try {
      fn();
      return;
    } catch (const EsxcliError& e) {
      if (e.kind() == EsxcliError::Kind::kUnknownCommand || attempt >= std::max(1, attempts)) {
        throw Error(e.error_class(),
                    what + " failed after " + std::to_string(attempt) + " tries: " + e.what());
      }
      log::Warn(kLog, "rescan failed, trying again",
                {{"what", what}, {"attempt", attempt}, {"error", e.what()}});
    } catch (const Error& e) {
      if (!e.retryable() || attempt >= std::max(1, attempts)) {
        throw Error(e.error_class(),
                    what + " failed after " + std::to_string(attempt) + " tries: " + e.what());
      }
      log::Warn(kLog, "rescan failed, trying again",
                {{"what", what}, {"attempt", attempt}, {"error", e.what()}});
    }
    if (!SleepUnlessStopped(pause, stop)) throw CancelledError(what + ": stopped");
  }
}

}  // namespace

void HostStorage::RescanAllAdapters(std::stop_token stop) {
  RetryRescan(options_.rescan_attempts, options_.rescan_retry_interval, stop,
              "rescanning the storage adapters of " + esxcli_.host(), [&] {
                esxcli_.Run(EsxcliCommand({"storage", "core", "adapter", "rescan"})
                                .Option("-t", "type", "add")
                                .Flag("-a", "all"));
              });
}

void HostStorage::RescanDeadPaths(std::string_view adapter, std::stop_token stop) {
  RetryRescan(options_.rescan_attempts, options_.rescan_retry_interval, stop,
              "removing dead paths on adapter " + std::string(adapter) + " of " + esxcli_.host(), [&] {
                esxcli_.Run(EsxcliCommand({"storage", "core", "adapter", "rescan"})
                                .Option("-t", "type", "delete")
                                .Option("-A", "adapter", std::string(adapter)));
              });
}

void HostStorage::RemoveDetached(std::string_view naa) {
  try {
    esxcli_.Run(EsxcliCommand({"storage", "core", "device", "detached", "remove"})
                    .Option("-d", "device", std::string(naa)));
  } catch (const EsxcliError& e) {
    if (e.kind() == EsxcliError::Kind::kCommandFailed &&
        (Has(e.host_message(), "not in the detached") || Has(e.host_message(), "Unable to find") ||
         Has(e.host_message(), "not found"))) {
      return;
    }
    throw;
  }
}

ScsiDevice HostStorage::WaitForDevice(std::string_view naa, std::stop_token stop, std::optional<int> lun_id) {
  std::optional<std::int64_t> max_lun;
  // Asked only when the first rescan did not bring the device (a LUN usually shows at once).
  auto refuse_above_max_lun = [&] {
    try {
      max_lun = IntSetting("/Disk/MaxLUN");
    } catch (const Error& e) {
      if (e.error_class() == ErrorClass::kCancelled) throw;
      return;
    }
    if (max_lun && *lun_id >= *max_lun) {
      throw PreconditionError(
          "device " + std::string(naa) + " is mapped to " + esxcli_.host() + " as LUN id " +
          std::to_string(*lun_id) + ", at or above the host's Disk.MaxLUN (" + std::to_string(*max_lun) +
          "): ESXi never scans such LUN ids — raise it with "
          "`esxcli system settings advanced set -o /Disk/MaxLUN -i " +
          std::to_string(std::min<std::int64_t>(16384, std::max<std::int64_t>(2048, *lun_id + 1))) +
          "` (at most 16384), or have the array use lower LUN ids");
    }
  };
  std::string last_status;
  for (int scan = 0;; ++scan) {
    if (stop.stop_requested()) throw CancelledError("waiting for device " + std::string(naa) + ": stopped");
    std::optional<ScsiDevice> dev = FindDevice(naa);
    if (dev && dev->on()) {
      if (scan > 0)
        log::Info(kLog, "device visible",
                  {{"host", esxcli_.host()}, {"device", std::string(naa)}, {"rescans", scan}});
      return *dev;
    }
    if (dev) {
      last_status = dev->status;
      // Left over from an earlier run on the same LUN: detached (`off`) or unmapped while attached
      // (`dead timeout`). Forget it; the rescan below finds it again through the new mapping.
      log::Info(kLog, "forgetting a stale device before rescanning",
                {{"host", esxcli_.host()}, {"device", std::string(naa)}, {"status", dev->status}});
      try {
        RemoveDetached(naa);
      } catch (const Error& e) {
        log::Warn(kLog, "could not forget the stale device",
                  {{"device", std::string(naa)}, {"error", e.what()}});
      }
    }
    if (scan == 1 && lun_id) refuse_above_max_lun();
    if (scan >= options_.device_rescans) break;
    if (scan > 0 && !SleepUnlessStopped(options_.rescan_interval, stop))
      throw CancelledError("waiting for device " + std::string(naa) + ": stopped");
    RescanAllAdapters(stop);
  }

  // Say everything that helps: paths the host has to it, and Disk.MaxLUN.
  std::string paths;
  for (const auto& p : Paths(naa)) paths += (paths.empty() ? "" : ", ") + p.runtime_name + " " + p.state;
  if (!max_lun) {
    try {
      max_lun = IntSetting("/Disk/MaxLUN");
    } catch (const Error&) {
    }
  }
  std::string msg = "device " + std::string(naa) + " did not become visible on " + esxcli_.host() +
                    " after " + std::to_string(options_.device_rescans) + " adapter rescans";
  if (!last_status.empty()) msg += " (last status \"" + last_status + "\")";
  msg += paths.empty() ? "; the host has no path to it" : "; paths: " + paths;
  msg += " — check that the array maps the LUN to this host's initiators (iSCSI target discovery, FC zoning)";
  if (lun_id) msg += ", LUN id " + std::to_string(*lun_id);
  if (max_lun)
    msg += ", and that the LUN id is below Disk.MaxLUN (" + std::to_string(*max_lun) +
           "): ESXi ignores higher ids";
  throw PreconditionError(msg);
}

void HostStorage::DetachDevice(std::string_view naa, std::stop_token stop) {
  std::optional<ScsiDevice> dev = FindDevice(naa);
  if (dev && dev->status != "off") {
    try {
      esxcli_.Run(EsxcliCommand({"storage", "core", "device", "set"})
                      .Option("--state", "state", "off")
                      .Option("-d", "device", std::string(naa)));
    } catch (const EsxcliError& e) {
      if (e.kind() == EsxcliError::Kind::kUnknownCommand) throw;
      if (!Has(e.host_message(), "Unable to find device")) {
        throw PreconditionError("detaching device " + std::string(naa) + " from " + esxcli_.host() +
                                " failed: " + e.host_message() +
                                " — the device may still be in use (a VMFS volume or an RDM on it)");
      }
      dev.reset();
    }
    // ESXi usually reports `off` at once; look before pausing.
    if (dev) dev = FindDevice(naa);
    auto delay = std::chrono::milliseconds(250);
    auto deadline = std::chrono::steady_clock::now() + options_.off_timeout;
    while (dev && dev->status != "off") {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw PreconditionError(
            "device " + std::string(naa) + " on " + esxcli_.host() + " is still \"" + dev->status + "\" " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.off_timeout).count()) +
            " s after it was set off");
      }
      if (!SleepUnlessStopped(delay, stop))
        throw CancelledError("detaching " + std::string(naa) + ": stopped");
      delay = std::min(delay * 2, std::chrono::milliseconds(2000));
      dev = FindDevice(naa);
    }
  }
  RemoveDetached(naa);
  log::Info(kLog, "device detached", {{"host", esxcli_.host()}, {"device", std::string(naa)}});
}

}  // namespace hoist::esxi

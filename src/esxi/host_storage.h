#pragma once
// The storage operations the xcopy flow performs on one ESXi host, over esxcli (esxcli_runner.h),
// in one place with their retries and the messages an administrator needs:
//
//   before the clone   WaitForDevice: `storage core device list -d <naa>`, and while the device is
//                      not there `storage core adapter rescan -t add -a`, until it is `on`
//   after the clone    DetachDevice: `device set --state off -d <naa>`, wait for `off`,
//                      `device detached remove -d <naa>`
//                      after the array unmapped the LUN: RescanDeadPaths (`adapter rescan -t delete -A
//                      vmhbaN`)
//   diagnostics        Devices, Paths, IntSetting("/Disk/MaxLUN"), Vaai
//
// Serialising rescans per host is the caller's business (a host lease, kube/lease_semaphore.h).
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "esxi/esxcli_runner.h"

namespace hoist::esxi {

// One row of `esxcli storage core device list`.
struct ScsiDevice {
  std::string name;    // "naa.600a0980…" (Device)
  std::string status;  // "on", "off", "dead timeout", …
  std::string display_name;
  std::string vendor;
  std::string model;
  std::string devfs_path;   // "/vmfs/devices/disks/naa.…"
  std::string vaai_status;  // "supported", "unsupported", "unknown"
  bool offline = false;
  std::int64_t size_mb = 0;
  bool on() const { return status == "on"; }
};

// One row of `esxcli storage core path list`.
struct ScsiPath {
  std::string uid;
  std::string runtime_name;  // "vmhba65:C0:T0:L3"
  std::string device;
  std::string adapter;  // "vmhba65"
  std::string state;    // "active", "standby", "dead", "off"
  std::string transport;
  std::optional<int> lun;
};

// `esxcli storage core device vaai status get -d <naa>`.
struct VaaiStatus {
  std::string plugin;  // "VMW_VAAIP_T10"; empty when none is bound
  std::string clone;   // "supported" / "unsupported" (Clone Status: XCOPY)
  std::string ats, zero, del;
};

struct HostStorageOptions {
  // WaitForDevice: how many rescans before giving up, and the pause after each (Forklift: 5 × 5 s;
  // field notes row 7: a new LUN can take several seconds to show).
  int device_rescans = 5;
  std::chrono::milliseconds rescan_interval{std::chrono::seconds(5)};
  // DetachDevice: how long to wait for the device to report `off` (polled, 250 ms doubling to 2 s).
  std::chrono::milliseconds off_timeout{std::chrono::seconds(60)};
  // RescanDeadPaths and adapter rescans: tries, and the pause between them (Forklift: 5 × 5 s).
  int rescan_attempts = 5;
  std::chrono::milliseconds rescan_retry_interval{std::chrono::seconds(5)};
  // Reads (device list, path list, settings): tries on transient failures, first pause (doubling).
  int read_attempts = 3;
  std::chrono::milliseconds read_retry_delay{std::chrono::milliseconds(500)};
};

class HostStorage {
 public:
  explicit HostStorage(EsxcliRunner& esxcli, HostStorageOptions options = {});

  // The device as the host lists it; nullopt when the host does not know it.
  std::optional<ScsiDevice> FindDevice(std::string_view naa);
  // Every device the host lists (`storage core device list`), local disks included.
  std::vector<ScsiDevice> Devices();
  // The paths to a device (empty when none).
  std::vector<ScsiPath> Paths(std::string_view naa);
  std::optional<VaaiStatus> Vaai(std::string_view naa);
  // An integer advanced setting ("/Disk/MaxLUN"); nullopt when the host has no such option.
  std::optional<std::int64_t> IntSetting(std::string_view path);

  // `storage core adapter rescan -t add -a`, retried on transient failures.
  void RescanAllAdapters(std::stop_token stop = {});
  // `storage core adapter rescan -t delete -A <adapter>`: drops dead paths and devices after an
  // unmap. Retried; throws after the last attempt.
  void RescanDeadPaths(std::string_view adapter, std::stop_token stop = {});

  // Waits until the host shows `naa` with status `on`, rescanning all adapters in between (at most
  // device_rescans times, rescan_interval apart). A device left `off` or `dead timeout` by an
  // earlier run on the same LUN is forgotten (`device detached remove`) and rescanned. When the
  // caller knows the LUN id the array gave the mapping and the first rescan did not bring the
  // device, an id at or above the host's `/Disk/MaxLUN` fails at once: ESXi never scans such ids. Throws kPrecondition when the device
  // does not show up, naming the LUN, the adapters' paths and `/Disk/MaxLUN`; kCancelled on stop.
  ScsiDevice WaitForDevice(std::string_view naa, std::stop_token stop,
                           std::optional<int> lun_id = std::nullopt);

  // Takes the device off the host after the clone: `device set --state off`, waits until it is
  // `off`, then `device detached remove`. A device the host does not know counts as done. Throws
  // kPrecondition when the host refuses (e.g. the device is in use) or it does not reach `off`.
  void DetachDevice(std::string_view naa, std::stop_token stop = {});
  // `device detached remove -d <naa>`; a device not in the detached list is not an error.
  void RemoveDetached(std::string_view naa);

  EsxcliRunner& esxcli() { return esxcli_; }

 private:
  EsxcliRunner& esxcli_;
  HostStorageOptions options_;
};

}  // namespace hoist::esxi

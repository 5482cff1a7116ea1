#include "esxi/host_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "core/error.h"
#include "unit/esxi/fake_esxcli.h"

namespace hoist::esxi {
namespace {

using testing::CliFault;
using testing::FakeEsxcli;
using testing::Join;
using testing::Row;
using testing::True;

constexpr const char* kNaa = "naa.600a0980383030303030303030303031";

// One device on a pretend host: it shows up after `visible_after` rescans, in `status`.
struct PretendHost {
  std::mutex mu;
  int rescans = 0;
  int visible_after = 0;
  std::string status = "on";
  bool known = false;
  int max_lun = 1024;
  int transient_failures = 0;

  EsxcliOutput Handle(const std::vector<std::string>& argv) {
    std::lock_guard<std::mutex> l(mu);
    std::string cmd = Join(argv);
    if (transient_failures > 0) {
      --transient_failures;
      throw TransientError("vSphere ExecuteSoap: SystemError");
    }
    if (cmd == "storage core adapter rescan -t add -a") {
      if (++rescans >= visible_after && !known) {
        known = true;
        status = "on";
      }
      return True();
    }
    if (cmd == std::string("storage core device list -d ") + kNaa) {
      if (!known) throw CliFault(std::string("Unable to find device with name ") + kNaa);
      return Row({{"Device", kNaa}, {"Status", status}, {"Vendor", "NETAPP"}, {"Size", "1024"}});
    }
    if (cmd == std::string("storage core device detached remove -d ") + kNaa) {
      if (status != "off" && status != "dead timeout")
        throw CliFault("Unable to remove detached device: the device is not in the detached device list");
      known = false;
      return True();
    }
    if (cmd == std::string("storage core device set --state off -d ") + kNaa) {
      status = "off";
      return True();
    }
    if (cmd == "storage core device list") {
      EsxcliOutput out = Row({{"Device", "mpx.vmhba0:C0:T0:L0"}, {"Status", "on"}, {"Vendor", "VMware"}});
      if (known)
        out.rows.push_back(Row({{"Device", kNaa}, {"Status", status}, {"Vendor", "NETAPP"}}).rows[0]);
      return out;
    }
    if (cmd == "system settings advanced list -o /Disk/MaxLUN")
      return Row({{"Path", "/Disk/MaxLUN"}, {"IntValue", std::to_string(max_lun)}});
    if (cmd == std::string("storage core path list -d ") + kNaa) return EsxcliOutput{};
    if (cmd.rfind("storage core adapter rescan -t delete -A ", 0) == 0) return True();
    throw BugError("unexpected " + cmd);
  }
};

HostStorageOptions Fast() {
  HostStorageOptions o;
  o.rescan_interval = std::chrono::milliseconds(1);
  o.rescan_retry_interval = std::chrono::milliseconds(1);
  o.read_retry_delay = std::chrono::milliseconds(1);
  return o;
}

TEST(HostStorageTest, RescansUntilTheDeviceShows) {
  PretendHost h;
  h.visible_after = 3;
  FakeEsxcli esxcli([&](const auto& argv) { return h.Handle(argv); });
  HostStorage storage(esxcli, Fast());
  ScsiDevice d = storage.WaitForDevice(kNaa, {});
  EXPECT_EQ(d.name, kNaa);
  EXPECT_TRUE(d.on());
  EXPECT_EQ(d.vendor, "NETAPP");
  EXPECT_EQ(esxcli.Count("storage core adapter rescan"), 3);
}

TEST(HostStorageTest, ADeviceThatNeverShowsNamesTheLunAndMaxLun) {
  PretendHost h;
  h.visible_after = 1000;
  FakeEsxcli esxcli([&](const auto& argv) { return h.Handle(argv); });
  HostStorage storage(esxcli, Fast());
  try {
    storage.WaitForDevice(kNaa, {}, 17);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    std::string m = e.what();
    EXPECT_NE(m.find("after 5 adapter rescans"), std::string::npos) << m;
    EXPECT_NE(m.find("LUN id 17"), std::string::npos) << m;
    EXPECT_NE(m.find("Disk.MaxLUN (1024)"), std::string::npos) << m;
  }
  EXPECT_EQ(esxcli.Count("storage core adapter rescan"), 5);
}

TEST(HostStorageTest, ALunIdAtOrAboveMaxLunFailsAfterTheFirstRescan) {
  PretendHost h;
  h.visible_after = 1000;  // ESXi never scans the id
  FakeEsxcli esxcli([&](const auto& argv) { return h.Handle(argv); });
  HostStorage storage(esxcli, Fast());
  try {
    storage.WaitForDevice(kNaa, {}, 1024);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("LUN id 1024, at or above the host's Disk.MaxLUN (1024)"), std::string::npos) << m;
    EXPECT_NE(m.find("-o /Disk/MaxLUN -i 2048"), std::string::npos) << m;
  }
  EXPECT_EQ(esxcli.Count("storage core adapter rescan"), 1) << "not the five rescans of a LUN that may still show";
}

TEST(HostStorageTest, AStaleDetachedDeviceIsForgottenAndFoundAgain) {
  PretendHost h;
  h.known = true;
  h.status = "off";  // left by an earlier run on the same LUN
  FakeEsxcli esxcli([&](const auto& argv) { return h.Handle(argv); });
  HostStorage storage(esxcli, Fast());
  EXPECT_TRUE(storage.WaitForDevice(kNaa, {}).on());
  EXPECT_EQ(esxcli.Count("storage core device detached remove"), 1);
  EXPECT_EQ(esxcli.Count("storage core adapter rescan"), 1);
}

TEST(HostStorageTest, TransientReadsAreRetriedAndStopEndsTheWait) {
  PretendHost h;
  h.known = true;
  h.transient_failures = 2;
  FakeEsxcli esxcli([&](const auto& argv) { return h.Handle(argv); });
  HostStorage storage(esxcli, Fast());
  EXPECT_TRUE(storage.FindDevice(kNaa).has_value());

  PretendHost never;
  never.visible_after = 1000;
  FakeEsxcli esxcli2([&](const auto& argv) { return never.Handle(argv); });
  HostStorageOptions slow = Fast();
  slow.rescan_interval = std::chrono::seconds(30);
  HostStorage storage2(esxcli2, slow);
  std::stop_source stop;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop.request_stop();
  });
  auto start = std::chrono::steady_clock::now();
  try {
    storage2.WaitForDevice(kNaa, stop.get_token());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kCancelled);
  }
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HostStorageTest, DetachSetsOffWaitsAndForgets) {
  PretendHost h;
  h.known = true;
  FakeEsxcli esxcli([&](const auto& argv) { return h.Handle(argv); });
  HostStorage storage(esxcli, Fast());
  ASSERT_EQ(storage.Devices().size(), 2u);
  EXPECT_EQ(storage.Devices()[1].name, kNaa);
  storage.DetachDevice(kNaa);
  EXPECT_FALSE(storage.FindDevice(kNaa).has_value());
  EXPECT_EQ(storage.Devices().size(), 1u) << "only the local disk is left";
  std::vector<std::string> calls = esxcli.calls();
  auto pos = [&](const std::string& prefix) {
    for (std::size_t i = 0; i < calls.size(); ++i)
      if (calls[i].rfind(prefix, 0) == 0) return static_cast<int>(i);
    return -1;
  };
  EXPECT_LT(pos("storage core device set --state off"), pos("storage core device detached remove"));
  EXPECT_NO_THROW(storage.DetachDevice(kNaa)) << "a device the host no longer knows is detached";
  EXPECT_NO_THROW(storage.RescanDeadPaths("vmhba65"));
}

// Every command is sent with its parameters named as ESXi's CLIInfo names them (the long option
// without dashes), so remote esxcli needs no CLIInfo lookup for any of them.
TEST(HostStorageTest, EveryCommandNamesItsParameters) {
  PretendHost h;
  h.visible_after = 1;
  FakeEsxcli esxcli([&](const auto& argv) { return h.Handle(argv); });
  HostStorage storage(esxcli, Fast());
  storage.WaitForDevice(kNaa, {}, 3);
  storage.Paths(kNaa);
  storage.DetachDevice(kNaa);
  storage.RescanDeadPaths("vmhba65");
  storage.Devices();
  const std::string d = std::string("device=") + kNaa;
  EXPECT_EQ(esxcli.named_calls(), (std::vector<std::string>{
                                      "list " + d,
                                      "rescan type=add all=true",
                                      "list " + d,
                                      "list " + d,  // path list
                                      "list " + d,
                                      "set state=off " + d,
                                      "list " + d,
                                      "remove " + d,
                                      "rescan type=delete adapter=vmhba65",
                                      "list",
                                  }));
  EXPECT_EQ(esxcli.calls()[1], "storage core adapter rescan -t add -a") << "as an administrator types it";
  EXPECT_EQ(esxcli.calls()[3], std::string("storage core path list -d ") + kNaa);
}

TEST(HostStorageTest, ARefusedDetachSaysTheDeviceMayBeInUse) {
  FakeEsxcli esxcli([&](const std::vector<std::string>& argv) -> EsxcliOutput {
    std::string cmd = Join(argv);
    if (cmd.rfind("storage core device list", 0) == 0) return Row({{"Device", kNaa}, {"Status", "on"}});
    if (cmd.rfind("storage core device set", 0) == 0)
      throw CliFault("Unable to set device's status. Error was: Device busy");
    throw BugError("unexpected " + cmd);
  });
  HostStorage storage(esxcli, Fast());
  try {
    storage.DetachDevice(kNaa);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Device busy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hoist::esxi

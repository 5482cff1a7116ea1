#include "esxi/vib_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <regex>

#include "core/error.h"
#include "esxi/vib.h"
#include "esxi/wrapper_command.h"
#include "esxi/wrapper_executor.h"
#include "unit/esxi/fake_esxcli.h"

namespace hoist::esxi {
namespace {

using testing::FakeEsxcli;
using testing::Join;
using testing::Row;

constexpr const char* kHoistVersion =
    R"({"version": "1.0.0", "implementation": "hoist", "features": ["quoted-ssh-args", "hex-args", "cancel-on-clean", "progress"]})";
constexpr const char* kForkliftVersion = R"({"version": "0.3.3"})";

EsxcliOutput Reply(const std::string& status, const std::string& message) {
  return Row({{"status", status}, {"message", message}});
}

VibExecutorOptions FastRetry(int attempts = 3) {
  VibExecutorOptions o;
  o.retry.status_attempts = attempts;
  o.retry.first_delay = std::chrono::milliseconds(1);
  o.retry.max_delay = std::chrono::milliseconds(2);
  return o;
}

TEST(VibExecutorTest, PrepareReadsTheWrapperVersionAndClonesWithHexPaths) {
  std::vector<std::string> clone_argv;
  FakeEsxcli esxcli([&](const std::vector<std::string>& argv) {
    std::string cmd = Join(argv);
    if (cmd == "vmkfstools version") return Reply("0", kHoistVersion);
    if (argv.size() > 1 && argv[1] == "clone") {
      clone_argv = argv;
      return Reply("0",
                   R"({"taskId": "0a1b2c3d-0000-4000-8000-000000000001", "pid": 4242, "xcopyUsed": false})");
    }
    throw BugError("unexpected " + cmd);
  });
  auto ex = MakeVibExecutor(esxcli, FastRetry());
  EXPECT_EQ(ex->method(), "vib");
  WrapperVersion v = ex->Prepare({});
  EXPECT_EQ(v.version, "1.0.0");
  EXPECT_EQ(v.implementation, "hoist");
  ex->Prepare({});
  EXPECT_EQ(esxcli.Count("vmkfstools version"), 1) << "the version is read once";

  CloneTask t = ex->StartClone({"/vmfs/volumes/ds 1/vm/it's.vmdk", "/vmfs/devices/disks/naa.600a0980"});
  EXPECT_EQ(t.task_id, "0a1b2c3d-0000-4000-8000-000000000001");
  EXPECT_EQ(t.pid, 4242);
  ASSERT_EQ(clone_argv.size(), 6u);
  EXPECT_EQ(clone_argv[2], "-s");
  EXPECT_EQ(clone_argv[3], HexArg("/vmfs/volumes/ds 1/vm/it's.vmdk"))
      << "a quote cannot travel inside '$val{…}'";
  EXPECT_EQ(clone_argv[5], "/vmfs/devices/disks/naa.600a0980");
}

// The plugin's commands name their parameters as ESXi derives them from the plugin definition
// (esxcli-vmkfstools.xml: the parameter name without dashes), so no CLIInfo lookup is needed.
TEST(VibExecutorTest, PluginParametersAreNamedAsThePluginDefinesThem) {
  FakeEsxcli esxcli([&](const std::vector<std::string>& argv) {
    std::string cmd = Join(argv);
    if (cmd == "vmkfstools version") return Reply("0", kHoistVersion);
    if (argv[1] == "clone") return Reply("0", R"({"taskId": "t-1", "pid": 7})");
    if (argv[1] == "taskGet")
      return Reply("0", R"({"taskId": "t-1", "exitCode": "0", "lastLine": "Clone: 100% done."})");
    if (argv[1] == "taskClean") return Reply("0", R"({"cancelled": false})");
    throw BugError("unexpected " + cmd);
  });
  auto ex = MakeVibExecutor(esxcli, FastRetry());
  ex->Prepare({});
  CloneTask t = ex->StartClone({"/vmfs/volumes/ds1/vm/vm.vmdk", "/vmfs/devices/disks/naa.600a0980"});
  ex->GetStatus(t, {});
  ex->Clean(t);
  EXPECT_EQ(esxcli.named_calls(),
            (std::vector<std::string>{
                "version",
                "clone sourcevmdk=/vmfs/volumes/ds1/vm/vm.vmdk targetlun=/vmfs/devices/disks/naa.600a0980",
                "taskGet id=t-1", "taskClean id=t-1"}));
  // Each option sent is the plugin's short name of the parameter whose name (without dashes) was sent.
  std::string xml(EmbeddedPluginXml());
  std::map<std::string, std::string> by_short;
  std::regex param(R"re(<parameter name="([^"]+)"[^>]*shortname="([^"]+)")re");
  for (std::sregex_iterator it(xml.begin(), xml.end(), param), end; it != end; ++it) {
    std::string name = (*it)[1];
    name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
    by_short["-" + (*it)[2].str()] = name;
  }
  ASSERT_EQ(by_short.size(), 3u);
  EXPECT_EQ(by_short["-s"], "sourcevmdk");
  EXPECT_EQ(by_short["-t"], "targetlun");
  EXPECT_EQ(by_short["-i"], "id");
  EXPECT_EQ(esxcli.calls()[1],
            "vmkfstools clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t /vmfs/devices/disks/naa.600a0980");
}

TEST(VibExecutorTest, AMissingNamespaceSaysToInstallTheVibAndRestartHostd) {
  FakeEsxcli esxcli([](const std::vector<std::string>&) -> EsxcliOutput {
    throw EsxcliError(EsxcliError::Kind::kUnknownCommand, "NotFound",
                      "The object or item referred to could not be found.");
  });
  auto ex = MakeVibExecutor(esxcli, FastRetry());
  try {
    ex->Prepare({});
    FAIL() << "prepared without the namespace";
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    std::string m = e.what();
    EXPECT_NE(m.find("vmkfstools-wrapper VIB"), std::string::npos) << m;
    EXPECT_NE(m.find("hostd restart"), std::string::npos) << m;
    EXPECT_NE(m.find("esx1.lab"), std::string::npos) << m;
  }
  EXPECT_EQ(esxcli.Count("vmkfstools version"), 1) << "a missing namespace is not retried";
}

TEST(VibExecutorTest, ATransientTaskGetFailureIsRetried) {
  std::atomic<int> polls{0};
  FakeEsxcli esxcli([&](const std::vector<std::string>& argv) {
    std::string cmd = Join(argv);
    if (cmd == "vmkfstools version") return Reply("0", kHoistVersion);
    if (cmd.rfind("vmkfstools taskGet -i t1", 0) == 0) {
      if (++polls == 1) throw TransientError("vSphere ExecuteSoap: SystemError \"sporadic\"");
      return Reply(
          "0",
          R"({"taskId": "t1", "pid": 7, "exitCode": "", "lastLine": "Clone: 42% done.", "xcopyUsed": true, "stdErr": "", "running": true, "progress": 42, "cloneWriteOps": 9})");
    }
    throw BugError("unexpected " + cmd);
  });
  auto ex = MakeVibExecutor(esxcli, FastRetry());
  CloneTaskStatus st = ex->GetStatus({"t1", 7}, {});
  EXPECT_EQ(polls.load(), 2);
  EXPECT_EQ(st.progress_percent, 42);
  EXPECT_TRUE(st.running);
  EXPECT_EQ(st.xcopy_used, true);
  EXPECT_EQ(st.clone_write_ops, 9u);
}

TEST(VibExecutorTest, TaskGetGivesUpAfterItsAttemptsAndNeverRetriesAGoneTask) {
  std::atomic<int> polls{0};
  FakeEsxcli esxcli([&](const std::vector<std::string>& argv) -> EsxcliOutput {
    std::string cmd = Join(argv);
    if (cmd == "vmkfstools version") return Reply("0", kHoistVersion);
    if (cmd == "vmkfstools taskGet -i flaky") {
      ++polls;
      throw TransientError("vSphere ExecuteSoap: HTTP 503");
    }
    if (cmd == "vmkfstools taskGet -i gone") {
      ++polls;
      return Reply(
          "1",
          R"({"taskId": "gone", "code": "TaskNotFound", "stdErr": "Task directory /tmp/vmkfstools-wrapper-gone not found", "xcopyUsed": false})");
    }
    throw BugError("unexpected " + cmd);
  });
  auto ex = MakeVibExecutor(esxcli, FastRetry(3));
  try {
    ex->GetStatus({"flaky", {}}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
    EXPECT_NE(std::string(e.what()).find("tried 3 times"), std::string::npos) << e.what();
  }
  EXPECT_EQ(polls.load(), 3);
  polls = 0;
  try {
    ex->GetStatus({"gone", {}}, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("clone task gone on esx1.lab"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is unknown to the ESXi host"), std::string::npos) << e.what();
  }
  EXPECT_EQ(polls.load(), 1);
}

TEST(VibExecutorTest, StopCancelsWithHoistsWrapperAndRefusesWithForkliftsOne) {
  for (bool hoist_wrapper : {true, false}) {
    FakeEsxcli esxcli([&](const std::vector<std::string>& argv) {
      std::string cmd = Join(argv);
      if (cmd == "vmkfstools version") return Reply("0", hoist_wrapper ? kHoistVersion : kForkliftVersion);
      if (cmd == "vmkfstools taskClean -i t1") return Reply("0", R"({"taskId": "t1", "cancelled": true})");
      if (cmd == "vmkfstools taskClean -i t2")
        return Reply("1",
                     R"({"taskId": "t2", "code": "TaskNotFound", "stdErr": "Task directory not found"})");
      throw BugError("unexpected " + cmd);
    });
    auto ex = MakeVibExecutor(esxcli, FastRetry());
    if (hoist_wrapper) {
      EXPECT_TRUE(ex->Stop({"t1", {}}));
      EXPECT_FALSE(ex->Stop({"t2", {}})) << "a task the host no longer knows is not running";
    } else {
      try {
        ex->Stop({"t1", {}});
        FAIL() << "Forklift's wrapper cannot stop a clone";
      } catch (const Error& e) {
        EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
        EXPECT_NE(std::string(e.what()).find("keeps running"), std::string::npos) << e.what();
      }
      EXPECT_EQ(esxcli.Count("vmkfstools taskClean"), 0);
    }
    EXPECT_NO_THROW(ex->Clean({"t2", {}})) << "cleaning twice is fine";
  }
}

TEST(VibExecutorTest, AFailedCloneStartIsNotRetriedAndSaysWhy) {
  FakeEsxcli esxcli([&](const std::vector<std::string>& argv) -> EsxcliOutput {
    std::string cmd = Join(argv);
    if (cmd == "vmkfstools version") return Reply("0", kHoistVersion);
    if (argv[1] == "clone") {
      if (argv[3].find("transient") != std::string::npos)
        throw TransientError("vSphere ExecuteSoap: HTTP 502");
      return Reply(
          "1",
          R"({"code": "InvalidPath", "stdErr": "Path validation error: source must be a .vmdk under /vmfs/volumes/"})");
    }
    throw BugError("unexpected " + cmd);
  });
  auto ex = MakeVibExecutor(esxcli, FastRetry());
  try {
    ex->StartClone({"/vmfs/volumes/ds/vm/transient.vmdk", "/vmfs/devices/disks/naa.1"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
  }
  EXPECT_EQ(esxcli.Count("vmkfstools clone"), 1) << "a clone request that may have arrived is not sent again";
  try {
    ex->StartClone({"/vmfs/volumes/ds/vm/x.txt", "/vmfs/devices/disks/naa.1"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("Path validation error"), std::string::npos) << e.what();
  }
}

TEST(CloneExecutorTest, VersionsCompareByNumberNotText) {
  EXPECT_LT(CompareVersions("0.3.3", "1.0.0"), 0);
  EXPECT_LT(CompareVersions("1.2.3", "1.10.0"), 0);
  EXPECT_EQ(CompareVersions("1.0", "1.0.0"), 0);
  EXPECT_EQ(CompareVersions("1.0.0-rc1", "1.0.0"), 0);
  EXPECT_GT(CompareVersions("2.0.0", "1.99.99"), 0);
}

TEST(CloneExecutorTest, ForkliftNames) {
  EXPECT_EQ(HostId("HostSystem:host-123"), "hostsystem-host-123");
  EXPECT_EQ(HostLeaseName("hostsystem-host-123", 1), "esxi-lock-hostsystem-host-123-slot-1");
}

}  // namespace
}  // namespace hoist::esxi

// The xcopy run's steps that change things (LunCopy) against scripted peers: an array that keeps its
// mappings, an ESXi host (the real esxi::HostStorage over a scripted esxcli) whose devices follow
// the array's mappings and rescans, a clone executor that runs a scripted clone, and a host lease.
// Every peer writes to one journal, so each test states the order and completeness of what the run
// did — above all of its cleanup — when a step fails, a cleanup step fails, or SIGTERM arrives.
#include "populators/xcopy/lun_copy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "core/error.h"
#include "populators/xcopy/host_adapters.h"
#include "unit/esxi/fake_esxcli.h"

namespace hoist::populators::xcopy {
namespace {

using esxi::EsxcliOutput;
using esxi::testing::CliFault;
using esxi::testing::Join;
using esxi::testing::Row;
using esxi::testing::True;

constexpr const char* kNaa = "naa.600a098038303030303030303030aa01";
constexpr const char* kGroup = "xcopy-hostsystem-host-12-iscsi";  // the name the array gives the group
constexpr const char* kNodeGroup = "k8s-node-1";                  // the CSI driver's mapping
constexpr const char* kSource = "/vmfs/volumes/ds1/vm1/vm1.vmdk";
constexpr std::chrono::milliseconds kSettle{777};

// What happens at an event of the journal: the peer throws (before or after doing what was asked),
// or SIGTERM arrives.
struct Rule {
  std::string prefix;  // events starting with this
  enum class Action { kFail, kFailAfter, kStop } action = Action::kFail;
  ErrorClass error = ErrorClass::kTransient;
  int times = 1;  // how many matching events it applies to; -1: all
};

class Journal {
 public:
  explicit Journal(std::stop_source& sigterm) : sigterm_(sigterm) {}

  void When(Rule r) { rules_.push_back(std::move(r)); }

  // Called by a peer before it acts; throws when a rule says so.
  void Before(const std::string& event) {
    {
      std::lock_guard<std::mutex> l(mu_);
      events_.push_back(event);
    }
    Apply(event, false);
  }
  // Called by a peer after it acted.
  void After(const std::string& event) { Apply(event, true); }

  std::vector<std::string> events() const {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }
  // The events that start with one of the prefixes, in order.
  std::vector<std::string> Only(std::initializer_list<std::string_view> prefixes) const {
    std::vector<std::string> out;
    for (const auto& e : events()) {
      for (auto p : prefixes) {
        if (e.rfind(p, 0) == 0) {
          out.push_back(e);
          break;
        }
      }
    }
    return out;
  }

 private:
  void Apply(const std::string& event, bool after) {
    for (auto& r : rules_) {
      if (r.times == 0 || event.rfind(r.prefix, 0) != 0) continue;
      bool is_after = r.action == Rule::Action::kFailAfter;
      if (r.action != Rule::Action::kStop && is_after != after) continue;
      if (r.action == Rule::Action::kStop && after) continue;
      if (r.times > 0) --r.times;
      if (r.action == Rule::Action::kStop) {
        sigterm_.request_stop();
      } else {
        throw Error(r.error, "injected failure of " + event);
      }
    }
  }

  std::stop_source& sigterm_;
  mutable std::mutex mu_;
  std::vector<std::string> events_;
  std::vector<Rule> rules_;
};

// An array with one LUN, mapped to the Kubernetes node's group before the run.
class FakeArray : public storage::StorageArray {
 public:
  explicit FakeArray(Journal& j) : j_(j) { mappings_.insert(kNodeGroup); }

  std::string Describe() const override { return "FakeArray 10.0.0.5"; }
  storage::Capabilities capabilities() const override { return {}; }
  storage::Lun ResolveVolume(const storage::VolumeRef& v) override {
    j_.Before("array.ResolveVolume " + v.pv_name);
    storage::Lun lun;
    lun.name = "/vol/pvc_1/lun0";
    j_.After("array.ResolveVolume " + v.pv_name);
    return lun;
  }
  storage::InitiatorGroup EnsureInitiatorGroup(const std::string& name,
                                               const std::vector<std::string>& initiators) override {
    j_.Before("array.EnsureInitiatorGroup " + name + " " + Join(initiators));
    storage::InitiatorGroup g;
    g.name = name + "-iscsi";
    g.initiators = initiators;
    j_.After("array.EnsureInitiatorGroup " + name + " " + Join(initiators));
    return g;
  }
  std::vector<std::string> ListMappings(const storage::Lun& lun) override {
    j_.Before("array.ListMappings");
    std::lock_guard<std::mutex> l(mu_);
    return {mappings_.begin(), mappings_.end()};
  }
  storage::Lun Map(const storage::Lun& lun, const std::string& group) override {
    j_.Before("array.Map " + group);
    {
      std::lock_guard<std::mutex> l(mu_);
      mappings_.insert(group);
    }
    j_.After("array.Map " + group);
    storage::Lun out = lun;
    out.naa = naa_on_map;
    out.host_lun_id = lun_id_on_map;
    return out;
  }
  void Unmap(const storage::Lun& lun, const std::string& group) override {
    j_.Before("array.Unmap " + group);
    std::lock_guard<std::mutex> l(mu_);
    mappings_.erase(group);
    // Some arrays drop every mapping of a LUN with its last path group; the run must put them back.
    if (unmap_drops_all) mappings_.clear();
  }

  std::set<std::string> mappings() const {
    std::lock_guard<std::mutex> l(mu_);
    return mappings_;
  }
  bool MappedTo(const std::string& group) const { return mappings().count(group) > 0; }
  void AddMappingForTest(const std::string& group) {
    std::lock_guard<std::mutex> l(mu_);
    mappings_.insert(group);
  }

  std::string naa_on_map = kNaa;

  int lun_id_on_map = 3;
  bool unmap_drops_all = false;

 private:
  Journal& j_;
  mutable std::mutex mu_;
  std::set<std::string> mappings_;
};

// A clone that runs through `script` (one status per poll) unless stopped.
class FakeClone : public esxi::CloneExecutor {
 public:
  explicit FakeClone(Journal& j) : j_(j) {}

  std::string_view method() const override { return "vib"; }
  std::string host() const override { return "esx1.lab (HostSystem:host-12)"; }
  esxi::WrapperVersion Prepare(std::stop_token) override { return version_; }
  const esxi::WrapperVersion& version() const override { return version_; }
  esxi::CloneTask StartClone(const esxi::CloneRequest& r) override {
    j_.Before("clone.Start " + r.source_vmdk + " " + r.target_device);
    std::lock_guard<std::mutex> l(mu_);
    running_ = true;
    j_.After("clone.Start " + r.source_vmdk + " " + r.target_device);
    return {"task-1", 4242};
  }
  esxi::CloneTaskStatus GetStatus(const esxi::CloneTask& t, std::stop_token) override {
    j_.Before("clone.GetStatus " + t.task_id);
    std::lock_guard<std::mutex> l(mu_);
    esxi::CloneTaskStatus st = script.empty() ? Running(99) : script.front();
    if (script.size() > 1) script.erase(script.begin());
    if (st.finished()) running_ = false;
    return st;
  }
  bool Stop(const esxi::CloneTask& t) override {
    j_.Before("clone.Stop " + t.task_id);
    std::lock_guard<std::mutex> l(mu_);
    bool was = running_;
    running_ = false;
    return was;
  }
  void Clean(const esxi::CloneTask& t) override {
    j_.Before("clone.Clean " + t.task_id);
    std::lock_guard<std::mutex> l(mu_);
    cleaned_ = true;
  }

  bool running() const {
    std::lock_guard<std::mutex> l(mu_);
    return running_;
  }
  bool cleaned() const {
    std::lock_guard<std::mutex> l(mu_);
    return cleaned_;
  }

  static esxi::CloneTaskStatus Running(int percent) {
    esxi::CloneTaskStatus st;
    st.task_id = "task-1";
    st.running = true;
    st.progress_percent = percent;
    st.last_line = "Clone: " + std::to_string(percent) + "% done.";
    return st;
  }
  static esxi::CloneTaskStatus Done(int exit_code, std::string err = "") {
    esxi::CloneTaskStatus st;
    st.task_id = "task-1";
    st.exit_code = exit_code;
    st.progress_percent = exit_code == 0 ? 100 : 40;
    st.std_err = std::move(err);
    st.xcopy_used = exit_code == 0;
    return st;
  }

  std::vector<esxi::CloneTaskStatus> script = {Running(30), Running(60), Done(0)};

 private:
  Journal& j_;
  esxi::WrapperVersion version_{"1.0.0", "hoist", {"cancel-on-clean"}};
  mutable std::mutex mu_;
  bool running_ = false;
  bool cleaned_ = false;
};

// An ESXi host over esxcli: the LUN's device appears at the first rescan after the array mapped it
// to the xcopy group, cannot be set off while the clone writes to it, and goes once detached.
class FakeHost {
 public:
  FakeHost(Journal& j, FakeArray& array, FakeClone& clone) : j_(j), array_(array), clone_(clone) {}

  EsxcliOutput Handle(const std::vector<std::string>& argv) {
    std::string cmd = Join(argv);
    j_.Before("esxcli " + cmd);
    std::lock_guard<std::mutex> l(mu_);
    const std::string dev = std::string(" -d ") + kNaa;
    if (cmd == "storage core adapter rescan -t add -a") {
      if (array_.MappedTo(kGroup) && !known_ && ++rescans_ >= visible_after) {
        known_ = true;
        status_ = "on";
      }
      return True();
    }
    if (cmd == "storage core device list" + dev) {
      if (!known_) throw CliFault(std::string("Unable to find device with name ") + kNaa);
      return Row({{"Device", kNaa}, {"Status", status_}});
    }
    if (cmd == "storage core device set --state off" + dev) {
      if (!known_) throw CliFault(std::string("Unable to find device with name ") + kNaa);
      if (clone_.running()) throw CliFault("Unable to set device's status. Error was: Device busy");
      status_ = "off";
      return True();
    }
    if (cmd == "storage core device detached remove" + dev) {
      if (known_ && status_ != "off")
        throw CliFault("Unable to remove detached device: the device is not in the detached device list");
      known_ = false;
      return True();
    }
    if (cmd.rfind("storage core adapter rescan -t delete -A ", 0) == 0) return True();
    if (cmd == "storage core path list" + dev) return EsxcliOutput{};
    if (cmd == "system settings advanced list -o /Disk/MaxLUN")
      return Row({{"Path", "/Disk/MaxLUN"}, {"IntValue", "1024"}});
    throw BugError("unexpected esxcli " + cmd);
  }

  bool attached() const {
    std::lock_guard<std::mutex> l(mu_);
    return known_;
  }

  int visible_after = 1;  // rescans

 private:
  Journal& j_;
  FakeArray& array_;
  FakeClone& clone_;
  mutable std::mutex mu_;
  bool known_ = false;
  std::string status_;
  int rescans_ = 0;
};

class FakeLock : public HostLock {
 public:
  explicit FakeLock(Journal& j) : j_(j) {}
  void WithLock(const std::string& host_id, const std::function<void(std::stop_token)>& work,
                std::stop_token stop) override {
    j_.Before("lease.acquire " + host_id);
    if (stop.stop_requested()) throw CancelledError("waiting for a host lease slot: stopped");
    std::stop_source lease;
    if (lose_lease) lease.request_stop();
    struct Release {
      Journal& j;
      ~Release() { j.Before("lease.release"); }
    } release{j_};
    work(lease.get_token());
  }
  bool lose_lease = false;

 private:
  Journal& j_;
};

class FakeReporter : public Reporter {
 public:
  void Progress(int p) override { progress.push_back(p); }
  void XcopyUsed(bool used) override { xcopy_used = used; }
  void WrapperVersion(const std::string&) override {}
  void Protocol(const std::string&) override {}
  std::vector<int> progress;
  std::optional<bool> xcopy_used;
};

esxi::HostStorageOptions FastHost() {
  esxi::HostStorageOptions o;
  o.device_rescans = 3;
  o.rescan_interval = std::chrono::milliseconds(0);
  o.rescan_retry_interval = std::chrono::milliseconds(0);
  o.rescan_attempts = 2;
  o.read_attempts = 2;
  o.read_retry_delay = std::chrono::milliseconds(0);
  o.off_timeout = std::chrono::milliseconds(0);
  return o;
}

class LunCopyTest : public ::testing::Test {
 protected:
  LunCopyTest()
      : journal(sigterm), array(journal), clone(journal), host(journal, array, clone), lock(journal) {
    storage = std::make_unique<EsxiHostStorage>(
        std::make_unique<esxi::testing::FakeEsxcli>([this](const auto& argv) { return host.Handle(argv); }),
        FastHost());
    tuning.task_poll_interval = std::chrono::milliseconds(5000);
    tuning.cleanup_settle = kSettle;
    tuning.task_get_retries = 2;
  }

  // Runs the copy; returns the error it ended with (nullopt on success).
  std::optional<Error> Run() {
    CopyTarget t;
    t.volume.pv_name = "pv-1";
    t.host_id = "hostsystem-host-12";
    t.host = "host-12";
    t.initiator_ids = {"iqn.1998-01.com.vmware:esx1"};
    t.adapters = {"vmhba64", "vmhba65"};
    t.source_vmdk = kSource;
    CopyDeps d;
    d.array = &array;
    d.lock = &lock;
    d.host = storage.get();
    d.clone = &clone;
    d.reporter = &reporter;
    d.sleep = [this](std::chrono::milliseconds ms, std::stop_token st) {
      if (ms == kSettle) journal.Before("settle");
      return !st.stop_requested();
    };
    LunCopy copy(t, tuning, d);
    try {
      copy.Run(sigterm.get_token());
      device = copy.device();
      xcopy_used = copy.xcopy_used();
      return std::nullopt;
    } catch (const Error& e) {
      device = copy.device();
      xcopy_used = copy.xcopy_used();
      return e;
    }
  }

  // What a user would find afterwards: the array's mappings as before the run, no device on the
  // host, no clone running, no task left.
  void ExpectNothingLeft(bool clone_started = true) {
    EXPECT_EQ(array.mappings(), std::set<std::string>{kNodeGroup})
        << "the array's mappings are not as before";
    EXPECT_FALSE(host.attached()) << "the device is still attached to the host";
    EXPECT_FALSE(clone.running()) << "the clone still runs on the host";
    if (clone_started) {
      EXPECT_TRUE(clone.cleaned()) << "the clone's task was not cleaned";
    }
  }

  // The cleanup's steps, in the order they ran.
  std::vector<std::string> CleanupSteps() {
    return journal.Only({"clone.Stop", "clone.Clean", "esxcli storage core device set",
                         "esxcli storage core device detached", "array.Unmap", "array.Map k8s", "settle",
                         "esxcli storage core adapter rescan -t delete"});
  }

  static std::vector<std::string> FullCleanup(bool stop_clone) {
    std::vector<std::string> v;
    if (stop_clone) v.push_back("clone.Stop task-1");
    v.push_back("clone.Clean task-1");
    for (auto s : AfterClone()) v.push_back(s);
    return v;
  }
  static std::vector<std::string> AfterClone() {
    return {"esxcli storage core device set --state off -d " + std::string(kNaa),
            "esxcli storage core device detached remove -d " + std::string(kNaa),
            "array.Unmap " + std::string(kGroup),
            "settle",
            "esxcli storage core adapter rescan -t delete -A vmhba64",
            "esxcli storage core adapter rescan -t delete -A vmhba65"};
  }

  std::stop_source sigterm;
  Journal journal;
  FakeArray array;
  FakeClone clone;
  FakeHost host;
  FakeLock lock;
  FakeReporter reporter;
  std::unique_ptr<EsxiHostStorage> storage;
  Tuning tuning;
  std::string device;
  bool xcopy_used = false;
};

TEST_F(LunCopyTest, ASuccessfulCopyUndoesEverythingItDid) {
  EXPECT_FALSE(Run().has_value());
  EXPECT_EQ(device, kNaa);
  EXPECT_TRUE(xcopy_used);
  ASSERT_FALSE(reporter.progress.empty());
  EXPECT_TRUE(std::is_sorted(reporter.progress.begin(), reporter.progress.end())) << "progress went back";
  EXPECT_EQ(reporter.progress.front(), 30);
  EXPECT_EQ(reporter.progress.back(), 100);
  EXPECT_EQ(reporter.xcopy_used, true);
  const std::string dev = std::string(" -d ") + kNaa;
  EXPECT_EQ(journal.events(),
            (std::vector<std::string>{
                "array.EnsureInitiatorGroup xcopy-hostsystem-host-12 iqn.1998-01.com.vmware:esx1",
                "array.ResolveVolume pv-1",
                "array.ListMappings",
                "array.Map " + std::string(kGroup),
                "lease.acquire hostsystem-host-12",
                "esxcli storage core device list" + dev,
                "esxcli storage core adapter rescan -t add -a",
                "esxcli storage core device list" + dev,
                "lease.release",
                "clone.Start " + std::string(kSource) + " /vmfs/devices/disks/" + kNaa,
                "clone.GetStatus task-1",
                "clone.GetStatus task-1",
                "clone.GetStatus task-1",
                "clone.Clean task-1",
                "esxcli storage core device list" + dev,
                "esxcli storage core device set --state off" + dev,
                "esxcli storage core device list" + dev,
                "esxcli storage core device detached remove" + dev,
                "array.Unmap " + std::string(kGroup),
                "array.ListMappings",
                "settle",
                "esxcli storage core adapter rescan -t delete -A vmhba64",
                "esxcli storage core adapter rescan -t delete -A vmhba65",
            }));
  ExpectNothingLeft();
}

// ---- a step fails -----------------------------------------------------------------------------

TEST_F(LunCopyTest, AFailedInitiatorGroupChangesNothing) {
  journal.When({"array.EnsureInitiatorGroup", Rule::Action::kFail, ErrorClass::kPrecondition});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kPrecondition);
  EXPECT_EQ(journal.events().size(), 1u) << "nothing after the failed step: " << Join(journal.events());
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, AFailureAfterTheGroupIsEnsuredButBeforeTheMapChangesNothing) {
  journal.When({"array.ListMappings", Rule::Action::kFail});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kTransient);
  EXPECT_EQ(journal.Only({"array.Map", "array.Unmap", "lease", "esxcli", "clone"}),
            std::vector<std::string>{});
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, AMapThatFailsAfterMappingIsUndone) {
  // The request went through but its answer was lost (a timeout): the LUN is mapped.
  journal.When({"array.Map", Rule::Action::kFailAfter});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(
      journal.Only({"array.Unmap", "array.Map", "lease", "esxcli", "clone", "settle"}),
      (std::vector<std::string>{"array.Map " + std::string(kGroup), "array.Unmap " + std::string(kGroup)}))
      << "unmapped; the host was never rescanned, so nothing to detach or rescan there";
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, AMappedLunWithoutADeviceNameIsABugAndIsUnmapped) {
  array.naa_on_map = "";
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kBug);
  EXPECT_NE(std::string(e->what()).find("without a device name"), std::string::npos) << e->what();
  EXPECT_EQ(journal.Only({"array.Unmap", "lease", "esxcli"}),
            std::vector<std::string>{"array.Unmap " + std::string(kGroup)});
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, ADeviceThatNeverShowsIsCleanedUpOnHostAndArray) {
  host.visible_after = 1000;
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kPrecondition);
  EXPECT_NE(std::string(e->what()).find("did not become visible"), std::string::npos) << e->what();
  EXPECT_EQ(journal.Only({"esxcli storage core adapter rescan -t add"}).size(), 3u);
  std::vector<std::string> steps = CleanupSteps();
  // The device was never attached: nothing to set off, a detached-list entry is removed if there is one.
  EXPECT_EQ(steps,
            (std::vector<std::string>{"esxcli storage core device detached remove -d " + std::string(kNaa),
                                      "array.Unmap " + std::string(kGroup), "settle",
                                      "esxcli storage core adapter rescan -t delete -A vmhba64",
                                      "esxcli storage core adapter rescan -t delete -A vmhba65"}));
  auto events = journal.events();
  EXPECT_LT(std::find(events.begin(), events.end(), "lease.release"),
            std::find(events.begin(), events.end(), "array.Unmap " + std::string(kGroup)))
      << "the lease is released before the cleanup";
  ExpectNothingLeft(false);
}

// The array mapped the LUN at an id the host never scans (Disk.MaxLUN 1024 here): said after the
// first rescan, naming the setting, instead of after every rescan; cleaned up like any failure.
TEST_F(LunCopyTest, ALunIdAtOrAboveDiskMaxLunIsRefusedAfterOneRescan) {
  host.visible_after = 1000;
  array.lun_id_on_map = 1500;
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kPrecondition);
  EXPECT_NE(std::string(e->what()).find("as LUN id 1500, at or above the host's Disk.MaxLUN (1024)"), std::string::npos)
      << e->what();
  EXPECT_EQ(journal.Only({"esxcli storage core adapter rescan -t add"}).size(), 1u);
  EXPECT_EQ(journal.Only({"array.Unmap"}), std::vector<std::string>{"array.Unmap " + std::string(kGroup)});
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, ARescanThatKeepsFailingIsCleanedUp) {
  journal.When(
      {"esxcli storage core adapter rescan -t add", Rule::Action::kFail, ErrorClass::kTransient, -1});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(std::string(e->what()).find("rescanning the storage adapters"), std::string::npos) << e->what();
  EXPECT_EQ(journal.Only({"array.Unmap", "settle", "esxcli storage core adapter rescan -t delete"}).size(),
            4u);
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, ALostLeaseEndsTheRescanAndIsCleanedUp) {
  lock.lose_lease = true;
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kTransient) << "a lost lease is worth another try, not a SIGTERM";
  EXPECT_NE(std::string(e->what()).find("lost the lease on ESXi host hostsystem-host-12"), std::string::npos)
      << e->what();
  EXPECT_EQ(journal.Only({"clone"}), std::vector<std::string>{});
  EXPECT_EQ(journal.Only({"array.Unmap", "settle"}).size(), 2u);
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, ACloneThatDoesNotStartLeavesNoTaskToStopAndIsCleanedUp) {
  journal.When({"clone.Start", Rule::Action::kFail, ErrorClass::kPrecondition});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(journal.Only({"clone.Stop", "clone.Clean", "clone.GetStatus"}), std::vector<std::string>{});
  EXPECT_EQ(CleanupSteps(), AfterClone());
  ExpectNothingLeft(false);
}

TEST_F(LunCopyTest, ACloneThatFailsOnTheHostIsCleanedButNotStopped) {
  clone.script = {FakeClone::Running(20),
                  FakeClone::Done(1, "Failed to clone disk: Input/output error (327689).\n")};
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kPrecondition);
  std::string m = e->what();
  EXPECT_NE(m.find("failed with exit code 1: Failed to clone disk: Input/output error (327689)"),
            std::string::npos)
      << m;
  EXPECT_EQ(CleanupSteps(), FullCleanup(false));
  EXPECT_EQ(reporter.progress, (std::vector<int>{20, 40})) << "progress as polled, never 100";
  ExpectNothingLeft();
}

TEST_F(LunCopyTest, PollsThatKeepFailingStopTheCloneBeforeTheDeviceGoes) {
  clone.script = {FakeClone::Running(10)};
  journal.When({"clone.GetStatus", Rule::Action::kFail, ErrorClass::kTransient, -1});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kTransient);
  EXPECT_EQ(journal.Only({"clone.GetStatus"}).size(), 3u)
      << "the first failure and task_get_retries (2) more";
  EXPECT_EQ(CleanupSteps(), FullCleanup(true));
  ExpectNothingLeft();
}

TEST_F(LunCopyTest, ATaskTheHostNoLongerKnowsIsNotPolledAgain) {
  journal.When({"clone.GetStatus", Rule::Action::kFail, ErrorClass::kPrecondition});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kPrecondition);
  EXPECT_EQ(journal.Only({"clone.GetStatus"}).size(), 1u);
  EXPECT_EQ(CleanupSteps(), FullCleanup(true));
  ExpectNothingLeft();
}

TEST_F(LunCopyTest, ACloneThatOutlivesTheTimeoutIsStoppedAndCleanedUp) {
  tuning.clone_timeout = std::chrono::milliseconds(0);
  clone.script = {FakeClone::Running(5)};
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kTransient);
  EXPECT_NE(std::string(e->what()).find("did not finish within the clone timeout (at 5%)"), std::string::npos)
      << e->what();
  EXPECT_EQ(CleanupSteps(), FullCleanup(true));
  ExpectNothingLeft();
}

// ---- the cleanup itself fails ---------------------------------------------------------------

TEST_F(LunCopyTest, AFailingCleanupStepDoesNotSkipTheLaterOnes) {
  clone.script = {FakeClone::Running(10)};
  journal.When({"clone.GetStatus", Rule::Action::kFail, ErrorClass::kPrecondition});
  journal.When({"clone.Stop", Rule::Action::kFail, ErrorClass::kPrecondition});
  journal.When({"clone.Clean", Rule::Action::kFail, ErrorClass::kTransient});
  journal.When({"array.Unmap", Rule::Action::kFail, ErrorClass::kTransient});
  journal.When({"esxcli storage core adapter rescan -t delete -A vmhba64", Rule::Action::kFail,
                ErrorClass::kTransient, -1});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(std::string(e->what()).find("injected failure of clone.GetStatus"), std::string::npos)
      << "the run reports what failed first, not a cleanup step: " << e->what();
  // Every step was attempted in order; the rescan of vmhba64 was tried rescan_attempts (2) times.
  EXPECT_EQ(journal.Only({"clone.Stop", "clone.Clean", "array.Unmap", "settle",
                          "esxcli storage core adapter rescan -t delete"}),
            (std::vector<std::string>{"clone.Stop task-1", "clone.Clean task-1",
                                      "array.Unmap " + std::string(kGroup), "settle",
                                      "esxcli storage core adapter rescan -t delete -A vmhba64",
                                      "esxcli storage core adapter rescan -t delete -A vmhba64",
                                      "esxcli storage core adapter rescan -t delete -A vmhba65"}));
  // The clone could not be stopped and still writes, so the host refuses to set the device off; the
  // mapping to the xcopy group stays because the unmap failed. Both are logged for the administrator.
  EXPECT_TRUE(array.MappedTo(kGroup));
  EXPECT_TRUE(array.MappedTo(kNodeGroup));
}

TEST_F(LunCopyTest, MappingsLostWithTheUnmapAreRestored) {
  array.unmap_drops_all = true;
  EXPECT_FALSE(Run().has_value());
  EXPECT_EQ(journal.Only({"array.Unmap", "array.ListMappings", "array.Map"}),
            (std::vector<std::string>{"array.ListMappings", "array.Map " + std::string(kGroup),
                                      "array.Unmap " + std::string(kGroup), "array.ListMappings",
                                      "array.Map " + std::string(kNodeGroup)}));
  ExpectNothingLeft();
}

TEST_F(LunCopyTest, AMappingLeftByACrashedRunIsRemovedNotRestored) {
  array.AddMappingForTest(kGroup);
  EXPECT_FALSE(Run().has_value());
  EXPECT_FALSE(array.MappedTo(kGroup));
  ExpectNothingLeft();
}

// ---- SIGTERM ------------------------------------------------------------------------------------

struct StopPoint {
  const char* name;
  const char* event;                 // SIGTERM arrives while this event's step runs
  std::vector<std::string> cleanup;  // what the cleanup must then do, in order
  bool clone_started;
};

void PrintTo(const StopPoint& p, std::ostream* os) { *os << p.name; }

class LunCopyStopTest : public LunCopyTest, public ::testing::WithParamInterface<StopPoint> {};

TEST_P(LunCopyStopTest, SigtermAtEachStepLeavesNothingBehind) {
  const StopPoint& p = GetParam();
  journal.When({p.event, Rule::Action::kStop});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kCancelled) << e->what();
  EXPECT_NE(std::string(e->what()).find("SIGTERM"), std::string::npos) << e->what();
  EXPECT_EQ(CleanupSteps(), p.cleanup);
  ExpectNothingLeft(p.clone_started);
  if (!p.clone_started) {
    EXPECT_EQ(journal.Only({"clone.Start"}), std::vector<std::string>{});
  }
}

const std::string kDetachedRemove = "esxcli storage core device detached remove -d " + std::string(kNaa);
const std::string kUnmap = "array.Unmap " + std::string(kGroup);
const std::string kRescan64 = "esxcli storage core adapter rescan -t delete -A vmhba64";
const std::string kRescan65 = "esxcli storage core adapter rescan -t delete -A vmhba65";

INSTANTIATE_TEST_SUITE_P(
    Points, LunCopyStopTest,
    ::testing::Values(
        StopPoint{"WhileTheGroupIsEnsured", "array.EnsureInitiatorGroup", {}, false},
        StopPoint{"WhileTheMappingsAreListed", "array.ListMappings", {}, false},
        StopPoint{"WhileTheLunIsMapped", "array.Map", {kUnmap}, false},
        StopPoint{"WhileWaitingForTheLease",
                  "lease.acquire",
                  {kDetachedRemove, kUnmap, "settle", kRescan64, kRescan65},
                  false},
        // The rescan that was running attached the device: it is set off before it is forgotten.
        StopPoint{"DuringTheRescan",
                  "esxcli storage core adapter rescan -t add",
                  {"esxcli storage core device set --state off -d " + std::string(kNaa), kDetachedRemove,
                   kUnmap, "settle", kRescan64, kRescan65},
                  false},
        StopPoint{"WhenTheDeviceShowed",
                  "lease.release",
                  {"esxcli storage core device set --state off -d " + std::string(kNaa), kDetachedRemove,
                   kUnmap, "settle", kRescan64, kRescan65},
                  false},
        StopPoint{"WhileTheCloneStarts",
                  "clone.Start",
                  {"clone.Stop task-1", "clone.Clean task-1",
                   "esxcli storage core device set --state off -d " + std::string(kNaa), kDetachedRemove,
                   kUnmap, "settle", kRescan64, kRescan65},
                  true},
        StopPoint{"DuringTheClone",
                  "clone.GetStatus",
                  {"clone.Stop task-1", "clone.Clean task-1",
                   "esxcli storage core device set --state off -d " + std::string(kNaa), kDetachedRemove,
                   kUnmap, "settle", kRescan64, kRescan65},
                  true}),
    [](const auto& info) { return std::string(info.param.name); });

// Once the cleanup runs, SIGTERM changes nothing: every step still runs, and the run reports why it
// failed.
TEST_F(LunCopyTest, SigtermDuringTheCleanupDoesNotCutItShort) {
  clone.script = {FakeClone::Done(3, "Failed to clone disk: No space left on device")};
  journal.When({"array.Unmap", Rule::Action::kStop});
  auto e = Run();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_class(), ErrorClass::kPrecondition);
  EXPECT_TRUE(sigterm.stop_requested());
  EXPECT_EQ(CleanupSteps(), FullCleanup(false));
  ExpectNothingLeft();
}

}  // namespace
}  // namespace hoist::populators::xcopy

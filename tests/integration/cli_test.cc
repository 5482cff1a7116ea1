// The `hoist` command line for people, run as a program: `esxi check` against the lab vCenter's hosts
// (hoist-vcsim: advanced settings, VIBs, VAAI status per device), `plan create` + `status` against the
// lab cluster with the planner running, and `watch` under a real terminal (tmux, read back with
// capture-pane) and through a pipe.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <sstream>

#include "integration/planner_lab.h"
#include "kube/selectors.h"
#include "planner/api.h"
#include "planner/planner.h"
#include "planner/status.h"

namespace hoist::planner {
namespace {

using hoist::testing::Eventually;
using nlohmann::json;
namespace fs = std::filesystem;
namespace res = kube::resources;

std::string Hoist() { return hoist::testing::BinDir() + "/hoist"; }

// Runs a shell command; stdout (and stderr when `with_stderr`) and the exit status.
std::string Sh(const std::string& cmd, int* rc = nullptr, bool with_stderr = true) {
  std::string out;
  FILE* p = ::popen((cmd + (with_stderr ? " 2>&1" : "")).c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = ::pclose(p);
  if (rc != nullptr) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

json World(const std::string& dir) {
  return {{"hosts",
           {{{"name", "esx1.lab"}},
            {{"name", "esx2.lab"},
             {"settings", {{"/Disk/MaxLUN", 2048}, {"/DataMover/HardwareAcceleratedMove", 0}}},
             {"vibs", json::array()}},
            {{"name", "esx3.lab"}, {"settings", {{"/Disk/MaxLUN", 4096}, {"/DataMover/MaxHWTransferSize", 16384}}}}}},
          {"datastores",
           {{{"name", "san-ds1"}, {"naa", "naa.600a098038314d2d4c244a6f6b6b6f31"}, {"dir", dir + "/ds1"}, {"array", "ontap1"},
             {"vendor", "NETAPP"}, {"model", "LUN C-Mode"}},
            // A LUN of an array without VAAI: no plugin claims it.
            {{"name", "jbod-ds"}, {"naa", "naa.6000c2900000000000000000000abcde"}, {"dir", dir + "/ds2"}, {"vendor", "ACME"},
             {"model", "JBOD"}, {"hosts", {"esx1.lab"}}}}},
          {"vms",
           {{{"name", "vm1"}, {"host", "esx3.lab"}, {"datastore", "san-ds1"},
             {"disks", {{{"capacityBytes", 4194304}}, {{"capacityBytes", 2097152}}}}}}}};
}

class HoistCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = hoist::testing::TempDir("hoist-cli-it");
    vcsim_ = new hoist::testing::Vcsim();
    vcsim_->Start(dir_ + "/vcsim", World(dir_ + "/vcsim"));
    std::ofstream(dir_ + "/vc-password") << vcsim_->password << "\n";
    std::ofstream(dir_ + "/vc-ca.pem") << vcsim_->ca_pem;
    std::ofstream(dir_ + "/array-password") << "Lab-Array-Pw1\n";
  }
  static void TearDownTestSuite() {
    delete vcsim_;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Check(const std::string& host, const std::string& extra, int* rc) {
    return Sh("GOVMOMI_USERNAME='" + vcsim_->user + "' " + Hoist() + " esxi check --vcenter " + vcsim_->url() +
                  " --password-file " + dir_ + "/vc-password --ca-file " + dir_ + "/vc-ca.pem --host " + host + " " + extra,
              rc, false);
  }

  void StartCluster() {
    lab_ = std::make_unique<hoist::testing::LabCluster>(dir_ + "/cluster-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    PlannerOptions o;
    o.lease_namespace = "hoist-leases";
    o.resync = std::chrono::milliseconds(300);
    o.status_interval = std::chrono::milliseconds(0);
    planner_ = std::make_unique<Planner>(lab_->client(), o);
    planner_->Start();
  }
  void TearDown() override {
    if (planner_) planner_->Stop();
    planner_.reset();
    lab_.reset();
  }

  std::string K() const { return " --kubeconfig " + lab_->kubeconfig(); }

  // `hoist plan create` for vm1 with everything from flags.
  void CreatePlan(const std::string& name) {
    int rc = -1;
    std::string out = Sh(Hoist() + " plan create " + name + K() + " -n mtv --target-namespace vms --vm vm1 --vcenter " + vcsim_->url() +
                             " --vcenter-user '" + vcsim_->user + "' --vcenter-password-file " + dir_ + "/vc-password --vcenter-ca-file " +
                             dir_ + "/vc-ca.pem --datastore san-ds1=ontap-san --vendor ontap --storage-hostname https://ontap.lab"
                             " --storage-user admin --storage-password-file " + dir_ + "/array-password --storage-key ONTAP_SVM=svm0",
                         &rc);
    ASSERT_EQ(rc, 0) << out;
    ASSERT_NE(out.find("created Plan mtv/" + name), std::string::npos) << out;
  }

  std::vector<json> Crs() { return lab_->List(resources::kXcopyPopulator, "vms"); }

  void Progress(const json& cr, int percent, int started_seconds_ago = 10) {
    json o = lab_->client().Get(resources::kXcopyPopulator, "vms", kube::Name(cr));
    o["status"] = {{"progress", std::to_string(percent)},
                   {"xcopyUsed", "1"},
                   {"cloneMethod", "vib"},
                   {"storageVendor", "ontap"},
                   {"conditions",
                    {{{"type", "Running"}, {"status", "True"}, {"reason", "Copying"}, {"message", "copying"},
                      {"lastTransitionTime", FormatTime(std::chrono::system_clock::now() - std::chrono::seconds(started_seconds_ago))}}}}};
    lab_->client().UpdateStatus(resources::kXcopyPopulator, o);
  }

  void BindAll() {
    for (const json& pvc : lab_->List(res::kPersistentVolumeClaim, "vms")) lab_->BindLikeThePopulator(pvc);
  }

  static inline std::string dir_;
  static inline hoist::testing::Vcsim* vcsim_ = nullptr;
  std::unique_ptr<hoist::testing::LabCluster> lab_;
  std::unique_ptr<Planner> planner_;
};

TEST_F(HoistCli, EsxiCheckFindsWhatBlocksXcopy) {
  int rc = -1;
  std::string esx1 = Check("esx1.lab", "--datastore san-ds1", &rc);
  EXPECT_EQ(rc, 0) << esx1;
  EXPECT_NE(esx1.find("ok   /DataMover/HardwareAcceleratedMove: 1"), std::string::npos) << esx1;
  EXPECT_NE(esx1.find("WARN /Disk/MaxLUN: 1024"), std::string::npos) << esx1;
  EXPECT_NE(esx1.find("WARN /DataMover/MaxHWTransferSize: 4096"), std::string::npos) << esx1;
  EXPECT_NE(esx1.find("ok   device naa.600a098038314d2d4c244a6f6b6b6f31: VAAI plugin VMW_VAAIP_T10, Clone Status supported"),
            std::string::npos)
      << esx1;

  // A datastore on a LUN of an array without VAAI: clones would be host copies.
  std::string jbod = Check("esx1.lab", "--datastore jbod-ds", &rc);
  EXPECT_EQ(rc, 1) << jbod;
  EXPECT_NE(jbod.find("FAIL device naa.6000c2900000000000000000000abcde: Clone Status unsupported, no VAAI plugin"),
            std::string::npos)
      << jbod;

  // esx2: XCOPY switched off and no vmkfstools namespace (no VIB); Disk.MaxLUN raised.
  std::string esx2 = Check("esx2.lab", "--datastore san-ds1", &rc);
  EXPECT_EQ(rc, 2) << esx2;
  EXPECT_NE(esx2.find("FAIL /DataMover/HardwareAcceleratedMove: 0"), std::string::npos) << esx2;
  EXPECT_NE(esx2.find("FAIL esxcli vmkfstools"), std::string::npos) << esx2;
  EXPECT_NE(esx2.find("ok   /Disk/MaxLUN: 2048"), std::string::npos) << esx2;

  // esx3 is ready.
  std::string esx3 = Check("esx3.lab", "--datastore san-ds1", &rc);
  EXPECT_EQ(rc, 0) << esx3;
  EXPECT_EQ(esx3.find("FAIL"), std::string::npos) << esx3;
  EXPECT_EQ(esx3.find("WARN"), std::string::npos) << esx3;

  auto check = [&](const std::string& user, const std::string& host) {
    return Sh("GOVMOMI_USERNAME='" + user + "' " + Hoist() + " esxi check --vcenter " + vcsim_->url() + " --password-file " +
                  dir_ + "/vc-password --ca-file " + dir_ + "/vc-ca.pem --host " + host,
              &rc);
  };
  std::string err = check(vcsim_->user, "esx9.lab");
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("no ESXi host named esx9.lab (it has: esx1.lab, esx2.lab, esx3.lab)"), std::string::npos) << err;
  err = check("intruder", "esx1.lab");
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("InvalidLogin"), std::string::npos) << err;
  EXPECT_EQ(err.find(vcsim_->password), std::string::npos) << err;
}

TEST_F(HoistCli, PlanCreateThenStatusShowsEachDisk) {
  StartCluster();
  CreatePlan("quick");
  EXPECT_TRUE(lab_->Find(resources::kProvider, "mtv", "quick-vcenter"));
  EXPECT_TRUE(lab_->Find(resources::kStorageMap, "mtv", "quick"));
  EXPECT_EQ(SecretData(*lab_->Find(res::kSecret, "mtv", "quick-storage"))["ONTAP_SVM"], "svm0");
  ASSERT_TRUE(Eventually([&] { return Crs().size() == 2; })) << lab_->client().Get(resources::kPlan, "mtv", "quick").dump(2);

  int rc = -1;
  json rows = json::parse(Sh(Hoist() + " status" + K() + " -n vms -o json", &rc, false));
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["vm"], "vm1");
  EXPECT_EQ(rows[0]["disk"], "[san-ds1] vm1/vm1.vmdk");
  EXPECT_EQ(rows[0]["vendor"], "ontap");
  EXPECT_EQ(rows[0]["state"], "Pending");
  EXPECT_EQ(rows[0]["totalBytes"], 4194304);

  for (const json& cr : Crs()) {
    if (cr["spec"]["vmdkPath"] == "[san-ds1] vm1/vm1.vmdk") Progress(cr, 50);
  }
  std::string table = Sh(Hoist() + " status" + K() + " -n vms", &rc, false);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(table.rfind("VM ", 0), 0u) << table;
  for (const char* col : {"DISK", "VENDOR", "METHOD", "PROGRESS", "RATE", "ETA", "XCOPY", "RESULT"}) {
    EXPECT_NE(table.find(col), std::string::npos) << col << "\n" << table;
  }
  // vm1  [san-ds1] vm1/vm1.vmdk  ontap  vib  50%  204.8 KiB/s  10s  yes  Running
  std::istringstream lines(table);
  std::string line;
  std::vector<std::string> cols;
  while (std::getline(lines, line)) {
    if (line.find("vm1/vm1.vmdk") == std::string::npos) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;) cols.push_back(w);
  }
  ASSERT_EQ(cols.size(), 11u) << table;
  EXPECT_EQ(cols[3], "ontap");
  EXPECT_EQ(cols[4], "vib");
  EXPECT_EQ(cols[5], "50%");
  EXPECT_EQ(cols[7].substr(cols[7].size() - 2), "/s") << table;
  EXPECT_EQ(cols[8].back(), 's') << table;
  EXPECT_EQ(cols[9], "yes");
  EXPECT_EQ(cols[10], "Running");

  // --plan narrows to the Plan's disks, in its target namespace.
  rows = json::parse(Sh(Hoist() + " status" + K() + " -n mtv --plan quick -o json", &rc, false));
  EXPECT_EQ(rows.size(), 2u);
  std::string err = Sh(Hoist() + " status" + K() + " -n mtv --plan nope", &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("there is no Plan nope in namespace mtv"), std::string::npos) << err;

  // A plan of that name again: refused, saying what exists.
  std::string again = Sh(Hoist() + " plan create quick" + K() + " -n mtv --target-namespace vms --vm vm1 --provider quick-vcenter "
                                   "--storage-map quick",
                         &rc);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(again.find("Plan mtv/quick already exists"), std::string::npos) << again;
}

// The rows of `hoist watch` for `disk` in a captured screen: the percentages and bar lengths seen.
int BarFill(const std::string& screen, const std::string& disk) {
  std::istringstream in(screen);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(disk) == std::string::npos) continue;
    auto open = line.find('['), close = line.find(']', open == std::string::npos ? 0 : open + 1);
    // The first '[' belongs to the VMDK path "[san-ds1]"; the bar is the bracket after it.
    open = line.find('[', line.find(disk) + disk.size());
    close = line.find(']', open);
    if (open == std::string::npos || close == std::string::npos) return -1;
    return static_cast<int>(std::count(line.begin() + open, line.begin() + close, '#'));
  }
  return -1;
}

TEST_F(HoistCli, WatchDrawsBarsThatAdvanceInARealTerminal) {
  StartCluster();
  CreatePlan("tty");
  ASSERT_TRUE(Eventually([&] { return Crs().size() == 2; }));
  std::string sock = dir_ + "/tmux.sock";
  std::string tmux = "tmux -S " + sock;
  std::string cmd = Hoist() + " watch" + K() + " -n mtv --plan tty --interval 200ms; echo WATCH-EXIT=$?; sleep 60";
  int rc = -1;
  std::string out = Sh(tmux + " new-session -d -s watch -x 180 -y 20 \"" + cmd + "\"", &rc);
  ASSERT_EQ(rc, 0) << out;
  auto screen = [&] { return Sh(tmux + " capture-pane -p -t watch", nullptr, false); };
  const std::string d0 = "vm1 [san-ds1] vm1/vm1.vmdk", d1 = "vm1 [san-ds1] vm1/vm1_1.vmdk";

  ASSERT_TRUE(Eventually([&] { return screen().find(d0) != std::string::npos; })) << screen();
  std::string s = screen();
  EXPECT_NE(s.find("hoist watch vms, plan tty: 2 disk(s)"), std::string::npos) << s;
  EXPECT_EQ(BarFill(s, d0), 0) << s;

  json cr0, cr1;
  for (const json& cr : Crs()) (cr["spec"]["vmdkPath"] == "[san-ds1] vm1/vm1.vmdk" ? cr0 : cr1) = cr;
  Progress(cr0, 25);
  ASSERT_TRUE(Eventually([&] { return screen().find(" 25%") != std::string::npos; })) << screen();
  int at25 = BarFill(screen(), d0);
  Progress(cr0, 75);
  Progress(cr1, 40);
  ASSERT_TRUE(Eventually([&] { return screen().find(" 75%") != std::string::npos && screen().find(" 40%") != std::string::npos; }))
      << screen();
  s = screen();
  int at75 = BarFill(s, d0);
  EXPECT_GT(at25, 0) << s;
  EXPECT_GT(at75, at25) << s;
  EXPECT_GT(BarFill(s, d1), 0) << s;
  EXPECT_NE(s.find("iB/s"), std::string::npos) << s;
  EXPECT_NE(s.find("ETA"), std::string::npos) << s;
  // Redrawn in place: each disk appears once on the screen.
  EXPECT_EQ(std::count(s.begin(), s.end(), '%'), 2) << s;

  BindAll();
  ASSERT_TRUE(Eventually([&] { return screen().find("WATCH-EXIT=") != std::string::npos; }, std::chrono::seconds(30))) << screen();
  s = screen();
  EXPECT_NE(s.find("WATCH-EXIT=0"), std::string::npos) << s;
  EXPECT_NE(s.find("2 done, 0 failed"), std::string::npos) << s;
  EXPECT_EQ(BarFill(s, d0), 24) << s;
  Sh(tmux + " kill-server");
}

TEST_F(HoistCli, WatchPrintsPlainLinesThroughAPipeAndFailsWhenADiskFails) {
  StartCluster();
  CreatePlan("pipe");
  ASSERT_TRUE(Eventually([&] { return Crs().size() == 2; }));
  std::string log = dir_ + "/watch.log";
  std::string cmd = Hoist() + " watch" + K() + " -n vms --interval 100ms --timeout 60s > " + log + " 2>&1; echo $? >> " + log;
  FILE* watch = ::popen(cmd.c_str(), "r");
  ASSERT_NE(watch, nullptr);
  std::vector<json> crs = Crs();
  Progress(crs[0], 30);
  ASSERT_TRUE(Eventually([&] { return hoist::testing::ReadText(log).find(" 30% Running") != std::string::npos; }))
      << hoist::testing::ReadText(log);
  json failed = lab_->client().Get(resources::kXcopyPopulator, "vms", kube::Name(crs[1]));
  failed["status"] = {{"progress", "10"},
                      {"result", "failure"},
                      {"conditions",
                       {{{"type", "Failed"}, {"status", "True"}, {"reason", "PopulatorFailed"},
                         {"message", "pod populate-x failed: check VAAI on the array"}}}}};
  lab_->client().UpdateStatus(resources::kXcopyPopulator, failed);
  // The planner fails the VM and deletes its PVCs; the CRs stay and say what happened.
  ::pclose(watch);
  std::string text = hoist::testing::ReadText(log);
  EXPECT_EQ(text.find("\x1b["), std::string::npos) << "no terminal codes in a pipe";
  EXPECT_NE(text.find("FAILED: PopulatorFailed"), std::string::npos) << text;
  EXPECT_NE(text.find("check VAAI on the array"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 2), "1\n") << text;
}

}  // namespace
}  // namespace hoist::planner

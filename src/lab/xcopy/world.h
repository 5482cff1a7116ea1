#pragma once
// The lab world for the xcopy populator, one composition used by the integration tests and by
// `make demo`: the lab cluster (API server, binder, provisioner, scheduler, kubelet-lite), storage-array
// simulators whose LUNs are sparse files, and the lab vCenter (hoist-vcsim) whose datastores are VMFS
// on LUNs of those arrays and whose VMs' disks hold known patterns. The world also writes what a user
// would: the vendor Secret keys (GOVMOMI_*, STORAGE_*), storage classes per array, and the populator
// image mapping for the kubelet.
//
//   World w({.dir = tmp, .bin_dir = HOIST_BIN_DIR});
//   w.Start();
//   TargetVolume t = w.CreateTargetVolume("mig", "disk-0", "ontap1", 8 << 20);   // PV on a LUN + Bound PVC
//   ... run hoist-populator xcopy with w.PopulatorEnv("ontap1") and w.VmdkPath("vm1")
//   EXPECT_EQ(w.ReadLun(t), w.SourceData("vm1"));
#include <sys/types.h>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hoist::lab {
class Cluster;
}
namespace hoist::lab::arrays {
class LabArray;
class LabArrays;
}  // namespace hoist::lab::arrays

namespace hoist::lab::xcopy {

struct HostSpec {
  std::string name = "esx1.lab";
  std::string iqn;                                      // software iSCSI adapter (vmhba65)
  std::vector<std::pair<std::string, std::string>> fc;  // FC ports: (wwnn, wwpn), 16 hex digits each
  std::map<std::string, int64_t> settings;              // advanced settings (/Disk/MaxLUN …)
  std::string sdc_guid;                                 // PowerFlex SDC (the scini module) on the host
};

struct ArraySpec {
  std::string name = "ontap1";   // also its StorageClass and the SAN "array" name (same name ⇒ XCOPY)
  std::string vendor = "ontap";  // storageVendorProduct: ontap, primera3par, vantara, powerflex
  std::multimap<std::string, std::string> options;  // lab array options (lab/arrays/lab_array.h)
};

struct DatastoreSpec {
  std::string name = "san-ds1";
  std::string array = "ontap1";  // the array whose LUN backs it; one without a simulator is a foreign array
  std::string transport;  // iscsi or fc paths from the hosts; empty: iSCSI where a host has it, else FC
  uint64_t lun_bytes = 64ull << 20;
  std::vector<std::string> hosts;  // hosts that mount it; empty: all
};

struct VmSpec {
  std::string name = "vm1";
  std::string host = "esx1.lab";
  std::string datastore = "san-ds1";
  uint64_t disk_bytes = 4ull << 20;
  uint64_t data_bytes = 0;  // bytes of pattern at the start of the disk (0: all of it); the rest is a hole
  uint32_t seed = 1;        // the pattern's seed
  int snapshots = 0;
  int disks = 1;  // disks of disk_bytes each, all on `datastore`; disk i holds the pattern of seed + i
};

struct WorldOptions {
  std::string dir;      // everything lives here (created if missing)
  std::string bin_dir;  // hoist-vcsim (and hoist-populator for the image mapping)
  std::vector<HostSpec> hosts = {HostSpec{}};
  std::vector<ArraySpec> arrays = {ArraySpec{}};
  std::vector<DatastoreSpec> datastores = {DatastoreSpec{}};
  std::vector<VmSpec> vms = {VmSpec{}};
  std::map<std::string, std::string> esxi_env;  // HOIST_FAKE_VMKFSTOOLS_DELAY, …
  int nodes = 1;
  bool persist = false;  // journal the cluster's store (the demo keeps it)
  std::string vcenter_user = "administrator@vsphere.local";
  std::string vcenter_password = "Lab-vCenter-Pw1";
  std::string populator_image = "quay.io/kubev2v/vsphere-xcopy-volume-populator";
  // The SSH clone method: a real OpenSSH sshd per host on its management address (127.20.0.<n>),
  // root's restricted key (the line `hoist esxi ssh-key-line` prints) running the wrapper against the
  // host's root, host keys pinned through SSH_KNOWN_HOSTS.
  bool ssh = false;
  // hoist-controller (from bin_dir) against the cluster, with hoist's CRDs applied (kubectl) and the
  // populator image mapped to hoist-populator; `controller_args` are added to its command line.
  bool controller = false;
  std::vector<std::string> controller_args = {"--scrape-interval=200ms"};
  std::map<std::string, std::string> controller_env;  // e.g. FEATURE_COPY_OFFLOAD=true (the planner)
  // Secret keys every per-disk Secret gets (e.g. the populator's HOIST_XCOPY_* intervals).
  std::map<std::string, std::string> secret_extra;
};

// A volume on an array, provisioned through the array's StorageClass as its CSI driver would (and
// mapped to the lab nodes, as a node attach does), bound to a claim.
struct TargetVolume {
  std::string ns, pvc, pv;
  std::string array;
  std::string naa;      // the device name hosts see for the LUN
  std::string backing;  // the LUN's sparse file
  uint64_t size_bytes = 0;
  nlohmann::json pv_object;  // the PV as provisioned
};

class World {
 public:
  explicit World(WorldOptions options);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Starts the arrays, the cluster and the lab vCenter. Throws hoist::Error with the vCenter's log
  // when it does not come up.
  void Start();
  void Stop();

  Cluster& cluster();
  std::string kubeconfig() const;
  arrays::LabArray& array(const std::string& name);
  const WorldOptions& options() const { return options_; }

  // What hoist-vcsim printed on start (hosts, datastores, VMs with their morefs).
  const nlohmann::json& inventory() const { return inventory_; }
  std::string vcenter_url() const;
  std::string vcenter_ca_file() const;
  std::string HostMoref(const std::string& host) const;
  std::string VmMoref(const std::string& vm) const;
  std::string VmdkPath(const std::string& vm, int disk = 0) const;  // "[san-ds1] vm1/vm1.vmdk"
  // The bytes the VM's disk holds (the pattern, zero-padded to the disk size).
  std::string SourceData(const std::string& vm, int disk = 0) const;
  // The ESXi host's root as the wrapper sees it (vmfs/devices/disks, tmp/vmkfstools-wrapper-*).
  std::string HostRoot(const std::string& host) const;
  bool HostHasDevice(const std::string& host, const std::string& naa) const;
  std::vector<std::string> HostTaskDirs(const std::string& host) const;
  // The initiators the SAN directory presents `naa` to ("iqn.…", WWPNs, SDC GUIDs).
  std::vector<std::string> SanInitiators(const std::string& naa) const;
  // Those of them that belong to an ESXi host of the world (the xcopy mapping's).
  std::vector<std::string> SanInitiatorsOfHosts(const std::string& naa) const;

  // A Block PVC `ns/name` on `array`'s StorageClass, waited for until Bound.
  TargetVolume CreateTargetVolume(const std::string& ns, const std::string& name, const std::string& array,
                                  uint64_t size_bytes);
  std::string ReadLun(const TargetVolume& t) const;

  // The per-disk Secret's keys for a copy onto `array` (GOVMOMI_*, STORAGE_*, vendor keys).
  std::map<std::string, std::string> SecretData(const std::string& array) const;
  // The same without the vCenter keys (GOVMOMI_*, cacert): what a StorageMap's offload Secret holds.
  std::map<std::string, std::string> StorageSecretData(const std::string& array) const;
  // Creates (or replaces) Secret `ns/name` with SecretData(array) and `extra`.
  void CreateSecret(const std::string& ns, const std::string& name, const std::string& array,
                    const std::map<std::string, std::string>& extra = {});
  void EnsureNamespace(const std::string& ns);

  // What a migration plan creates for one disk (reference §1.3): the per-disk Secret, the
  // VSphereXcopyVolumePopulator `ns/name` for `vm`'s first disk, and a Block PVC `ns/name` on `array`'s
  // StorageClass whose dataSourceRef names the CR. `migration_host` is a host name of the world or "".
  TargetVolume CreateXcopyClaim(const std::string& ns, const std::string& name, const std::string& vm,
                                const std::string& array, uint64_t size_bytes,
                                const std::string& migration_host = "",
                                const std::map<std::string, std::string>& secret_extra = {});
  // Waits until the claim is Bound (the populator finished and the controller rebound the volume);
  // fills pv, backing and naa. False after `timeout_seconds`.
  bool WaitForPopulated(TargetVolume& t, int timeout_seconds = 120);
  // kubectl against the cluster; returns its output (stdout and stderr).
  std::string Kubectl(const std::string& args, int* rc = nullptr) const;
  std::string controller_log() const;

 private:
  void StartVcenter();
  void StartSsh();
  void StartController();
  void WriteImages();

  WorldOptions options_;
  TargetVolume Provision(const std::string& ns, const std::string& name, const std::string& array,
                         uint64_t size_bytes, const nlohmann::json& extra_spec);
  void Complete(TargetVolume& t);
  std::string NaaOfBacking(const std::string& backing) const;

  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<arrays::LabArrays> arrays_;
  std::map<std::string, std::string> datastore_naa_;
  pid_t vcsim_pid_ = -1;
  std::vector<pid_t> sshd_pids_;
  pid_t controller_pid_ = -1;
  int ssh_port_ = 0;
  std::string ssh_private_key_, ssh_public_key_, ssh_known_hosts_;
  nlohmann::json inventory_;
  bool started_ = false;
};

}  // namespace hoist::lab::xcopy

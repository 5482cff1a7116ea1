#pragma once
// A storage-array simulator running inside the lab: the vendor's REST API on its own HTTPS port, and a
// VolumeBackend that provisions a LUN on it for each PersistentVolume of the array's StorageClass, with
// `spec.csi` shaped as that vendor's CSI driver shapes it and the LUN's sparse backing file as the
// volume's data. See README.md in this folder.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "lab/provisioner.h"
#include "lab/sim/common/sim_common.h"

namespace hoist::lab::arrays {

// `--array NAME=VENDOR[,key=value…]`: one array of the lab.
struct ArraySpec {
  std::string name;    // the array's name in the lab; also its StorageClass and volume backend name
  std::string vendor;  // the StorageMap's storageVendorProduct: ontap, primera3par, vantara, powerflex
  uint16_t port = 0;   // 0: the port of the last run, else any free one
  // Vendor options: `svm` (ONTAP), `sdc` (PowerFlex, repeatable: GUIDs of SDCs to register, e.g. the
  // ESXi hosts'), `login` (Vantara, repeatable: FC WWPNs zoned to the array's FC ports).
  std::multimap<std::string, std::string> options;
  std::string Option(const std::string& key, const std::string& fallback = "") const;
};
// Parses the flag value "NAME=VENDOR[,key=value…]". kPrecondition on a bad value or unknown vendor.
ArraySpec ParseArraySpec(const std::string& flag);
// The vendors a lab array can be.
const std::vector<std::string>& LabVendors();

// What a client of the array needs, as written to DIR/arrays.json.
struct ArrayInfo {
  std::string name;
  std::string vendor;         // storageVendorProduct
  std::string driver;         // the CSI driver name the StorageClass uses
  std::string storage_class;  // the StorageClass provisioning on this array
  std::string url;            // https://127.0.0.1:<port>[/…]
  uint16_t port = 0;
  std::string username;
  std::string password;
  std::string ca_pem;   // the simulator's certificate (self-signed)
  std::string ca_file;  // the same, in the array's state directory
  std::string state_dir;
  // The storage secret a populator needs (STORAGE_HOSTNAME, STORAGE_USERNAME, STORAGE_PASSWORD,
  // STORAGE_CA_CERT and the vendor's keys), ready to put in a Secret's stringData.
  std::map<std::string, std::string> secret;
  // Vendor details tests may want (ONTAP: svm; Vantara: storageDeviceId; PowerFlex: systemId).
  std::map<std::string, std::string> details;
};
nlohmann::json ArrayInfoJson(const ArrayInfo& info);

// The lab nodes' initiators, to which a volume is mapped when it is provisioned (as a CSI driver does
// when a node attaches it): iqn.1994-05.com.redhat:<node>.
std::string NodeIqn(const std::string& node);

class LabArray {
 public:
  virtual ~LabArray() = default;
  virtual const ArrayInfo& info() const = 0;
  virtual std::shared_ptr<VolumeBackend> backend() = 0;
  // Stops the REST endpoint; the array's state stays in its state directory.
  virtual void Stop() = 0;
  // Makes the simulator fail or delay matching requests (tests of clients riding out array trouble).
  virtual void InjectFaultForTest(const sim::common::Fault& fault) = 0;
};

struct LabArrayOptions {
  std::string state_dir;                // certificate, password, objects and LUN files (DIR/arrays/<name>)
  std::string san_dir;                  // the lab SAN directory (DIR/san), shared with the lab vCenter
  std::vector<std::string> node_names;  // the lab's nodes
};

// The password in `path`, or a new random one written there (mode 0600) — the lab's array users keep
// their password across restarts, so Secrets made from arrays.json stay valid.
std::string LoadOrCreatePassword(const std::string& path);

// Starts the simulator for `spec` and returns it running.
std::unique_ptr<LabArray> StartLabArray(const ArraySpec& spec, const LabArrayOptions& options);

// Vendor constructors (one file each).
std::unique_ptr<LabArray> StartOntapLabArray(const ArraySpec& spec, const LabArrayOptions& options);
std::unique_ptr<LabArray> StartPrimera3parLabArray(const ArraySpec& spec, const LabArrayOptions& options);
std::unique_ptr<LabArray> StartVantaraLabArray(const ArraySpec& spec, const LabArrayOptions& options);
std::unique_ptr<LabArray> StartPowerFlexLabArray(const ArraySpec& spec, const LabArrayOptions& options);

}  // namespace hoist::lab::arrays

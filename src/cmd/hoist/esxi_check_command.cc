// `hoist esxi check`: is this ESXi host ready for copy offload? Reads, through vCenter's remote esxcli
// (the path the xcopy populator uses: vsphere::Esxcli behind esxi::HostStorage), the host's data-mover
// settings, Disk.MaxLUN, the vmkfstools-wrapper VIB, and for each VMFS datastore the backing device's
// VAAI plugin and clone (XCOPY) status — the checks of Forklift's xcopy-validate.sh and its README's
// troubleshooting list, each with what to change.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmd/common/commands.h"
#include "cmd/hoist/cluster_flags.h"
#include "cmd/hoist/esxi_host.h"
#include "esxi/host_storage.h"
#include "populators/xcopy/esxi_vsphere.h"
#include "vsphere/client.h"
#include "vsphere/esxcli.h"
#include "vsphere/inventory.h"

namespace hoist::cli {
namespace {

using nlohmann::json;

const char kAbout[] =
    "Checks an ESXi host's readiness for storage copy offload (VAAI XCOPY) through vCenter's remote\n"
    "esxcli: /DataMover/HardwareAcceleratedMove and HardwareAcceleratedInit, /DataMover/MaxHWTransferSize,\n"
    "/VMFS3/HardwareAcceleratedLocking, /Disk/MaxLUN, the vmkfstools-wrapper VIB, and for every VMFS\n"
    "datastore of the host (or --datastore) the device's VAAI plugin and clone status.\n"
    "Credentials: --username or GOVMOMI_USERNAME; the password from --password-file or GOVMOMI_PASSWORD.\n"
    "Exit status: 0 ready (warnings allowed), 1 not ready, 2 bad usage or vCenter refused.\n";

enum class Level { kOk, kWarn, kFail, kInfo };
const char* LevelName(Level l) {
  switch (l) {
    case Level::kOk:
      return "ok";
    case Level::kWarn:
      return "warn";
    case Level::kFail:
      return "FAIL";
    case Level::kInfo:
      return "-";
  }
  return "";
}

struct Finding {
  std::string item;   // "/Disk/MaxLUN", "datastore san-ds1 (naa.…)"
  std::string value;  // what the host says
  Level level = Level::kOk;
  std::string advice;
};

std::string Password(const std::string& file) {
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw PreconditionError("cannot read the password file " + file);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  const char* p = std::getenv("GOVMOMI_PASSWORD");
  return p != nullptr ? p : "";
}

void CheckSetting(esxi::HostStorage& storage, std::vector<Finding>& out, const std::string& path,
                  const std::function<Finding(int64_t)>& judge) {
  std::optional<int64_t> v;
  try {
    v = storage.IntSetting(path);
  } catch (const esxi::EsxcliError& e) {
    out.push_back({path, "", Level::kWarn, "could not read it: " + e.host_message()});
    return;
  }
  if (!v) {
    out.push_back({path, "absent", Level::kWarn, "the host has no such option (an ESXi older than 6.x?)"});
    return;
  }
  Finding f = judge(*v);
  f.item = path;
  f.value = std::to_string(*v);
  out.push_back(f);
}

int Check(const std::vector<std::string>& args) {
  return RunCommand("esxi check", [&] {
    FlagSet fs("hoist esxi check");
    auto& vcenter = fs.String("vcenter", "", "vCenter URL (https://vc.example.com/sdk) (required)");
    auto& user = fs.String("username", "", "vCenter user").Env("GOVMOMI_USERNAME");
    auto& password_file = fs.String("password-file", "", "file holding the vCenter password (else GOVMOMI_PASSWORD)");
    auto& ca_file = fs.String("ca-file", "", "PEM file of the CA vCenter's certificate chains to");
    auto& insecure = fs.Bool("insecure", false, "do not verify vCenter's certificate");
    auto& host_flag = fs.String("host", "", "the ESXi host: its name in vCenter or its id (host-12) (required)");
    auto& ds_flag = fs.String("datastore", "", "check only this datastore");
    auto& output = fs.String("o", "table", "table or json");
    fs.Parse(args);
    if (fs.help_requested()) {
      std::printf("%s\n%s", fs.Usage().c_str(), kAbout);
      return 0;
    }
    if ((*vcenter).empty() || (*host_flag).empty()) throw PreconditionError("--vcenter and --host are required (--help)");
    vsphere::ClientOptions o;
    o.url = *vcenter;
    o.username = *user;
    o.password = Password(*password_file);
    if (o.username.empty() || o.password.empty()) {
      throw PreconditionError("vCenter credentials missing: --username/GOVMOMI_USERNAME and --password-file/GOVMOMI_PASSWORD");
    }
    o.tls.ca_file = *ca_file;
    o.tls.insecure_skip_verify = *insecure;
    vsphere::Client client(o);
    client.Login();
    auto [host_ref, host_name] = FindHost(client, *host_flag);
    vsphere::Esxcli esxcli(client);
    populators::xcopy::VsphereEsxcliRunner runner(esxcli, host_ref, host_name);
    esxi::HostStorage storage(runner);
    vsphere::Inventory inventory(client);

    std::string version;
    try {
      esxi::EsxcliOutput v = runner.Run({"system", "version", "get"});
      version = v.Field(0, "Product") + " " + v.Field(0, "Version");
    } catch (const esxi::EsxcliError&) {
    }

    std::vector<Finding> host;
    CheckSetting(storage, host, "/DataMover/HardwareAcceleratedMove", [](int64_t v) {
      return v == 1 ? Finding{"", "", Level::kOk, ""}
                    : Finding{"", "", Level::kFail,
                              "XCOPY is off, so every clone is a host copy: esxcli system settings advanced set -o "
                              "/DataMover/HardwareAcceleratedMove -i 1"};
    });
    CheckSetting(storage, host, "/DataMover/HardwareAcceleratedInit", [](int64_t v) {
      return v == 1 ? Finding{"", "", Level::kOk, ""}
                    : Finding{"", "", Level::kWarn, "zeroing is not offloaded: esxcli system settings advanced set -o "
                                                    "/DataMover/HardwareAcceleratedInit -i 1"};
    });
    CheckSetting(storage, host, "/DataMover/MaxHWTransferSize", [](int64_t v) {
      return v >= 16384 ? Finding{"", "", Level::kOk, ""}
                        : Finding{"", "", Level::kWarn,
                                  "XCOPY segments of " + std::to_string(v) + " KB work; 16384 is faster: esxcli system settings "
                                  "advanced set -o /DataMover/MaxHWTransferSize -i 16384"};
    });
    CheckSetting(storage, host, "/VMFS3/HardwareAcceleratedLocking", [](int64_t v) {
      return v == 1 ? Finding{"", "", Level::kOk, ""}
                    : Finding{"", "", Level::kWarn, "ATS locking is off: esxcli system settings advanced set -o "
                                                    "/VMFS3/HardwareAcceleratedLocking -i 1"};
    });
    CheckSetting(storage, host, "/Disk/MaxLUN", [](int64_t v) {
      return v > 1024 ? Finding{"", "", Level::kOk, ""}
                      : Finding{"", "", Level::kWarn,
                                "LUN ids at or above " + std::to_string(v) + " stay invisible to rescans, and arrays hand "
                                "out ids per mapping: with many disks in flight clones fail — esxcli system settings "
                                "advanced set -o /Disk/MaxLUN -i 2048 (up to 16384)"};
    });
    try {
      esxi::EsxcliOutput vibs = runner.Run({"software", "vib", "list"});
      std::string found;
      for (size_t i = 0; i < vibs.rows.size(); ++i) {
        if (vibs.Field(i, "Name") == "vmkfstools-wrapper") found = vibs.Field(i, "Version");
      }
      if (found.empty()) {
        host.push_back({"vmkfstools-wrapper VIB", "not installed", Level::kWarn,
                        "needed for esxiCloneMethod vib (the default): hoist esxi vib install; or use the ssh method"});
      } else {
        host.push_back({"vmkfstools-wrapper VIB", found, Level::kOk, ""});
      }
    } catch (const esxi::EsxcliError& e) {
      host.push_back({"vmkfstools-wrapper VIB", "unknown", Level::kWarn, "software vib list failed: " + e.host_message()});
    }

    vsphere::HostInfo info = inventory.GetHost(host_ref);
    std::vector<Finding> stores;
    bool any = false;
    for (const vsphere::DatastoreInfo& ds : inventory.GetDatastores(info.datastores)) {
      if (!(*ds_flag).empty() && ds.name != *ds_flag) continue;
      any = true;
      if (ds.info_type != "VmfsDatastoreInfo" || ds.extents.empty()) {
        stores.push_back({"datastore " + ds.name, ds.type.empty() ? ds.info_type : ds.type, Level::kInfo,
                          "not VMFS on a SAN LUN: disks here cannot be copied by XCOPY"});
        continue;
      }
      for (const std::string& naa : ds.extents) {
        std::string item = "datastore " + ds.name + " (" + naa + ")";
        std::optional<esxi::ScsiDevice> dev;
        try {
          dev = storage.FindDevice(naa);
        } catch (const esxi::EsxcliError&) {
        }
        std::optional<esxi::VaaiStatus> vaai;
        try {
          vaai = storage.Vaai(naa);
        } catch (const esxi::EsxcliError& e) {
          stores.push_back({item, "unknown", Level::kFail, "vaai status get failed: " + e.host_message()});
          continue;
        }
        std::string who = dev ? dev->vendor + " " + dev->model : std::string("device");
        if (!vaai || vaai->plugin.empty()) {
          stores.push_back({item, "no VAAI plugin", Level::kFail,
                            who + ": no VAAI plugin claims the device, so clones are host copies — add a VAAI claim rule for "
                                  "the array (esxcli storage core claimrule add --claimrule-class=VAAI -t vendor -V <vendor> -P "
                                  "VMW_VAAIP_T10 …) and check the array supports XCOPY"});
        } else if (vaai->clone != "supported") {
          stores.push_back({item, vaai->plugin + ", clone " + vaai->clone, Level::kFail,
                            who + ": the array does not accept XCOPY for this device — enable it on the array"});
        } else {
          std::string v = who + ": " + vaai->plugin + ", clone " + vaai->clone + ", ATS " + vaai->ats + ", zero " +
                          vaai->zero + ", delete " + vaai->del;
          stores.push_back({item, v, Level::kOk, dev && !dev->on() ? "the device is " + dev->status + " on this host" : ""});
        }
      }
    }
    if (!(*ds_flag).empty() && !any) {
      throw PreconditionError("host " + host_name + " has no datastore named " + *ds_flag);
    }

    int fails = 0, warns = 0;
    for (const auto* list : {&host, &stores}) {
      for (const Finding& f : *list) {
        fails += f.level == Level::kFail;
        warns += f.level == Level::kWarn;
      }
    }
    bool ready = fails == 0;
    if (*output == "json") {
      json j = {{"host", host_name}, {"id", host_ref.value}, {"version", version}, {"ready", ready}, {"checks", json::array()}};
      for (const auto* list : {&host, &stores}) {
        for (const Finding& f : *list) {
          j["checks"].push_back({{"item", f.item}, {"value", f.value}, {"level", LevelName(f.level)}, {"advice", f.advice}});
        }
      }
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("ESXi host %s (%s)%s — copy offload readiness\n\n", host_name.c_str(), host_ref.value.c_str(),
                  version.empty() ? "" : (", " + version).c_str());
      size_t w = 0;
      for (const auto* list : {&host, &stores}) {
        for (const Finding& f : *list) w = std::max(w, f.item.size());
      }
      // What is wrong, and what to do about it, under the line it belongs to.
      auto print = [&](const std::vector<Finding>& list) {
        for (const Finding& f : list) {
          std::printf("  %-4s  %-*s  %s\n", LevelName(f.level), static_cast<int>(w), f.item.c_str(), f.value.c_str());
          if (!f.advice.empty()) std::printf("        %s\n", f.advice.c_str());
        }
      };
      print(host);
      std::printf("\n");
      if (stores.empty()) std::printf("  (the host has no datastores)\n");
      print(stores);
      std::printf("\n%s", ready ? "READY for copy offload" : "NOT READY for copy offload");
      std::printf(" (%d problem(s), %d warning(s))\n", fails, warns);
    }
    return ready ? 0 : 1;
  });
}

HOIST_REGISTER_COMMAND({{"esxi", "check"}, "VAAI/XCOPY readiness of an ESXi host and its datastores", Check});

}  // namespace
}  // namespace hoist::cli

#pragma once
// The esxi layer's host interfaces (esxi/esxcli_runner.h, esxi/ssh_executor.h) backed by vSphere:
// remote esxcli through vCenter (vsphere::Esxcli) and vCenter's datastore file HTTP
// (vsphere::DatastoreFiles). `esxi` may not include `vsphere`, so the bridge lives here, where both
// may be included; it only translates (faults → EsxcliError, rows → rows).
//
//   vsphere::Esxcli esxcli(client);
//   populators::xcopy::VsphereEsxcliRunner runner(esxcli, host_ref, host_name);
//   esxi::HostStorage storage(runner);
//   auto vib = esxi::MakeVibExecutor(runner);
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "esxi/esxcli_runner.h"
#include "esxi/ssh_executor.h"
#include "vsphere/client.h"
#include "vsphere/datastore_file.h"
#include "vsphere/esxcli.h"
#include "vsphere/fault.h"

namespace hoist::populators::xcopy {

class VsphereEsxcliRunner final : public esxi::EsxcliRunner {
 public:
  // `name` is the host's name in vCenter ("esx1.example.com"); both for messages.
  VsphereEsxcliRunner(vsphere::Esxcli& esxcli, vsphere::ManagedObjectReference host, std::string name)
      : esxcli_(esxcli), host_(std::move(host)), name_(std::move(name)) {}

  // A command whose parameters are all named runs with those names (no CLIInfo lookup); others are
  // mapped through the host's CLIInfo.
  esxi::EsxcliOutput Run(const esxi::EsxcliCommand& command) override {
    vsphere::EsxcliResult r;
    try {
      if (command.named()) {
        std::vector<vsphere::EsxcliArgument> args;
        for (const auto& o : command.options()) args.push_back({o.param, {o.value.value_or("true")}});
        r = esxcli_.Run(host_, command.Argv(), args);
      } else {
        r = esxcli_.Run(host_, command.Argv());
      }
    } catch (const vsphere::Fault& f) {
      // An esxcli CLI fault: the command ran and failed. NotFound for the handler object: the
      // namespace does not exist on the host (e.g. the vmkfstools VIB is missing).
      if (f.fault_type() == "VimEsxCLICLIFault")
        throw esxi::EsxcliError(esxi::EsxcliError::Kind::kCommandFailed, f.what(), f.fault_string());
      if (f.fault_type() == "NotFound")
        throw esxi::EsxcliError(esxi::EsxcliError::Kind::kUnknownCommand, f.what(), f.fault_string());
      throw;
    }
    esxi::EsxcliOutput out;
    out.rows = std::move(r.rows);
    out.list = std::move(r.list);
    out.scalar = std::move(r.scalar);
    return out;
  }

  std::string host() const override {
    return name_.empty() ? host_.ToString() : name_ + " (" + host_.ToString() + ")";
  }

 private:
  vsphere::Esxcli& esxcli_;
  vsphere::ManagedObjectReference host_;
  std::string name_;
};

// Uploads to the datastores of one datacenter (the ESXi host's).
class VsphereDatastoreUploader final : public esxi::DatastoreUploader {
 public:
  VsphereDatastoreUploader(vsphere::Client& client, std::string datacenter_path)
      : files_(client), datacenter_(std::move(datacenter_path)) {}

  void Upload(std::string_view datastore, std::string_view path, std::string_view content) override {
    files_.Put(datacenter_, datastore, path, content);
  }

 private:
  vsphere::DatastoreFiles files_;
  std::string datacenter_;
};

}  // namespace hoist::populators::xcopy

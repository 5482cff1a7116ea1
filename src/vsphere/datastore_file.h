#pragma once
// Files on datastores through vCenter's datastore file HTTP interface:
//   PUT|GET https://<vcenter>/folder/<path>?dcPath=<datacenter path>&dsName=<datastore>
// with the SOAP session's cookie (vSphere Web Services SDK, "Datastore file access"; privilege
// Datastore.FileManagement / "Low level file operations"). Used to put the vmkfstools-wrapper on a
// datastore (SSH method) and a VIB before `esxcli software vib install`.
#include <chrono>
#include <stop_token>
#include <string>
#include <string_view>

#include "vsphere/client.h"

namespace hoist::vsphere {

class DatastoreFiles {
 public:
  explicit DatastoreFiles(Client& client) : client_(client) {}

  // Writes `content` to `path` (relative to the datastore root; folders must exist). Throws
  // kPrecondition for 4xx (naming the datastore and what to check), kTransient for 5xx/transport.
  void Put(std::string_view datacenter_path, std::string_view datastore, std::string_view path,
           std::string_view content, std::stop_token cancel = {});
  // Reads a file. A missing file throws kPrecondition.
  std::string Get(std::string_view datacenter_path, std::string_view datastore, std::string_view path,
                  std::stop_token cancel = {});

  // Deletes a file (FileManager.DeleteDatastoreFile_Task; the HTTP interface has no DELETE).
  void Delete(const ManagedObjectReference& datacenter, std::string_view datastore, std::string_view path);

  // The Datacenter that holds `object` (a host, datastore or VM; a Datacenter is its own): walks `parent`.
  ManagedObjectReference DatacenterOf(const ManagedObjectReference& object);
  // The inventory path of the datacenter that holds `object`: its name and the folders above it
  // ("DC0", "Region A/DC1"), as dcPath wants it.
  std::string DatacenterPath(const ManagedObjectReference& object);

  // The URL path and query for a file (public for tests).
  static std::string FileUrlPath(std::string_view datacenter_path, std::string_view datastore,
                                 std::string_view path);

  std::chrono::milliseconds timeout{std::chrono::minutes(5)};

 private:
  Client& client_;
};

}  // namespace hoist::vsphere

#include "vsphere/datastore_file.h"

#include <vector>

#include "core/error.h"
#include "net/http.h"
#include "vsphere/inventory.h"
#include "vsphere/property.h"

namespace hoist::vsphere {
namespace {

// Each path segment percent-encoded, the slashes kept.
std::string EncodePath(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    auto slash = path.find('/');
    out += net::UrlEncode(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    out += '/';
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string What(std::string_view verb, std::string_view datastore, std::string_view path) {
  return std::string(verb) + " [" + std::string(datastore) + "] " + std::string(path);
}

void CheckStatus(const net::HttpResponse& resp, const std::string& what, const std::string& host) {
  if (resp.status >= 200 && resp.status < 300) return;
  std::string status =
      "HTTP " + std::to_string(resp.status) + " " + std::string(net::StatusText(resp.status));
  if (resp.status >= 500 || resp.status == 429 || resp.status == 408)
    throw TransientError(what + " through vCenter " + host + ": " + status);
  std::string hint;
  if (resp.status == 404) hint = " — check the datastore and datacenter names and that the folder exists";
  if (resp.status == 401 || resp.status == 403)
    hint =
        " — the vCenter user needs Datastore.Browse and Datastore.FileManagement (low level file operations)";
  throw PreconditionError(what + " through vCenter " + host + ": " + status + hint);
}

}  // namespace

std::string DatastoreFiles::FileUrlPath(std::string_view datacenter_path, std::string_view datastore,
                                        std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return "/folder/" + EncodePath(path) + "?dcPath=" + net::UrlEncode(datacenter_path) +
         "&dsName=" + net::UrlEncode(datastore);
}

void DatastoreFiles::Put(std::string_view datacenter_path, std::string_view datastore, std::string_view path,
                         std::string_view content, std::stop_token cancel) {
  std::string what = What("uploading", datastore, path);
  net::HttpResponse resp = client_.SessionHttp("PUT", FileUrlPath(datacenter_path, datastore, path),
                                               std::string(content), timeout, cancel);
  CheckStatus(resp, what, client_.endpoint());
}

std::string DatastoreFiles::Get(std::string_view datacenter_path, std::string_view datastore,
                                std::string_view path, std::stop_token cancel) {
  std::string what = What("downloading", datastore, path);
  net::HttpResponse resp =
      client_.SessionHttp("GET", FileUrlPath(datacenter_path, datastore, path), "", timeout, cancel);
  CheckStatus(resp, what, client_.endpoint());
  return std::move(resp.body);
}

ManagedObjectReference DatastoreFiles::DatacenterOf(const ManagedObjectReference& object) {
  ManagedObjectReference cur = object;
  for (int depth = 0; depth < 64 && cur.type != "Datacenter"; ++depth) {
    ObjectContent oc = RetrieveObject(client_, cur, {"parent"});
    const XmlNode* parent = oc.Get("parent");
    if (parent == nullptr || parent->text.empty()) break;
    cur = ParseMoref(*parent);
  }
  if (cur.type != "Datacenter") {
    throw PreconditionError("finding the datacenter of " + object.ToString() + " in vCenter " +
                            client_.endpoint() + ": it is in none");
  }
  return cur;
}

std::string DatastoreFiles::DatacenterPath(const ManagedObjectReference& object) {
  ManagedObjectReference cur = DatacenterOf(object);
  std::vector<std::string> names;
  ManagedObjectReference root = client_.service_content().root_folder;
  for (int depth = 0; depth < 64 && !cur.empty() && !(cur == root); ++depth) {
    ObjectContent oc = RetrieveObject(client_, cur, {"name", "parent"});
    names.push_back(oc.GetText("name"));
    const XmlNode* parent = oc.Get("parent");
    if (parent == nullptr || parent->text.empty()) break;
    cur = ParseMoref(*parent);
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) path += (path.empty() ? "" : "/") + *it;
  return path;
}

void DatastoreFiles::Delete(const ManagedObjectReference& datacenter, std::string_view datastore,
                            std::string_view path) {
  std::string name = "[" + std::string(datastore) + "] " + std::string(path);
  XmlNode r = client_.Call("DeleteDatastoreFile_Task", client_.service_content().file_manager,
                           TextXml("name", name) + MorefXml("datacenter", datacenter));
  const XmlNode* task = r.Child("returnval");
  if (task == nullptr) throw TransientError("DeleteDatastoreFile_Task " + name + ": no task in the answer");
  Inventory(client_).WaitForTask(ParseMoref(*task), timeout);
}

}  // namespace hoist::vsphere

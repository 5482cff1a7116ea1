#pragma once
// Debian's real Keystone and Glance on loopback, for the openstack populator's tests and
// `hoist lab demo openstack` (installed by scripts/setup.sh; nothing of them auto-starts). Start()
// lays out a directory with SQLite databases, fernet keys and config files, runs keystone-manage
// (db_sync, fernet/credential setup, bootstrap) and glance-manage db_sync in parallel, serves Keystone
// with uwsgi (one process, one thread: SQLite) and runs glance-api, then registers the image service
// in the catalog. About 15 s; start one per test program, not per test.
//
//   lab::OpenStack os({.dir = tmp});
//   os.Start();
//   std::string id = os.UploadImage("rhel9", "/path/disk.raw");
//   // populator: --endpoint=os.identity_url(), username=admin password=os.admin_password() ...
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace hoist::lab {

struct OpenStackOptions {
  std::string dir;  // everything lives here (a tmpfs directory keeps SQLite's fsyncs cheap)
  std::string admin_password = "hoist-lab-admin";
  std::string region = "RegionOne";
};

class OpenStack {
 public:
  explicit OpenStack(OpenStackOptions options);
  ~OpenStack();  // Stop()
  OpenStack(const OpenStack&) = delete;
  OpenStack& operator=(const OpenStack&) = delete;

  // Throws hoist::Error (kPrecondition) when keystone/glance are not installed, (kTransient) when a
  // service does not come up; the message names its log file.
  void Start();
  void Stop();

  std::string identity_url() const;  // http://127.0.0.1:<port>/v3
  std::string glance_url() const;    // http://127.0.0.1:<port>
  const std::string& admin_password() const { return options_.admin_password; }
  const std::string& region() const { return options_.region; }
  const std::string& dir() const { return options_.dir; }

  // An admin token (project admin in domain Default).
  std::string AdminToken();
  // A Keystone or Glance REST call with the admin token; `body` is JSON text ("" for none). Returns
  // the JSON body (null when empty). Throws hoist::Error on statuses other than 2xx.
  nlohmann::json Keystone(const std::string& method, const std::string& path, const std::string& body = "");
  nlohmann::json Glance(const std::string& method, const std::string& path, const std::string& body = "");

  // Creates a raw image from a local file (disk_format raw, container_format bare), uploads the data
  // and waits until it is active; returns its id.
  std::string UploadImage(const std::string& name, const std::string& file);
  // Creates an image record without data (status queued).
  std::string CreateEmptyImage(const std::string& name);
  // Where Glance's file store keeps an image's bytes (tests corrupt it to make Glance serve wrong data).
  std::string ImageDataPath(const std::string& image_id) const;
  // Points the catalog's image endpoints (public, internal, admin) at `url` (e.g. a fault injector in
  // front of Glance), or back at Glance with "".
  void SetImageEndpoint(const std::string& url);

 private:
  pid_t Spawn(const std::vector<std::string>& argv, const std::string& log,
              const std::vector<std::string>& env);
  void RunTool(const std::vector<std::string>& argv, const std::string& log);
  void WaitHttp(const std::string& url, pid_t pid, const std::string& log);

  OpenStackOptions options_;
  uint16_t keystone_port_ = 0;
  uint16_t glance_port_ = 0;
  pid_t keystone_pid_ = -1;
  pid_t glance_pid_ = -1;
  std::string image_service_id_;
  std::string token_;
};

}  // namespace hoist::lab

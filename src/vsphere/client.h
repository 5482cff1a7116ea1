#pragma once
// A vim25 SOAP client: one session with vCenter (or an ESXi host), calls as XML in and out.
//
//   Client c({.url = "vc.example.com", .username = u, .password = p});
//   c.Login();                                  // RetrieveServiceContent + SessionManager.Login
//   XmlNode r = c.Call("CurrentTime", c.service_instance());
//
// The session lives in the `vmware_soap_session` cookie. A call answered with NotAuthenticated logs in
// again once and is repeated (sessions expire after idle time or are terminated by an administrator);
// a keep-alive thread calls CurrentTime when the session has been idle for `keepalive_interval`.
// Credentials never reach a log or an error message. Every HTTP round trip is counted.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <stop_token>
#include <string_view>

#include "net/http.h"
#include "net/http_client.h"
#include "vsphere/xml.h"

namespace hoist::vsphere {

struct ManagedObjectReference {
  std::string type;   // "VirtualMachine"
  std::string value;  // "vm-123"

  bool empty() const { return value.empty(); }
  // "VirtualMachine:vm-123" — the form Forklift uses in object names and logs.
  std::string ToString() const { return type + ":" + value; }
  bool operator==(const ManagedObjectReference&) const = default;
  bool operator<(const ManagedObjectReference& o) const {
    return type != o.type ? type < o.type : value < o.value;
  }
};

// Reads `<x type="T">v</x>`.
ManagedObjectReference ParseMoref(const XmlNode& node);
// Writes `<element type="T">v</element>` (escaped).
std::string MorefXml(std::string_view element, const ManagedObjectReference& ref);
// Writes `<element>text</element>` (escaped).
std::string TextXml(std::string_view element, std::string_view text);

// The parts of ServiceContent the callers use.
struct ServiceContent {
  ManagedObjectReference root_folder, property_collector, session_manager, search_index, virtual_disk_manager,
      file_manager;
  std::string api_type;     // "VirtualCenter" or "HostAgent"
  std::string api_version;  // "8.0.2.0"
  std::string full_name;    // "VMware vCenter Server 8.0.2 build-…"
  std::string instance_uuid;
};

// One SOAP request body (the whole envelope) as sent on the wire; public for tests.
std::string BuildEnvelope(std::string_view method, const ManagedObjectReference& this_ref,
                          std::string_view params_xml);

// How SOAP envelopes travel; the default is net::HttpClient. Tests substitute it.
class SoapTransport {
 public:
  virtual ~SoapTransport() = default;
  // Sends one POST. Transport failures throw hoist::Error; HTTP statuses are returned.
  virtual net::HttpResponse Post(const net::HttpRequest& request) = 0;
};

std::unique_ptr<SoapTransport> MakeHttpSoapTransport(const net::TlsClientOptions& tls);

struct ClientOptions {
  // "https://vc.example.com/sdk", "https://vc.example.com", or a bare "vc.example.com" (https and /sdk
  // are added, as govmomi does). User info in the URL is dropped (used as credentials only when the
  // fields below are empty).
  std::string url;
  std::string username;
  std::string password;
  net::TlsClientOptions tls;  // verified unless tls.insecure_skip_verify
  std::chrono::milliseconds call_timeout{std::chrono::minutes(2)};
  // Idle time after which the keep-alive thread calls CurrentTime; zero disables it.
  std::chrono::milliseconds keepalive_interval{std::chrono::minutes(5)};
};

// The endpoint URL that `url` stands for ("vc" → "https://vc/sdk").
std::string NormalizeSdkUrl(std::string_view url);

class Client {
 public:
  explicit Client(ClientOptions options, std::unique_ptr<SoapTransport> transport = nullptr);
  ~Client();  // stops the keep-alive thread; logs out when logged in (best effort)
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // RetrieveServiceContent (once) and SessionManager.Login. InvalidLogin → Fault(kPrecondition).
  void Login();
  // SessionManager.Logout; errors are logged, not thrown.
  void Logout();
  bool logged_in() const;

  // Requires a prior Login (or RetrieveServiceContent through it).
  const ServiceContent& service_content() const { return content_; }
  static ManagedObjectReference service_instance() { return {"ServiceInstance", "ServiceInstance"}; }
  // UserSession.key of the current session (needed for TerminateSession). Treat as a secret.
  std::string session_key() const;
  const std::string& endpoint() const { return url_; }

  // Calls `method` on `this_ref` with `params_xml` (already-encoded child elements after `_this`) and
  // returns the `<methodResponse>` element. SOAP faults throw Fault; a NotAuthenticated fault makes the
  // client log in again and repeat the call once.
  XmlNode Call(std::string_view method, const ManagedObjectReference& this_ref,
               std::string_view params_xml = "");

  // For replies that report a lost session without a fault (PropertyCollector puts NotAuthenticated in
  // missingSet): logs in again unless the session was renewed since `seen_generation` was read.
  uint64_t session_generation() const;
  void Relogin(uint64_t seen_generation);

  // A plain HTTP request to the same server with the session's cookie, for what vCenter serves
  // outside SOAP (datastore files under /folder). `path_and_query` starts with '/'. A 401 logs in
  // again once and repeats the request. Transport failures throw; HTTP statuses are returned.
  net::HttpResponse SessionHttp(std::string method, std::string_view path_and_query, std::string body,
                                std::chrono::milliseconds timeout, std::stop_token cancel = {});

  // HTTP round trips made so far (all calls, logins and keep-alives included).
  uint64_t round_trips() const { return round_trips_.load(); }
  // Logins made so far (the first one and every re-login).
  uint64_t logins() const { return logins_.load(); }

 private:
  XmlNode RoundTrip(std::string_view method, const ManagedObjectReference& this_ref,
                    std::string_view params_xml);
  void LoginLocked();
  void KeepAliveLoop();

  ClientOptions options_;
  std::string url_;
  std::string host_;  // for messages
  std::unique_ptr<SoapTransport> transport_;
  ServiceContent content_;
  bool have_content_ = false;

  mutable std::mutex mu_;  // cookie_, session_key_, generation_, last_use_
  std::string cookie_;
  std::string session_key_;
  uint64_t generation_ = 0;  // bumped by every login
  std::chrono::steady_clock::time_point last_use_;
  std::mutex login_mu_;  // one login at a time

  std::atomic<uint64_t> round_trips_{0};
  std::atomic<uint64_t> logins_{0};

  struct KeepAlive;
  std::unique_ptr<KeepAlive> keepalive_;
};

}  // namespace hoist::vsphere

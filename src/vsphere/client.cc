#include "vsphere/client.h"

#include <condition_variable>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "vsphere/fault.h"

namespace hoist::vsphere {
namespace {

constexpr std::string_view kComponent = "vsphere";
constexpr std::string_view kCookieName = "vmware_soap_session";
constexpr std::string_view kDefaultApiVersion = "6.7";

class HttpSoapTransport : public SoapTransport {
 public:
  explicit HttpSoapTransport(const net::TlsClientOptions& tls) : http_(MakeOptions(tls)) {}
  net::HttpResponse Post(const net::HttpRequest& request) override { return http_.Do(request); }

 private:
  static net::HttpClientOptions MakeOptions(const net::TlsClientOptions& tls) {
    net::HttpClientOptions o;
    o.tls = tls;
    o.max_pooled_connections = 4;
    return o;
  }
  net::HttpClient http_;
};

// "vmware_soap_session=\"abc\"; Path=/; HttpOnly" → "\"abc\"" (quotes kept: the server wants them back).
std::string CookieValue(std::string_view set_cookie) {
  auto semi = set_cookie.find(';');
  std::string_view pair = set_cookie.substr(0, semi);
  auto eq = pair.find('=');
  if (eq == std::string_view::npos) return "";
  std::string_view name = pair.substr(0, eq);
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  if (name != kCookieName) return "";
  return std::string(pair.substr(eq + 1));
}

std::string HostOf(std::string_view url) {
  auto scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  return std::string(rest.substr(0, rest.find('/')));
}

}  // namespace

struct Client::KeepAlive {
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
};

ManagedObjectReference ParseMoref(const XmlNode& node) {
  const std::string* type = node.Attribute("type");
  return {type ? *type : std::string(), node.text};
}

std::string MorefXml(std::string_view element, const ManagedObjectReference& ref) {
  std::string out = "<";
  out += element;
  out += " type=\"" + XmlEscape(ref.type) + "\">" + XmlEscape(ref.value) + "</";
  out += element;
  out += ">";
  return out;
}

std::string TextXml(std::string_view element, std::string_view text) {
  std::string out = "<";
  out += element;
  out += ">" + XmlEscape(text) + "</";
  out += element;
  out += ">";
  return out;
}

std::string BuildEnvelope(std::string_view method, const ManagedObjectReference& this_ref,
                          std::string_view params_xml) {
  std::string out;
  out.reserve(400 + params_xml.size());
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
  out += "<soapenv:Envelope xmlns:soapenv=\"";
  out += kSoapEnvNs;
  out += "\" xmlns:xsd=\"";
  out += kXsdNs;
  out += "\" xmlns:xsi=\"";
  out += kXsiNs;
  out += "\"><soapenv:Body><";
  out += method;
  out += " xmlns=\"urn:vim25\">";
  out += MorefXml("_this", this_ref);
  out += params_xml;
  out += "</";
  out += method;
  out += "></soapenv:Body></soapenv:Envelope>";
  return out;
}

std::string NormalizeSdkUrl(std::string_view url) {
  std::string u(url);
  if (u.find("://") == std::string::npos) u = "https://" + u;
  // Drop user info: credentials come from the options, never from a URL that may be logged.
  auto scheme_end = u.find("://") + 3;
  auto path_start = u.find('/', scheme_end);
  auto at = u.find('@', scheme_end);
  if (at != std::string::npos && (path_start == std::string::npos || at < path_start)) {
    u.erase(scheme_end, at + 1 - scheme_end);
    path_start = u.find('/', scheme_end);
  }
  if (path_start == std::string::npos || u.substr(path_start) == "/") {
    if (path_start != std::string::npos) u.erase(path_start);
    u += "/sdk";
  }
  return u;
}

Client::Client(ClientOptions options, std::unique_ptr<SoapTransport> transport)
    : options_(std::move(options)), transport_(std::move(transport)) {
  // Credentials embedded in the URL (vcsim prints "http://user:pass@127.0.0.1:port/sdk").
  std::string raw = options_.url;
  auto scheme_end = raw.find("://");
  size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  auto at = raw.find('@', start);
  auto slash = raw.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash) && options_.username.empty()) {
    std::string info = raw.substr(start, at - start);
    auto colon = info.find(':');
    options_.username = net::UrlDecode(info.substr(0, colon), false);
    if (colon != std::string::npos) options_.password = net::UrlDecode(info.substr(colon + 1), false);
  }
  url_ = NormalizeSdkUrl(raw);
  host_ = HostOf(url_);
  if (!transport_) transport_ = MakeHttpSoapTransport(options_.tls);
  last_use_ = std::chrono::steady_clock::now();
}

Client::~Client() {
  if (keepalive_) {
    {
      std::lock_guard<std::mutex> l(keepalive_->mu);
      keepalive_->stop = true;
    }
    keepalive_->cv.notify_all();
    if (keepalive_->thread.joinable()) keepalive_->thread.join();
  }
  if (logged_in()) Logout();
}

std::unique_ptr<SoapTransport> MakeHttpSoapTransport(const net::TlsClientOptions& tls) {
  return std::make_unique<HttpSoapTransport>(tls);
}

bool Client::logged_in() const {
  std::lock_guard<std::mutex> l(mu_);
  return !session_key_.empty();
}

std::string Client::session_key() const {
  std::lock_guard<std::mutex> l(mu_);
  return session_key_;
}

XmlNode Client::RoundTrip(std::string_view method, const ManagedObjectReference& this_ref,
                          std::string_view params_xml) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.timeout = options_.call_timeout;
  req.body = BuildEnvelope(method, this_ref, params_xml);
  req.headers.Set("Content-Type", "text/xml; charset=utf-8");
  req.headers.Set("SOAPAction", "urn:vim25/" + (content_.api_version.empty() ? std::string(kDefaultApiVersion)
                                                                             : content_.api_version));
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!cookie_.empty()) req.headers.Set("Cookie", std::string(kCookieName) + "=" + cookie_);
    last_use_ = std::chrono::steady_clock::now();
  }
  std::string what = std::string(method) + " on " + this_ref.ToString() + " at " + host_;
  round_trips_.fetch_add(1);
  net::HttpResponse resp;
  try {
    resp = transport_->Post(req);
  } catch (const Error& e) {
    throw Error(e.error_class(), "vSphere " + what + ": " + e.what());
  }
  for (const auto& [name, value] : resp.headers.items()) {
    if (net::EqualsIgnoreCase(name, "Set-Cookie")) {
      std::string v = CookieValue(value);
      if (!v.empty()) {
        std::lock_guard<std::mutex> l(mu_);
        cookie_ = v;
      }
    }
  }

  std::optional<XmlNode> doc;
  if (!resp.body.empty() && resp.body.find('<') != std::string::npos) {
    try {
      doc = ParseXml(resp.body);
    } catch (const Error&) {
      if (resp.status == 200) throw;
    }
  }
  const XmlNode* body = nullptr;
  if (doc && doc->name == "Envelope" && doc->ns == kSoapEnvNs) body = doc->Child("Body");
  if (body != nullptr && !body->children.empty()) {
    const XmlNode& first = body->children.front();
    if (first.name == "Fault" && first.ns == kSoapEnvNs)
      throw MakeFault("vSphere " + what, ParseSoapFault(first));
    if (resp.status == 200) return first;
  }
  std::string status = "HTTP " + std::to_string(resp.status);
  if (resp.status == 200)
    throw TransientError("vSphere " + what + ": " + status + " without a SOAP response body");
  if (resp.status >= 500 || resp.status == 429 || resp.status == 408) {
    throw TransientError("vSphere " + what + ": " + status + " " + std::string(net::StatusText(resp.status)));
  }
  throw PreconditionError("vSphere " + what + ": " + status + " " +
                          std::string(net::StatusText(resp.status)) +
                          " — check the vCenter address (the SOAP endpoint is https://<vcenter>/sdk)");
}

XmlNode Client::Call(std::string_view method, const ManagedObjectReference& this_ref,
                     std::string_view params_xml) {
  uint64_t generation;
  bool in_session;
  {
    std::lock_guard<std::mutex> l(mu_);
    generation = generation_;
    in_session = !session_key_.empty();
  }
  try {
    return RoundTrip(method, this_ref, params_xml);
  } catch (const Fault& f) {
    if (f.fault_type() != "NotAuthenticated" || method == "Login" || !in_session) throw;
    log::Info(kComponent, "vCenter session is no longer valid, logging in again",
              {{"host", host_}, {"method", std::string(method)}});
    Relogin(generation);
    return RoundTrip(method, this_ref, params_xml);
  }
}

net::HttpResponse Client::SessionHttp(std::string method, std::string_view path_and_query, std::string body,
                                      std::chrono::milliseconds timeout, std::stop_token cancel) {
  std::string base = url_;
  if (base.ends_with("/sdk")) base.resize(base.size() - 4);
  for (int attempt = 0;; ++attempt) {
    net::HttpRequest req;
    req.method = method;
    req.url = base + std::string(path_and_query);
    req.body = body;
    req.timeout = timeout;
    req.cancel = cancel;
    req.headers.Set("Content-Type", "application/octet-stream");
    uint64_t generation;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!cookie_.empty()) req.headers.Set("Cookie", std::string(kCookieName) + "=" + cookie_);
      last_use_ = std::chrono::steady_clock::now();
      generation = generation_;
    }
    round_trips_.fetch_add(1);
    net::HttpResponse resp;
    try {
      resp = transport_->Post(req);
    } catch (const Error& e) {
      throw Error(e.error_class(), "vSphere " + method + " " + std::string(path_and_query.substr(0, path_and_query.find('?'))) +
                                       " at " + host_ + ": " + e.what());
    }
    if (resp.status == 401 && attempt == 0 && logged_in()) {
      log::Info(kComponent, "vCenter session is no longer valid, logging in again", {{"host", host_}});
      Relogin(generation);
      continue;
    }
    return resp;
  }
}

uint64_t Client::session_generation() const {
  std::lock_guard<std::mutex> l(mu_);
  return generation_;
}

void Client::Relogin(uint64_t seen_generation) {
  std::lock_guard<std::mutex> l(login_mu_);
  {
    std::lock_guard<std::mutex> m(mu_);
    if (session_key_.empty() || generation_ != seen_generation) return;  // logged out, or already renewed
  }
  LoginLocked();
}

void Client::Login() {
  {
    std::lock_guard<std::mutex> l(login_mu_);
    LoginLocked();
  }
  if (!keepalive_ && options_.keepalive_interval.count() > 0) {
    keepalive_ = std::make_unique<KeepAlive>();
    keepalive_->thread = std::thread([this] { KeepAliveLoop(); });
  }
}

void Client::LoginLocked() {
  if (!have_content_) {
    XmlNode r = RoundTrip("RetrieveServiceContent", service_instance(), "");
    const XmlNode* rv = r.Child("returnval");
    if (rv == nullptr) throw TransientError("vSphere RetrieveServiceContent at " + host_ + ": no returnval");
    auto ref = [&](std::string_view name) {
      const XmlNode* n = rv->Child(name);
      return n ? ParseMoref(*n) : ManagedObjectReference{};
    };
    content_.root_folder = ref("rootFolder");
    content_.property_collector = ref("propertyCollector");
    content_.session_manager = ref("sessionManager");
    content_.search_index = ref("searchIndex");
    content_.virtual_disk_manager = ref("virtualDiskManager");
    content_.file_manager = ref("fileManager");
    if (const XmlNode* about = rv->Child("about")) {
      content_.api_type = about->ChildText("apiType");
      content_.api_version = about->ChildText("apiVersion");
      content_.full_name = about->ChildText("fullName");
      content_.instance_uuid = about->ChildText("instanceUuid");
    }
    if (content_.session_manager.empty()) {
      throw PreconditionError("vSphere endpoint " + host_ +
                              " has no SessionManager; is this a vCenter or ESXi SDK URL?");
    }
    have_content_ = true;
  }
  if (options_.username.empty()) {
    throw PreconditionError("no vCenter user name given for " + host_ +
                            " — set GOVMOMI_USERNAME in the secret");
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    cookie_.clear();  // a fresh session, not the terminated one
  }
  std::string params = TextXml("userName", options_.username) + TextXml("password", options_.password);
  XmlNode r = RoundTrip("Login", content_.session_manager, params);
  std::string key;
  if (const XmlNode* rv = r.Child("returnval")) key = rv->ChildText("key");
  {
    std::lock_guard<std::mutex> l(mu_);
    session_key_ = key.empty() ? "unknown" : key;
    ++generation_;
  }
  logins_.fetch_add(1);
  log::Info(kComponent, "logged in to vSphere",
            {{"host", host_}, {"api", content_.api_type}, {"version", content_.api_version}});
}

void Client::Logout() {
  if (!logged_in()) return;
  try {
    RoundTrip("Logout", content_.session_manager, "");
  } catch (const Error& e) {
    log::Warn(kComponent, "vSphere logout failed", {{"host", host_}, {"error", e.what()}});
  }
  std::lock_guard<std::mutex> l(mu_);
  session_key_.clear();
  cookie_.clear();
}

void Client::KeepAliveLoop() {
  const auto interval = options_.keepalive_interval;
  std::unique_lock<std::mutex> lk(keepalive_->mu);
  while (!keepalive_->stop) {
    std::chrono::steady_clock::time_point due;
    {
      std::lock_guard<std::mutex> l(mu_);
      due = last_use_ + interval;
    }
    if (std::chrono::steady_clock::now() < due) {
      keepalive_->cv.wait_until(lk, due, [&] { return keepalive_->stop; });
      continue;
    }
    if (!logged_in()) {
      keepalive_->cv.wait_for(lk, interval, [&] { return keepalive_->stop; });
      continue;
    }
    lk.unlock();
    try {
      Call("CurrentTime", service_instance());
    } catch (const Error& e) {
      log::Warn(kComponent, "vSphere keep-alive failed", {{"host", host_}, {"error", e.what()}});
      std::lock_guard<std::mutex> l(mu_);
      last_use_ = std::chrono::steady_clock::now();  // try again after one interval, not in a tight loop
    }
    lk.lock();
  }
}

}  // namespace hoist::vsphere

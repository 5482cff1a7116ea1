#pragma once
// An in-memory vim25 endpoint for unit tests: answers SOAP envelopes the way vCenter does (session
// cookie, NotAuthenticated without it, faults as soapenv:Fault with a typed detail), with per-method
// handlers supplied by each test. Replies are written in the shapes of VMware's vim25 reference.
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vsphere/client.h"
#include "vsphere/xml.h"

namespace hoist::vsphere::testing {

// Envelope header shared by replies: `style_vcsim` declares the XML Schema instance namespace with
// vcsim's own prefix on the element that uses it instead of `xsi` on the envelope.
inline std::string ReplyEnvelope(const std::string& body) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<soapenv:Envelope xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" "
         "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
         "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>" +
         body + "</soapenv:Body></soapenv:Envelope>";
}

inline std::string Response(const std::string& method, const std::string& inner) {
  return "<" + method + "Response xmlns=\"urn:vim25\">" + inner + "</" + method + "Response>";
}

inline std::string FaultBody(const std::string& type, const std::string& message,
                             const std::string& detail_inner = "") {
  return "<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>" + message +
         "</faultstring><detail><" + type + "Fault xmlns=\"urn:vim25\" xsi:type=\"" + type + "\">" +
         detail_inner + "</" + type + "Fault></detail></soapenv:Fault>";
}

struct FakeReply {
  int status = 200;
  std::string body;  // full envelope
};

class FakeVcenter : public SoapTransport {
 public:
  // Returns the inner Body XML (a Response(...) or a FaultBody(...)); a FaultBody is sent with HTTP 500.
  using Handler = std::function<std::string(const XmlNode& call)>;

  std::string password = "secret";
  // Answer RetrievePropertiesEx without a valid session as vcsim does: the objects, with every
  // requested property in missingSet carrying a NotAuthenticated fault (instead of a SOAP fault).
  bool missing_set_when_unauthenticated = false;

  void On(const std::string& method, Handler h) {
    std::lock_guard<std::mutex> l(mu_);
    handlers_[method] = std::move(h);
  }
  // Invalidates every session, as an administrator terminating it would.
  void TerminateSessions() {
    std::lock_guard<std::mutex> l(mu_);
    sessions_.clear();
  }
  std::vector<std::string> methods() const {
    std::lock_guard<std::mutex> l(mu_);
    return methods_;
  }
  std::vector<net::HttpRequest> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  size_t Count(const std::string& method) const {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (const auto& m : methods_) n += m == method;
    return n;
  }
  // Replaces the next reply with a raw HTTP answer (status + body) once.
  void NextRaw(int status, std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    raw_.push_back({status, std::move(body)});
  }

  net::HttpResponse Post(const net::HttpRequest& req) override {
    std::unique_lock<std::mutex> l(mu_);
    requests_.push_back(req);
    net::HttpResponse resp;
    if (!raw_.empty()) {
      resp.status = raw_.front().status;
      resp.body = raw_.front().body;
      raw_.erase(raw_.begin());
      return resp;
    }
    XmlNode env = ParseXml(req.body);
    const XmlNode& call = env.Child("Body")->children.front();
    methods_.push_back(call.name);
    std::string cookie = req.headers.Get("Cookie");
    std::string session = cookie.rfind("vmware_soap_session=", 0) == 0 ? cookie.substr(20) : "";
    std::string inner;
    if (call.name == "RetrieveServiceContent") {
      inner =
          Response("RetrieveServiceContent",
                   "<returnval><rootFolder type=\"Folder\">group-d1</rootFolder>"
                   "<propertyCollector type=\"PropertyCollector\">propertyCollector</propertyCollector>"
                   "<about><fullName>VMware vCenter Server 8.0.2</fullName><apiType>VirtualCenter</apiType>"
                   "<apiVersion>8.0.2.0</apiVersion><instanceUuid>abc</instanceUuid></about>"
                   "<sessionManager type=\"SessionManager\">SessionManager</sessionManager>"
                   "<searchIndex type=\"SearchIndex\">SearchIndex</searchIndex></returnval>");
    } else if (call.name == "Login") {
      if (call.ChildText("password") != password) {
        inner = FaultBody("InvalidLogin", "Cannot complete login due to an incorrect user name or password.");
      } else {
        std::string key = "session-" + std::to_string(++session_counter_);
        sessions_.push_back(key);
        resp.headers.Add("Set-Cookie", "vmware_soap_session=\"" + key + "\"; Path=/; HttpOnly; Secure;");
        inner = Response("Login", "<returnval><key>" + key + "</key><userName>" + call.ChildText("userName") +
                                      "</userName></returnval>");
      }
    } else if (!Valid(session) && missing_set_when_unauthenticated && call.name == "RetrievePropertiesEx") {
      std::string objects;
      for (const XmlNode* os : call.Find("specSet")->Children("objectSet")) {
        const XmlNode* obj = os->Child("obj");
        objects += "<objects><obj type=\"" + *obj->Attribute("type") + "\">" + obj->text + "</obj>";
        for (const XmlNode* path : call.Find("specSet/propSet")->Children("pathSet")) {
          objects += "<missingSet><path>" + path->text +
                     "</path><fault><fault xsi:type=\"NotAuthenticated\"><object type=\"" +
                     *obj->Attribute("type") + "\">" + obj->text +
                     "</object><privilegeId>System.Read</privilegeId></fault><localizedMessage></"
                     "localizedMessage></fault></missingSet>";
        }
        objects += "</objects>";
      }
      inner = Response("RetrievePropertiesEx", "<returnval>" + objects + "</returnval>");
    } else if (!Valid(session)) {
      inner = FaultBody("NotAuthenticated", "The session is not authenticated.",
                        "<object type=\"Folder\">group-d1</object><privilegeId>System.View</privilegeId>");
    } else if (call.name == "Logout") {
      inner = Response("Logout", "");
    } else if (call.name == "CurrentTime") {
      inner = Response("CurrentTime", "<returnval>2026-11-22T00:00:00Z</returnval>");
    } else {
      auto it = handlers_.find(call.name);
      if (it == handlers_.end()) {
        inner = FaultBody("MethodNotFound", "Method not found: " + call.name);
      } else {
        Handler h = it->second;
        l.unlock();
        inner = h(call);
        l.lock();
      }
    }
    resp.status = inner.rfind("<soapenv:Fault>", 0) == 0 ? 500 : 200;
    resp.body = ReplyEnvelope(inner);
    resp.headers.Add("Content-Type", "text/xml; charset=utf-8");
    return resp;
  }

 private:
  bool Valid(const std::string& cookie) const {
    for (const auto& s : sessions_) {
      if (cookie == "\"" + s + "\"") return true;
    }
    return false;
  }

  mutable std::mutex mu_;
  std::map<std::string, Handler> handlers_;
  std::vector<std::string> methods_;
  std::vector<net::HttpRequest> requests_;
  std::vector<std::string> sessions_;
  std::vector<FakeReply> raw_;
  int session_counter_ = 0;
};

}  // namespace hoist::vsphere::testing

namespace hoist::vsphere::testing {

// Options for a client of a FakeVcenter: the fake's password, no keep-alive thread.
inline ClientOptions TestOptions() {
  ClientOptions o;
  o.url = "vc";
  o.username = "u";
  o.password = "secret";
  o.keepalive_interval = std::chrono::milliseconds(0);
  return o;
}

}  // namespace hoist::vsphere::testing

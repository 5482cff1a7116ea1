#pragma once
// The part of a StorageArray the session-based vendors (Primera/3PAR, Vantara, PowerFlex) share: the
// REST client, and the session on the array — made on the first call that needs it, made again when
// the array says it expired (RestClient asks for that), and given back when the array object goes,
// because sessions count against the array's limit. The vendor says how to log in, how a request
// carries the session and how to log out.
#include <functional>
#include <mutex>
#include <string>

#include "storage/array.h"
#include "storage/common/rest.h"

namespace hoist::storage::common {

class SessionArray : public StorageArray, protected RestVendor {
 public:
  std::string Describe() const override;  // "<vendor> <host>"

 protected:
  SessionArray(const ArrayConfig& config, RestOptions options);

  // What a login gives: the token requests carry, and the session's id where logging out needs it.
  struct Session {
    std::string token;
    std::string id;
  };
  // Logs in (an unauthenticated call through rest_). Called with the session lock held.
  virtual Session Login() = 0;
  // Adds the session to a request.
  virtual void Present(net::HttpRequest& request, const Session& session) = 0;
  // Gives the session back, when there is one: one attempt of `logout(session)`, failures only logged.
  // Vendors call it from their destructor (the base's destructor cannot reach the vendor's request).
  void EndSession(const std::function<Request(const Session&)>& logout);

  // RestVendor: the session part.
  void Authorize(net::HttpRequest& request) final;
  void Relogin() final;

  const std::string username_;
  const std::string password_;
  RestClient rest_;

 private:
  std::mutex session_mu_;
  Session session_;
};

}  // namespace hoist::storage::common

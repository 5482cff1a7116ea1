#include "storage/common/session_array.h"

#include "core/log.h"
#include "storage/config.h"

namespace hoist::storage::common {

SessionArray::SessionArray(const ArrayConfig& config, RestOptions options)
    : username_(config.username), password_(config.password), rest_(std::move(options), *this) {}

std::string SessionArray::Describe() const { return rest_.vendor() + " " + rest_.host(); }

void SessionArray::Authorize(net::HttpRequest& request) {
  std::lock_guard lock(session_mu_);
  if (session_.token.empty()) session_ = Login();
  Present(request, session_);
}

void SessionArray::Relogin() {
  std::lock_guard lock(session_mu_);
  session_ = Session{};
}

void SessionArray::EndSession(const std::function<Request(const Session&)>& logout) {
  Session session;
  {
    std::lock_guard lock(session_mu_);
    session = session_;
  }
  if (session.token.empty()) return;
  try {
    Request r = logout(session);
    r.retry = false;
    rest_.Call(r, "logging out");
  } catch (const std::exception& e) {
    log::Debug("storage", "logging out failed", {{"array", Describe()}, {"error", e.what()}});
  }
}

}  // namespace hoist::storage::common

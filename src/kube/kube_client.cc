#include "kube/kube_client.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>

#include "core/error.h"
#include "core/log.h"
#include "kube/errors.h"
#include "kube/objects.h"

namespace hoist::kube {

namespace {

constexpr int64_t kDefaultPageSize = 500;  // client-go's pager default

// resourceVersions are opaque, but every API server in practice uses increasing integers (etcd
// revisions); only then are they compared, to drop events replayed after a reconnect.
bool ParseVersion(std::string_view rv, uint64_t* out) {
  if (rv.empty()) return false;
  auto [ptr, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), *out);
  return ec == std::errc() && ptr == rv.data() + rv.size();
}

}  // namespace

std::string_view WatchEventTypeName(WatchEvent::Type type) {
  switch (type) {
    case WatchEvent::Type::kAdded:
      return "ADDED";
    case WatchEvent::Type::kModified:
      return "MODIFIED";
    case WatchEvent::Type::kDeleted:
      return "DELETED";
    case WatchEvent::Type::kBookmark:
      return "BOOKMARK";
    case WatchEvent::Type::kError:
      return "ERROR";
  }
  return "ERROR";
}

bool SleepFor(std::chrono::milliseconds d, std::stop_token stop) {
  if (stop.stop_requested()) return false;
  if (d.count() <= 0) return true;
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock<std::mutex> lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

ListResult ListAll(KubeClient& client, const ResourceType& type, std::string_view ns, ListOptions options) {
  if (options.limit <= 0) options.limit = kDefaultPageSize;
  const std::string first_continue = options.continue_token;
  ListResult all;
  for (int restarts = 0;;) {
    ListResult page;
    try {
      page = client.List(type, ns, options);
    } catch (const ApiError& e) {
      // The continue token expired (the snapshot was compacted): start again from the beginning,
      // dropping what was gathered so that no object is returned twice.
      if (!IsGone(e) || options.continue_token.empty() || ++restarts > 3) throw;
      log::Info("kube", "list continuation expired; listing again from the start",
                {{"resource", type.Name()}});
      all = ListResult();
      options.continue_token = first_continue;
      continue;
    }
    if (all.items.empty()) {
      all.items = std::move(page.items);
    } else {
      all.items.insert(all.items.end(), std::make_move_iterator(page.items.begin()),
                       std::make_move_iterator(page.items.end()));
    }
    if (all.resource_version.empty()) all.resource_version = page.resource_version;
    if (page.continue_token.empty()) break;
    options.continue_token = page.continue_token;
  }
  return all;
}

void WatchWithResume(KubeClient& client, const ResourceType& type, std::string_view ns, WatchOptions options,
                     const WatchHandler& handler, std::stop_token stop) {
  const std::chrono::milliseconds kInitialBackoff(100);
  const std::chrono::milliseconds kMaxBackoff(30000);
  std::chrono::milliseconds backoff = kInitialBackoff;
  std::string last_rv = options.resource_version;
  while (!stop.stop_requested()) {
    options.resource_version = last_rv;
    bool handler_stopped = false;
    bool got_events = false;
    std::chrono::milliseconds wait(0);
    try {
      client.WatchStream(
          type, ns, options,
          [&](const WatchEvent& ev) {
            got_events = true;
            std::string rv = ResourceVersion(ev.object);
            uint64_t seen = 0, current = 0;
            if (ev.type != WatchEvent::Type::kBookmark && ParseVersion(rv, &current) &&
                ParseVersion(last_rv, &seen) && current <= seen) {
              return true;  // already delivered before a reconnect
            }
            if (!rv.empty()) last_rv = rv;
            if (ev.type == WatchEvent::Type::kBookmark) return true;
            if (!handler(ev)) {
              handler_stopped = true;
              return false;
            }
            return true;
          },
          stop);
      if (handler_stopped) return;
      // The server closed the stream (timeoutSeconds or restart). Reconnect at once if it was
      // useful, after a short pause if it ended without a single event.
      if (got_events)
        backoff = kInitialBackoff;
      else
        wait = kInitialBackoff;
    } catch (const ApiError& e) {
      if (IsGone(e) || !e.retryable()) throw;
      wait = std::max(backoff, e.retry_after());
      backoff = std::min(backoff * 2, kMaxBackoff);
      log::Warn("kube", "watch failed; reconnecting",
                {{"resource", type.Name()}, {"error", e.what()}, {"retry_ms", wait.count()}});
    } catch (const Error& e) {
      if (e.error_class() != ErrorClass::kTransient) throw;
      wait = backoff;
      backoff = std::min(backoff * 2, kMaxBackoff);
      log::Warn("kube", "watch connection lost; reconnecting",
                {{"resource", type.Name()}, {"error", e.what()}, {"retry_ms", wait.count()}});
    }
    if (!SleepFor(wait, stop)) return;
  }
}

}  // namespace hoist::kube

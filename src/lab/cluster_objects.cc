#include "lab/cluster_objects.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/log.h"

namespace hoist::lab {

ClusterTypes ClusterTypes::From(const Store& store) {
  ClusterTypes t;
  t.pods = store.MustType("", "pods");
  t.pvcs = store.MustType("", "persistentvolumeclaims");
  t.pvs = store.MustType("", "persistentvolumes");
  t.classes = store.MustType("storage.k8s.io", "storageclasses");
  t.nodes = store.MustType("", "nodes");
  t.secrets = store.MustType("", "secrets");
  t.configmaps = store.MustType("", "configmaps");
  t.events = store.MustType("", "events");
  t.namespaces = store.MustType("", "namespaces");
  return t;
}

const Json& GetNode(const Json& object, const char* pointer) {
  static const Json kNull;
  const Json* cur = &object;
  std::string_view p(pointer);
  while (!p.empty()) {
    if (p.front() != '/') return kNull;
    p.remove_prefix(1);
    size_t end = p.find('/');
    std::string key(p.substr(0, end));
    p = end == std::string_view::npos ? std::string_view() : p.substr(end);
    // "~1" is "/" and "~0" is "~" in JSON pointers (annotation keys carry slashes).
    for (size_t i = 0; (i = key.find('~', i)) != std::string::npos; ++i) {
      if (i + 1 < key.size() && key[i + 1] == '1')
        key.replace(i, 2, "/");
      else if (i + 1 < key.size() && key[i + 1] == '0')
        key.replace(i, 2, "~");
    }
    if (cur->is_object()) {
      auto it = cur->find(key);
      if (it == cur->end()) return kNull;
      cur = &*it;
    } else if (cur->is_array()) {
      char* endp = nullptr;
      unsigned long idx = std::strtoul(key.c_str(), &endp, 10);
      if (key.empty() || *endp != '\0' || idx >= cur->size()) return kNull;
      cur = &(*cur)[idx];
    } else {
      return kNull;
    }
  }
  return *cur;
}

std::string GetString(const Json& object, const char* pointer, std::string fallback) {
  const Json& v = GetNode(object, pointer);
  return v.is_string() ? v.get<std::string>() : fallback;
}

std::string Annotation(const Json& object, const std::string& key) {
  const Json& a = GetNode(object, "/metadata/annotations");
  if (!a.is_object()) return "";
  auto it = a.find(key);
  return it != a.end() && it->is_string() ? it->get<std::string>() : "";
}

bool HasAnnotation(const Json& object, const std::string& key) {
  const Json& a = GetNode(object, "/metadata/annotations");
  return a.is_object() && a.contains(key);
}

std::string NamespacedName(const Json& object) {
  std::string ns = GetString(object, "/metadata/namespace");
  std::string name = GetString(object, "/metadata/name");
  return ns.empty() ? name : ns + "/" + name;
}

bool IsDeleting(const Json& object) {
  const Json& d = GetNode(object, "/metadata/deletionTimestamp");
  return d.is_string() && !d.get<std::string>().empty();
}

int64_t ParseQuantity(std::string_view text) {
  auto bad = [&]() {
    return PreconditionError("the quantity \"" + std::string(text) +
                             "\" is not a Kubernetes quantity (examples: 10Gi, 500M, 1.5Gi, 1073741824)");
  };
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) throw bad();
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') ++i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  std::string number(s.substr(0, i));
  std::string_view suffix = s.substr(i);
  if (number.empty() || number == "." || number == "+" || number == "-") throw bad();
  long double value = std::strtold(number.c_str(), nullptr);
  long double mult = 1;
  if (suffix.empty()) {
  } else if (suffix == "Ki")
    mult = 1024.0L;
  else if (suffix == "Mi")
    mult = 1024.0L * 1024;
  else if (suffix == "Gi")
    mult = 1024.0L * 1024 * 1024;
  else if (suffix == "Ti")
    mult = 1024.0L * 1024 * 1024 * 1024;
  else if (suffix == "Pi")
    mult = 1024.0L * 1024 * 1024 * 1024 * 1024;
  else if (suffix == "Ei")
    mult = 1024.0L * 1024 * 1024 * 1024 * 1024 * 1024;
  else if (suffix == "m")
    mult = 1e-3L;
  else if (suffix == "k")
    mult = 1e3L;
  else if (suffix == "M")
    mult = 1e6L;
  else if (suffix == "G")
    mult = 1e9L;
  else if (suffix == "T")
    mult = 1e12L;
  else if (suffix == "P")
    mult = 1e15L;
  else if (suffix == "E")
    mult = 1e18L;
  else if (suffix[0] == 'e' || suffix[0] == 'E') {
    char* end = nullptr;
    std::string exp(suffix.substr(1));
    long e = std::strtol(exp.c_str(), &end, 10);
    if (exp.empty() || *end != '\0' || e < -18 || e > 18) throw bad();
    mult = std::pow(10.0L, static_cast<long double>(e));
  } else {
    throw bad();
  }
  long double bytes = std::ceil(value * mult - 1e-9L);
  if (bytes > 9.2e18L) throw bad();
  return static_cast<int64_t>(bytes);
}

std::string NowTimestamp() {
  return NowRfc3339(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

void RecordEvent(Store& store, const Json& involved, std::string_view type, std::string_view reason,
                 std::string_view message, std::string_view component) {
  static std::atomic<uint64_t> counter{0};
  try {
    std::string ns = GetString(involved, "/metadata/namespace");
    if (ns.empty()) ns = "default";
    char suffix[40];
    auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    std::snprintf(suffix, sizeof suffix, ".%llx", static_cast<unsigned long long>(nanos + counter++));
    std::string now = NowTimestamp();
    Json event = {
        {"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata", {{"name", GetString(involved, "/metadata/name") + suffix}, {"namespace", ns}}},
        {"involvedObject",
         {{"kind", GetString(involved, "/kind")},
          {"apiVersion", GetString(involved, "/apiVersion")},
          {"name", GetString(involved, "/metadata/name")},
          {"uid", GetString(involved, "/metadata/uid")},
          {"resourceVersion", GetString(involved, "/metadata/resourceVersion")}}},
        {"reason", reason},
        {"message", message},
        {"type", type},
        {"source", {{"component", component}}},
        {"reportingComponent", component},
        {"firstTimestamp", now},
        {"lastTimestamp", now},
        {"count", 1},
    };
    if (!GetString(involved, "/metadata/namespace").empty())
      event["involvedObject"]["namespace"] = GetString(involved, "/metadata/namespace");
    static const ResourceType events = store.MustType("", "events");
    store.Create(events, ns, std::move(event));
  } catch (const std::exception& e) {
    log::Debug("lab", "could not record an event", {{"reason", reason}, {"error", e.what()}});
  }
}

}  // namespace hoist::lab

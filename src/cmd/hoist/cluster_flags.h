#pragma once
// Flags the cluster-facing commands share (`hoist status`, `watch`, `plan create`): which cluster
// (--kubeconfig, --context; else $KUBECONFIG, ~/.kube/config, in-cluster) and which namespace
// (-n/--namespace, -A/--all-namespaces; else the context's namespace), as kubectl takes them.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "core/error.h"
#include "core/flags.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "kube/kube_client.h"
#include "planner/api.h"

namespace hoist::cli {

struct ClusterFlags {
  TypedFlag<std::string>* kubeconfig = nullptr;
  TypedFlag<std::string>* context = nullptr;
  TypedFlag<std::string>* ns = nullptr;
  TypedFlag<std::string>* namespace_long = nullptr;
  TypedFlag<bool>* all = nullptr;
  TypedFlag<bool>* all_long = nullptr;

  void Add(FlagSet& fs, bool with_all_namespaces) {
    kubeconfig = &fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)");
    context = &fs.String("context", "", "kubeconfig context (default: current-context)");
    ns = &fs.String("n", "", "namespace (default: the context's)");
    namespace_long = &fs.String("namespace", "", "same as -n");
    if (with_all_namespaces) {
      all = &fs.Bool("A", false, "all namespaces");
      all_long = &fs.Bool("all-namespaces", false, "same as -A");
    }
  }
  kube::RestConfig Config() const {
    kube::KubeconfigOptions o{**kubeconfig, **context};
    kube::RestConfig c = o.path.empty() ? kube::LoadDefaultConfig(o) : kube::LoadKubeconfig(o);
    c.user_agent = "hoist-cli/0.1";
    return c;
  }
  bool AllNamespaces() const { return all != nullptr && (**all || **all_long); }
  // The namespace asked for, else the context's; "" with -A.
  std::string Namespace(const kube::RestConfig& c) const {
    if (AllNamespaces()) return "";
    if (!(**ns).empty()) return **ns;
    if (!(**namespace_long).empty()) return **namespace_long;
    return c.ns.empty() ? "default" : c.ns;
  }
};

// Plan `name` in `ns`; a missing one is a precondition error that says so.
inline kube::Json GetPlan(kube::KubeClient& client, const std::string& ns, const std::string& name) {
  try {
    return client.Get(planner::resources::kPlan, ns, name);
  } catch (const std::exception& e) {
    if (kube::IsNotFound(e)) throw PreconditionError("there is no Plan " + name + " in namespace " + ns + " (-n)");
    throw;
  }
}

// Runs a command body, printing hoist::Error as "hoist <name>: <message>"; exit 2 for precondition
// errors (bad flags, missing objects), 1 otherwise.
inline int RunCommand(const char* name, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "hoist %s: %s\n", name, e.what());
    return e.error_class() == ErrorClass::kPrecondition ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hoist %s: %s\n", name, e.what());
    return 1;
  }
}

// Columns of the terminal on stdout; 0 when stdout is not a terminal.
inline int TerminalWidth() {
  if (!::isatty(STDOUT_FILENO)) return 0;
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace hoist::cli

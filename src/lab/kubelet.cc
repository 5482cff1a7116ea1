#include "lab/kubelet.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "lab/cluster_objects.h"
#include "net/tls.h"

namespace hoist::lab {
namespace fs = std::filesystem;

namespace {

constexpr char kComponent[] = "kubelet";
constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

using Clock = std::chrono::steady_clock;

// A failure preparing a container, reported as its waiting reason (CreateContainerConfigError,
// ErrImagePull, ...).
struct ConfigError : std::runtime_error {
  ConfigError(std::string reason, const std::string& message)
      : std::runtime_error(message), reason(std::move(reason)) {}
  std::string reason;
};

std::vector<std::string> StringList(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string DecodeSecretValue(const Json& v) {
  if (!v.is_string()) return "";
  try {
    return net::Base64Decode(v.get<std::string>());
  } catch (const std::exception&) {
    return "";
  }
}

// Data of a Secret (base64 `data`, plus `stringData` should a writer leave it) or ConfigMap.
std::map<std::string, std::string> ObjectData(const Json& object, bool secret) {
  std::map<std::string, std::string> out;
  const Json& data = GetNode(object, "/data");
  if (data.is_object())
    for (auto it = data.begin(); it != data.end(); ++it)
      out[it.key()] = secret ? DecodeSecretValue(*it) : (it->is_string() ? it->get<std::string>() : "");
  if (secret) {
    const Json& sd = GetNode(object, "/stringData");
    if (sd.is_object())
      for (auto it = sd.begin(); it != sd.end(); ++it)
        if (it->is_string()) out[it.key()] = it->get<std::string>();
  } else {
    const Json& bd = GetNode(object, "/binaryData");
    if (bd.is_object())
      for (auto it = bd.begin(); it != bd.end(); ++it) out[it.key()] = DecodeSecretValue(*it);
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  fs::create_directories(fs::path(path).parent_path());
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw TransientError("writing " + path + ": " + std::strerror(errno));
  }
  ::chmod(tmp.c_str(), mode);
  fs::rename(tmp, path);
}

std::string ReadFileRange(const std::string& path, int64_t offset, int64_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[65536];
  int64_t pos = offset;
  while (max < 0 || static_cast<int64_t>(out.size()) < max) {
    ssize_t want = sizeof buf;
    if (max >= 0) want = std::min<int64_t>(want, max - static_cast<int64_t>(out.size()));
    ssize_t n = ::pread(fd, buf, want, pos);
    if (n <= 0) break;
    out.append(buf, n);
    pos += n;
  }
  ::close(fd);
  return out;
}

Json Condition(const Json& old_status, const std::string& type, bool value, const std::string& reason,
               const std::string& message) {
  std::string status = value ? "True" : "False";
  std::string when = NowTimestamp();
  const Json& conds = GetNode(old_status, "/conditions");
  if (conds.is_array())
    for (const auto& c : conds)
      if (GetString(c, "/type") == type && GetString(c, "/status") == status)
        when = GetString(c, "/lastTransitionTime", when);
  Json c = {{"type", type}, {"status", status}, {"lastProbeTime", nullptr}, {"lastTransitionTime", when}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  return c;
}

// The pod's hostname: spec.hostname, else its name, cut to the 63 characters of a DNS label (kubelet).
std::string PodHostname(const Json& pod) {
  std::string name = GetString(pod, "/spec/hostname");
  if (name.empty()) name = GetString(pod, "/metadata/name");
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && (name.back() == '-' || name.back() == '.')) name.pop_back();
  return name;
}

// The kubelet-managed /etc/hosts of a pod (same layout as the kubelet writes).
std::string KubeletHostsFile(const std::string& pod_ip, const std::string& hostname) {
  return "# Kubernetes-managed hosts file.\n"
         "127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\n"
         "fe00::0\tip6-mcastprefix\n"
         "fe00::1\tip6-allnodes\n"
         "fe00::2\tip6-allrouters\n" +
         pod_ip + "\t" + hostname + "\n";
}

// One bind mount prepared for a container's mount namespace.
struct Mount {
  std::string source;
  std::string target;
  bool file = false;
  bool read_only = false;
};

}  // namespace

struct Kubelet::ContainerRun {
  std::string name;
  bool init = false;
  Json spec;
  pid_t pid = 0;  // > 0 while running
  int restart_count = 0;
  bool ever_started = false;
  std::string started_at;
  // Current state when not running: terminated (exited, not to be restarted or not yet) or waiting.
  bool terminated = false;
  int exit_code = 0;
  std::string reason, message, finished_at, container_id;
  std::string waiting_reason = "ContainerCreating", waiting_message;
  Json last_state = Json::object();
  Clock::time_point next_start{};
  std::chrono::milliseconds backoff{0};
  bool term_sent = false;
};

struct Kubelet::PodRun {
  std::string uid, ns, name, dir, ip, start_time;
  std::vector<ContainerRun> init, main;
  std::string reason, message;  // pod-level (NodeRestart)
  Clock::time_point kill_deadline{};
  bool deleting = false;
  bool failed_init = false;
};

Kubelet::Kubelet(Store& store, std::shared_ptr<const ImageTable> images, KubeletOptions options)
    : store_(store),
      images_(std::move(images)),
      options_(std::move(options)),
      pods_(store.MustType("", "pods")),
      pvcs_(store.MustType("", "persistentvolumeclaims")),
      pvs_(store.MustType("", "persistentvolumes")),
      secrets_(store.MustType("", "secrets")),
      configmaps_(store.MustType("", "configmaps")) {
  // Pod addresses start at a random point of 127.10.0.0/16, so that labs running side by side on one
  // machine (parallel tests) rarely hand out the same address, where two populators would both want
  // port 8443.
  std::random_device rd;
  next_ip_ = static_cast<int>(rd() % 64000);
}

Kubelet::~Kubelet() { Stop(); }

void Kubelet::SetWakeup(std::function<void()> wakeup) {
  std::lock_guard<std::mutex> lock(mu_);
  wakeup_ = std::move(wakeup);
}

std::string Kubelet::ExpandVars(const std::string& text, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (text[i + 1] == '(') {
      size_t close = text.find(')', i + 2);
      if (close == std::string::npos) {
        out += text.substr(i);
        break;
      }
      std::string name = text.substr(i + 2, close - i - 2);
      auto it = vars.find(name);
      out += it != vars.end() ? it->second : text.substr(i, close - i + 1);
      i = close;
    } else {
      out += '$';
    }
  }
  return out;
}

bool Kubelet::IsEnvVarName(const std::string& name) {
  if (name.empty()) return false;
  auto ok = [](char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
  };
  for (size_t i = 0; i < name.size(); ++i)
    if (!ok(name[i], i == 0)) return false;
  return true;
}

std::string Kubelet::PodDir(const Json& pod) const {
  return options_.dir + "/pods/" + GetString(pod, "/metadata/namespace") + "_" +
         GetString(pod, "/metadata/name") + "_" + GetString(pod, "/metadata/uid");
}

std::string Kubelet::AllocateIp(const std::vector<Json>& pods) {
  std::set<std::string> used;
  for (const auto& p : pods) used.insert(GetString(p, "/status/podIP"));
  for (const auto& [uid, run] : runs_) used.insert(run->ip);
  for (int tries = 0; tries < 65000; ++tries) {
    int n = ++next_ip_;
    if (n >= 65000) next_ip_ = n = 1;
    int hi = n / 254, lo = n % 254 + 1;
    std::string ip = "127.10." + std::to_string(hi) + "." + std::to_string(lo);
    if (!used.count(ip)) return ip;
  }
  throw TransientError("the lab ran out of pod addresses in 127.10.0.0/16");
}

bool Kubelet::HasPendingTimers() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [uid, run] : runs_) {
    if (run->deleting) return true;
    for (const auto* list : {&run->init, &run->main})
      for (const auto& c : *list)
        if (c.pid == 0 && !c.terminated && c.next_start != Clock::time_point{}) return true;
  }
  return false;
}

bool Kubelet::Sync() {
  std::vector<Json> pods = store_.List(pods_, "").items;
  std::set<std::string> seen;
  bool wrote = false;
  for (const auto& pod : pods) {
    std::string node = GetString(pod, "/spec/nodeName");
    if (std::find(options_.node_names.begin(), options_.node_names.end(), node) == options_.node_names.end())
      continue;
    seen.insert(GetString(pod, "/metadata/uid"));
    try {
      if (SyncPod(pod)) wrote = true;
    } catch (const StatusError& e) {
      if (e.code() != 404 && e.code() != 409)
        log::Warn("lab.kubelet", "could not sync pod", {{"pod", NamespacedName(pod)}, {"error", e.what()}});
    } catch (const std::exception& e) {
      log::Warn("lab.kubelet", "could not sync pod", {{"pod", NamespacedName(pod)}, {"error", e.what()}});
    }
  }
  // Pods that vanished (deleted at once, or their namespace went): stop what still runs.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    KillRun(*it->second, SIGKILL);
    bool alive = false;
    for (const auto* list : {&it->second->init, &it->second->main})
      for (const auto& c : *list) alive = alive || c.pid > 0;
    if (alive) {
      ++it;
      continue;
    }
    log::Info("lab.kubelet", "forgot a removed pod", {{"pod", it->second->ns + "/" + it->second->name}});
    it = runs_.erase(it);
  }
  return wrote;
}

void Kubelet::KillRun(PodRun& run, int sig) {
  for (auto* list : {&run.init, &run.main})
    for (auto& c : *list)
      if (c.pid > 0) ::kill(-c.pid, sig);
}

void Kubelet::Recover(const Json& pod, PodRun& run) {
  // A pod we have no process table for: new, or the lab (the "node") restarted. Containers the status
  // says were running are gone now.
  run.ip = GetString(pod, "/status/podIP");
  run.start_time = GetString(pod, "/status/startTime");
  std::string policy = GetString(pod, "/spec/restartPolicy", "Always");
  bool lost_any = false;
  auto load = [&](const char* status_key, std::vector<ContainerRun>& list) {
    const Json& statuses = GetNode(pod, status_key);
    if (!statuses.is_array()) return;
    for (auto& c : list) {
      for (const auto& s : statuses) {
        if (GetString(s, "/name") != c.name) continue;
        c.restart_count =
            GetNode(s, "/restartCount").is_number() ? GetNode(s, "/restartCount").get<int>() : 0;
        c.last_state = GetNode(s, "/lastState").is_object() ? GetNode(s, "/lastState") : Json::object();
        const Json& st = GetNode(s, "/state");
        if (GetNode(st, "/terminated").is_object()) {
          const Json& t = GetNode(st, "/terminated");
          c.terminated = true;
          c.ever_started = true;
          c.exit_code = GetNode(t, "/exitCode").is_number() ? GetNode(t, "/exitCode").get<int>() : 0;
          c.reason = GetString(t, "/reason");
          c.message = GetString(t, "/message");
          c.started_at = GetString(t, "/startedAt");
          c.finished_at = GetString(t, "/finishedAt");
          c.container_id = GetString(t, "/containerID");
        } else if (GetNode(st, "/running").is_object()) {
          lost_any = true;
          c.ever_started = true;
          c.started_at = GetString(st, "/running/startedAt");
          c.terminated = true;
          c.exit_code = 137;
          c.reason = "ContainerStatusUnknown";
          c.message = "The lab (this pod's node) restarted while the container was running";
          c.finished_at = NowTimestamp();
          c.container_id = GetString(s, "/containerID");
          bool restart = policy == "Always" || policy == "OnFailure";
          if (restart && !c.init) {
            c.last_state = {{"terminated",
                             {{"exitCode", c.exit_code},
                              {"reason", c.reason},
                              {"message", c.message},
                              {"startedAt", c.started_at},
                              {"finishedAt", c.finished_at}}}};
            c.terminated = false;
            c.restart_count++;
            c.waiting_reason = "ContainerCreating";
          }
          if (restart && c.init) {
            c.terminated = false;
            c.restart_count++;
          }
        } else if (GetNode(s, "/lastState/terminated").is_object()) {
          c.ever_started = true;
        }
      }
    }
  };
  load("/status/initContainerStatuses", run.init);
  load("/status/containerStatuses", run.main);
  if (lost_any) {
    log::Warn("lab.kubelet", "pod's containers were running when the lab stopped",
              {{"pod", run.ns + "/" + run.name}, {"restartPolicy", policy}});
    if (policy == "Never") {
      run.reason = "NodeRestart";
      run.message = "The lab was restarted while this pod's containers were running (restartPolicy Never)";
    }
    RecordEvent(store_, pod, "Warning", "NodeRestart",
                "the lab restarted while the pod's containers were running; restartPolicy " + policy,
                kComponent);
  }
}

bool Kubelet::ClaimsReady(const Json& pod, std::string* why) {
  const Json& volumes = GetNode(pod, "/spec/volumes");
  if (!volumes.is_array()) return true;
  std::string ns = GetString(pod, "/metadata/namespace");
  for (const auto& v : volumes) {
    std::string claim_name = GetString(v, "/persistentVolumeClaim/claimName");
    if (claim_name.empty()) continue;
    auto claim = store_.TryGet(pvcs_, ns, claim_name);
    if (!claim) {
      *why = "persistentvolumeclaim \"" + claim_name + "\" not found";
      return false;
    }
    if (GetString(*claim, "/status/phase") != "Bound") {
      *why = "persistentvolumeclaim \"" + claim_name + "\" is not bound (" +
             GetString(*claim, "/status/phase") + ")";
      return false;
    }
  }
  return true;
}

bool Kubelet::SyncPod(const Json& pod) {
  const std::string uid = GetString(pod, "/metadata/uid");
  const std::string ns = GetString(pod, "/metadata/namespace");
  const std::string name = GetString(pod, "/metadata/name");
  const std::string phase = GetString(pod, "/status/phase");
  const bool terminal = phase == "Succeeded" || phase == "Failed";
  std::unique_lock<std::mutex> lock(mu_);
  if (stopped_) return false;
  auto found = runs_.find(uid);
  if (found == runs_.end()) {
    if (terminal) {
      lock.unlock();
      if (IsDeleting(pod)) {
        DeleteOptions opts;
        opts.grace_period_seconds = 0;
        opts.precondition_uid = uid;
        store_.Delete(pods_, ns, name, opts);
        return true;
      }
      return false;
    }
    auto run = std::make_unique<PodRun>();
    run->uid = uid;
    run->ns = ns;
    run->name = name;
    run->dir = PodDir(pod);
    auto add = [&](const char* key, bool init, std::vector<ContainerRun>& list) {
      const Json& cs = GetNode(pod, key);
      if (!cs.is_array()) return;
      for (const auto& spec : cs) {
        ContainerRun c;
        c.name = GetString(spec, "/name");
        c.init = init;
        c.spec = spec;
        list.push_back(std::move(c));
      }
    };
    add("/spec/initContainers", true, run->init);
    add("/spec/containers", false, run->main);
    Recover(pod, *run);
    found = runs_.emplace(uid, std::move(run)).first;
  }
  PodRun& run = *found->second;
  const std::string policy = GetString(pod, "/spec/restartPolicy", "Always");
  const auto now = Clock::now();

  if (IsDeleting(pod)) {
    if (!run.deleting) {
      run.deleting = true;
      int64_t grace = 30;
      const Json& g = GetNode(pod, "/metadata/deletionGracePeriodSeconds");
      const Json& tg = GetNode(pod, "/spec/terminationGracePeriodSeconds");
      if (g.is_number())
        grace = g.get<int64_t>();
      else if (tg.is_number())
        grace = tg.get<int64_t>();
      run.kill_deadline = now + std::chrono::seconds(grace);
      KillRun(run, SIGTERM);
      log::Info("lab.kubelet", "stopping pod", {{"pod", ns + "/" + name}, {"gracePeriodSeconds", grace}});
    } else if (now >= run.kill_deadline) {
      KillRun(run, SIGKILL);
    }
    bool alive = false;
    for (const auto* list : {&run.init, &run.main})
      for (const auto& c : *list) alive = alive || c.pid > 0;
    if (alive) return false;
    lock.unlock();
    DeleteOptions opts;
    opts.grace_period_seconds = 0;
    opts.precondition_uid = uid;
    store_.Delete(pods_, ns, name, opts);
    log::Info("lab.kubelet", "pod deleted", {{"pod", ns + "/" + name}});
    return true;
  }

  if (!terminal && run.reason.empty()) {
    std::string why;
    lock.unlock();
    bool ready = ClaimsReady(pod, &why);
    lock.lock();
    if (stopped_) return false;
    if (ready) {
      if (run.ip.empty()) {
        lock.unlock();
        auto all = store_.List(pods_, "").items;
        lock.lock();
        run.ip = AllocateIp(all);
      }
      if (run.start_time.empty()) run.start_time = NowTimestamp();
      // Init containers one after the other, then all the others.
      bool inits_done = true;
      for (auto& c : run.init) {
        if (c.terminated && c.exit_code == 0) continue;
        inits_done = false;
        if (c.terminated && c.exit_code != 0) {
          if (policy == "Never") run.failed_init = true;
          break;
        }
        if (c.pid == 0 && now >= c.next_start) StartContainer(pod, run, c, c.spec);
        break;
      }
      if (inits_done && !run.failed_init)
        for (auto& c : run.main)
          if (c.pid == 0 && !c.terminated && now >= c.next_start) StartContainer(pod, run, c, c.spec);
    } else {
      for (auto* list : {&run.init, &run.main})
        for (auto& c : *list)
          if (!c.ever_started) c.waiting_message = why;
    }
  }

  Json status = BuildStatus(pod, run);
  lock.unlock();
  if (GetNode(pod, "/status") == status) return false;
  store_.Mutate(
      pods_, ns, name,
      [&](Json& p) {
        if (GetString(p, "/metadata/uid") != uid || p["status"] == status) return false;
        p["status"] = status;
        return true;
      },
      true);
  return true;
}

void Kubelet::StartContainer(const Json& pod, PodRun& run, ContainerRun& c, const Json& spec) {
  // Runs with mu_ held. Failures become the container's waiting reason.
  const std::string ns = run.ns;
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::vector<Mount> mounts;
  std::string workdir = GetString(spec, "/workingDir", "/");
  try {
    // Environment: defaults, service variables, envFrom, env.
    std::map<std::string, std::string> env;
    std::vector<std::string> order;
    auto set = [&](const std::string& k, const std::string& v) {
      if (!env.count(k)) order.push_back(k);
      env[k] = v;
    };
    set("PATH", kDefaultPath);
    set("HOSTNAME", PodHostname(pod));
    set("HOME", "/root");
    if (options_.api_port > 0) {
      std::string port = std::to_string(options_.api_port);
      set("KUBERNETES_SERVICE_HOST", options_.api_host);
      set("KUBERNETES_SERVICE_PORT", port);
      set("KUBERNETES_SERVICE_PORT_HTTPS", port);
      set("KUBERNETES_PORT", "tcp://" + options_.api_host + ":" + port);
      set("KUBERNETES_PORT_443_TCP", "tcp://" + options_.api_host + ":" + port);
      set("KUBERNETES_PORT_443_TCP_PROTO", "tcp");
      set("KUBERNETES_PORT_443_TCP_PORT", port);
      set("KUBERNETES_PORT_443_TCP_ADDR", options_.api_host);
    }
    auto get_object = [&](bool secret, const std::string& obj_name) -> std::optional<Json> {
      return store_.TryGet(secret ? secrets_ : configmaps_, ns, obj_name);
    };
    const Json& env_from = GetNode(spec, "/envFrom");
    std::vector<std::string> invalid;
    if (env_from.is_array()) {
      for (const auto& src : env_from) {
        bool secret = GetNode(src, "/secretRef").is_object();
        const Json& ref = secret ? GetNode(src, "/secretRef") : GetNode(src, "/configMapRef");
        if (!ref.is_object()) continue;
        std::string obj_name = GetString(ref, "/name");
        bool optional = GetNode(ref, "/optional").is_boolean() && GetNode(ref, "/optional").get<bool>();
        auto obj = get_object(secret, obj_name);
        if (!obj) {
          if (optional) continue;
          throw ConfigError("CreateContainerConfigError",
                            std::string(secret ? "secret" : "configmap") + " \"" + obj_name + "\" not found");
        }
        std::string prefix = GetString(src, "/prefix");
        for (const auto& [k, v] : ObjectData(*obj, secret)) {
          if (!IsEnvVarName(prefix + k)) {
            invalid.push_back(prefix + k);
            continue;
          }
          set(prefix + k, v);
        }
      }
    }
    if (!invalid.empty()) {
      std::string keys;
      for (const auto& k : invalid) keys += (keys.empty() ? "" : ", ") + k;
      RecordEvent(store_, pod, "Warning", "InvalidEnvironmentVariableNames",
                  "Keys [" + keys +
                      "] from the EnvFrom were skipped since they are considered invalid "
                      "environment variable names.",
                  kComponent);
    }
    const Json& env_list = GetNode(spec, "/env");
    if (env_list.is_array()) {
      for (const auto& e : env_list) {
        std::string key = GetString(e, "/name");
        if (key.empty()) continue;
        if (e.contains("value")) {
          set(key, ExpandVars(GetString(e, "/value"), env));
          continue;
        }
        const Json& from = GetNode(e, "/valueFrom");
        if (!from.is_object()) {
          set(key, "");
          continue;
        }
        if (GetNode(from, "/fieldRef").is_object()) {
          std::string path = GetString(from, "/fieldRef/fieldPath");
          std::string value;
          if (path == "metadata.name")
            value = run.name;
          else if (path == "metadata.namespace")
            value = ns;
          else if (path == "metadata.uid")
            value = run.uid;
          else if (path == "spec.nodeName")
            value = GetString(pod, "/spec/nodeName");
          else if (path == "spec.serviceAccountName")
            value = GetString(pod, "/spec/serviceAccountName", "default");
          else if (path == "status.podIP" || path == "status.podIPs")
            value = run.ip;
          else if (path == "status.hostIP" || path == "status.hostIPs")
            value = "127.0.0.1";
          else if (path.rfind("metadata.labels['", 0) == 0 || path.rfind("metadata.annotations['", 0) == 0) {
            bool labels = path[9] == 'l';
            size_t open = path.find("['"), close = path.rfind("']");
            std::string k = path.substr(open + 2, close - open - 2);
            const Json& m = GetNode(pod, labels ? "/metadata/labels" : "/metadata/annotations");
            if (m.is_object() && m.contains(k) && m[k].is_string()) value = m[k].get<std::string>();
          } else {
            throw ConfigError("CreateContainerConfigError",
                              "unsupported fieldPath \"" + path + "\" in env " + key);
          }
          set(key, value);
          continue;
        }
        bool secret = GetNode(from, "/secretKeyRef").is_object();
        const Json& ref = secret ? GetNode(from, "/secretKeyRef") : GetNode(from, "/configMapKeyRef");
        if (ref.is_object()) {
          std::string obj_name = GetString(ref, "/name");
          std::string k = GetString(ref, "/key");
          bool optional = GetNode(ref, "/optional").is_boolean() && GetNode(ref, "/optional").get<bool>();
          auto obj = get_object(secret, obj_name);
          if (!obj) {
            if (optional) continue;
            throw ConfigError("CreateContainerConfigError", std::string(secret ? "secret" : "configmap") +
                                                                " \"" + obj_name + "\" not found");
          }
          auto data = ObjectData(*obj, secret);
          auto it = data.find(k);
          if (it == data.end()) {
            if (optional) continue;
            throw ConfigError("CreateContainerConfigError", "couldn't find key " + k + " in " +
                                                                (secret ? "Secret " : "ConfigMap ") + ns +
                                                                "/" + obj_name);
          }
          set(key, it->second);
          continue;
        }
        if (GetNode(from, "/resourceFieldRef").is_object()) {
          std::string res = GetString(from, "/resourceFieldRef/resource");
          std::string field = res;
          std::replace(field.begin(), field.end(), '.', '/');
          std::string value = GetString(spec, ("/resources/" + field).c_str());
          if (value.empty()) value = res.find("memory") != std::string::npos ? "8589934592" : "2";
          set(key, value);
          continue;
        }
        set(key, "");
      }
    }
    for (const auto& k : order) envp.push_back(k + "=" + env[k]);

    std::vector<std::string> command, args;
    for (const auto& s : StringList(GetNode(spec, "/command"))) command.push_back(ExpandVars(s, env));
    for (const auto& s : StringList(GetNode(spec, "/args"))) args.push_back(ExpandVars(s, env));
    try {
      argv = images_->ResolveArgv(GetString(spec, "/image"), command, args, env["PATH"]);
    } catch (const hoist::Error& e) {
      throw ConfigError("ErrImagePull", e.what());
    }

    // Volumes.
    std::map<std::string, Json> volumes;
    const Json& vols = GetNode(pod, "/spec/volumes");
    if (vols.is_array())
      for (const auto& v : vols) volumes[GetString(v, "/name")] = v;
    auto volume_source = [&](const std::string& vol_name, bool block) -> std::string {
      auto it = volumes.find(vol_name);
      if (it == volumes.end())
        throw ConfigError("CreateContainerConfigError",
                          "volume \"" + vol_name + "\" is not declared in the pod");
      const Json& v = it->second;
      if (GetNode(v, "/persistentVolumeClaim").is_object()) {
        std::string claim_name = GetString(v, "/persistentVolumeClaim/claimName");
        auto claim = store_.TryGet(pvcs_, ns, claim_name);
        if (!claim)
          throw ConfigError("CreateContainerConfigError",
                            "persistentvolumeclaim \"" + claim_name + "\" not found");
        std::string pv_name = GetString(*claim, "/spec/volumeName");
        auto pv = store_.TryGet(pvs_, "", pv_name);
        if (!pv)
          throw ConfigError("CreateContainerConfigError",
                            "persistentvolume \"" + pv_name + "\" of claim \"" + claim_name + "\" not found");
        std::string path = Annotation(*pv, kAnnDataPath);
        if (path.empty()) path = GetString(*pv, "/spec/hostPath/path");
        if (path.empty()) path = GetString(*pv, "/spec/local/path");
        if (path.empty())
          throw ConfigError(
              "CreateContainerConfigError",
              "the lab does not know where the data of volume " + pv_name +
                  " lives: give it a lab.hoist.io/data-path annotation, spec.hostPath or spec.local");
        bool is_block = GetString(*pv, "/spec/volumeMode") == "Block";
        if (block != is_block)
          throw ConfigError("CreateContainerConfigError", "volume \"" + vol_name + "\" has volumeMode " +
                                                              (is_block ? "Block" : "Filesystem") + ": use " +
                                                              (is_block ? "volumeDevices" : "volumeMounts"));
        return path;
      }
      if (GetNode(v, "/emptyDir").is_object()) {
        std::string path = run.dir + "/volumes/" + vol_name;
        fs::create_directories(path);
        return path;
      }
      if (GetNode(v, "/hostPath").is_object()) {
        std::string path = GetString(v, "/hostPath/path");
        std::string type = GetString(v, "/hostPath/type");
        if (type == "DirectoryOrCreate") fs::create_directories(path);
        return path;
      }
      bool secret = GetNode(v, "/secret").is_object();
      if (secret || GetNode(v, "/configMap").is_object()) {
        std::string obj_name = secret ? GetString(v, "/secret/secretName") : GetString(v, "/configMap/name");
        bool optional = GetNode(v, secret ? "/secret/optional" : "/configMap/optional").is_boolean() &&
                        GetNode(v, secret ? "/secret/optional" : "/configMap/optional").get<bool>();
        auto obj = get_object(secret, obj_name);
        std::string path = run.dir + "/volumes/" + vol_name;
        fs::remove_all(path);
        fs::create_directories(path);
        if (!obj) {
          if (optional) return path;
          throw ConfigError("CreateContainerConfigError",
                            std::string(secret ? "secret" : "configmap") + " \"" + obj_name + "\" not found");
        }
        auto data = ObjectData(*obj, secret);
        const Json& items = GetNode(v, secret ? "/secret/items" : "/configMap/items");
        if (items.is_array()) {
          for (const auto& item : items) {
            auto it = data.find(GetString(item, "/key"));
            if (it != data.end()) WriteFile(path + "/" + GetString(item, "/path"), it->second, 0644);
          }
        } else {
          for (const auto& [k, val] : data) WriteFile(path + "/" + k, val, 0644);
        }
        return path;
      }
      throw ConfigError("CreateContainerConfigError",
                        "volume \"" + vol_name +
                            "\" is of a kind the lab's kubelet does not mount "
                            "(supported: persistentVolumeClaim, emptyDir, hostPath, secret, configMap)");
    };
    const Json& vm = GetNode(spec, "/volumeMounts");
    if (vm.is_array()) {
      for (const auto& m : vm) {
        Mount mount;
        mount.source = volume_source(GetString(m, "/name"), false);
        std::string sub = GetString(m, "/subPath");
        if (!sub.empty()) {
          mount.source += "/" + sub;
          if (!fs::exists(mount.source)) fs::create_directories(mount.source);
        }
        mount.target = GetString(m, "/mountPath");
        mount.file = fs::exists(mount.source) && !fs::is_directory(mount.source);
        mount.read_only = GetNode(m, "/readOnly").is_boolean() && GetNode(m, "/readOnly").get<bool>();
        mounts.push_back(mount);
      }
    }
    const Json& vd = GetNode(spec, "/volumeDevices");
    if (vd.is_array()) {
      for (const auto& d : vd) {
        Mount mount;
        mount.source = volume_source(GetString(d, "/name"), true);
        mount.target = GetString(d, "/devicePath");
        mount.file = true;
        mounts.push_back(mount);
      }
    }
    // The service account directory, as the ServiceAccount admission plugin + kubelet provide it.
    const Json& automount = GetNode(pod, "/spec/automountServiceAccountToken");
    if (options_.api_port > 0 && !(automount.is_boolean() && !automount.get<bool>())) {
      bool user_mounted = false;
      for (const auto& m : mounts) user_mounted = user_mounted || m.target == kServiceAccountDir;
      if (!user_mounted) {
        std::string sa = run.dir + "/serviceaccount";
        WriteFile(sa + "/token", options_.token, 0600);
        WriteFile(sa + "/ca.crt", options_.ca_pem, 0644);
        WriteFile(sa + "/namespace", ns, 0644);
        mounts.push_back({sa, kServiceAccountDir, false, true});
      }
    }
    // /etc/hosts as the kubelet manages it: the pod's hostname resolves to its own IP. Lab pods share
    // the host's network namespace, each with its own 127.10.x.y, so this is how a program finds the
    // address it should serve on (the populators' metrics endpoints do).
    bool hosts_mounted = false;
    for (const auto& m : mounts) hosts_mounted = hosts_mounted || m.target == "/etc/hosts";
    if (!hosts_mounted && !run.ip.empty()) {
      std::string hosts = run.dir + "/etc-hosts";
      WriteFile(hosts, KubeletHostsFile(run.ip, PodHostname(pod)), 0644);
      mounts.push_back({hosts, "/etc/hosts", true, true});
    }
  } catch (const ConfigError& e) {
    if (c.waiting_reason != e.reason || c.waiting_message != e.what()) {
      RecordEvent(store_, pod, "Warning", e.reason == "ErrImagePull" ? "Failed" : "Failed",
                  std::string("Error: ") + e.what(), kComponent);
      log::Warn("lab.kubelet", "cannot start container",
                {{"pod", run.ns + "/" + run.name},
                 {"container", c.name},
                 {"reason", e.reason},
                 {"error", e.what()}});
    }
    c.waiting_reason = e.reason;
    c.waiting_message = e.what();
    c.next_start = Clock::now() + std::chrono::seconds(2);
    return;
  } catch (const std::exception& e) {
    c.waiting_reason = "CreateContainerError";
    c.waiting_message = e.what();
    c.next_start = Clock::now() + std::chrono::seconds(2);
    return;
  }

  // Mountpoints: created on the host when missing (a mount needs one), under an earlier mount's source
  // when nested inside it.
  std::sort(mounts.begin(), mounts.end(),
            [](const Mount& a, const Mount& b) { return a.target.size() < b.target.size(); });
  auto host_path = [&](const std::string& target, size_t upto) {
    std::string best;
    std::string path = target;
    for (size_t i = 0; i < upto; ++i) {
      const std::string& t = mounts[i].target;
      std::string tslash = t.back() == '/' ? t : t + "/";
      if (target.rfind(tslash, 0) == 0 && t.size() > best.size()) {
        best = t;
        path = mounts[i].source + "/" + target.substr(tslash.size());
      }
    }
    return path;
  };
  try {
    for (size_t i = 0; i < mounts.size(); ++i) {
      std::string hp = host_path(mounts[i].target, i);
      // Missing mount points are created on the host and left there: removing one later would also
      // detach it from the containers of another lab on this machine that mounted the same path
      // (Linux lazily unmounts mount points removed in other mount namespaces).
      if (mounts[i].file) {
        fs::create_directories(fs::path(hp).parent_path());
        if (!fs::exists(hp)) {
          int fd = ::open(hp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
          if (fd >= 0) ::close(fd);
        }
      } else {
        fs::create_directories(hp);
      }
    }
    std::string wd = host_path(workdir, mounts.size());
    if (!fs::exists(wd)) fs::create_directories(wd);
  } catch (const std::exception& e) {
    c.waiting_reason = "CreateContainerError";
    c.waiting_message = std::string("preparing mount points: ") + e.what();
    c.next_start = Clock::now() + std::chrono::seconds(2);
    return;
  }

  // Log file for this run.
  std::string log_dir = run.dir + "/" + c.name;
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  std::string log_path = log_dir + "/" + std::to_string(c.restart_count) + ".log";
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int err_pipe[2];
  if (log_fd < 0 || null_fd < 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    c.waiting_reason = "CreateContainerError";
    c.waiting_message = "opening the container's log " + log_path + ": " + std::strerror(errno);
    c.next_start = Clock::now() + std::chrono::seconds(2);
    return;
  }

  // Everything the child needs, prepared before fork (the child only makes system calls).
  std::vector<char*> c_argv, c_envp;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (auto& e : envp) c_envp.push_back(e.data());
  c_envp.push_back(nullptr);
  std::vector<std::pair<std::string, std::string>> binds;
  std::vector<bool> ro;
  for (const auto& m : mounts) {
    binds.emplace_back(m.source, m.target);
    ro.push_back(m.read_only);
  }
  std::string wd = workdir;
  const std::string hostname = PodHostname(pod);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    auto fail = [&](const char* what) {
      int err = errno;
      char msg[512];
      int n = std::snprintf(msg, sizeof msg, "%s: %s", what, std::strerror(err));
      if (n > 0) (void)!::write(err_pipe[1], msg, std::min<int>(n, sizeof msg - 1));
      ::_exit(128);
    };
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(137);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) ::signal(s, SIG_DFL);
    // Its own UTS namespace for the pod's hostname, as a container runtime gives it.
    if (::unshare(CLONE_NEWUTS) != 0) fail("creating the container's UTS namespace (unshare CLONE_NEWUTS; needs root)");
    if (::sethostname(hostname.data(), hostname.size()) != 0) fail("setting the container's hostname");
    if (!binds.empty()) {
      if (::unshare(CLONE_NEWNS) != 0)
        fail("creating the container's mount namespace (unshare CLONE_NEWNS; needs root)");
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("making mounts private");
      for (size_t i = 0; i < binds.size(); ++i) {
        if (::mount(binds[i].first.c_str(), binds[i].second.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
          fail(binds[i].second.c_str());
        if (ro[i] && ::mount(nullptr, binds[i].second.c_str(), nullptr,
                             MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0)
          fail(binds[i].second.c_str());
      }
    }
    if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) fail("redirecting output");
    if (::chdir(wd.c_str()) != 0) fail(wd.c_str());
    ::execve(c_argv[0], c_argv.data(), c_envp.data());
    fail(c_argv[0]);
  }
  ::close(err_pipe[1]);
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) {
    ::close(err_pipe[0]);
    c.waiting_reason = "CreateContainerError";
    c.waiting_message = std::string("fork: ") + std::strerror(errno);
    c.next_start = Clock::now() + std::chrono::seconds(2);
    return;
  }
  char msg[512];
  ssize_t n;
  do {
    n = ::read(err_pipe[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  const std::string now = NowTimestamp();
  c.container_id = "hoist-lab://" + run.uid + "/" + c.name + "/" + std::to_string(c.restart_count);
  c.ever_started = true;
  c.started_at = now;
  if (n > 0) {
    // exec (or the namespace setup) failed: the runtime's StartError.
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string text(msg, n);
    c.pid = 0;
    c.terminated = true;
    c.exit_code = 128;
    c.reason = "StartError";
    c.message = "failed to create containerd task: failed to start the container process: exec: " + text;
    c.finished_at = now;
    RecordEvent(store_, pod, "Warning", "Failed", "Error: " + c.message, kComponent);
    log::Warn("lab.kubelet", "container failed to start",
              {{"pod", run.ns + "/" + run.name}, {"container", c.name}, {"error", text}});
    // Treat like an exit for restart purposes.
    std::string policy = GetString(pod, "/spec/restartPolicy", "Always");
    bool restart = policy == "Always" || policy == "OnFailure";
    if (restart) ScheduleRestart(c, run);
    return;
  }
  c.pid = pid;
  c.terminated = false;
  c.term_sent = false;
  c.waiting_reason.clear();
  c.waiting_message.clear();
  RecordEvent(store_, pod, "Normal", "Started", "Started container " + c.name, kComponent);
  log::Info("lab.kubelet", "started container",
            {{"pod", run.ns + "/" + run.name},
             {"container", c.name},
             {"pid", pid},
             {"program", argv[0]},
             {"podIP", run.ip}});
  waiters_.emplace_back(&Kubelet::Reap, this, run.uid, c.name, c.init, pid);
}

void Kubelet::Reap(std::string pod_uid, std::string container, bool init, pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The container's process group may leave children behind; they go with it.
  ::kill(-pid, SIGKILL);
  std::function<void()> wakeup;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wakeup = wakeup_;
    auto it = runs_.find(pod_uid);
    if (it == runs_.end()) return;
    PodRun& run = *it->second;
    for (auto& c : init ? run.init : run.main) {
      if (c.name != container || c.pid != pid) continue;
      c.pid = 0;
      c.finished_at = NowTimestamp();
      if (WIFEXITED(status)) {
        c.exit_code = WEXITSTATUS(status);
        c.reason = c.exit_code == 0 ? "Completed" : "Error";
      } else {
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
        c.exit_code = 128 + sig;
        c.reason = "Error";
      }
      c.message.clear();
      c.terminated = true;
      log::Info("lab.kubelet", "container exited",
                {{"pod", run.ns + "/" + run.name}, {"container", c.name}, {"exitCode", c.exit_code}});
      // restartPolicy.
      if (!run.deleting && !stopped_) {
        auto pod = store_.TryGet(pods_, run.ns, run.name);
        std::string policy = pod ? GetString(*pod, "/spec/restartPolicy", "Always") : "Never";
        bool restart = policy == "Always" ? !init : false;
        if (policy == "OnFailure" || (policy == "Always" && init)) restart = c.exit_code != 0;
        if (policy == "Always" && !init) restart = true;
        if (restart) ScheduleRestart(c, run);
      }
    }
  }
  if (wakeup) wakeup();
}

void Kubelet::ScheduleRestart(ContainerRun& c, const PodRun& run) {
  Json terminated = {{"exitCode", c.exit_code},
                     {"reason", c.reason},
                     {"startedAt", c.started_at},
                     {"finishedAt", c.finished_at},
                     {"containerID", c.container_id}};
  if (!c.message.empty()) terminated["message"] = c.message;
  c.last_state = {{"terminated", std::move(terminated)}};
  c.terminated = false;
  c.restart_count++;
  c.backoff = c.backoff.count() == 0 ? options_.restart_backoff_initial
                                     : std::min(c.backoff * 2, options_.restart_backoff_max);
  c.next_start = Clock::now() + c.backoff;
  // The kubelet's own wording, e.g. "back-off 10s restarting failed container=main pod=web_default(uid)".
  c.waiting_reason = "CrashLoopBackOff";
  c.waiting_message = "back-off " + std::to_string(c.backoff.count() / 1000) +
                      "s restarting failed container=" + c.name + " pod=" + run.name + "_" + run.ns + "(" +
                      run.uid + ")";
}

Json Kubelet::BuildStatus(const Json& pod, const PodRun& run) const {
  const Json& old = GetNode(pod, "/status");
  const std::string policy = GetString(pod, "/spec/restartPolicy", "Always");
  auto container_status = [&](const ContainerRun& c) {
    Json s = {{"name", c.name},
              {"image", GetString(c.spec, "/image")},
              {"imageID", "hoist-lab://" + GetString(c.spec, "/image")},
              {"restartCount", c.restart_count},
              {"ready", c.pid > 0 && !c.init},
              {"started", c.pid > 0},
              {"lastState", c.last_state}};
    if (!c.container_id.empty()) s["containerID"] = c.container_id;
    if (c.pid > 0) {
      s["state"] = {{"running", {{"startedAt", c.started_at}}}};
    } else if (c.terminated) {
      Json t = {{"exitCode", c.exit_code},
                {"reason", c.reason},
                {"startedAt", c.started_at},
                {"finishedAt", c.finished_at}};
      if (!c.message.empty()) t["message"] = c.message;
      if (!c.container_id.empty()) t["containerID"] = c.container_id;
      s["state"] = {{"terminated", t}};
      if (c.init && c.exit_code == 0) s["ready"] = true;
    } else {
      Json w = {{"reason", c.waiting_reason.empty() ? "ContainerCreating" : c.waiting_reason}};
      if (!c.waiting_message.empty()) w["message"] = c.waiting_message;
      s["state"] = {{"waiting", w}};
    }
    return s;
  };

  // Phase, as the kubelet's getPhase.
  bool inits_done = true, init_failed = run.failed_init;
  for (const auto& c : run.init)
    if (!(c.terminated && c.exit_code == 0)) inits_done = false;
  std::string phase = "Pending";
  if (!run.reason.empty()) {
    phase = "Failed";
  } else if (init_failed) {
    phase = "Failed";
  } else if (inits_done) {
    int waiting = 0, running = 0, stopped = 0, succeeded = 0;
    for (const auto& c : run.main) {
      if (c.pid > 0)
        running++;
      else if (c.terminated) {
        stopped++;
        if (c.exit_code == 0) succeeded++;
      } else if (c.last_state.contains("terminated"))
        stopped++;
      else
        waiting++;
    }
    if (waiting > 0)
      phase = "Pending";
    else if (running > 0)
      phase = "Running";
    else if (stopped > 0) {
      if (policy == "Always")
        phase = "Running";
      else if (stopped == succeeded)
        phase = "Succeeded";
      else if (policy == "Never")
        phase = "Failed";
      else
        phase = "Running";
    }
  }
  // A pod that was Running stays Running while a container restarts; an init container that is not done
  // keeps the pod Pending unless it was Running (restart after a node reboot).
  if (GetString(old, "/phase") == "Running" && phase == "Pending" && !run.main.empty()) {
    bool any_started = false;
    for (const auto& c : run.main) any_started = any_started || c.ever_started;
    if (any_started) phase = "Running";
  }

  bool all_ready = !run.main.empty();
  std::vector<std::string> unready;
  for (const auto& c : run.main)
    if (c.pid <= 0) {
      all_ready = false;
      unready.push_back(c.name);
    }
  std::string unready_list;
  for (const auto& n : unready) unready_list += (unready_list.empty() ? "" : " ") + n;
  bool terminal = phase == "Succeeded" || phase == "Failed";
  std::string ready_reason = terminal ? "PodCompleted" : (all_ready ? "" : "ContainersNotReady");
  std::string ready_message =
      terminal || all_ready ? "" : "containers with unready status: [" + unready_list + "]";

  Json conds = Json::array();
  bool sandbox = !run.ip.empty() && !terminal;
  conds.push_back(Condition(old, "PodReadyToStartContainers", sandbox, "", ""));
  std::string init_unready;
  for (const auto& c : run.init)
    if (!(c.terminated && c.exit_code == 0)) init_unready += (init_unready.empty() ? "" : " ") + c.name;
  conds.push_back(Condition(
      old, "Initialized", inits_done || terminal,
      inits_done ? (terminal && !run.init.empty() ? "PodCompleted" : "") : "ContainersNotInitialized",
      inits_done ? "" : "containers with incomplete status: [" + init_unready + "]"));
  conds.push_back(Condition(old, "Ready", all_ready && !terminal, ready_reason, ready_message));
  conds.push_back(Condition(old, "ContainersReady", all_ready && !terminal, ready_reason, ready_message));
  conds.push_back(Condition(old, "PodScheduled", true, "", ""));

  Json status = {{"phase", phase},
                 {"conditions", conds},
                 {"hostIP", "127.0.0.1"},
                 {"hostIPs", Json::array({{{"ip", "127.0.0.1"}}})},
                 {"qosClass", "BestEffort"}};
  if (!run.ip.empty()) {
    status["podIP"] = run.ip;
    status["podIPs"] = Json::array({{{"ip", run.ip}}});
  }
  if (!run.start_time.empty()) status["startTime"] = run.start_time;
  if (!run.reason.empty()) {
    status["reason"] = run.reason;
    status["message"] = run.message;
  }
  if (!run.init.empty()) {
    status["initContainerStatuses"] = Json::array();
    for (const auto& c : run.init) status["initContainerStatuses"].push_back(container_status(c));
  }
  status["containerStatuses"] = Json::array();
  for (const auto& c : run.main) status["containerStatuses"].push_back(container_status(c));
  return status;
}

void Kubelet::Stop() {
  std::vector<std::thread> waiters;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopped_ && waiters_.empty()) return;
    stopped_ = true;
    for (auto& [uid, run] : runs_) KillRun(*run, SIGTERM);
    auto deadline = Clock::now() + options_.shutdown_grace;
    for (;;) {
      bool alive = false;
      for (auto& [uid, run] : runs_)
        for (const auto* list : {&run->init, &run->main})
          for (const auto& c : *list) alive = alive || c.pid > 0;
      if (!alive) break;
      if (Clock::now() >= deadline) {
        for (auto& [uid, run] : runs_) KillRun(*run, SIGKILL);
        deadline = Clock::now() + std::chrono::hours(1);
      }
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lock.lock();
    }
    waiters.swap(waiters_);
  }
  for (auto& t : waiters) t.join();
}

void Kubelet::StreamLog(const std::string& ns, const std::string& pod_name, const Options& options,
                        const std::function<bool(std::string_view)>& sink,
                        const std::function<bool()>& cancelled) {
  auto pod = store_.TryGet(pods_, ns, pod_name);
  if (!pod) throw StatusError::NotFound("pods", pod_name);
  std::vector<std::string> names;
  for (const char* key : {"/spec/containers", "/spec/initContainers"}) {
    const Json& cs = GetNode(*pod, key);
    if (cs.is_array())
      for (const auto& c : cs) names.push_back(GetString(c, "/name"));
  }
  std::string container = options.container;
  if (container.empty()) {
    const Json& cs = GetNode(*pod, "/spec/containers");
    if (cs.is_array() && cs.size() == 1) {
      container = GetString(cs[0], "/name");
    } else {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
      throw StatusError::BadRequest("a container name must be specified for pod " + pod_name +
                                    ", choose one of: [" + list + "]");
    }
  }
  if (std::find(names.begin(), names.end(), container) == names.end())
    throw StatusError::BadRequest("container " + container + " is not valid for pod " + pod_name);
  const std::string uid = GetString(*pod, "/metadata/uid");

  int restart = -1;
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runs_.find(uid);
    if (it != runs_.end())
      for (const auto* list : {&it->second->init, &it->second->main})
        for (const auto& c : *list)
          if (c.name == container && c.ever_started) {
            restart = c.restart_count;
            known = true;
          }
  }
  if (!known) {
    for (const char* key : {"/status/containerStatuses", "/status/initContainerStatuses"}) {
      const Json& cs = GetNode(*pod, key);
      if (cs.is_array())
        for (const auto& s : cs)
          if (GetString(s, "/name") == container && GetNode(s, "/restartCount").is_number()) {
            restart = GetNode(s, "/restartCount").get<int>();
            known = true;
          }
    }
  }
  std::string dir = PodDir(*pod) + "/" + container;
  if (options.previous) restart -= 1;
  std::string path = dir + "/" + std::to_string(restart) + ".log";
  // A container that is waiting for a restart logs nothing yet: its last run is what there is to show.
  if (!options.previous && restart > 0 && !fs::exists(path))
    path = dir + "/" + std::to_string(restart - 1) + ".log";
  if (!known || restart < 0 || !fs::exists(path)) {
    if (options.previous)
      throw StatusError::BadRequest("previous terminated container \"" + container + "\" in pod \"" +
                                    pod_name + "\" not found");
    throw StatusError::BadRequest("container \"" + container + "\" in pod \"" + pod_name +
                                  "\" is waiting to start: ContainerCreating");
  }

  std::string data = ReadFileRange(path, 0, -1);
  int64_t offset = static_cast<int64_t>(data.size());
  if (options.tail_lines >= 0) {
    size_t pos = data.size();
    if (pos > 0 && data[pos - 1] == '\n') --pos;
    int64_t lines = 0;
    while (pos > 0 && lines < options.tail_lines) {
      size_t nl = data.rfind('\n', pos - 1);
      if (nl == std::string::npos) {
        pos = 0;
        break;
      }
      ++lines;
      if (lines == options.tail_lines) {
        pos = nl + 1;
        break;
      }
      pos = nl;
    }
    if (options.tail_lines == 0) pos = data.size();
    data = data.substr(pos);
  }
  int64_t budget = options.limit_bytes;
  auto emit = [&](std::string_view piece) {
    if (budget >= 0) {
      if (budget == 0) return false;
      if (static_cast<int64_t>(piece.size()) > budget) piece = piece.substr(0, budget);
      budget -= static_cast<int64_t>(piece.size());
    }
    return piece.empty() ? true : sink(piece);
  };
  if (!emit(data) || !options.follow || options.previous) return;
  const std::string follow_path = path;
  for (;;) {
    if (cancelled && cancelled()) return;
    std::string more = ReadFileRange(follow_path, offset, 1 << 20);
    if (!more.empty()) {
      offset += static_cast<int64_t>(more.size());
      if (!emit(more)) return;
      continue;
    }
    bool running = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = runs_.find(uid);
      if (it != runs_.end())
        for (const auto* list : {&it->second->init, &it->second->main})
          for (const auto& c : *list)
            if (c.name == container && c.pid > 0 &&
                c.restart_count == (options.previous ? restart + 1 : restart))
              running = true;
    }
    if (!running) {
      std::string rest = ReadFileRange(follow_path, offset, -1);
      if (!rest.empty()) emit(rest);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace hoist::lab

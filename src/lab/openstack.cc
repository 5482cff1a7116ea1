#include "lab/openstack.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "net/http_client.h"

namespace hoist::lab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Debian's interpreter (the python3 first on PATH may be another one).
constexpr const char* kPython = "/usr/bin/python3";

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    throw TransientError("could not find a free loopback port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw TransientError("writing " + path);
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > 1500 ? all.substr(all.size() - 1500) : all;
}

void StopProcess(pid_t& pid) {
  if (pid <= 0) return;
  kill(-pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      kill(-pid, SIGKILL);  // leftovers of the group (uwsgi workers)
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

}  // namespace

OpenStack::OpenStack(OpenStackOptions options) : options_(std::move(options)) {}

OpenStack::~OpenStack() { Stop(); }

std::string OpenStack::identity_url() const {
  return "http://127.0.0.1:" + std::to_string(keystone_port_) + "/v3";
}
std::string OpenStack::glance_url() const { return "http://127.0.0.1:" + std::to_string(glance_port_); }

pid_t OpenStack::Spawn(const std::vector<std::string>& argv, const std::string& log,
                       const std::vector<std::string>& env) {
  // Everything the child needs is built before fork: other threads may hold malloc's lock.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& e : env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw TransientError("fork failed starting " + argv[0]);
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the thread (test, demo) that started it
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

void OpenStack::RunTool(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = Spawn(argv, log, {});
  int status = 0;
  waitpid(pid, &status, 0);
  kill(-pid, SIGKILL);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw TransientError("setting up the lab's OpenStack: " + argv[0] + " " +
                         (argv.size() > 2 ? argv[2] : "") + " failed (see " + log + "):\n" + Tail(log));
  }
}

void OpenStack::WaitHttp(const std::string& url, pid_t pid, const std::string& log) {
  net::HttpClient client;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      throw TransientError("the lab's OpenStack service behind " + url + " exited (see " + log + "):\n" +
                           Tail(log));
    }
    try {
      net::HttpRequest req;
      req.url = url;
      req.timeout = std::chrono::milliseconds(2000);
      auto resp = client.Do(req);
      if (resp.status > 0 && resp.status < 500) return;
    } catch (const Error&) {
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw TransientError("the lab's OpenStack service at " + url + " did not answer within 90 s (see " +
                           log + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void OpenStack::Start() {
  for (const char* tool : {"/usr/bin/keystone-manage", "/usr/bin/keystone-wsgi-public", "/usr/bin/glance-api",
                           "/usr/bin/glance-manage", "/usr/bin/uwsgi"}) {
    if (access(tool, X_OK) != 0) {
      throw PreconditionError(
          std::string(tool) +
          " is missing: the lab's OpenStack needs Debian's keystone and glance packages — run "
          "scripts/setup.sh");
    }
  }
  const std::string& d = options_.dir;
  fs::create_directories(d + "/fernet-keys");
  fs::create_directories(d + "/credential-keys");
  fs::create_directories(d + "/images");
  fs::create_directories(d + "/locks");
  keystone_port_ = FreePort();
  glance_port_ = FreePort();
  const std::string ks = "http://127.0.0.1:" + std::to_string(keystone_port_);

  WriteFile(d + "/keystone.conf",
            "[DEFAULT]\nuse_stderr = true\n[database]\nconnection = sqlite:///" + d +
                "/keystone.db\n[token]\nprovider = fernet\n[fernet_tokens]\nkey_repository = " + d +
                "/fernet-keys\n[credential]\nkey_repository = " + d + "/credential-keys\n");
  WriteFile(
      d + "/glance-api.conf",
      "[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = " + std::to_string(glance_port_) +
          "\nworkers = 0\nuse_stderr = true\n[database]\nconnection = sqlite:///" + d +
          "/glance.db\n[glance_store]\nstores = file\ndefault_store = file\nfilesystem_store_datadir = " + d +
          "/images\n[keystone_authtoken]\nwww_authenticate_uri = " + ks + "\nauth_url = " + ks +
          "\nauth_type = password\nproject_name = admin\nproject_domain_id = default\nusername = admin\n"
          "user_domain_id = default\npassword = " +
          options_.admin_password + "\nregion_name = " + options_.region +
          "\n[paste_deploy]\nflavor = keystone\nconfig_file = /etc/glance/glance-api-paste.ini\n"
          "[oslo_concurrency]\nlock_path = " +
          d + "/locks\n[oslo_policy]\nenforce_new_defaults = false\n");

  auto started = std::chrono::steady_clock::now();
  const std::string ks_conf = d + "/keystone.conf";
  const std::string ks_log = d + "/keystone-manage.log";
  // Keystone's and Glance's schemas are independent: set them up at the same time.
  auto keystone_setup = std::async(std::launch::async, [&] {
    RunTool({"keystone-manage", "--config-file", ks_conf, "db_sync"}, ks_log);
    // SQLite's default journal locks the whole database for each writer: "database is locked".
    RunTool({"sqlite3", d + "/keystone.db", "PRAGMA journal_mode=WAL;"}, ks_log);
    RunTool({"keystone-manage", "--config-file", ks_conf, "fernet_setup", "--keystone-user", "root",
             "--keystone-group", "root"},
            ks_log);
    RunTool({"keystone-manage", "--config-file", ks_conf, "credential_setup", "--keystone-user", "root",
             "--keystone-group", "root"},
            ks_log);
    RunTool({"keystone-manage", "--config-file", ks_conf, "bootstrap", "--bootstrap-password",
             options_.admin_password, "--bootstrap-region-id", options_.region, "--bootstrap-public-url",
             ks + "/v3/", "--bootstrap-internal-url", ks + "/v3/", "--bootstrap-admin-url", ks + "/v3/"},
            ks_log);
  });
  auto glance_setup = std::async(std::launch::async, [&] {
    RunTool({"glance-manage", "--config-file", d + "/glance-api.conf", "db_sync"}, d + "/glance-manage.log");
    RunTool({"sqlite3", d + "/glance.db", "PRAGMA journal_mode=WAL;"}, d + "/glance-manage.log");
  });
  keystone_setup.get();
  glance_setup.get();

  keystone_pid_ =
      Spawn({"uwsgi", "--plugin", "python3", "--http-socket", "127.0.0.1:" + std::to_string(keystone_port_),
             "--wsgi-file", "/usr/bin/keystone-wsgi-public", "--master", "--processes", "1", "--threads", "1",
             "--die-on-term"},
            d + "/keystone.log", {"OS_KEYSTONE_CONFIG_FILES=" + ks_conf});
  glance_pid_ = Spawn({kPython, "/usr/bin/glance-api", "--config-file", d + "/glance-api.conf"},
                      d + "/glance-api.log", {});
  WaitHttp(ks + "/v3/", keystone_pid_, d + "/keystone.log");
  WaitHttp(glance_url() + "/", glance_pid_, d + "/glance-api.log");

  json svc = Keystone("POST", "/services", R"({"service":{"type":"image","name":"glance"}})");
  image_service_id_ = svc["service"]["id"].get<std::string>();
  SetImageEndpoint("");
  log::Info("lab", "OpenStack (Keystone, Glance) is up",
            {{"identity", identity_url()},
             {"glance", glance_url()},
             {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
}

void OpenStack::Stop() {
  StopProcess(glance_pid_);
  StopProcess(keystone_pid_);
}

std::string OpenStack::AdminToken() {
  if (!token_.empty()) return token_;
  net::HttpClient client;
  net::HttpRequest req;
  req.method = "POST";
  req.url = identity_url() + "/auth/tokens";
  req.headers.Set("Content-Type", "application/json");
  req.body = json{{"auth",
                   {{"identity",
                     {{"methods", {"password"}},
                      {"password",
                       {{"user",
                         {{"name", "admin"},
                          {"domain", {{"id", "default"}}},
                          {"password", options_.admin_password}}}}}}},
                    {"scope", {{"project", {{"name", "admin"}, {"domain", {{"id", "default"}}}}}}}}}}
                 .dump();
  auto resp = client.Do(req);
  if (resp.status != 201)
    throw TransientError("lab OpenStack: admin authentication failed: HTTP " + std::to_string(resp.status));
  token_ = resp.headers.Get("X-Subject-Token");
  return token_;
}

namespace {
json Call(const std::string& base, const std::string& token, const std::string& method,
          const std::string& path, const std::string& body,
          const std::string& content_type = "application/json") {
  net::HttpClient client;
  net::HttpRequest req;
  req.method = method;
  req.url = base + path;
  req.headers.Set("X-Auth-Token", token);
  if (!body.empty()) req.headers.Set("Content-Type", content_type);
  req.body = body;
  req.timeout = std::chrono::milliseconds(120000);
  auto resp = client.Do(req);
  if (resp.status < 200 || resp.status >= 300) {
    throw PreconditionError("lab OpenStack: " + method + " " + path + ": HTTP " +
                            std::to_string(resp.status) + " " + resp.body.substr(0, 300));
  }
  if (resp.body.empty()) return nullptr;
  return json::parse(resp.body);
}
}  // namespace

// Keystone refuses tokens issued in the same second as a revocation event (its revocation records
// have one-second resolution), which the setup's own changes can produce: a 401 gets a new token.
json OpenStack::Keystone(const std::string& method, const std::string& path, const std::string& body) {
  try {
    return Call(identity_url(), AdminToken(), method, path, body);
  } catch (const Error& e) {
    if (std::string(e.what()).find("HTTP 401") == std::string::npos) throw;
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    token_.clear();
    return Call(identity_url(), AdminToken(), method, path, body);
  }
}

json OpenStack::Glance(const std::string& method, const std::string& path, const std::string& body) {
  try {
    return Call(glance_url(), AdminToken(), method, path, body);
  } catch (const Error& e) {
    if (std::string(e.what()).find("HTTP 401") == std::string::npos) throw;
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    token_.clear();
    return Call(glance_url(), AdminToken(), method, path, body);
  }
}

std::string OpenStack::CreateEmptyImage(const std::string& name) {
  json img = Glance("POST", "/v2/images",
                    json{{"name", name}, {"disk_format", "raw"}, {"container_format", "bare"}}.dump());
  return img["id"].get<std::string>();
}

std::string OpenStack::UploadImage(const std::string& name, const std::string& file) {
  std::string id = CreateEmptyImage(name);
  std::ifstream in(file, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Call(glance_url(), AdminToken(), "PUT", "/v2/images/" + id + "/file", data, "application/octet-stream");
  for (int i = 0; i < 300; ++i) {
    json img = Glance("GET", "/v2/images/" + id);
    if (img.value("status", "") == "active") return id;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw TransientError("lab OpenStack: image " + id + " did not become active");
}

std::string OpenStack::ImageDataPath(const std::string& image_id) const {
  return options_.dir + "/images/" + image_id;
}

void OpenStack::SetImageEndpoint(const std::string& url) {
  std::string target = url.empty() ? glance_url() : url;
  json list = Keystone("GET", "/endpoints?service_id=" + image_service_id_);
  for (const auto& e : list["endpoints"]) Keystone("DELETE", "/endpoints/" + e["id"].get<std::string>());
  for (const char* iface : {"public", "internal", "admin"}) {
    Keystone("POST", "/endpoints",
             json{{"endpoint",
                   {{"service_id", image_service_id_},
                    {"interface", iface},
                    {"region_id", options_.region},
                    {"url", target}}}}
                 .dump());
  }
}

}  // namespace hoist::lab

// `hoist esxi …`: the ESXi side of copy offload — building the vmkfstools-wrapper VIB, the
// restricted SSH key line, and reading the wrapper's answers when debugging a host by hand.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cmd/common/commands.h"
#include "core/error.h"
#include "core/subprocess.h"
#include "esxi/host_storage.h"
#include "esxi/ssh_executor.h"
#include "esxi/task_status.h"
#include "esxi/vib.h"
#include "esxi/vib_executor.h"
#include "esxi/wrapper_command.h"
#include "populators/xcopy/esxi_vsphere.h"
#include "vsphere/client.h"
#include "vsphere/datastore_file.h"
#include "vsphere/esxcli.h"
#include "vsphere/inventory.h"
#include "vsphere/property.h"

namespace hoist::cli {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PreconditionError("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Flag parsing shared by the subcommands: `--name value` or `--name=value`.
struct Flags {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> values;

  std::string get(const std::string& name, const std::string& fallback = "") const {
    for (const auto& [k, v] : values) {
      if (k == name) return v;
    }
    return fallback;
  }
  bool has(const std::string& name) const {
    for (const auto& [k, v] : values) {
      if (k == name) return true;
    }
    return false;
  }
};

Flags ParseFlags(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
                 const std::vector<std::string>& switches) {
  Flags f;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      f.positional.insert(f.positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (!a.starts_with("--")) {
      f.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (std::find(switches.begin(), switches.end(), name) != switches.end()) {
      f.values.emplace_back(name, "true");
    } else if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
      if (!inline_value) {
        if (i + 1 >= args.size()) throw PreconditionError("flag --" + name + " needs a value");
        value = args[++i];
      }
      f.values.emplace_back(name, value);
    } else {
      throw PreconditionError("unknown flag --" + name);
    }
  }
  return f;
}

std::string IsoDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// The wrapper VIB as `vib build` makes it: --version, --release-date (or SOURCE_DATE_EPOCH),
// --wrapper, --plugin. Returns the VIB and its version.
std::pair<std::string, std::string> BuildWrapperVib(const Flags& f) {
  std::string script =
      f.has("wrapper") ? ReadFile(f.get("wrapper")) : std::string(esxi::EmbeddedWrapperScript());
  std::string plugin = f.has("plugin") ? ReadFile(f.get("plugin")) : std::string(esxi::EmbeddedPluginXml());
  std::string version = f.get("version", esxi::ScriptVersion(script));
  // The release date is also the payload files' modification time. SOURCE_DATE_EPOCH makes
  // builds reproducible (the reproducible-builds.org convention).
  std::string date = f.get("release-date");
  std::time_t when = 0;
  if (date.empty()) {
    const char* sde = std::getenv("SOURCE_DATE_EPOCH");
    when = sde ? static_cast<std::time_t>(std::strtoll(sde, nullptr, 10)) : std::time(nullptr);
    date = IsoDate(when);
  } else {
    std::tm tm{};
    const char* end = strptime(date.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || *end != '\0')
      throw PreconditionError("--release-date must look like 2026-01-31T12:00:00 (UTC)");
    when = timegm(&tm);
  }
  esxi::VibSpec spec = esxi::WrapperVibSpec(version, script, plugin, date);
  spec.mtime = when;
  return {esxi::BuildVib(spec), version};
}

int VibBuild(const std::vector<std::string>& args) {
  return RunReportingErrors("esxi vib build", [&] {
    Flags f = ParseFlags(args, {"out", "version", "release-date", "wrapper", "plugin"}, {"help"});
    if (f.has("help")) {
      std::printf(
          "usage: hoist esxi vib build [--out FILE] [--version V] [--release-date YYYY-MM-DDTHH:MM:SS]\n"
          "                            [--wrapper SCRIPT] [--plugin XML]\n"
          "Builds the community-supported vmkfstools-wrapper VIB (esxcli namespace vmkfstools).\n"
          "Install it with `hoist esxi vib install`, or on the host with:\n"
          "  esxcli software vib install -v /tmp/vmkfstools-wrapper.vib --no-sig-check [-f]\n"
          "  /etc/init.d/hostd restart   # esxcli only sees new namespaces after this\n");
      return 0;
    }
    if (!f.positional.empty()) throw PreconditionError("unexpected argument " + f.positional[0]);
    auto [vib, version] = BuildWrapperVib(f);
    std::string out = f.get("out", std::string(esxi::kVibName) + ".vib");
    std::string tmp = out + ".tmp";
    {
      std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
      o.write(vib.data(), static_cast<std::streamsize>(vib.size()));
      if (!o.good()) throw PreconditionError("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), out.c_str()) != 0)
      throw PreconditionError("cannot rename " + tmp + " to " + out);
    std::printf("%s: %s %s (%zu bytes)\n", out.c_str(), std::string(esxi::kVibName).c_str(), version.c_str(),
                vib.size());
    return 0;
  });
}

// The ESXi host named `name` (its name in vCenter, or a moref value such as host-12).
std::pair<vsphere::ManagedObjectReference, std::string> FindHost(vsphere::Client& client,
                                                                 const std::string& name) {
  vsphere::ObjectSpec root{client.service_content().root_folder, false, vsphere::InventoryTraversal()};
  std::string known;
  for (const auto& oc : vsphere::RetrieveProperties(client, {{"HostSystem", {"name"}, false}}, {root})) {
    std::string n = oc.GetText("name");
    if (n == name || oc.obj.value == name) return {oc.obj, n};
    known += (known.empty() ? "" : ", ") + n;
  }
  throw PreconditionError("vCenter " + client.endpoint() + " has no ESXi host named " + name +
                          (known.empty() ? std::string(" (it has none)") : " (it has: " + known + ")"));
}

// vCenter connection from --vcenter, --username/GOVMOMI_USERNAME, --password-file/GOVMOMI_PASSWORD
// (never a password flag: it would show in `ps`), --ca-file, --insecure.
vsphere::ClientOptions VcenterOptions(const Flags& f) {
  vsphere::ClientOptions opts;
  opts.url = f.get("vcenter");
  const char* env_user = std::getenv("GOVMOMI_USERNAME");
  opts.username = f.get("username", env_user ? env_user : "");
  if (f.has("password-file")) {
    opts.password = ReadFile(f.get("password-file"));
    while (!opts.password.empty() && (opts.password.back() == '\n' || opts.password.back() == '\r'))
      opts.password.pop_back();
  } else if (const char* p = std::getenv("GOVMOMI_PASSWORD")) {
    opts.password = p;
  }
  if (opts.username.empty() || opts.password.empty())
    throw PreconditionError(
        "vCenter credentials missing: --username/GOVMOMI_USERNAME and --password-file/GOVMOMI_PASSWORD");
  opts.tls.ca_file = f.get("ca-file");
  opts.tls.insecure_skip_verify = f.has("insecure");
  opts.keepalive_interval = std::chrono::milliseconds(0);

  return opts;
}

int VibInstall(const std::vector<std::string>& args) {
  return RunReportingErrors("esxi vib install", [&] {
    Flags f = ParseFlags(args,
                         {"vcenter", "username", "password-file", "ca-file", "host", "datastore", "vib",
                          "version", "release-date", "wrapper", "plugin"},
                         {"force", "insecure", "keep", "help"});
    if (f.has("help") || !f.has("vcenter") || !f.has("host") || !f.has("datastore")) {
      std::printf(
          "usage: hoist esxi vib install --vcenter URL --host NAME --datastore DS [--vib FILE]\n"
          "                              [--username U] [--password-file F] [--ca-file PEM | --insecure]\n"
          "                              [--force] [--keep]\n"
          "Installs the vmkfstools-wrapper VIB on an ESXi host through vCenter: uploads it to the datastore\n"
          "DS (vCenter's datastore file access), runs `esxcli software vib install -v /vmfs/volumes/DS/… \n"
          "--no-sig-check` on the host, checks `esxcli vmkfstools version`, and deletes the upload (unless\n"
          "--keep). --force (-f) installs the community-supported VIB on a host whose acceptance level is\n"
          "stricter; without it such a host refuses. Credentials: --username or GOVMOMI_USERNAME, the\n"
          "password from --password-file or GOVMOMI_PASSWORD (never on the command line). Without --vib\n"
          "the VIB is built from the wrapper compiled into hoist (same flags as `vib build`).\n");
      return f.has("help") ? 0 : 2;
    }
    vsphere::ClientOptions opts = VcenterOptions(f);
    std::string vib, version;
    if (f.has("vib")) {
      vib = ReadFile(f.get("vib"));
    } else {
      std::tie(vib, version) = BuildWrapperVib(f);
    }
    vsphere::Client client(opts);
    client.Login();
    auto [host, host_name] = FindHost(client, f.get("host"));
    vsphere::DatastoreFiles files(client);
    vsphere::ManagedObjectReference dc = files.DatacenterOf(host);
    std::string dc_path = files.DatacenterPath(dc);
    std::string datastore = f.get("datastore");
    std::string file =
        "hoist-" + std::string(esxi::kVibName) + (version.empty() ? "" : "-" + version) + ".vib";
    std::string host_path = "/vmfs/volumes/" + datastore + "/" + file;
    std::printf("uploading %s (%zu bytes) to [%s] %s\n", std::string(esxi::kVibName).c_str(), vib.size(),
                datastore.c_str(), file.c_str());
    files.Put(dc_path, datastore, file, vib);

    vsphere::Esxcli esxcli(client);
    populators::xcopy::VsphereEsxcliRunner runner(esxcli, host, host_name);
    std::vector<std::string> argv = {"software", "vib", "install", "-v", host_path, "--no-sig-check"};
    if (f.has("force")) argv.push_back("-f");
    int rc = 0;
    try {
      esxi::EsxcliOutput r = runner.Run(esxi::EsxcliCommand::FromArgv(argv));
      auto joined = [&](const char* field) {
        std::string s;
        if (!r.rows.empty()) {
          auto it = r.rows[0].find(field);
          if (it != r.rows[0].end())
            for (const auto& v : it->second) s += (s.empty() ? "" : " ") + v;
        }
        return s;
      };
      std::printf("%s: %s\n  installed: %s\n  removed: %s\n  reboot required: %s\n", host_name.c_str(),
                  joined("Message").c_str(), joined("VIBsInstalled").c_str(), joined("VIBsRemoved").c_str(),
                  joined("RebootRequired").c_str());
    } catch (const esxi::EsxcliError& e) {
      std::string hint;
      if (e.host_message().find("AcceptanceLevel") != std::string::npos)
        hint =
            " — run `esxcli software acceptance set --level CommunitySupported` on the host, or pass --force";
      std::fprintf(stderr, "hoist esxi vib install: %s refused the VIB: %s%s\n", host_name.c_str(),
                   e.host_message().c_str(), hint.c_str());
      rc = 2;
    }
    if (!f.has("keep")) {
      try {
        files.Delete(dc, datastore, file);
      } catch (const Error& e) {
        std::fprintf(stderr, "hoist esxi vib install: could not delete [%s] %s: %s\n", datastore.c_str(),
                     file.c_str(), e.what());
      }
    }
    if (rc != 0) return rc;

    // The namespace only appears once hostd has re-read its plugins.
    auto executor = esxi::MakeVibExecutor(runner);
    try {
      esxi::WrapperVersion v = executor->Prepare({});
      std::printf("%s: esxcli vmkfstools version %s (%s)\n", host_name.c_str(), v.version.c_str(),
                  v.implementation.empty() ? "forklift" : v.implementation.c_str());
    } catch (const Error& e) {
      std::fprintf(
          stderr,
          "hoist esxi vib install: installed, but esxcli does not show the vmkfstools namespace yet: %s\n"
          "restart the management agent on the host (/etc/init.d/hostd restart, or DCUI > Troubleshooting "
          "Options > Restart Management Agents), then check with `esxcli vmkfstools version`\n",
          e.what());
      return 3;
    }
    return 0;
  });
}

nlohmann::json StatusJson(const esxi::CloneTaskStatus& st) {
  nlohmann::json j;
  j["taskId"] = st.task_id;
  j["pid"] = st.pid ? nlohmann::json(*st.pid) : nlohmann::json();
  j["running"] = st.running;
  j["exitCode"] = st.exit_code ? nlohmann::json(*st.exit_code) : nlohmann::json();
  j["progress"] = st.progress_percent ? nlohmann::json(*st.progress_percent) : nlohmann::json();
  j["lastLine"] = st.last_line;
  j["stdErr"] = st.std_err;
  j["xcopyUsed"] = st.xcopy_used ? nlohmann::json(*st.xcopy_used) : nlohmann::json();
  j["cloneWriteOps"] = st.clone_write_ops ? nlohmann::json(*st.clone_write_ops) : nlohmann::json();
  j["errorCode"] = st.error_code;
  return j;
}

int Decode(const std::vector<std::string>& args) {
  return RunReportingErrors("esxi decode", [&] {
    Flags f = ParseFlags(args, {}, {"help"});
    if (f.has("help") || !f.positional.empty()) {
      std::printf(
          "usage: hoist esxi decode < wrapper-output.xml\n"
          "Reads what the vmkfstools-wrapper printed (e.g. over SSH) and shows it as JSON:\n"
          "{\"status\", \"message\", \"task\": {taskId, pid, running, exitCode, progress, lastLine, stdErr,\n"
          "xcopyUsed, cloneWriteOps, errorCode}}.\n");
      return f.has("help") ? 0 : 2;
    }
    std::string in{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    esxi::WrapperReply reply = esxi::ParseWrapperXml(in);
    nlohmann::json j;
    j["status"] = reply.status;
    j["message"] = reply.message;
    j["task"] = StatusJson(esxi::ParseTaskMessage(reply.message));
    std::printf("%s\n", j.dump().c_str());
    return reply.ok() ? 0 : 1;
  });
}

int SshRequest(const std::vector<std::string>& args) {
  return RunReportingErrors("esxi ssh-request", [&] {
    Flags f = ParseFlags(args, {"datastore"}, {"legacy", "help"});
    const auto& p = f.positional;
    if (f.has("help") || p.empty() || !f.has("datastore")) {
      std::printf(
          "usage: hoist esxi ssh-request --datastore DS [--legacy] clone SOURCE_VMDK TARGET_DEVICE\n"
          "       hoist esxi ssh-request --datastore DS [--legacy] task-get|task-clean TASK_ID | version\n"
          "Prints the request to send with the restricted SSH key (ssh root@HOST \"$(hoist esxi ssh-request "
          "…)\").\n"
          "--legacy: for Forklift's wrapper, which splits arguments on spaces.\n");
      return f.has("help") ? 0 : 2;
    }
    esxi::WrapperCapabilities caps;
    caps.quoted_ssh_args = caps.hex_args = !f.has("legacy");
    std::vector<std::string> wrapper_args;
    if (p[0] == "clone" && p.size() == 3) {
      wrapper_args = esxi::CloneArgs(p[1], p[2], caps);
    } else if (p[0] == "task-get" && p.size() == 2) {
      wrapper_args = esxi::TaskGetArgs(p[1]);
    } else if (p[0] == "task-clean" && p.size() == 2) {
      wrapper_args = esxi::TaskCleanArgs(p[1]);
    } else if (p[0] == "version" && p.size() == 1) {
      wrapper_args = esxi::VersionArgs();
    } else {
      throw PreconditionError("unknown request: " + p[0] + " (with " + std::to_string(p.size() - 1) +
                              " arguments)");
    }
    std::printf("%s\n", esxi::SshRequest(f.get("datastore"), wrapper_args, caps).c_str());
    return 0;
  });
}

int SshKeyLine(const std::vector<std::string>& args) {
  return RunReportingErrors("esxi ssh-key-line", [&] {
    Flags f = ParseFlags(args, {"public-key"}, {"help"});
    if (f.has("help") || !f.has("public-key")) {
      std::printf(
          "usage: hoist esxi ssh-key-line --public-key FILE\n"
          "Prints the restricted line for /etc/ssh/keys-root/authorized_keys on the ESXi host: the key may\n"
          "only run /vmfs/volumes/<datastore>/%s (requests DS=<datastore>;CMD=<arguments>).\n",
          std::string(esxi::kSshWrapperFileName).c_str());
      return f.has("help") ? 0 : 2;
    }
    std::printf("%s\n", esxi::RestrictedKeyLine(ReadFile(f.get("public-key"))).c_str());
    return 0;
  });
}

// What copy offload needs from a host, as `vmkfstools-wrapper/xcopy-validate.sh` checks it in
// Forklift, but through vCenter: the wrapper's namespace, the data mover settings, Disk.MaxLUN, and
// the datastore's device (VAAI plugin, XCOPY support, active paths).
int Check(const std::vector<std::string>& args) {
  return RunReportingErrors("esxi check", [&] {
    Flags f = ParseFlags(args, {"vcenter", "username", "password-file", "ca-file", "host", "datastore"},
                         {"insecure", "help"});
    if (f.has("help") || !f.has("vcenter") || !f.has("host")) {
      std::printf(
          "usage: hoist esxi check --vcenter URL --host NAME [--datastore DS]\n"
          "                        [--username U] [--password-file F] [--ca-file PEM | --insecure]\n"
          "Checks an ESXi host for copy offload through vCenter: the vmkfstools esxcli namespace (VIB\n"
          "method), /DataMover/HardwareAcceleratedMove and HardwareAcceleratedInit, MaxHWTransferSize,\n"
          "Disk.MaxLUN, and for DS the VMFS device under it: VAAI plugin, Clone (XCOPY) status, active\n"
          "paths. Prints one line per check (ok, WARN, FAIL); exits with the number of FAILs.\n");
      return f.has("help") ? 0 : 2;
    }
    vsphere::Client client(VcenterOptions(f));
    client.Login();
    auto [host, host_name] = FindHost(client, f.get("host"));
    vsphere::Esxcli esxcli(client);
    populators::xcopy::VsphereEsxcliRunner runner(esxcli, host, host_name);
    esxi::HostStorage storage(runner);
    int fails = 0;
    auto report = [&](const char* level, const std::string& what, const std::string& detail) {
      if (std::string_view(level) == "FAIL") ++fails;
      std::printf("%-4s %s: %s\n", level, what.c_str(), detail.c_str());
    };

    auto executor = esxi::MakeVibExecutor(runner);
    try {
      esxi::WrapperVersion v = executor->Prepare({});
      bool stoppable = v.has("cancel-on-clean");
      report(stoppable ? "ok" : "WARN", "esxcli vmkfstools",
             "vmkfstools-wrapper " + v.version + " (" +
                 (v.implementation.empty() ? "forklift" : v.implementation) + ")" +
                 (stoppable ? "" : "; it cannot stop a running clone — install hoist's VIB"));
    } catch (const Error& e) {
      report("FAIL", "esxcli vmkfstools", std::string(e.what()) + " (the SSH method does not need it)");
    }

    auto setting = [&](const char* path, std::int64_t want, const char* low_level, const std::string& why) {
      std::optional<std::int64_t> v;
      try {
        v = storage.IntSetting(path);
      } catch (const Error& e) {
        report("WARN", path, e.what());
        return;
      }
      if (!v) {
        report("WARN", path, "the host has no such option");
      } else if (*v < want) {
        report(low_level, path, std::to_string(*v) + " — " + why);
      } else {
        report("ok", path, std::to_string(*v));
      }
    };
    setting("/DataMover/HardwareAcceleratedMove", 1, "FAIL",
            "XCOPY is off: every clone is copied through the host (esxcli system settings advanced set -o "
            "/DataMover/HardwareAcceleratedMove -i 1)");
    setting("/DataMover/HardwareAcceleratedInit", 1, "WARN", "block zeroing is not offloaded (set it to 1)");
    setting("/DataMover/MaxHWTransferSize", 16384, "WARN",
            "works, but 16384 (KiB) per XCOPY command is faster (esxcli system settings advanced set -o "
            "/DataMover/MaxHWTransferSize -i 16384)");
    setting("/Disk/MaxLUN", 2048, "WARN",
            "LUNs mapped with an id at or above it stay invisible; arrays hand out ids up to 16383 with many "
            "disks (esxcli system settings advanced set -o /Disk/MaxLUN -i 2048)");

    if (f.has("datastore")) {
      vsphere::Inventory inventory(client);
      vsphere::HostInfo info = inventory.GetHost(host);
      std::optional<vsphere::DatastoreInfo> ds = inventory.FindHostDatastore(info, f.get("datastore"));
      if (!ds) {
        report("FAIL", "datastore " + f.get("datastore"), "not mounted on " + host_name);
      } else if (ds->info_type != "VmfsDatastoreInfo" || ds->extents.empty()) {
        report("FAIL", "datastore " + ds->name,
               ds->info_type +
                   ": copy offload needs a VMFS datastore on a SAN LUN (NFS and vVol datastores "
                   "have no device to clone from)");
      } else {
        const std::string& naa = ds->extents.front();
        std::optional<esxi::VaaiStatus> vaai = storage.Vaai(naa);
        if (!vaai) {
          report("FAIL", "device " + naa, "no VAAI status (is the device attached?)");
        } else if (vaai->clone != "supported") {
          report("FAIL", "device " + naa,
                 "Clone Status " + vaai->clone +
                     (vaai->plugin.empty() ? ", no VAAI plugin" : ", plugin " + vaai->plugin) +
                     " — XCOPY will not be used; check the array's VAAI support and claim rules");
        } else {
          report(
              "ok", "device " + naa,
              "VAAI plugin " + (vaai->plugin.empty() ? "(none)" : vaai->plugin) + ", Clone Status supported");
        }
        int active = 0;
        std::string adapters;
        for (const auto& p : storage.Paths(naa)) {
          if (p.state != "active") continue;
          ++active;
          if (adapters.find(p.adapter) == std::string::npos)
            adapters += (adapters.empty() ? "" : ", ") + p.adapter;
        }
        report(active > 0 ? "ok" : "FAIL", "paths to " + naa,
               active > 0 ? std::to_string(active) + " active (" + adapters + ")" : "no active path");
      }
    }
    return std::min(fails, 100);
  });
}

int SshHostKey(const std::vector<std::string>& args) {
  return RunReportingErrors("esxi ssh-host-key", [&] {
    Flags f = ParseFlags(args, {"address", "port", "timeout"}, {"help"});
    if (f.has("help") || !f.has("address")) {
      std::printf(
          "usage: hoist esxi ssh-host-key --address HOST [--port 22] [--timeout SECONDS]\n"
          "Prints the SSH host keys HOST offers as known_hosts lines, each with its SHA256 fingerprint.\n"
          "Compare the fingerprints with `for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf $k; done`\n"
          "run on the host's console before pinning them (the populator's SSH_KNOWN_HOSTS).\n");
      return f.has("help") ? 0 : 2;
    }
    ProcessOptions po;
    const char* path = std::getenv("PATH");
    po.env = {"PATH=" + std::string(path ? path : "/usr/bin:/bin"), "LANG=C"};
    std::string timeout = f.get("timeout", "10");
    po.timeout = std::chrono::seconds(std::atoi(timeout.c_str()) + 5);
    ProcessResult r =
        RunProcess({"ssh-keyscan", "-p", f.get("port", "22"), "-T", timeout, f.get("address")}, po);
    std::istringstream lines(r.out);
    std::string line;
    int keys = 0;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::printf("# %s\n%s\n", esxi::SshKeyFingerprint(line).c_str(), line.c_str());
      ++keys;
    }
    if (keys == 0) {
      throw PreconditionError("no SSH host key from " + f.get("address") + ":" + f.get("port", "22") +
                              " — is the SSH service (TSM-SSH) running? ssh-keyscan: " + r.err);
    }
    return 0;
  });
}

HOIST_REGISTER_COMMAND(Command{
    {"esxi", "vib", "build"}, "build the vmkfstools-wrapper VIB for ESXi hosts", VibBuild});
HOIST_REGISTER_COMMAND(Command{{"esxi", "vib", "install"},
                               "install the vmkfstools-wrapper VIB on an ESXi host through vCenter",
                               VibInstall});
HOIST_REGISTER_COMMAND(Command{
    {"esxi", "check"}, "check an ESXi host's settings and a datastore's device for copy offload", Check});
HOIST_REGISTER_COMMAND(Command{
    {"esxi", "decode"}, "show a vmkfstools-wrapper answer (XML on stdin) as JSON", Decode});
HOIST_REGISTER_COMMAND(Command{
    {"esxi", "ssh-request"}, "print a request for the wrapper's restricted SSH key", SshRequest});
HOIST_REGISTER_COMMAND(Command{{"esxi", "ssh-host-key"},
                               "print an ESXi host's SSH host keys with their fingerprints, for pinning",
                               SshHostKey});
HOIST_REGISTER_COMMAND(Command{
    {"esxi", "ssh-key-line"}, "print the restricted authorized_keys line for ESXi", SshKeyLine});

}  // namespace
}  // namespace hoist::cli

#include "vsphere/esxcli.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "vsphere/fault.h"

namespace hoist::vsphere {
namespace {

constexpr std::string_view kCliVersion = "urn:vim25/5.0";
constexpr std::string_view kCliInfoMoid = "ha-dynamic-type-manager-local-cli-cliinfo";

// "storage core device" or "storage.core.device" → {"storage","core","device"}
std::vector<std::string> SplitNamespace(std::string_view ns) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : ns) {
    if (c == ' ' || c == '.') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void AddField(EsxcliRow& row, const XmlNode& field) {
  if (field.children.empty()) {
    row[field.name].push_back(field.text);
    return;
  }
  for (const XmlNode& sub : field.children) {
    if (sub.children.empty() && (sub.name == "string" || sub.name == "long" || sub.name == "int" ||
                                 sub.name == "boolean" || sub.name == "item")) {
      row[field.name].push_back(sub.text);  // a list-valued field
    } else if (sub.children.empty()) {
      row[field.name + "." + sub.name].push_back(sub.text);
    } else {
      row[field.name + "." + sub.name].push_back("");  // deeper nesting is not needed by any caller
    }
  }
}

EsxcliRow DecodeRow(const XmlNode& obj) {
  EsxcliRow row;
  for (const XmlNode& f : obj.children) AddField(row, f);
  return row;
}

}  // namespace

std::string EsxcliResult::Field(size_t row, std::string_view field) const {
  if (row >= rows.size()) return "";
  auto it = rows[row].find(std::string(field));
  if (it == rows[row].end() || it->second.empty()) return "";
  return it->second.front();
}

EsxcliResult DecodeEsxcliResponse(std::string_view response_xml) {
  EsxcliResult r;
  if (response_xml.find('<') == std::string_view::npos) return r;
  XmlNode root = ParseXml(response_xml);
  if (root.type.rfind("ArrayOf", 0) == 0) {
    bool objects = root.type == "ArrayOfDataObject";
    for (const XmlNode& c : root.children) {
      if (!c.children.empty()) objects = true;
    }
    if (objects) {
      r.kind = EsxcliResult::Kind::kRows;
      for (const XmlNode& c : root.children) r.rows.push_back(DecodeRow(c));
    } else {
      r.kind = EsxcliResult::Kind::kList;
      for (const XmlNode& c : root.children) r.list.push_back(c.text);
    }
    return r;
  }
  if (!root.children.empty()) {
    r.kind = EsxcliResult::Kind::kRows;
    r.rows.push_back(DecodeRow(root));
    return r;
  }
  if (root.type.empty() && root.text.empty()) return r;
  r.kind = EsxcliResult::Kind::kScalar;
  r.scalar = root.text;
  r.scalar_type = root.type.empty() ? "string" : root.type;
  return r;
}

std::string BuildExecuteSoapParams(std::string_view moid, std::string_view method,
                                   const std::vector<EsxcliArgument>& args) {
  std::string out = TextXml("moid", moid) + TextXml("version", kCliVersion) + TextXml("method", method);
  for (const auto& a : args) {
    for (const auto& v : a.values) {
      // The value is a small XML document of its own; TextXml escapes it, and escaping the value inside
      // it keeps '<', '&' and quotes in paths from breaking the host-side parser.
      out += "<argument>" + TextXml("name", a.name) + TextXml("val", TextXml(a.name, v)) + "</argument>";
    }
  }
  return out;
}

const CliMethod* CliInfo::Method(std::string_view name) const {
  for (const auto& m : methods) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

CliInfo DecodeCliInfo(std::string_view response_xml) {
  XmlNode root = ParseXml(response_xml);
  CliInfo info;
  info.name = root.ChildText("name");
  for (const XmlNode* m : root.Children("method")) {
    CliMethod cm;
    cm.name = m->ChildText("name");
    for (const XmlNode* p : m->Children("param")) {
      CliParam cp;
      cp.name = p->ChildText("name");
      cp.display_name = p->ChildText("displayName");
      for (const XmlNode* a : p->Children("aliases")) cp.aliases.push_back(a->text);
      cp.flag = ParseXmlBool(p->ChildText("flag"));
      cm.params.push_back(std::move(cp));
    }
    info.methods.push_back(std::move(cm));
  }
  return info;
}

std::vector<EsxcliArgument> MapCliOptions(const CliMethod& method, std::string_view command_line,
                                          const std::vector<std::string>& options) {
  auto find = [&](std::string_view opt) -> const CliParam* {
    for (const auto& p : method.params) {
      for (const auto& a : p.aliases) {
        if (a == opt) return &p;
      }
      if (opt.starts_with("--") && (opt.substr(2) == p.name || opt.substr(2) == p.display_name)) return &p;
    }
    return nullptr;
  };
  std::vector<EsxcliArgument> out;
  auto add = [&](const CliParam& p, std::string value) {
    for (auto& a : out) {
      if (a.name == p.name) {
        a.values.push_back(std::move(value));
        return;
      }
    }
    out.push_back({p.name, {std::move(value)}});
  };
  for (size_t i = 0; i < options.size(); ++i) {
    std::string_view tok = options[i];
    std::string_view opt = tok;
    std::optional<std::string> inline_value;
    if (auto eq = tok.find('='); tok.starts_with("--") && eq != std::string_view::npos) {
      opt = tok.substr(0, eq);
      inline_value = std::string(tok.substr(eq + 1));
    }
    const CliParam* p = opt.starts_with("-") ? find(opt) : nullptr;
    if (p == nullptr) {
      std::string known;
      for (const auto& q : method.params) {
        for (const auto& a : q.aliases) known += (known.empty() ? "" : ", ") + a;
      }
      throw PreconditionError("esxcli " + std::string(command_line) + ": the host does not know option \"" +
                              std::string(tok) + "\" (it has: " + (known.empty() ? "none" : known) + ")");
    }
    if (inline_value) {
      add(*p, *inline_value);
    } else if (p->flag) {
      add(*p, "true");
    } else if (i + 1 < options.size()) {
      add(*p, options[++i]);
    } else {
      throw PreconditionError("esxcli " + std::string(command_line) + ": option " + std::string(tok) +
                              " needs a value");
    }
  }
  return out;
}

ManagedObjectReference Esxcli::Executer(const ManagedObjectReference& host) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = executers_.find(host);
    if (it != executers_.end()) return it->second;
  }
  XmlNode r = client_.Call("RetrieveManagedMethodExecuter", host);
  const XmlNode* rv = r.Child("returnval");
  if (rv == nullptr || rv->text.empty()) {
    throw PreconditionError("ESXi host " + host.ToString() +
                            " offers no remote esxcli (RetrieveManagedMethodExecuter "
                            "returned nothing) — check that the host is connected to vCenter");
  }
  ManagedObjectReference ex = ParseMoref(*rv);
  std::lock_guard<std::mutex> l(mu_);
  executers_[host] = ex;
  return ex;
}

void Esxcli::Forget(const ManagedObjectReference& host) {
  std::lock_guard<std::mutex> l(mu_);
  executers_.erase(host);
  for (auto it = cli_info_.begin(); it != cli_info_.end();) {
    it = it->first.first == host ? cli_info_.erase(it) : std::next(it);
  }
  for (auto it = use_cli_info_.begin(); it != use_cli_info_.end();) {
    it = it->first == host ? use_cli_info_.erase(it) : std::next(it);
  }
}

std::string Esxcli::ExecuteSoap(const ManagedObjectReference& host, const std::string& moid,
                                const std::string& method, const std::vector<EsxcliArgument>& args,
                                const std::string& what) {
  std::string params = BuildExecuteSoapParams(moid, method, args);
  XmlNode r;
  try {
    r = client_.Call("ExecuteSoap", Executer(host), params);
  } catch (const Fault& f) {
    if (f.fault_type() != "ManagedObjectNotFound") throw;
    // The executer went away (host reconnected, vCenter restarted): look it up again once.
    {
      std::lock_guard<std::mutex> l(mu_);
      executers_.erase(host);
    }
    r = client_.Call("ExecuteSoap", Executer(host), params);
  }
  const XmlNode* rv = r.Child("returnval");
  if (rv == nullptr) return "";
  if (const XmlNode* fault = rv->Child("fault")) {
    FaultInfo info;
    std::string detail = fault->ChildText("faultDetail");
    if (detail.find('<') != std::string::npos) {
      try {
        info = ParseMethodFault(ParseXml(detail));
      } catch (const Error&) {
        // keep what faultMsg says
      }
    }
    std::string msg = fault->ChildText("faultMsg");
    if (info.message.empty()) info.message = msg;
    throw MakeFault(what, info);
  }
  return rv->ChildText("response");
}

CliInfo Esxcli::Info(const ManagedObjectReference& host, const std::string& ns_dotted) {
  auto key = std::make_pair(host, ns_dotted);
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cli_info_.find(key);
    if (it != cli_info_.end()) return it->second;
  }
  std::string type_name = "vim.EsxCLI." + ns_dotted;
  std::string response =
      ExecuteSoap(host, std::string(kCliInfoMoid), "vim.CLIInfo.FetchCLIInfo", {{"typeName", {type_name}}},
                  "esxcli metadata " + type_name + " on ESXi host " + host.ToString());
  CliInfo info = DecodeCliInfo(response);
  std::lock_guard<std::mutex> l(mu_);
  return cli_info_.emplace(key, std::move(info)).first->second;
}

EsxcliResult Esxcli::Execute(const ManagedObjectReference& host, std::string_view ns,
                             std::string_view command, const std::vector<EsxcliArgument>& args) {
  std::vector<std::string> parts = SplitNamespace(ns);
  if (parts.empty() || command.empty()) throw BugError("esxcli: empty namespace or command");
  std::string moid = "ha-cli-handler-" + Join(parts, "-");
  std::string method = "vim.EsxCLI." + Join(parts, ".") + "." + std::string(command);
  std::string what =
      "esxcli " + Join(parts, " ") + " " + std::string(command) + " on ESXi host " + host.ToString();
  return DecodeEsxcliResponse(ExecuteSoap(host, moid, method, args, what));
}

namespace {

struct SplitCommand {
  std::vector<std::string> ns;
  std::string command;
  std::vector<std::string> options;
};

// {"storage","core","device","list","-d","naa…"} → namespace words, command, options.
SplitCommand Split(const std::vector<std::string>& argv) {
  size_t first_option = 0;
  while (first_option < argv.size() && !argv[first_option].starts_with("-")) ++first_option;
  if (first_option < 2) {
    throw BugError("esxcli: \"" + Join(argv, " ") + "\" names no namespace and command");
  }
  SplitCommand c;
  c.ns.assign(argv.begin(), argv.begin() + static_cast<std::ptrdiff_t>(first_option) - 1);
  c.command = argv[first_option - 1];
  c.options.assign(argv.begin() + static_cast<std::ptrdiff_t>(first_option), argv.end());
  return c;
}

bool ContainsNoCase(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

// The host refused the request's arguments before running the command: esxcli's own wording for an
// option it does not know or a required one it did not get, or a vmodl InvalidArgument.
bool RefusesArguments(const Fault& f) {
  if (f.fault_type() == "InvalidArgument") return true;
  if (f.fault_type() != "VimEsxCLICLIFault") return false;
  const std::string& m = f.fault_string();
  for (std::string_view w : {"invalid option", "unknown option", "unrecognized option",
                             "missing required parameter", "missing parameter", "invalid parameter"}) {
    if (ContainsNoCase(m, w)) return true;
  }
  return false;
}

std::set<std::string> Names(const std::vector<EsxcliArgument>& args) {
  std::set<std::string> out;
  for (const auto& a : args) out.insert(a.name);
  return out;
}

}  // namespace

std::vector<EsxcliArgument> Esxcli::MapOptions(const ManagedObjectReference& host,
                                               const std::vector<std::string>& ns, const std::string& command,
                                               const std::vector<std::string>& argv,
                                               const std::vector<std::string>& options) {
  if (options.empty()) return {};
  const CliInfo info = Info(host, Join(ns, "."));
  const CliMethod* m = info.Method(command);
  if (m == nullptr) {
    throw PreconditionError("esxcli " + Join(ns, " ") + " has no command \"" + command + "\" on ESXi host " +
                            host.ToString() + " — for a plugin namespace, check the VIB version");
  }
  return MapCliOptions(*m, Join(argv, " "), options);
}

EsxcliResult Esxcli::Run(const ManagedObjectReference& host, const std::vector<std::string>& argv) {
  SplitCommand c = Split(argv);
  return Execute(host, Join(c.ns, " "), c.command, MapOptions(host, c.ns, c.command, argv, c.options));
}

EsxcliResult Esxcli::Run(const ManagedObjectReference& host, const std::vector<std::string>& argv,
                         const std::vector<EsxcliArgument>& args) {
  SplitCommand c = Split(argv);
  auto key = std::make_pair(host, Join(c.ns, ".") + "." + c.command);
  bool named = true;
  {
    std::lock_guard<std::mutex> l(mu_);
    named = use_cli_info_.count(key) == 0;
  }
  if (!named) return Run(host, argv);
  try {
    return Execute(host, Join(c.ns, " "), c.command, args);
  } catch (const Fault& f) {
    if (!RefusesArguments(f) || c.options.empty()) throw;
    std::exception_ptr refusal = std::current_exception();
    std::vector<EsxcliArgument> mapped;
    try {
      mapped = MapOptions(host, c.ns, c.command, argv, c.options);
    } catch (const Error& e) {
      log::Debug("vsphere", "esxcli: CLIInfo does not explain the refusal",
                 {{"command", Join(argv, " ")}, {"error", e.what()}});
      std::rethrow_exception(refusal);
    }
    if (Names(mapped) == Names(args)) throw;
    log::Warn("vsphere", "esxcli: the host names this command's parameters differently; using its CLIInfo",
              {{"host", host.ToString()},
               {"command", Join(c.ns, " ") + " " + c.command},
               {"refusal", f.fault_string()}});
    {
      std::lock_guard<std::mutex> l(mu_);
      use_cli_info_.insert(key);
    }
    return Execute(host, Join(c.ns, " "), c.command, mapped);
  }
}

}  // namespace hoist::vsphere

#include "esxi/task_status.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace hoist::esxi {
namespace {

using nlohmann::json;

std::string Excerpt(std::string_view text) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (char c : text.substr(0, kMax)) out += (static_cast<unsigned char>(c) < 0x20 && c != '\t') ? ' ' : c;
  if (text.size() > kMax) out += "…";
  return out;
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Character data of one element body: entities decoded, CDATA sections taken verbatim.
std::string CharacterData(std::string_view body) {
  std::string out;
  while (!body.empty()) {
    auto cdata = body.find("<![CDATA[");
    out += XmlUnescape(body.substr(0, cdata));
    if (cdata == std::string_view::npos) break;
    body.remove_prefix(cdata + 9);
    auto end = body.find("]]>");
    out += body.substr(0, end);
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 3);
  }
  return out;
}

// Value of attribute `name` inside a start tag's text, if present.
std::optional<std::string> Attribute(std::string_view tag, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string_view::npos) {
    bool word_start = pos > 0 && std::isspace(static_cast<unsigned char>(tag[pos - 1]));
    std::size_t p = pos + name.size();
    while (p < tag.size() && std::isspace(static_cast<unsigned char>(tag[p]))) ++p;
    if (word_start && p < tag.size() && tag[p] == '=') {
      ++p;
      while (p < tag.size() && std::isspace(static_cast<unsigned char>(tag[p]))) ++p;
      if (p < tag.size() && (tag[p] == '"' || tag[p] == '\'')) {
        char q = tag[p];
        auto end = tag.find(q, p + 1);
        if (end != std::string_view::npos) return XmlUnescape(tag.substr(p + 1, end - p - 1));
      }
    }
    pos += name.size();
  }
  return std::nullopt;
}

std::optional<std::int64_t> ParseInt(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<json> ParseJsonObject(std::string_view message) {
  json j = json::parse(message, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Why the wrapper refused a request, for an administrator.
std::string FailureText(const WrapperReply& reply) {
  if (auto j = ParseJsonObject(reply.message)) {
    std::string text = StringField(*j, "stdErr");
    if (text.empty()) text = StringField(*j, "message");
    if (!text.empty()) return text;
  }
  return reply.message.empty() ? "no message" : Excerpt(reply.message);
}

}  // namespace

std::string XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    auto semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += '&';
      continue;
    }
    std::string_view ent = text.substr(i + 1, semi - i - 1);
    if (ent == "lt") {
      out += '<';
    } else if (ent == "gt") {
      out += '>';
    } else if (ent == "amp") {
      out += '&';
    } else if (ent == "quot") {
      out += '"';
    } else if (ent == "apos") {
      out += '\'';
    } else if (ent.size() > 1 && ent[0] == '#') {
      std::uint32_t cp = 0;
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty() || cp > 0x10FFFF) {
        out += '&';
        continue;
      }
      AppendUtf8(out, cp);
    } else {
      out += '&';
      continue;
    }
    i = semi;
  }
  return out;
}

WrapperReply ParseWrapperXml(std::string_view text) {
  auto blank = std::all_of(text.begin(), text.end(),
                           [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (blank) {
    throw TransientError(
        "the ESXi vmkfstools-wrapper printed nothing (the SSH session or esxcli call ended early)");
  }
  auto start = text.find("<output");
  auto structure = start == std::string_view::npos ? start : text.find("<structure", start);
  if (structure == std::string_view::npos) {
    throw PreconditionError(
        "the ESXi host did not answer with vmkfstools-wrapper output: \"" + Excerpt(text) +
        "\" — check that the SSH key's forced command runs the wrapper, and the wrapper version");
  }
  std::string_view rest = text.substr(structure);
  if (auto end = rest.find("</structure>"); end != std::string_view::npos) rest = rest.substr(0, end);

  WrapperReply reply;
  bool have_status = false;
  std::size_t pos = 0;
  while ((pos = rest.find("<field", pos)) != std::string_view::npos) {
    auto tag_end = rest.find('>', pos);
    if (tag_end == std::string_view::npos) break;
    std::string_view tag = rest.substr(pos, tag_end - pos);
    auto name = Attribute(tag, "name");
    auto field_end = rest.find("</field>", tag_end);
    std::string_view body = rest.substr(
        tag_end + 1, field_end == std::string_view::npos ? std::string_view::npos : field_end - tag_end - 1);
    pos = field_end == std::string_view::npos ? rest.size() : field_end;

    // The value is wrapped in a type element: <string>…</string> or <string/>.
    std::string value;
    auto open = body.find('<');
    if (open != std::string_view::npos && !body.substr(open).starts_with("<![CDATA[")) {
      auto open_end = body.find('>', open);
      if (open_end != std::string_view::npos && body[open_end - 1] != '/') {
        auto close = body.rfind("</");
        if (close != std::string_view::npos && close > open_end)
          value = CharacterData(body.substr(open_end + 1, close - open_end - 1));
      }
    } else {
      value = CharacterData(body);
    }
    if (name == "status") {
      reply.status = value;
      have_status = true;
    } else if (name == "message") {
      reply.message = value;
    }
  }
  if (!have_status) {
    throw PreconditionError("vmkfstools-wrapper output has no status field: \"" + Excerpt(text) +
                            "\" — the wrapper on the host may be incompatible; reinstall it");
  }
  return reply;
}

std::optional<int> ParseProgressPercent(std::string_view text) {
  // Scan backwards for the last "<digits>%" whose value is a percentage.
  for (std::size_t i = text.size(); i-- > 0;) {
    if (text[i] != '%') continue;
    std::size_t j = i;
    while (j > 0 && std::isdigit(static_cast<unsigned char>(text[j - 1]))) --j;
    if (j == i || i - j > 3) continue;
    int v = 0;
    std::from_chars(text.data() + j, text.data() + i, v);
    if (v <= 100) return v;
  }
  return std::nullopt;
}

CloneTaskStatus ParseTaskMessage(std::string_view message) {
  CloneTaskStatus st;
  auto parsed = ParseJsonObject(message);
  if (!parsed) {
    // Forklift's populator does the same with a message that is not JSON.
    st.last_line = std::string(message);
    st.progress_percent = ParseProgressPercent(st.last_line);
    st.running = true;
    return st;
  }
  const json& j = *parsed;
  st.task_id = StringField(j, "taskId");
  st.last_line = StringField(j, "lastLine");
  st.std_err = StringField(j, "stdErr");
  st.error_code = StringField(j, "code");

  if (auto it = j.find("pid"); it != j.end()) {
    if (it->is_number_integer()) {
      st.pid = it->get<std::int64_t>();
    } else if (it->is_string()) {
      st.pid = ParseInt(it->get<std::string>());
    }
  }

  // exitCode: "" while running, "<n>" once ended (Forklift sends a string; accept a number too).
  std::string exit_text;
  if (auto it = j.find("exitCode"); it != j.end()) {
    exit_text = it->is_number() ? it->dump() : (it->is_string() ? it->get<std::string>() : "");
  }
  if (!exit_text.empty()) {
    auto v = ParseInt(exit_text);
    st.exit_code = v ? static_cast<int>(*v) : -1;
  }
  if (auto it = j.find("running"); it != j.end() && it->is_boolean()) {
    st.running = it->get<bool>() && !st.exit_code;
  } else {
    st.running = !st.exit_code;
  }

  if (auto it = j.find("progress"); it != j.end() && it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    if (v >= 0 && v <= 100) st.progress_percent = static_cast<int>(v);
  }
  if (!st.progress_percent) st.progress_percent = ParseProgressPercent(st.last_line);

  if (auto it = j.find("xcopyUsed"); it != j.end() && it->is_boolean()) st.xcopy_used = it->get<bool>();
  if (auto it = j.find("cloneWriteOps"); it != j.end() && it->is_number_unsigned()) {
    st.clone_write_ops = it->get<std::uint64_t>();
  }
  return st;
}

CloneTaskStatus ParseTaskGetReply(const WrapperReply& reply, std::string_view what) {
  if (!reply.ok()) {
    CloneTaskStatus failed = ParseTaskMessage(reply.message);
    if (failed.error_code == "TaskNotFound" || FailureText(reply).find("not found") != std::string::npos) {
      throw PreconditionError(
          "clone task " + std::string(what) +
          " is unknown to the ESXi host: its task directory is gone (the host restarted, or "
          "the task was cleaned); the state of the copy is unknown — restart the migration");
    }
    throw PreconditionError("reading clone task " + std::string(what) + " on the ESXi host failed (status " +
                            reply.status + "): " + FailureText(reply));
  }
  return ParseTaskMessage(reply.message);
}

CloneStarted ParseCloneReply(const WrapperReply& reply, std::string_view what) {
  if (!reply.ok()) {
    std::string hint = reply.status == "28" ? " — the host's /tmp ramdisk is full; free space on it" : "";
    throw PreconditionError("starting vmkfstools clone " + std::string(what) +
                            " on the ESXi host failed (status " + reply.status + "): " + FailureText(reply) +
                            hint);
  }
  CloneTaskStatus st = ParseTaskMessage(reply.message);
  if (st.task_id.empty()) {
    throw PreconditionError("vmkfstools-wrapper started clone " + std::string(what) +
                            " but returned no task id: \"" + Excerpt(reply.message) +
                            "\" — the wrapper on the host may be incompatible; reinstall it");
  }
  return {st.task_id, st.pid};
}

bool WrapperVersion::has(std::string_view feature) const {
  return std::find(features.begin(), features.end(), feature) != features.end();
}

WrapperVersion ParseVersionReply(const WrapperReply& reply, std::string_view what) {
  if (!reply.ok()) {
    throw PreconditionError("asking the vmkfstools-wrapper on " + std::string(what) +
                            " for its version failed (status " + reply.status + "): " + FailureText(reply));
  }
  WrapperVersion v;
  if (auto j = ParseJsonObject(reply.message)) {
    v.version = StringField(*j, "version");
    v.implementation = StringField(*j, "implementation");
    if (auto it = j->find("features"); it != j->end() && it->is_array()) {
      for (const auto& f : *it) {
        if (f.is_string()) v.features.push_back(f.get<std::string>());
      }
    }
  } else {
    std::string_view m = reply.message;
    while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.remove_suffix(1);
    while (!m.empty() && std::isspace(static_cast<unsigned char>(m.front()))) m.remove_prefix(1);
    v.version = std::string(m);
  }
  bool plausible = !v.version.empty() && std::isdigit(static_cast<unsigned char>(v.version[0])) &&
                   std::all_of(v.version.begin(), v.version.end(), [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+';
                   });
  if (!plausible) {
    throw PreconditionError("the vmkfstools-wrapper on " + std::string(what) +
                            " reported no usable version: \"" + Excerpt(reply.message) +
                            "\" — an old (Python) wrapper may be installed; reinstall it");
  }
  return v;
}

std::optional<int> ProgressTracker::Update(const CloneTaskStatus& status) {
  if (!status.progress_percent || *status.progress_percent <= current_) return std::nullopt;
  current_ = *status.progress_percent;
  return current_;
}

}  // namespace hoist::esxi

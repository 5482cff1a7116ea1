#pragma once
// Packaging the vmkfstools-wrapper as an ESXi VIB (vSphere Installation Bundle).
//
// A VIB is an `ar` archive of three members, in this order:
//   descriptor.xml  name, version, vendor, acceptance level, file list, payload size and checksums
//   sig.pkcs7       the signature; empty for a community-supported VIB
//   payload1        a gzip-compressed tar ("tgz") of the files at their ESXi paths, relative to /
// descriptor.xml lists the payload's size and three checksums: sha-256 of the compressed bytes,
// and sha-256 and sha-1 of the uncompressed tar (verify-process="gunzip").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::esxi {

// Where the VIB puts the wrapper and the esxcli plugin on the host (paths relative to /).
inline constexpr std::string_view kWrapperInstallPath = "opt/hoist/vmkfstools-wrapper";
inline constexpr std::string_view kPluginInstallPath = "usr/lib/vmware/esxcli/ext/esxcli-vmkfstools.xml";
inline constexpr std::string_view kVibName = "vmkfstools-wrapper";

struct VibFile {
  std::string path;  // relative to /, e.g. "opt/hoist/vmkfstools-wrapper"
  std::string content;
  unsigned mode = 0644;
};

struct VibSpec {
  std::string name{kVibName};
  std::string version;
  std::string vendor = "hoist";
  std::string vendor_url;  // optional
  std::string summary;
  std::string description;
  std::string release_date;  // ISO 8601, e.g. 2026-11-22T00:00:00
  std::vector<VibFile> files;
  std::int64_t mtime = 0;  // modification time of the payload's entries (0 = reproducible)
};

// The whole .vib. Throws hoist::Error (kPrecondition) for an unusable name or version.
std::string BuildVib(const VibSpec& spec);

// The spec of the wrapper VIB: the script (with SCRIPT_VERSION set to `version`) and the plugin XML.
VibSpec WrapperVibSpec(std::string_view version, std::string_view wrapper_script, std::string_view plugin_xml,
                       std::string release_date);

// The wrapper script with its `SCRIPT_VERSION="..."` line set to `version`.
// Throws hoist::Error (kPrecondition) if the script has no such line.
std::string SetScriptVersion(std::string_view script, std::string_view version);

// The version in the script's SCRIPT_VERSION line ("" if none).
std::string ScriptVersion(std::string_view script);

// The wrapper script and plugin XML compiled into hoist (generated from esxi/vmkfstools-wrapper/ at build time).
std::string_view EmbeddedWrapperScript();
std::string_view EmbeddedPluginXml();

// Building blocks, public for tests.
struct ArMember {
  std::string name;
  std::string data;
};
std::string ArArchive(const std::vector<ArMember>& members);  // GNU format, deterministic headers
std::string TarArchive(const std::vector<VibFile>& files, std::int64_t mtime);  // ustar, with directories
std::string Gzip(std::string_view data);  // gzip stream (stored deflate blocks)
std::uint32_t Crc32(std::string_view data);
std::string Sha256Hex(std::string_view data);
std::string Sha1Hex(std::string_view data);
std::string VibDescriptorXml(const VibSpec& spec, std::string_view payload_gz, std::string_view payload_tar);

}  // namespace hoist::esxi

#include "controller/kinds.h"
#include "kube/objects.h"

#include <cctype>
#include <limits>

#include <nlohmann/json.hpp>

#include "controller/names.h"
#include "core/error.h"

namespace hoist::controller {

using nlohmann::json;

const std::array<KindInfo, 3>& AllKinds() {
  static const std::array<KindInfo, 3> kKinds = {{
      {PopulatorKind::kOvirt,
       "ovirt",
       "OvirtVolumePopulator",
       "OvirtVolumePopulatorList",
       "ovirtvolumepopulators",
       "ovirtvolumepopulator",
       {"ovvp", "ovvps"},
       "OVIRT_POPULATOR_IMAGE",
       8080,
       kMetricsPort,
       "ovirt_progress",
       "ownerUID",
       3},
      {PopulatorKind::kOpenstack,
       "openstack",
       "OpenstackVolumePopulator",
       "OpenstackVolumePopulatorList",
       "openstackvolumepopulators",
       "openstackvolumepopulator",
       {"osvp", "osvps"},
       "OPENSTACK_POPULATOR_IMAGE",
       8081,
       kMetricsPort,
       "openstack_populator_progress",
       "ownerUID",
       3},
      {PopulatorKind::kVSphereXcopy,
       "vsphere-xcopy",
       "VSphereXcopyVolumePopulator",
       "VSphereXcopyVolumePopulatorList",
       "vspherexcopyvolumepopulators",
       "vspherexcopyvolumepopulator",
       {"vxvp", "vxvps"},
       "VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE",
       8082,
       kMetricsPort,
       "vsphere_xcopy_volume_populator_progress",
       "owner_uid",
       0},
  }};
  return kKinds;
}

const KindInfo& Info(PopulatorKind kind) {
  for (const auto& k : AllKinds()) {
    if (k.kind == kind) return k;
  }
  throw BugError("unknown populator kind");
}

const KindInfo* FindKind(std::string_view kind_name) {
  for (const auto& k : AllKinds()) {
    if (k.kind_name == kind_name) return &k;
  }
  return nullptr;
}

std::optional<PopulatorKind> KindOfPvc(const json& pvc) {
  const json* ref = kube::At(pvc, {"spec", "dataSourceRef"});
  if (ref == nullptr || !ref->is_object()) return std::nullopt;
  if (kube::StringAt(*ref, {"apiGroup"}) != kGroup) return std::nullopt;
  if (kube::StringAt(*ref, {"name"}).empty()) return std::nullopt;
  const KindInfo* info = FindKind(kube::StringAt(*ref, {"kind"}));
  if (info == nullptr) return std::nullopt;
  return info->kind;
}

// ---- quantities --------------------------------------------------------------------------------

int64_t ParseStorageQuantity(std::string_view q) {
  auto bad = [&](const std::string& why) -> Error {
    return PreconditionError("storage quantity \"" + std::string(q) + "\" is not valid: " + why);
  };
  size_t i = 0;
  bool negative = false;
  if (i < q.size() && (q[i] == '+' || q[i] == '-')) negative = q[i++] == '-';
  // Exact arithmetic: value = digits / 10^frac_digits * 10^exp10 * 2^exp2, rounded up.
  __int128 digits = 0;
  int frac_digits = 0;
  int digit_count = 0;
  bool seen_dot = false;
  for (; i < q.size(); ++i) {
    char c = q[i];
    if (c == '.' && !seen_dot) {
      seen_dot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    if (++digit_count > 30) throw bad("too many digits");
    digits = digits * 10 + (c - '0');
    if (seen_dot) ++frac_digits;
  }
  if (digit_count == 0) throw bad("no number");
  std::string_view suffix = q.substr(i);
  int exp10 = 0;
  int exp2 = 0;
  if (suffix.empty()) {
  } else if (suffix == "Ki") {
    exp2 = 10;
  } else if (suffix == "Mi") {
    exp2 = 20;
  } else if (suffix == "Gi") {
    exp2 = 30;
  } else if (suffix == "Ti") {
    exp2 = 40;
  } else if (suffix == "Pi") {
    exp2 = 50;
  } else if (suffix == "Ei") {
    exp2 = 60;
  } else if (suffix == "m") {
    exp10 = -3;
  } else if (suffix == "k") {
    exp10 = 3;
  } else if (suffix == "M") {
    exp10 = 6;
  } else if (suffix == "G") {
    exp10 = 9;
  } else if (suffix == "T") {
    exp10 = 12;
  } else if (suffix == "P") {
    exp10 = 15;
  } else if (suffix == "E") {
    exp10 = 18;
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string_view e = suffix.substr(1);
    bool eneg = false;
    if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
      eneg = e[0] == '-';
      e.remove_prefix(1);
    }
    if (e.empty() || e.size() > 3) throw bad("bad exponent");
    for (char c : e) {
      if (!std::isdigit(static_cast<unsigned char>(c))) throw bad("bad exponent");
      exp10 = exp10 * 10 + (c - '0');
    }
    if (eneg) exp10 = -exp10;
  } else {
    throw bad("unknown suffix \"" + std::string(suffix) + "\"");
  }
  if (negative && digits != 0) throw bad("negative size");
  exp10 -= frac_digits;
  constexpr __int128 kMax = std::numeric_limits<int64_t>::max();
  __int128 value = digits;
  __int128 divisor = 1;
  for (; exp10 > 0; --exp10) {
    value *= 10;
    if (value > kMax) throw bad("too large");
  }
  for (; exp10 < 0; ++exp10) {
    divisor *= 10;
    if (divisor > kMax * 1000) throw bad("too many decimals");
  }
  for (; exp2 > 0; --exp2) {
    value *= 2;
    if (value / divisor > kMax) throw bad("too large");
  }
  __int128 bytes = (value + divisor - 1) / divisor;  // Kubernetes rounds fractional bytes up
  if (bytes > kMax) throw bad("too large");
  return static_cast<int64_t>(bytes);
}

int64_t RequestedBytes(const json& pvc) {
  const json* q = kube::At(pvc, {"spec", "resources", "requests", "storage"});
  if (q == nullptr || !q->is_string()) {
    throw PreconditionError("PVC " + kube::ObjectKey(pvc) +
                            " has no spec.resources.requests.storage; the populator needs the volume size");
  }
  try {
    return ParseStorageQuantity(q->get<std::string>());
  } catch (const Error& e) {
    throw PreconditionError("PVC " + kube::ObjectKey(pvc) + ": " + e.what());
  }
}

// ---- pod arguments -----------------------------------------------------------------------------

std::string SecretName(PopulatorKind kind, const json& cr) {
  return kube::StringAt(cr, {"spec", kind == PopulatorKind::kOvirt ? "engineSecretName" : "secretName"});
}

namespace {

std::string Required(const KindInfo& info, const json& cr, std::string_view field) {
  std::string v = kube::StringAt(cr, {"spec", field});
  if (v.empty()) {
    throw PreconditionError(std::string(info.kind_name) + " " + kube::ObjectKey(cr) + " has no spec." +
                            std::string(field) +
                            "; set it on the CR (it is created per disk by the migration plan)");
  }
  return v;
}

}  // namespace

std::vector<std::string> PopulatorArgs(PopulatorKind kind, const json& cr, const json& target_pvc) {
  const KindInfo& info = Info(kind);
  std::string cr_name = kube::StringAt(cr, {"metadata", "name"});
  std::string cr_ns = kube::StringAt(cr, {"metadata", "namespace"});
  std::string volume_path = kube::StringAt(target_pvc, {"spec", "volumeMode"}) == "Block"
                                ? std::string(kDevicePath)
                                : std::string(kDiskImagePath);
  std::vector<std::string> args;
  switch (kind) {
    case PopulatorKind::kOvirt:
      args = {"--volume-path=" + volume_path,
              "--secret-name=" + Required(info, cr, "engineSecretName"),
              "--disk-id=" + Required(info, cr, "diskId"),
              "--engine-url=" + Required(info, cr, "engineUrl"),
              "--cr-name=" + cr_name,
              "--cr-namespace=" + cr_ns};
      break;
    case PopulatorKind::kOpenstack:
      args = {"--volume-path=" + volume_path,
              "--endpoint=" + Required(info, cr, "identityUrl"),
              "--secret-name=" + Required(info, cr, "secretName"),
              "--image-id=" + Required(info, cr, "imageId"),
              "--cr-name=" + cr_name,
              "--cr-namespace=" + cr_ns};
      break;
    case PopulatorKind::kVSphereXcopy: {
      args = {"--source-vm-id=" + Required(info, cr, "vmId"),
              "--source-vmdk=" + Required(info, cr, "vmdkPath"),
              "--target-namespace=" + cr_ns,
              "--cr-name=" + cr_name,
              "--cr-namespace=" + cr_ns,
              "--owner-name=" + kube::StringAt(target_pvc, {"metadata", "name"}),
              "--secret-name=" + Required(info, cr, "secretName"),
              "--storage-vendor-product=" + Required(info, cr, "storageVendorProduct")};
      std::string host = kube::StringAt(cr, {"spec", "migrationHost"});
      if (!host.empty()) args.push_back("--migration-host=" + host);
      break;
    }
  }
  args.push_back("--pvc-size=" + std::to_string(RequestedBytes(target_pvc)));
  args.push_back("--owner-uid=" + kube::StringAt(target_pvc, {"metadata", "uid"}));
  return args;
}

// ---- retries -----------------------------------------------------------------------------------

RetryDecision DecideRetry(PopulatorKind kind, const json& target_pvc, std::string_view failed_pod_uid) {
  const KindInfo& info = Info(kind);
  RetryDecision d;
  std::string pvc = kube::ObjectKey(target_pvc);
  std::string pod = kube::StringAt(target_pvc, {"metadata", "namespace"}) + "/" +
                    PopulatorPodName(kube::StringAt(target_pvc, {"metadata", "uid"}));
  std::string logs_hint = "check its logs (kubectl logs -n " +
                          kube::StringAt(target_pvc, {"metadata", "namespace"}) + " " +
                          PopulatorPodName(kube::StringAt(target_pvc, {"metadata", "uid"})) + ")";
  if (info.max_recreations == 0) {
    d.attempts = 1;
    d.message = "populator pod " + pod + " failed and " + std::string(info.kind_name) +
                " pods are not retried (a failed copy offload usually fails the same way again); " +
                logs_hint;
    return d;
  }
  int done = 0;
  const json* a = kube::At(target_pvc, {"metadata", "annotations", kRecreationsAnnotation});
  if (a != nullptr) {
    std::string v = a->is_string() ? a->get<std::string>() : std::string();
    bool numeric = !v.empty() && v.size() <= 4;
    for (char c : v) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
    if (!numeric) {
      d.attempts = 1;
      d.message = "populator pod " + pod + " failed; not retrying because annotation " +
                  std::string(kRecreationsAnnotation) + "=\"" + v + "\" on PVC " + pvc +
                  " is not a number (remove it to allow retries); " + logs_hint;
      return d;
    }
    done = std::stoi(v);
  }
  if (!failed_pod_uid.empty() && kube::Annotation(target_pvc, kCountedFailureAnnotation) == failed_pod_uid) {
    // Already counted: `done` includes this failure.
    d.attempts = done;
    d.recreate = true;
    d.recreations = done;
    d.message = "populator pod " + pod + " failed (attempt " + std::to_string(d.attempts) + " of " +
                std::to_string(info.max_recreations + 1) + "); recreating it. If it keeps failing, " +
                logs_hint;
    return d;
  }
  d.attempts = done + 1;
  if (done < info.max_recreations) {
    d.recreate = true;
    d.recreations = done + 1;
    d.message = "populator pod " + pod + " failed (attempt " + std::to_string(d.attempts) + " of " +
                std::to_string(info.max_recreations + 1) + "); recreating it. If it keeps failing, " +
                logs_hint;
    return d;
  }
  d.message =
      "populator pod " + pod + " failed " + std::to_string(d.attempts) + " times; giving up. " + logs_hint;
  return d;
}

json RecreationsPatch(int recreations, std::string_view failed_pod_uid) {
  json annotations = {{std::string(kRecreationsAnnotation), std::to_string(recreations)}};
  if (!failed_pod_uid.empty()) annotations[std::string(kCountedFailureAnnotation)] = std::string(failed_pod_uid);
  return json{{"metadata", {{"annotations", annotations}}}};
}

}  // namespace hoist::controller

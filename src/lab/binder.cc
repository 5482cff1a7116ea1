#include "lab/binder.h"

#include <algorithm>

#include "core/log.h"
#include "lab/cluster_objects.h"
#include "lab/nodes.h"
#include "lab/selector.h"

namespace hoist::lab {
namespace {

constexpr char kComponent[] = "persistentvolume-controller";

int64_t RequestedBytes(const Json& claim) {
  const Json& q = GetNode(claim, "/spec/resources/requests/storage");
  if (q.is_string()) return ParseQuantity(q.get<std::string>());
  if (q.is_number()) return q.get<int64_t>();
  return 0;
}

int64_t CapacityBytes(const Json& pv) {
  const Json& q = GetNode(pv, "/spec/capacity/storage");
  try {
    if (q.is_string()) return ParseQuantity(q.get<std::string>());
    if (q.is_number()) return q.get<int64_t>();
  } catch (const std::exception&) {
  }
  return 0;
}

std::string VolumeMode(const Json& object) { return GetString(object, "/spec/volumeMode", "Filesystem"); }

std::vector<std::string> AccessModes(const Json& object) {
  std::vector<std::string> out;
  const Json& m = GetNode(object, "/spec/accessModes");
  if (m.is_array())
    for (const auto& v : m)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool ModesSuperset(const std::vector<std::string>& have, const std::vector<std::string>& want) {
  for (const auto& w : want)
    if (std::find(have.begin(), have.end(), w) == have.end()) return false;
  return true;
}

std::string VolumeClass(const Json& pv) {
  std::string beta = Annotation(pv, "volume.beta.kubernetes.io/storage-class");
  if (!beta.empty()) return beta;
  return GetString(pv, "/spec/storageClassName");
}

bool PodIsTerminal(const Json& pod) {
  std::string phase = GetString(pod, "/status/phase");
  return phase == "Succeeded" || phase == "Failed";
}

bool PodUsesClaim(const Json& pod, const std::string& ns, const std::string& claim) {
  if (GetString(pod, "/metadata/namespace") != ns) return false;
  const Json& volumes = GetNode(pod, "/spec/volumes");
  if (!volumes.is_array()) return false;
  for (const auto& v : volumes)
    if (GetString(v, "/persistentVolumeClaim/claimName") == claim) return true;
  return false;
}

bool RemoveFinalizer(Json& object, const std::string& finalizer) {
  Json& f = object["metadata"]["finalizers"];
  if (!f.is_array()) return false;
  auto it = std::find(f.begin(), f.end(), Json(finalizer));
  if (it == f.end()) return false;
  f.erase(it);
  return true;
}

bool HasFinalizer(const Json& object, const std::string& finalizer) {
  const Json& f = GetNode(object, "/metadata/finalizers");
  return f.is_array() && std::find(f.begin(), f.end(), Json(finalizer)) != f.end();
}

}  // namespace

std::string ClaimClass(const Json& claim) {
  std::string beta = Annotation(claim, "volume.beta.kubernetes.io/storage-class");
  if (!beta.empty()) return beta;
  return GetString(claim, "/spec/storageClassName");
}

bool IsVolumeBoundToClaim(const Json& pv, const Json& claim) {
  const Json& ref = GetNode(pv, "/spec/claimRef");
  if (!ref.is_object()) return false;
  if (GetString(ref, "/name") != GetString(claim, "/metadata/name")) return false;
  if (GetString(ref, "/namespace") != GetString(claim, "/metadata/namespace")) return false;
  std::string uid = GetString(ref, "/uid");
  return uid.empty() || uid == GetString(claim, "/metadata/uid");
}

bool VolumeSatisfiesClaim(const Json& pv, const Json& claim, std::string* why) {
  auto fail = [&](std::string w) {
    if (why) *why = std::move(w);
    return false;
  };
  int64_t want = 0;
  try {
    want = RequestedBytes(claim);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (CapacityBytes(pv) < want) return fail("requested PV is too small");
  if (VolumeClass(pv) != ClaimClass(claim)) return fail("storageClassName does not match");
  if (VolumeMode(pv) != VolumeMode(claim)) return fail("incompatible volumeMode");
  return true;
}

int FindBestMatch(const Json& claim, const std::vector<Json>& pvs, const Json* node, bool delay_binding) {
  int64_t want = 0;
  try {
    want = RequestedBytes(claim);
  } catch (const std::exception&) {
    return -1;
  }
  std::vector<std::string> want_modes = AccessModes(claim);
  std::string want_class = ClaimClass(claim);
  const Json& sel_json = GetNode(claim, "/spec/selector");
  std::optional<LabelSelector> selector;
  if (sel_json.is_object()) {
    try {
      selector = LabelSelector::FromJson(sel_json);
    } catch (const std::exception&) {
      return -1;
    }
  }
  int best = -1;
  size_t best_modes = 0;
  int64_t best_size = 0;
  for (size_t i = 0; i < pvs.size(); ++i) {
    const Json& pv = pvs[i];
    std::vector<std::string> modes = AccessModes(pv);
    if (!ModesSuperset(modes, want_modes)) continue;
    int64_t size = CapacityBytes(pv);
    if (size < want) continue;
    if (VolumeMode(pv) != VolumeMode(claim)) continue;
    if (IsDeleting(pv)) continue;
    bool affinity_ok = node == nullptr || VolumeFitsNode(pv, *node);
    if (IsVolumeBoundToClaim(pv, claim)) {
      // A volume pre-bound to this claim wins, or nothing does.
      return affinity_ok ? static_cast<int>(i) : -1;
    }
    if (node == nullptr && delay_binding) continue;
    if (GetString(pv, "/status/phase") != "Available") continue;
    if (GetNode(pv, "/spec/claimRef").is_object()) continue;
    if (selector && !selector->Matches(GetNode(pv, "/metadata/labels"))) continue;
    if (VolumeClass(pv) != want_class) continue;
    if (!affinity_ok) continue;
    // Kubernetes tries the volumes with the fewest access modes first, then the smallest.
    if (best < 0 || modes.size() < best_modes || (modes.size() == best_modes && size < best_size)) {
      best = static_cast<int>(i);
      best_modes = modes.size();
      best_size = size;
    }
  }
  return best;
}

Binder::Binder(Store& store)
    : store_(store),
      pvcs_(store.MustType("", "persistentvolumeclaims")),
      pvs_(store.MustType("", "persistentvolumes")),
      classes_(store.MustType("storage.k8s.io", "storageclasses")),
      nodes_(store.MustType("", "nodes")),
      pods_(store.MustType("", "pods")) {}

void Binder::EventOnce(const Json& object, const std::string& type, const std::string& reason,
                       const std::string& message) {
  std::string key = GetString(object, "/metadata/uid") + "/" + reason + "/" + message;
  if (!events_sent_.insert(key).second) return;
  RecordEvent(store_, object, type, reason, message, kComponent);
}

bool Binder::Sync() {
  claims_ = store_.List(pvcs_, "").items;
  volumes_ = store_.List(pvs_, "").items;
  class_list_ = store_.List(classes_, "").items;
  node_list_ = store_.List(nodes_, "").items;
  pods_listed_ = false;  // listed on first need: only claims being deleted look at pods
  auto by_name = [](const Json& a, const Json& b) { return NamespacedName(a) < NamespacedName(b); };
  std::sort(claims_.begin(), claims_.end(), by_name);
  std::sort(volumes_.begin(), volumes_.end(), by_name);
  // The only volumes FindBestMatch can pick for a claim: those pre-bound to it and the free
  // Available ones (in name order, as in volumes_), so that matching stays cheap with many volumes.
  free_volumes_.clear();
  prebound_.clear();
  for (const auto& pv : volumes_) {
    const Json& ref = GetNode(pv, "/spec/claimRef");
    if (ref.is_object()) {
      prebound_[GetString(ref, "/namespace") + "/" + GetString(ref, "/name")].push_back(pv);
    } else if (GetString(pv, "/status/phase") == "Available") {
      free_volumes_.push_back(pv);
    }
  }
  // Every claim in one pass: what a claim's sync writes concerns that claim and its own volume (a
  // free volume taken by one claim is dropped from free_volumes_ at once), so the others' snapshots
  // stay valid. Volumes are looked at in a pass without claim changes, on fresh lists.
  bool wrote = false;
  for (const auto& claim : claims_) {
    try {
      if (SyncClaim(claim)) wrote = true;
    } catch (const std::exception& e) {
      log::Warn("lab.binder", "could not sync claim",
                {{"claim", NamespacedName(claim)}, {"error", e.what()}});
    }
  }
  if (wrote) return true;
  for (const auto& pv : volumes_) {
    try {
      if (SyncVolume(pv)) return true;
    } catch (const std::exception& e) {
      log::Warn("lab.binder", "could not sync volume", {{"volume", NamespacedName(pv)}, {"error", e.what()}});
    }
  }
  return false;
}

bool Binder::SyncClaim(const Json& claim) {
  const std::string ns = GetString(claim, "/metadata/namespace");
  const std::string name = GetString(claim, "/metadata/name");
  if (IsDeleting(claim)) {
    // pvc-protection: the finalizer goes once no pod that may still run uses the claim.
    if (!HasFinalizer(claim, kPvcProtectionFinalizer)) return false;
    if (!pods_listed_) {
      pod_list_ = store_.List(pods_, "").items;
      pods_listed_ = true;
    }
    for (const auto& pod : pod_list_)
      if (PodUsesClaim(pod, ns, name) && !PodIsTerminal(pod)) return false;
    store_.Mutate(pvcs_, ns, name, [](Json& c) { return RemoveFinalizer(c, kPvcProtectionFinalizer); });
    return true;
  }
  if (!HasFinalizer(claim, kPvcProtectionFinalizer)) {
    store_.Mutate(pvcs_, ns, name, [](Json& c) {
      if (IsDeleting(c) || HasFinalizer(c, kPvcProtectionFinalizer)) return false;
      c["metadata"]["finalizers"].push_back(kPvcProtectionFinalizer);
      return true;
    });
    return true;
  }
  if (Annotation(claim, kAnnBindCompleted).empty()) return SyncUnboundClaim(claim);
  return SyncBoundClaim(claim);
}

bool Binder::SyncUnboundClaim(const Json& claim) {
  const std::string ns = GetString(claim, "/metadata/namespace");
  const std::string name = GetString(claim, "/metadata/name");
  const std::string volume_name = GetString(claim, "/spec/volumeName");

  // Retroactive default StorageClass assignment: a claim with no class at all gets the default one.
  const Json& cls = GetNode(claim, "/spec/storageClassName");
  if (volume_name.empty() && cls.is_null() &&
      Annotation(claim, "volume.beta.kubernetes.io/storage-class").empty()) {
    const Json* def = nullptr;
    for (const auto& c : class_list_)
      if (Annotation(c, kAnnDefaultClass) == "true" &&
          (!def ||
           GetString(c, "/metadata/creationTimestamp") > GetString(*def, "/metadata/creationTimestamp")))
        def = &c;
    if (def) {
      std::string def_name = GetString(*def, "/metadata/name");
      store_.Mutate(pvcs_, ns, name, [&](Json& c) {
        if (!GetNode(c, "/spec/storageClassName").is_null()) return false;
        c["spec"]["storageClassName"] = def_name;
        return true;
      });
      return true;
    }
  }

  if (volume_name.empty()) {
    const std::string class_name = ClaimClass(claim);
    const Json* sc = nullptr;
    for (const auto& c : class_list_)
      if (GetString(c, "/metadata/name") == class_name) sc = &c;
    bool delay = sc && GetString(*sc, "/volumeBindingMode") == "WaitForFirstConsumer";
    std::string selected = Annotation(claim, kAnnSelectedNode);
    const Json* node = nullptr;
    if (delay && !selected.empty())
      for (const auto& n : node_list_)
        if (GetString(n, "/metadata/name") == selected) node = &n;
    std::vector<Json> candidates;
    if (auto it = prebound_.find(ns + "/" + name); it != prebound_.end()) candidates = it->second;
    candidates.insert(candidates.end(), free_volumes_.begin(), free_volumes_.end());
    int match = FindBestMatch(claim, candidates, node, delay);
    if (match >= 0) {
      std::string chosen = GetString(candidates[match], "/metadata/name");
      bool bound = Bind(candidates[match], claim);
      free_volumes_.erase(std::remove_if(free_volumes_.begin(), free_volumes_.end(),
                                         [&](const Json& v) { return GetString(v, "/metadata/name") == chosen; }),
                          free_volumes_.end());
      return bound;
    }
    if (delay && selected.empty()) {
      EventOnce(claim, "Normal", "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding");
      return false;
    }
    if (sc && !GetString(*sc, "/provisioner").empty() &&
        GetString(*sc, "/provisioner") != "kubernetes.io/no-provisioner") {
      std::string provisioner = GetString(*sc, "/provisioner");
      if (Annotation(claim, kAnnStorageProvisioner) != provisioner ||
          Annotation(claim, kAnnBetaStorageProvisioner) != provisioner) {
        store_.Mutate(pvcs_, ns, name, [&](Json& c) {
          if (!Annotation(c, kAnnBindCompleted).empty()) return false;
          c["metadata"]["annotations"][kAnnStorageProvisioner] = provisioner;
          c["metadata"]["annotations"][kAnnBetaStorageProvisioner] = provisioner;
          return true;
        });
        EventOnce(claim, "Normal", "ExternalProvisioning",
                  "Waiting for a volume to be created either by the external provisioner '" + provisioner +
                      "' or manually by the system administrator. If volume creation is delayed, please "
                      "verify that the provisioner is running and correctly registered.");
        return true;
      }
      return false;
    }
    if (!class_name.empty() && !sc) {
      EventOnce(claim, "Warning", "ProvisioningFailed",
                "storageclass.storage.k8s.io \"" + class_name + "\" not found");
    } else {
      EventOnce(claim, "Normal", "FailedBinding",
                "no persistent volumes available for this claim and no storage class is set");
    }
    return false;
  }

  // The claim asks for one volume.
  const Json* pv = nullptr;
  for (const auto& v : volumes_)
    if (GetString(v, "/metadata/name") == volume_name) pv = &v;
  if (!pv) {
    EventOnce(claim, "Normal", "FailedBinding", "volume \"" + volume_name + "\" not found");
    return SetClaimPhase(claim, "Pending");
  }
  if (!GetNode(*pv, "/spec/claimRef").is_object()) {
    std::string why;
    if (!VolumeSatisfiesClaim(*pv, claim, &why)) {
      EventOnce(claim, "Warning", "VolumeMismatch",
                "Cannot bind to requested volume \"" + volume_name + "\": " + why);
      return SetClaimPhase(claim, "Pending");
    }
    return Bind(*pv, claim);
  }
  if (IsVolumeBoundToClaim(*pv, claim)) return Bind(*pv, claim);
  EventOnce(claim, "Warning", "FailedBinding",
            "volume \"" + volume_name + "\" already bound to a different claim.");
  return SetClaimPhase(claim, "Pending");
}

bool Binder::SyncBoundClaim(const Json& claim) {
  const std::string volume_name = GetString(claim, "/spec/volumeName");
  if (volume_name.empty()) {
    bool wrote = SetClaimPhase(claim, "Lost");
    if (wrote)
      EventOnce(claim, "Warning", "ClaimLost",
                "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!");
    return wrote;
  }
  const Json* pv = nullptr;
  for (const auto& v : volumes_)
    if (GetString(v, "/metadata/name") == volume_name) pv = &v;
  if (!pv) {
    bool wrote = SetClaimPhase(claim, "Lost");
    if (wrote)
      EventOnce(claim, "Warning", "ClaimLost",
                "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
    return wrote;
  }
  const Json& ref = GetNode(*pv, "/spec/claimRef");
  if (!ref.is_object()) return Bind(*pv, claim);  // the volume was released or made available again
  if (IsVolumeBoundToClaim(*pv, claim) && GetString(ref, "/uid") == GetString(claim, "/metadata/uid"))
    return Bind(*pv, claim);
  // The volume belongs to another claim now (a volume populator switched claimRef to its target claim).
  bool wrote = SetClaimPhase(claim, "Lost");
  if (wrote)
    EventOnce(claim, "Warning", "ClaimMisbound",
              "Two claims are bound to the same volume, this one is bound incorrectly");
  return wrote;
}

bool Binder::Bind(const Json& pv, const Json& claim) {
  const std::string ns = GetString(claim, "/metadata/namespace");
  const std::string name = GetString(claim, "/metadata/name");
  const std::string uid = GetString(claim, "/metadata/uid");
  const std::string pv_name = GetString(pv, "/metadata/name");
  bool wrote = false;

  // 1. The volume points at the claim.
  const Json& ref = GetNode(pv, "/spec/claimRef");
  if (!ref.is_object() || !IsVolumeBoundToClaim(pv, claim) || GetString(ref, "/uid") != uid) {
    bool set_by_us = !ref.is_object();
    store_.Mutate(pvs_, "", pv_name, [&](Json& v) {
      v["spec"]["claimRef"] = {{"kind", "PersistentVolumeClaim"},
                               {"apiVersion", "v1"},
                               {"namespace", ns},
                               {"name", name},
                               {"uid", uid},
                               {"resourceVersion", GetString(claim, "/metadata/resourceVersion")}};
      if (set_by_us) v["metadata"]["annotations"][kAnnBoundByController] = "yes";
      return true;
    });
    wrote = true;
  }
  // 2. The volume is Bound.
  if (GetString(pv, "/status/phase") != "Bound") {
    store_.Mutate(
        pvs_, "", pv_name,
        [&](Json& v) {
          if (GetString(v, "/status/phase") == "Bound") return false;
          v["status"]["phase"] = "Bound";
          v["status"].erase("message");
          v["status"].erase("reason");
          v["status"]["lastPhaseTransitionTime"] = NowTimestamp();
          return true;
        },
        true);
    wrote = true;
  }
  // 3. The claim points at the volume.
  bool fresh = GetString(claim, "/spec/volumeName").empty();
  if (fresh || Annotation(claim, kAnnBindCompleted) != "yes") {
    store_.Mutate(pvcs_, ns, name, [&](Json& c) {
      if (GetString(c, "/metadata/uid") != uid) return false;
      if (GetString(c, "/spec/volumeName").empty()) {
        c["spec"]["volumeName"] = pv_name;
        c["metadata"]["annotations"][kAnnBoundByController] = "yes";
      }
      c["metadata"]["annotations"][kAnnBindCompleted] = "yes";
      return true;
    });
    wrote = true;
  }
  // 4. The claim is Bound, with the volume's capacity and access modes.
  const Json& capacity = GetNode(pv, "/spec/capacity");
  const Json& modes = GetNode(pv, "/spec/accessModes");
  if (GetString(claim, "/status/phase") != "Bound" || GetNode(claim, "/status/capacity") != capacity ||
      GetNode(claim, "/status/accessModes") != modes) {
    store_.Mutate(
        pvcs_, ns, name,
        [&](Json& c) {
          if (GetString(c, "/metadata/uid") != uid) return false;
          if (GetString(c, "/status/phase") != "Bound")
            c["status"]["lastPhaseTransitionTime"] = NowTimestamp();
          c["status"]["phase"] = "Bound";
          if (!capacity.is_null()) c["status"]["capacity"] = capacity;
          if (!modes.is_null()) c["status"]["accessModes"] = modes;
          return true;
        },
        true);
    wrote = true;
  }
  if (wrote) {
    log::Info("lab.binder", "bound claim to volume", {{"claim", ns + "/" + name}, {"volume", pv_name}});
  }
  return wrote;
}

bool Binder::SetClaimPhase(const Json& claim, const std::string& phase) {
  if (GetString(claim, "/status/phase") == phase) return false;
  const std::string uid = GetString(claim, "/metadata/uid");
  store_.Mutate(
      pvcs_, GetString(claim, "/metadata/namespace"), GetString(claim, "/metadata/name"),
      [&](Json& c) {
        if (GetString(c, "/metadata/uid") != uid || GetString(c, "/status/phase") == phase) return false;
        c["status"]["phase"] = phase;
        c["status"]["lastPhaseTransitionTime"] = NowTimestamp();
        return true;
      },
      true);
  if (phase == "Lost")
    log::Warn("lab.binder", "claim lost its volume",
              {{"claim", NamespacedName(claim)}, {"volume", GetString(claim, "/spec/volumeName")}});
  return true;
}

bool Binder::SetVolumePhase(const Json& pv, const std::string& phase, const std::string& message) {
  if (GetString(pv, "/status/phase") == phase && GetString(pv, "/status/message") == message) return false;
  store_.Mutate(
      pvs_, "", GetString(pv, "/metadata/name"),
      [&](Json& v) {
        if (GetString(v, "/status/phase") == phase && GetString(v, "/status/message") == message)
          return false;
        if (GetString(v, "/status/phase") != phase) v["status"]["lastPhaseTransitionTime"] = NowTimestamp();
        v["status"]["phase"] = phase;
        if (message.empty())
          v["status"].erase("message");
        else
          v["status"]["message"] = message;
        return true;
      },
      true);
  return true;
}

bool Binder::SyncVolume(const Json& pv) {
  const std::string pv_name = GetString(pv, "/metadata/name");
  const std::string phase = GetString(pv, "/status/phase");
  if (IsDeleting(pv)) {
    // pv-protection: a volume is in use while it is Bound.
    if (HasFinalizer(pv, kPvProtectionFinalizer) && phase != "Bound") {
      store_.Mutate(pvs_, "", pv_name, [](Json& v) { return RemoveFinalizer(v, kPvProtectionFinalizer); });
      return true;
    }
    return false;
  }
  if (!HasFinalizer(pv, kPvProtectionFinalizer)) {
    store_.Mutate(pvs_, "", pv_name, [](Json& v) {
      if (IsDeleting(v) || HasFinalizer(v, kPvProtectionFinalizer)) return false;
      v["metadata"]["finalizers"].push_back(kPvProtectionFinalizer);
      return true;
    });
    return true;
  }
  const Json& ref = GetNode(pv, "/spec/claimRef");
  if (!ref.is_object() || GetString(ref, "/uid").empty()) {
    // Unused, or pre-bound by a user to a claim that has not bound yet.
    return SetVolumePhase(pv, "Available");
  }
  const Json* claim = nullptr;
  for (const auto& c : claims_)
    if (GetString(c, "/metadata/namespace") == GetString(ref, "/namespace") &&
        GetString(c, "/metadata/name") == GetString(ref, "/name") &&
        GetString(c, "/metadata/uid") == GetString(ref, "/uid"))
      claim = &c;
  const std::string policy = GetString(pv, "/spec/persistentVolumeReclaimPolicy", "Retain");
  if (!claim) {
    // The claim is gone: Released, then the reclaim policy.
    if (phase != "Released" && phase != "Failed") {
      SetVolumePhase(pv, "Released");
      log::Info("lab.binder", "volume released",
                {{"volume", pv_name},
                 {"claim", GetString(ref, "/namespace") + "/" + GetString(ref, "/name")},
                 {"reclaimPolicy", policy}});
      return true;
    }
    if (phase == "Released" && policy == "Delete" && Annotation(pv, kAnnProvisionedBy).empty()) {
      EventOnce(pv, "Warning", "VolumeFailedDelete",
                "error getting deleter volume plugin for volume \"" + pv_name +
                    "\": no deletable volume plugin matched");
      return SetVolumePhase(pv, "Failed",
                            "error getting deleter volume plugin for volume \"" + pv_name +
                                "\": no deletable volume plugin matched");
    }
    if (phase == "Released" && policy == "Recycle") {
      EventOnce(pv, "Warning", "VolumeFailedRecycle",
                "the lab does not recycle volumes (Recycle is deprecated); use Retain or Delete");
      return SetVolumePhase(pv, "Failed", "Recycle is not supported");
    }
    return false;  // Retain: stays Released. Delete of a provisioned volume: the provisioner's job.
  }
  const std::string claim_volume = GetString(*claim, "/spec/volumeName");
  if (claim_volume.empty() || claim_volume == pv_name) return SetVolumePhase(pv, "Bound");
  // The claim is bound to another volume.
  if (!Annotation(pv, kAnnProvisionedBy).empty() && policy == "Delete") {
    if (phase != "Released") return SetVolumePhase(pv, "Released");
    return false;
  }
  if (Annotation(pv, kAnnBoundByController) == "yes") {
    store_.Mutate(pvs_, "", pv_name, [](Json& v) {
      v["spec"].erase("claimRef");
      if (v["metadata"]["annotations"].is_object()) v["metadata"]["annotations"].erase(kAnnBoundByController);
      return true;
    });
    return true;
  }
  return false;
}

}  // namespace hoist::lab

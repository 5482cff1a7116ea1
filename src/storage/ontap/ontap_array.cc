#include "storage/ontap/ontap_array.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "storage/common/fields.h"
#include "storage/identifiers.h"
#include "storage/registry.h"

namespace hoist::storage::ontap {
namespace {

using common::Str;
using nlohmann::json;

// How ONTAP stores an initiator: iSCSI names as given; FC ports as the WWPN `xx:xx:…` in lower case.
std::string OntapInitiatorName(const std::string& id) {
  Initiator init = ParseInitiator(id);
  if (init.protocol == Protocol::kFc) return AsciiLower(WwnWithColons(init.name));
  return init.name;
}

}  // namespace

std::string NaaFromSerial(std::string_view serial) { return NaaFromAsciiSerial(kNaaPrefix, serial); }

std::string LunPathFromVolume(const VolumeRef& volume) {
  auto attr = [&](const char* key) -> std::string {
    auto it = volume.volume_attributes.find(key);
    return it == volume.volume_attributes.end() ? "" : it->second;
  };
  std::string id = attr("internalID");
  if (!id.empty()) {
    // /svm/<svm>/flexvol/<flexvol>/lun/<lun>
    std::vector<std::string> parts;
    size_t start = 1;
    while (start <= id.size()) {
      size_t slash = id.find('/', start);
      if (slash == std::string::npos) slash = id.size();
      parts.push_back(id.substr(start, slash - start));
      start = slash + 1;
    }
    if (id[0] == '/' && parts.size() == 6 && parts[0] == "svm" && parts[2] == "flexvol" &&
        parts[4] == "lun" && !parts[3].empty() && !parts[5].empty()) {
      return "/vol/" + parts[3] + "/" + parts[5];
    }
  }
  std::string name = attr("internalName");
  if (!name.empty()) return "/vol/" + name + "/lun0";
  throw PreconditionError(
      "PV " + volume.pv_name + " (volume handle " + volume.volume_handle +
      ") has neither volumeAttributes.internalID (/svm/<svm>/flexvol/<flexvol>/lun/<lun>) nor "
      "internalName: is it a Trident ontap-san or ontap-san-economy volume?");
}

std::string IgroupProtocol(const std::vector<std::string>& initiator_ids) {
  switch (ProtocolOfInitiators(initiator_ids)) {
    case Protocol::kIscsi:
      return "iscsi";
    case Protocol::kFc:
      return "fcp";
    default:
      return "mixed";
  }
}

OntapArray::OntapArray(const ArrayConfig& config, Tuning tuning)
    : svm_name_(config.Get("ONTAP_SVM")), rest_(config, tuning) {}

std::string OntapArray::Describe() const { return "ONTAP " + rest_.host(); }

std::string OntapArray::svm_uuid() {
  return svm_uuid_.Get([this] {
    std::vector<json> svms;
    if (!svm_name_.empty()) {
      svms = rest_.GetRecords("/api/svm/svms?" + Query({{"name", svm_name_}, {"fields", "uuid,name"}}),
                              "looking up SVM " + svm_name_);
      if (svms.size() != 1) {
        throw PreconditionError(
            "SVM " + svm_name_ + " (ONTAP_SVM) not found on ONTAP " + rest_.host() +
            ": check the name and that STORAGE_HOSTNAME is the cluster or SVM management LIF");
      }
    } else {
      svms = rest_.GetRecords("/api/svm/svms?" + Query({{"fields", "uuid,name"}}), "listing SVMs");
      if (svms.size() != 1) {
        throw PreconditionError("cannot derive the SVM to use on ONTAP " + rest_.host() + ": the user sees " +
                                std::to_string(svms.size()) + " SVMs; set ONTAP_SVM in the storage secret");
      }
    }
    std::string uuid = Str(svms[0], "uuid");
    if (uuid.empty()) throw TransientError("ONTAP " + rest_.host() + " returned an SVM without a uuid");
    return uuid;
  });
}

Lun OntapArray::LookupLun(const std::string& path) {
  auto records = rest_.GetRecords(
      "/api/storage/luns?" + Query({{"svm.uuid", svm_uuid()},
                                    {"name", path},
                                    {"fields", "uuid,name,serial_number,space.size,status.state"}}),
      "looking up LUN " + path);
  if (records.empty()) {
    throw PreconditionError("LUN " + path + " not found on ONTAP " + rest_.host() +
                            (svm_name_.empty() ? "" : " in SVM " + svm_name_) +
                            ": check that the PV's volume is on this array and SVM");
  }
  if (records.size() > 1) {
    throw PreconditionError("LUN name " + path + " matches " + std::to_string(records.size()) +
                            " LUNs on ONTAP " + rest_.host() + ": set ONTAP_SVM in the storage secret");
  }
  const json& r = records[0];
  Lun lun;
  lun.name = Str(r, "name");
  lun.id = Str(r, "uuid");
  lun.serial = Str(r, "serial_number");
  if (lun.serial.empty()) {
    throw TransientError("ONTAP " + rest_.host() + " returned LUN " + path + " without a serial_number");
  }
  lun.naa = NaaFromSerial(lun.serial);
  if (r.contains("space") && r["space"].contains("size") && r["space"]["size"].is_number_unsigned()) {
    lun.size_bytes = r["space"]["size"].get<uint64_t>();
  }
  return lun;
}

Lun OntapArray::ResolveVolume(const VolumeRef& volume) { return LookupLun(LunPathFromVolume(volume)); }

InitiatorGroup OntapArray::EnsureInitiatorGroup(const std::string& name,
                                                const std::vector<std::string>& initiators) {
  InitiatorGroup group;
  std::string protocol = IgroupProtocol(initiators);
  group.name = name + "-" + protocol;
  group.protocol = protocol == "iscsi" ? Protocol::kIscsi
                   : protocol == "fcp" ? Protocol::kFc
                                       : Protocol::kMixed;
  const std::string svm = svm_uuid();
  const std::string lookup =
      "/api/protocols/san/igroups?" +
      Query({{"svm.uuid", svm}, {"name", group.name}, {"fields", "uuid,name,protocol,initiators.name"}});
  auto records = rest_.GetRecords(lookup, "looking up igroup " + group.name);
  if (records.empty()) {
    json body = {
        {"name", group.name}, {"protocol", protocol}, {"os_type", "vmware"}, {"svm", {{"uuid", svm}}}};
    try {
      rest_.Post("/api/protocols/san/igroups?return_records=true", body, "creating igroup " + group.name);
      log::Info("storage.ontap", "created igroup", {{"igroup", group.name}, {"array", rest_.host()}});
    } catch (const CallError& e) {
      if (!AlreadyExists(e)) throw;  // created meanwhile by another populator: use it
    }
    records = rest_.GetRecords(lookup, "looking up igroup " + group.name);
    if (records.size() != 1) {
      throw TransientError("igroup " + group.name + " on ONTAP " + rest_.host() +
                           " was created but is not listed");
    }
  }
  const json& ig = records[0];
  if (Str(ig, "protocol") != "" && Str(ig, "protocol") != protocol) {
    throw PreconditionError("igroup " + group.name + " on ONTAP " + rest_.host() + " has protocol " +
                            Str(ig, "protocol") + ", expected " + protocol + ": delete or fix the igroup");
  }
  const std::string uuid = Str(ig, "uuid");
  std::vector<std::string> present;
  if (ig.contains("initiators") && ig["initiators"].is_array()) {
    for (const auto& i : ig["initiators"]) present.push_back(AsciiLower(Str(i, "name")));
  }
  group.initiators = present;
  for (const auto& id : initiators) {
    std::string member = OntapInitiatorName(id);
    if (std::find(present.begin(), present.end(), AsciiLower(member)) != present.end()) continue;
    try {
      rest_.Post("/api/protocols/san/igroups/" + uuid + "/initiators", json{{"name", member}},
                 "adding initiator " + member + " to igroup " + group.name);
    } catch (const CallError& e) {
      if (!AlreadyExists(e)) throw;
    }
    group.initiators.push_back(AsciiLower(member));
    present.push_back(AsciiLower(member));
  }
  return group;
}

std::vector<std::string> OntapArray::ListMappings(const Lun& lun) {
  auto records = rest_.GetRecords(
      "/api/protocols/san/lun-maps?" + Query({{"svm.uuid", svm_uuid()},
                                              {"lun.name", lun.name},
                                              {"fields", "igroup.name,logical_unit_number"}}),
      "listing the mappings of LUN " + lun.name);
  std::vector<std::string> groups;
  for (const auto& r : records) {
    if (r.contains("igroup")) groups.push_back(Str(r["igroup"], "name"));
  }
  return groups;
}

Lun OntapArray::Map(const Lun& lun, const std::string& group) {
  Lun out = lun.naa.empty() || lun.id.empty() ? LookupLun(lun.name) : lun;
  const std::string what = "mapping LUN " + lun.name + " to igroup " + group;
  const std::string lookup = "/api/protocols/san/lun-maps?" + Query({{"svm.uuid", svm_uuid()},
                                                                     {"lun.name", lun.name},
                                                                     {"igroup.name", group},
                                                                     {"fields", "logical_unit_number"}});
  auto lun_number = [](const json& record) {
    auto it = record.find("logical_unit_number");
    return it != record.end() && it->is_number_integer() ? it->get<int>() : -1;
  };
  if (auto existing = rest_.GetRecords(lookup, what); !existing.empty()) {
    out.host_lun_id = lun_number(existing.front());
    return out;
  }
  json body = {{"igroup", {{"name", group}}},
               {"lun", {{"name", lun.name}, {"uuid", out.id}}},
               {"svm", {{"uuid", svm_uuid()}}}};
  try {
    json resp = rest_.Post("/api/protocols/san/lun-maps?return_records=true", body, what);
    if (resp.contains("records") && resp["records"].is_array() && !resp["records"].empty())
      out.host_lun_id = lun_number(resp["records"][0]);
    log::Info("storage.ontap", "mapped LUN",
              {{"lun", lun.name}, {"igroup", group}, {"lunId", out.host_lun_id}, {"array", rest_.host()}});
  } catch (const CallError& e) {
    if (!AlreadyExists(e)) throw;
    // A 409 may also mean "LUN id in use": only an existing mapping counts as success.
    auto existing = rest_.GetRecords(lookup, what);
    if (existing.empty()) throw;
    out.host_lun_id = lun_number(existing.front());
  }
  return out;
}

void OntapArray::Unmap(const Lun& lun, const std::string& group) {
  const std::string what = "unmapping LUN " + lun.name + " from igroup " + group;
  auto records =
      rest_.GetRecords("/api/protocols/san/lun-maps?" + Query({{"svm.uuid", svm_uuid()},
                                                               {"lun.name", lun.name},
                                                               {"igroup.name", group},
                                                               {"fields", "lun.uuid,igroup.uuid"}}),
                       what);
  for (const auto& r : records) {
    std::string lun_uuid = r.contains("lun") ? Str(r["lun"], "uuid") : "";
    std::string igroup_uuid = r.contains("igroup") ? Str(r["igroup"], "uuid") : "";
    if (lun_uuid.empty() || igroup_uuid.empty()) {
      throw TransientError(what + " on ONTAP " + rest_.host() +
                           ": the lun-map record has no lun/igroup uuid");
    }
    try {
      rest_.Delete("/api/protocols/san/lun-maps/" + lun_uuid + "/" + igroup_uuid, what);
      log::Info("storage.ontap", "unmapped LUN",
                {{"lun", lun.name}, {"igroup", group}, {"array", rest_.host()}});
    } catch (const CallError& e) {
      if (e.status() != 404) throw;
    }
  }
}

void RegisterVendor(VendorRegistry& registry) { RegisterArray<OntapArray>(registry, "ontap"); }

}  // namespace hoist::storage::ontap

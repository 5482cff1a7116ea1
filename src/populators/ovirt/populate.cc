#include "populators/ovirt/populate.h"

#include <algorithm>
#include <future>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "net/http_client.h"
#include "populators/ovirt/engine.h"
#include "populators/ovirt/imageio.h"

namespace hoist::populators::ovirt {
namespace {

constexpr const char* kChecksumAlgorithm = "sha256";
constexpr uint64_t kChecksumBlock = 4 << 20;  // imageio's default block size

std::string Describe(const DiskInfo& d) {
  return "oVirt disk " + d.id + (d.name.empty() ? "" : " (\"" + d.name + "\")");
}

// A pod killed in the middle of a copy leaves its download transfer behind, and the engine keeps the
// disk locked while it exists (a paused transfer too). Downloads of this disk that are not finishing
// are such leftovers (the disk of a VM being migrated has no other reader): cancel them and wait for
// the disk to be unlocked. Anything else holding the lock is waited for, then reported.
DiskInfo ReleaseStaleDownloads(Engine& engine, DiskInfo disk, std::stop_token stop) {
  for (const auto& t : engine.ListTransfers()) {
    if (t.disk_id != disk.id || t.direction != "download") continue;
    if (t.phase == "transferring" || t.phase.rfind("paused", 0) == 0 || t.phase == "initializing") {
      log::Warn("ovirt", "cancelling a download transfer of the disk left by an earlier attempt",
                {{"disk", disk.id}, {"transfer", t.id}, {"phase", t.phase}});
      engine.Cancel(t.id);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (disk.status == "locked") {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw TransientError(Describe(disk) +
                           " stays locked (another transfer or operation is using it) — check the "
                           "engine's tasks and image transfers for the disk");
    }
    if (stop.stop_requested())
      throw CancelledError("waiting for " + Describe(disk) + " to be unlocked: stopped");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    disk = engine.GetDisk(disk.id);
  }
  return disk;
}

}  // namespace

PopulateOptions OptionsFromCommandLine(const std::vector<std::string>& args) {
  const char* program = "hoist-populator ovirt";
  FlagSet flags(program);
  CommonFlagSet common(flags);
  auto& engine_url = flags.String("engine-url", "", "the oVirt engine (the CR's engineUrl)");
  auto& disk_id = flags.String("disk-id", "", "the oVirt disk (the CR's diskId)");
  auto& connections =
      flags.Int("connections", 4, "parallel Range connections to imageio").Env("HOIST_CONNECTIONS");
  auto& checkpoint = flags.Duration("checkpoint-interval", 10000, "how often the resume record is written")
                         .Env("HOIST_CHECKPOINT_INTERVAL");
  auto& verify = flags.Bool("verify", true, "verify against imageio's checksum").Env("HOIST_VERIFY");
  auto& inactivity = flags.Int("inactivity-timeout", 60, "the transfer's inactivity timeout in seconds");
  flags.Parse(args);
  if (flags.help_requested()) throw PreconditionError(flags.Usage());
  PopulateOptions o;
  o.flags = common.Read(program);
  o.engine_url = *engine_url;
  o.disk_id = *disk_id;
  if (o.engine_url.empty())
    throw PreconditionError(std::string(program) + ": --engine-url (the CR's engineUrl) is required");
  if (o.disk_id.empty())
    throw PreconditionError(std::string(program) + ": --disk-id (the CR's diskId) is required");
  o.user = Env("user");
  o.password = Env("password");
  o.ca_pem = Env("cacert");
  o.insecure_skip_verify = EnvBool("insecureSkipVerify", false);
  o.verify = *verify;
  o.download.connections = static_cast<int>(std::clamp<int64_t>(*connections, 1, 16));
  o.checkpoint_every = std::chrono::milliseconds(std::max<int64_t>(*checkpoint, 100));
  o.inactivity_timeout_seconds = static_cast<int>(std::clamp<int64_t>(*inactivity, 10, 3600));
  return o;
}

CopyResult Populate(const PopulateOptions& options, prom::Counter& progress, prom::Gauge* bytes_done,
                    std::stop_token stop) {
  net::HttpClientOptions co;
  co.tls.insecure_skip_verify = options.insecure_skip_verify;
  co.tls.ca_pem = options.insecure_skip_verify ? "" : options.ca_pem;
  co.max_pooled_connections = options.download.connections + 3;
  net::HttpClient client(co);

  Engine engine(client, options.engine_url, options.user, options.password);
  engine.Login();
  DiskInfo disk = engine.GetDisk(options.disk_id);
  if (disk.provisioned_size == 0) throw PreconditionError(Describe(disk) + " reports no provisioned_size");
  if (disk.status == "locked") disk = ReleaseStaleDownloads(engine, disk, stop);
  if (disk.status != "ok") {
    throw PreconditionError(Describe(disk) + " has status '" + disk.status +
                            "' — only a disk in status ok can be "
                            "downloaded");
  }
  if (disk.provisioned_size > options.flags.pvc_size) {
    throw PreconditionError(Describe(disk) + " has " + std::to_string(disk.provisioned_size) +
                            " bytes but the PVC requests only " + std::to_string(options.flags.pvc_size) +
                            " — the target PVC must hold the whole disk");
  }

  TransferInfo transfer = engine.CreateDownload(disk.id, options.inactivity_timeout_seconds);
  log::Info("ovirt", "image transfer created",
            {{"disk", disk.id}, {"transfer", transfer.id}, {"phase", transfer.phase}});
  std::future<std::string> checksum;
  std::stop_source checksum_stop;
  try {
    transfer = engine.WaitTransferring(transfer.id, options.transfer_start_timeout, stop);
    // The host's daemon when this pod can reach it, else the engine's proxy.
    std::string url = transfer.transfer_url;
    ImageioOptions io;
    try {
      if (url.empty()) throw TransientError("no transfer_url");
      io = GetOptions(client, url);
    } catch (const Error& e) {
      if (transfer.proxy_url.empty()) throw;
      log::Info("ovirt", "the host's imageio is not reachable; using the engine's imageio proxy",
                {{"reason", e.what()}});
      url = transfer.proxy_url;
      io = GetOptions(client, url);
    }

    CopyPlan plan;
    plan.what = Describe(disk);
    plan.volume_path = options.flags.volume_path;
    plan.size = disk.provisioned_size;
    plan.source_identity =
        "ovirt:" + disk.id + ":" + disk.image_id + ":" + std::to_string(disk.provisioned_size);
    plan.target.url = url;
    plan.target.what = plan.what;
    plan.download = options.download;
    plan.download.connections = std::max(1, std::min(options.download.connections, io.max_readers));
    plan.checkpoint_every = options.checkpoint_every;
    if (io.extents) {
      plan.zero_ranges = GetZeroExtents(client, url);
      uint64_t zero = 0;
      for (const auto& r : plan.zero_ranges) zero += r.length();
      log::Info("ovirt", "extents read",
                {{"zero_bytes", zero},
                 {"data_bytes", disk.provisioned_size - std::min(zero, disk.provisioned_size)}});
    }
    if (options.verify) {
      // The host computes its checksum while the data flows (reading only data blocks).
      checksum = std::async(std::launch::async, [&client, url, token = checksum_stop.get_token()] {
        return GetChecksum(client, url, kChecksumAlgorithm, kChecksumBlock, token);
      });
      plan.verification.kind = Verification::Kind::kBlocks;
      plan.verification.algorithm = kChecksumAlgorithm;
      plan.verification.block_size = kChecksumBlock;
      plan.verification.expected = [&checksum] { return checksum.get(); };
      plan.verification.expected_from = "imageio's block checksum";
    }
    log::Info("ovirt", "copying",
              {{"disk", disk.id},
               {"size", disk.provisioned_size},
               {"connections", plan.download.connections},
               {"extents", io.extents ? "yes" : "no"},
               {"via", url == transfer.proxy_url ? "proxy" : "host"}});
    CopyResult result;
    try {
      result = CopyImage(client, plan, progress, bytes_done, stop);
    } catch (const Error& e) {
      // A refused ticket usually means the engine paused or cancelled the transfer: say which.
      std::optional<TransferInfo> t;
      try {
        t = engine.GetTransfer(transfer.id);
      } catch (const std::exception&) {
      }
      if (t && t->phase != "transferring") {
        throw Error(
            e.error_class() == ErrorClass::kCancelled ? ErrorClass::kCancelled : ErrorClass::kTransient,
            std::string(e.what()) + " (the engine reports image transfer " + transfer.id + " in phase " +
                t->phase + "; a new attempt resumes from the volume's checkpoint)");
      }
      throw;
    }
    engine.Finalize(transfer.id);
    std::string phase = engine.WaitFinished(transfer.id, std::chrono::minutes(5));
    if (phase == "finished_failure") {
      throw TransientError("the engine reported image transfer " + transfer.id + " of " + Describe(disk) +
                           " as failed when finalizing — check the engine's events");
    }
    log::Info("ovirt", "image transfer finalized",
              {{"transfer", transfer.id}, {"phase", phase.empty() ? "gone" : phase}});
    return result;
  } catch (...) {
    checksum_stop.request_stop();  // the future's destructor waits for the request: end it now
    try {
      engine.Cancel(transfer.id);  // never leave the disk locked by a dead transfer
      log::Info("ovirt", "image transfer cancelled", {{"transfer", transfer.id}});
    } catch (const std::exception& e) {
      log::Warn("ovirt", "could not cancel the image transfer",
                {{"transfer", transfer.id}, {"error", e.what()}});
    }
    throw;
  }
}

}  // namespace hoist::populators::ovirt

#include "populators/openstack/populate.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "net/http_client.h"
#include "populators/common/verify.h"
#include "populators/openstack/glance.h"

namespace hoist::populators::openstack {
namespace {

void SleepFor(std::chrono::milliseconds d, std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
}

ImageInfo GetImage(net::HttpClient& client, Keystone& keystone, const std::string& url,
                   const std::string& id) {
  for (int attempt = 0;; ++attempt) {
    net::HttpRequest req;
    req.url = url;
    std::string token = keystone.token();
    req.headers.Set("X-Auth-Token", token);
    req.headers.Set("Accept", "application/json");
    net::HttpResponse resp;
    try {
      resp = client.Do(req);
    } catch (const Error& e) {
      throw Error(e.error_class(), "reading Glance image " + id + ": " + e.what());
    }
    if (resp.status == 401 && attempt == 0) {
      keystone.Reauthenticate(token);
      continue;
    }
    if (resp.status == 404) {
      throw PreconditionError("Glance image " + id +
                              " does not exist (404) — check the imageId of the "
                              "OpenstackVolumePopulator and that the project in the secret can see it");
    }
    if (resp.status == 403 || resp.status == 401) {
      throw PreconditionError("Glance refused access to image " + id + " (HTTP " +
                              std::to_string(resp.status) +
                              ") — check the project and roles of the user in the secret");
    }
    if (resp.status != 200) {
      std::string what = "reading Glance image " + id + ": HTTP " + std::to_string(resp.status) + " " +
                         std::string(net::StatusText(resp.status));
      if (resp.status >= 500 || resp.status == 429) throw TransientError(what);
      throw PreconditionError(what);
    }
    return ParseImage(resp.body);
  }
}

std::string Describe(const ImageInfo& i) {
  return "Glance image " + i.id + (i.name.empty() ? "" : " (\"" + i.name + "\")");
}

}  // namespace

PopulateOptions OptionsFromCommandLine(const std::vector<std::string>& args) {
  const char* program = "hoist-populator openstack";
  FlagSet flags(program);
  CommonFlagSet common(flags);
  auto& endpoint = flags.String("endpoint", "", "the Keystone URL (the CR's identityUrl)");
  auto& image_id = flags.String("image-id", "", "the Glance image (the CR's imageId)");
  auto& connections =
      flags.Int("connections", 4, "parallel Range connections to Glance").Env("HOIST_CONNECTIONS");
  auto& checkpoint = flags.Duration("checkpoint-interval", 10000, "how often the resume record is written")
                         .Env("HOIST_CHECKPOINT_INTERVAL");
  auto& image_wait =
      flags.Duration("image-wait", 15 * 60 * 1000, "how long to wait for an uploading image to become active")
          .Env("HOIST_IMAGE_WAIT");
  auto& image_poll =
      flags.Duration("image-poll", 5000, "how often to look at an uploading image").Env("HOIST_IMAGE_POLL");
  flags.Parse(args);
  if (flags.help_requested()) throw PreconditionError(flags.Usage());
  PopulateOptions o;
  o.flags = common.Read(program);
  o.identity_url = *endpoint;
  o.image_id = *image_id;
  if (o.identity_url.empty()) {
    throw PreconditionError(std::string(program) +
                            ": --endpoint (the Keystone URL, identityUrl) is required");
  }
  if (o.image_id.empty()) {
    throw PreconditionError(std::string(program) + ": --image-id (the Glance image, imageId) is required");
  }
  o.credentials = Credentials::FromEnvironment();
  o.insecure_skip_verify = EnvBool("insecureSkipVerify", false);
  o.ca_pem = Env("cacert");
  o.download.connections = static_cast<int>(std::clamp<int64_t>(*connections, 1, 16));
  o.checkpoint_every = std::chrono::milliseconds(std::max<int64_t>(*checkpoint, 100));
  o.wait_for_active = std::chrono::milliseconds(*image_wait);
  o.poll_interval = std::chrono::milliseconds(std::max<int64_t>(*image_poll, 50));
  return o;
}

populators::CopyResult Populate(const PopulateOptions& options, prom::Counter& progress,
                                prom::Gauge* bytes_done, std::stop_token stop) {
  net::HttpClientOptions co;
  co.tls.insecure_skip_verify = options.insecure_skip_verify;
  co.tls.ca_pem = options.insecure_skip_verify ? "" : options.ca_pem;
  co.max_pooled_connections = options.download.connections + 2;
  net::HttpClient client(co);

  Keystone keystone(client, options.identity_url, options.credentials);
  keystone.Authenticate();
  const std::string image_url = ImageUrl(keystone.EndpointFor("image"), options.image_id);

  // The image must be active: one still uploading is waited for (Forklift's populators raced with
  // uploads and copied half an image).
  auto deadline = std::chrono::steady_clock::now() + options.wait_for_active;
  ImageInfo image;
  for (;;) {
    image = GetImage(client, keystone, image_url, options.image_id);
    auto readiness = ReadinessOf(image.status);
    if (readiness == ImageReadiness::kReady) break;
    if (readiness == ImageReadiness::kUnusable) {
      throw PreconditionError(
          Describe(image) + " is '" + image.status +
          "', not active — it cannot be downloaded; re-upload or reactivate it in Glance");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw TransientError(Describe(image) + " is still '" + image.status + "' after waiting " +
                           std::to_string(options.wait_for_active.count() / 1000) +
                           " s for it to become active — check the upload in Glance");
    }
    log::Info("openstack", "waiting for the image to become active",
              {{"image", options.image_id}, {"status", image.status}});
    SleepFor(options.poll_interval, stop);
    if (stop.stop_requested()) throw CancelledError("waiting for " + Describe(image) + ": stopped");
  }
  if (image.size == 0) {
    throw PreconditionError(Describe(image) + " has no data (size 0) — check the image in Glance");
  }
  if (image.size > options.flags.pvc_size) {
    throw PreconditionError(Describe(image) + " has " + std::to_string(image.size) +
                            " bytes but the PVC requests only " + std::to_string(options.flags.pvc_size) +
                            " — the target PVC must hold the whole image");
  }

  populators::CopyPlan plan;
  plan.what = Describe(image);
  plan.volume_path = options.flags.volume_path;
  plan.size = image.size;
  std::string checksum_id =
      !image.os_hash_value.empty() ? image.os_hash_algo + ":" + image.os_hash_value : "md5:" + image.checksum;
  plan.source_identity = "glance:" + image.id + ":" + checksum_id;
  plan.target.url = image_url + "/file";
  plan.target.what = plan.what;
  plan.target.headers = [&keystone] {
    net::Headers h;
    h.Set("X-Auth-Token", keystone.token());
    return h;
  };
  plan.target.reauthenticate = [&keystone](const net::Headers& refused) {
    return keystone.Reauthenticate(refused.Get("X-Auth-Token"));
  };
  plan.download = options.download;
  plan.checkpoint_every = options.checkpoint_every;
  if (!image.os_hash_value.empty() && populators::DigestAvailable(image.os_hash_algo)) {
    plan.verification.kind = populators::Verification::Kind::kStream;
    plan.verification.algorithm = image.os_hash_algo;
    std::string expected = image.os_hash_value;
    plan.verification.expected = [expected] { return expected; };
    plan.verification.expected_from = "Glance's os_hash_value";
  } else if (!image.checksum.empty()) {
    plan.verification.kind = populators::Verification::Kind::kStream;
    plan.verification.algorithm = "md5";
    std::string expected = image.checksum;
    plan.verification.expected = [expected] { return expected; };
    plan.verification.expected_from = "Glance's checksum";
  } else {
    log::Warn("openstack", "the image has no checksum in Glance; the copy cannot be verified",
              {{"image", image.id}});
  }
  log::Info("openstack", "copying",
            {{"image", image.id},
             {"name", image.name},
             {"size", image.size},
             {"disk_format", image.disk_format},
             {"verify", plan.verification.algorithm}});
  return populators::CopyImage(client, plan, progress, bytes_done, stop);
}

}  // namespace hoist::populators::openstack

// The xcopy populator's flags and environment: Forklift's arguments as its controller passes them,
// environment fallbacks from the per-disk Secret, validation messages that name what is missing.
#include "populators/xcopy/options.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist::populators::xcopy {
namespace {

std::vector<std::string> ForkliftArgs() {
  return {"--source-vm-id=vm-42",       "--source-vmdk=[san ds1] vm 1/vm 1.vmdk", "--target-namespace=mig",
          "--cr-name=disk-0",           "--cr-namespace=mig",                     "--owner-name=disk-0",
          "--secret-name=plan-secret-0", "--storage-vendor-product=ontap",        "--pvc-size=1073741824",
          "--owner-uid=3f6c-uid"};
}

std::map<std::string, std::string> SecretEnv() {
  return {{"STORAGE_HOSTNAME", "10.0.0.5"}, {"STORAGE_USERNAME", "admin"},   {"STORAGE_PASSWORD", "pw-secret"},
          {"GOVMOMI_HOSTNAME", "vc.lab"},   {"GOVMOMI_USERNAME", "admin@vsphere.local"},
          {"GOVMOMI_PASSWORD", "vc-secret"}, {"ONTAP_SVM", "svm0"}};
}

std::string ErrorOf(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  try {
    ParseOptions(args, env);
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    return e.what();
  }
  return "";
}

TEST(XcopyOptions, ForkliftArgumentsAndSecretEnvironment) {
  Options o = ParseOptions(ForkliftArgs(), SecretEnv());
  EXPECT_EQ(o.source_vm_id, "vm-42");
  EXPECT_EQ(o.source_vmdk, "[san ds1] vm 1/vm 1.vmdk");
  EXPECT_EQ(o.owner_name, "disk-0");
  EXPECT_EQ(o.owner_uid, "3f6c-uid");
  EXPECT_EQ(o.storage_vendor_product, "ontap");
  EXPECT_EQ(o.vsphere_hostname, "vc.lab");
  EXPECT_EQ(o.vsphere_password, "vc-secret");
  EXPECT_EQ(o.method, CloneMethod::kVib);
  EXPECT_EQ(o.array_secret.at("ONTAP_SVM"), "svm0");
  EXPECT_EQ(o.host_lease_namespace, "openshift-mtv");
  EXPECT_EQ(o.host_lease_duration, std::chrono::seconds(10));
  EXPECT_FALSE(o.vsphere_insecure);
  EXPECT_EQ(o.tuning.task_poll_interval, std::chrono::seconds(5));
}

TEST(XcopyOptions, FlagsWinOverTheEnvironmentAndGoSyntaxWorks) {
  auto args = ForkliftArgs();
  args.push_back("-storage-hostname");
  args.push_back("array.lab");
  args.push_back("--esxi-clone-method= SSH ");
  args.push_back("--task-poll-interval=250ms");
  args.push_back("--migration-host=host-17");
  auto env = SecretEnv();
  env["SSH_PRIVATE_KEY"] = "LS0tLS1CRUdJTiBLRVktLS0tLQ==";  // base64, as Forklift passes it
  env["SSH_PUBLIC_KEY"] = "ssh-ed25519 AAAAC3Nza test";      // plain text works too
  env["SSH_HOST_KEY_FINGERPRINTS"] = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
  env["HOST_LEASE_NAMESPACE"] = "hoist-system";
  env["HOST_LEASE_DURATION_SECONDS"] = "3";
  Options o = ParseOptions(args, env);
  EXPECT_EQ(o.array_secret.at("STORAGE_HOSTNAME"), "array.lab");
  EXPECT_EQ(o.method, CloneMethod::kSsh);
  EXPECT_EQ(o.ssh_private_key, "-----BEGIN KEY-----");
  EXPECT_EQ(o.ssh_public_key, "ssh-ed25519 AAAAC3Nza test");
  EXPECT_EQ(o.tuning.task_poll_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(o.migration_host, "host-17");
  EXPECT_EQ(o.host_lease_namespace, "hoist-system");
  EXPECT_EQ(o.host_lease_duration, std::chrono::seconds(3));
}

TEST(XcopyOptions, MissingSettingsAreAllNamedWithoutValues) {
  auto env = SecretEnv();
  env.erase("STORAGE_HOSTNAME");
  env.erase("GOVMOMI_PASSWORD");
  std::string err = ErrorOf({"--source-vm-id=vm-1", "--owner-name=p", "--target-namespace=n"}, env);
  EXPECT_NE(err.find("--source-vmdk"), std::string::npos) << err;
  EXPECT_NE(err.find("STORAGE_HOSTNAME"), std::string::npos) << err;
  EXPECT_NE(err.find("GOVMOMI_PASSWORD"), std::string::npos) << err;
  EXPECT_NE(err.find("STORAGE_VENDOR"), std::string::npos) << err;
  EXPECT_EQ(err.find("pw-secret"), std::string::npos) << "no secret value in messages";
}

TEST(XcopyOptions, StorageAuthNeedsTokenOrUserAndPassword) {
  auto env = SecretEnv();
  env.erase("STORAGE_PASSWORD");
  EXPECT_NE(ErrorOf(ForkliftArgs(), env).find("either STORAGE_TOKEN or both STORAGE_USERNAME and STORAGE_PASSWORD"),
            std::string::npos);
  env["STORAGE_TOKEN"] = "tok";
  EXPECT_EQ(ErrorOf(ForkliftArgs(), env), "");
}

TEST(XcopyOptions, SshMethodNeedsKeysAndBadMethodIsRefused) {
  auto env = SecretEnv();
  env["ESXI_CLONE_METHOD"] = "ssh";
  EXPECT_NE(ErrorOf(ForkliftArgs(), env).find("SSH_PRIVATE_KEY"), std::string::npos);
  env["ESXI_CLONE_METHOD"] = "scp";
  EXPECT_NE(ErrorOf(ForkliftArgs(), env).find("use vib or ssh"), std::string::npos);
}

// The SSH method's host-key settings: pinned by default (known_hosts lines or SHA256 fingerprints,
// exactly one of them), trust on first use or no check only when SSH_HOST_KEY_CHECK says so.
TEST(XcopyOptions, SshHostKeysArePinnedUnlessExplicitlyNot) {
  auto env = SecretEnv();
  env["ESXI_CLONE_METHOD"] = "ssh";
  env["SSH_PRIVATE_KEY"] = "-----BEGIN OPENSSH PRIVATE KEY----- x -----END OPENSSH PRIVATE KEY-----";
  env["SSH_PUBLIC_KEY"] = "ssh-ed25519 AAAAC3Nza hoist";

  // Nothing pinned, no mode: refused, naming every way out.
  std::string err = ErrorOf(ForkliftArgs(), env);
  for (const char* k : {"SSH_KNOWN_HOSTS", "SSH_HOST_KEY_FINGERPRINTS", "SSH_HOST_KEY_CHECK=accept-new",
                        "SSH_HOST_KEY_CHECK=off"}) {
    EXPECT_NE(err.find(k), std::string::npos) << k << " in " << err;
  }

  auto known = env;
  known["SSH_KNOWN_HOSTS"] = "esx1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey";
  Options o = ParseOptions(ForkliftArgs(), known);
  EXPECT_EQ(o.ssh_host_key_check, SshHostKeyMode::kPinned);
  EXPECT_EQ(o.ssh_known_hosts, "esx1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey");
  EXPECT_TRUE(o.ssh_host_key_fingerprints.empty());

  auto fp = env;
  fp["SSH_HOST_KEY_FINGERPRINTS"] = " SHA256:abc+/def, SHA256:ghi\nSHA256:jkl ";
  o = ParseOptions(ForkliftArgs(), fp);
  EXPECT_EQ(o.ssh_host_key_check, SshHostKeyMode::kPinned);
  EXPECT_EQ(o.ssh_host_key_fingerprints, (std::vector<std::string>{"SHA256:abc+/def", "SHA256:ghi", "SHA256:jkl"}));
  fp["SSH_HOST_KEY_CHECK"] = "pinned";
  EXPECT_EQ(ParseOptions(ForkliftArgs(), fp).ssh_host_key_fingerprints.size(), 3u);

  fp["SSH_HOST_KEY_FINGERPRINTS"] = "SHA256:abc,MD5:12:34";
  EXPECT_NE(ErrorOf(ForkliftArgs(), fp).find("\"MD5:12:34\" is not a SHA256 fingerprint"), std::string::npos);

  auto both = known;
  both["SSH_HOST_KEY_FINGERPRINTS"] = "SHA256:abc";
  EXPECT_NE(ErrorOf(ForkliftArgs(), both).find("both set"), std::string::npos);

  auto tofu = env;
  tofu["SSH_HOST_KEY_CHECK"] = "accept-new";
  EXPECT_EQ(ParseOptions(ForkliftArgs(), tofu).ssh_host_key_check, SshHostKeyMode::kAcceptNew);
  auto off = env;
  off["SSH_HOST_KEY_CHECK"] = "Off";
  EXPECT_EQ(ParseOptions(ForkliftArgs(), off).ssh_host_key_check, SshHostKeyMode::kOff);

  // A mode that would ignore pinned keys is a contradiction, not a silent choice.
  off["SSH_KNOWN_HOSTS"] = known["SSH_KNOWN_HOSTS"];
  EXPECT_NE(ErrorOf(ForkliftArgs(), off).find("SSH_HOST_KEY_CHECK=off would ignore the pinned keys"),
            std::string::npos);
  tofu["SSH_HOST_KEY_FINGERPRINTS"] = "SHA256:abc";
  EXPECT_NE(ErrorOf(ForkliftArgs(), tofu).find("SSH_HOST_KEY_CHECK=accept-new would ignore"), std::string::npos);

  // Anything else is refused rather than read as "no check".
  for (const char* v : {"no", "false", "insecure", "yes"}) {
    auto bad = env;
    bad["SSH_HOST_KEY_CHECK"] = v;
    EXPECT_NE(ErrorOf(ForkliftArgs(), bad).find("is not a host key check"), std::string::npos) << v;
  }
}

TEST(XcopyOptions, UnknownFlagsAndIgnoredForkliftFlags) {
  auto args = ForkliftArgs();
  args.push_back("--http-endpoint=:8080");
  args.push_back("--metrics-path=/m");
  EXPECT_EQ(ErrorOf(args, SecretEnv()), "");
  args.push_back("--bogus=1");
  EXPECT_NE(ErrorOf(args, SecretEnv()).find("bogus"), std::string::npos);
}

TEST(XcopyOptions, DescribeRedactsSecrets) {
  auto d = DescribeOptions(ForkliftArgs(), SecretEnv());
  for (const auto& [k, v] : d) {
    EXPECT_EQ(v.find("pw-secret"), std::string::npos) << k << "=" << v;
    EXPECT_EQ(v.find("vc-secret"), std::string::npos) << k << "=" << v;
  }
  EXPECT_EQ(d.at("source-vm-id"), "vm-42");
  EXPECT_EQ(d.at("storage-hostname"), "10.0.0.5");
}

}  // namespace
}  // namespace hoist::populators::xcopy

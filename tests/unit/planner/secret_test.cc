// The per-disk Secret: Forklift's merge rules, and the two places hoist fixes them.
#include <gtest/gtest.h>

#include "net/tls.h"
#include "planner/secret.h"

namespace hoist::planner {
namespace {

DiskSecretInputs Inputs() {
  DiskSecretInputs in;
  in.provider_secret = {{"user", "administrator@vsphere.local"},
                        {"password", "vc-pass"},
                        {"insecureSkipVerify", "false"},
                        {"cacert", "-----BEGIN CERTIFICATE-----\n..."},
                        {"thumbprint", "AA:BB"}};
  in.storage_secret = {{"management_address", "10.0.0.5"},
                       {"username", "admin"},
                       {"password", "array-pass"},
                       {"ONTAP_SVM", "svm0"}};
  in.provider_url = "https://vc.example.com/sdk";
  in.clone_method = "vib";
  in.lease_namespace = "openshift-mtv";
  in.lease_duration_seconds = 10;
  return in;
}

TEST(PlannerSecret, MergesProviderStorageAndSettings) {
  auto s = MergeDiskSecret(Inputs());
  EXPECT_EQ(s["GOVMOMI_HOSTNAME"], "vc.example.com");
  EXPECT_EQ(s["GOVMOMI_USERNAME"], "administrator@vsphere.local");
  EXPECT_EQ(s["GOVMOMI_PASSWORD"], "vc-pass");
  EXPECT_EQ(s["GOVMOMI_INSECURE"], "false");
  EXPECT_EQ(s["cacert"], "-----BEGIN CERTIFICATE-----\n...");
  EXPECT_EQ(s["STORAGE_HOSTNAME"], "10.0.0.5");
  EXPECT_EQ(s["STORAGE_USERNAME"], "admin");
  EXPECT_EQ(s["STORAGE_PASSWORD"], "array-pass");
  EXPECT_EQ(s["ONTAP_SVM"], "svm0");  // vendor keys pass through
  EXPECT_EQ(s["management_address"], "10.0.0.5");
  EXPECT_EQ(s["ESXI_CLONE_METHOD"], "vib");
  EXPECT_EQ(s["HOST_LEASE_NAMESPACE"], "openshift-mtv");
  EXPECT_EQ(s["HOST_LEASE_DURATION_SECONDS"], "10");
  EXPECT_EQ(s.count("SSH_PRIVATE_KEY"), 0u);
}

TEST(PlannerSecret, ExplicitStorageKeysWinOverAliases) {
  DiskSecretInputs in = Inputs();
  in.storage_secret["STORAGE_HOSTNAME"] = "array.example.com";
  in.storage_secret["STORAGE_PASSWORD"] = "explicit";
  auto s = MergeDiskSecret(in);
  EXPECT_EQ(s["STORAGE_HOSTNAME"], "array.example.com");
  EXPECT_EQ(s["STORAGE_PASSWORD"], "explicit");
}

TEST(PlannerSecret, VcenterCredentialsNeverSitUnderTheStorageAliasNames) {
  // The array secret uses STORAGE_* keys only: Forklift's verbatim copy of the Provider Secret left
  // vCenter's `password` where the populator looks for the array's `password` alias.
  DiskSecretInputs in = Inputs();
  in.storage_secret = {{"STORAGE_HOSTNAME", "a"}, {"STORAGE_USERNAME", "u"}, {"STORAGE_PASSWORD", "p"}};
  auto s = MergeDiskSecret(in);
  EXPECT_EQ(s.count("password"), 0u);
  EXPECT_EQ(s.count("user"), 0u);
  EXPECT_EQ(s.count("thumbprint"), 0u);
  EXPECT_EQ(s["GOVMOMI_PASSWORD"], "vc-pass");
  EXPECT_EQ(s["STORAGE_PASSWORD"], "p");
}

TEST(PlannerSecret, SshKeysAreBase64OfTheKeyFiles) {
  DiskSecretInputs in = Inputs();
  in.clone_method = "ssh";
  in.ssh_private_key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n";
  in.ssh_public_key = "ssh-rsa AAAA hoist";
  auto s = MergeDiskSecret(in);
  EXPECT_EQ(s["ESXI_CLONE_METHOD"], "ssh");
  EXPECT_EQ(net::Base64Decode(s["SSH_PRIVATE_KEY"]), *in.ssh_private_key);
  EXPECT_EQ(net::Base64Decode(s["SSH_PUBLIC_KEY"]), *in.ssh_public_key);
}

TEST(PlannerSecret, VsphereHostnameKeepsWhatTheDefaultWouldLose) {
  EXPECT_EQ(VsphereHostname("https://vc.example.com/sdk"), "vc.example.com");
  EXPECT_EQ(VsphereHostname("https://vc.example.com"), "vc.example.com");
  EXPECT_EQ(VsphereHostname("https://vc.example.com:443/sdk/"), "vc.example.com");
  EXPECT_EQ(VsphereHostname("https://vc.example.com:8443/sdk"), "vc.example.com:8443");
  EXPECT_EQ(VsphereHostname("vc.example.com"), "vc.example.com");
  EXPECT_EQ(VsphereHostname("http://127.0.0.1:40123/sdk"), "http://127.0.0.1:40123/sdk");
  EXPECT_EQ(VsphereHostname("https://user:pw@vc/custom"), "https://vc/custom");
}

TEST(PlannerSecret, MissingKeysAreNamedNotShown) {
  EXPECT_TRUE(MissingStorageKeys({{"STORAGE_HOSTNAME", "a"}, {"username", "u"}, {"password", "p"}}).empty());
  EXPECT_TRUE(MissingStorageKeys({{"STORAGE_HOSTNAME", "a"}, {"STORAGE_TOKEN", "t"}}).empty());
  auto m = MissingStorageKeys({{"username", "u"}, {"STORAGE_PASSWORD", ""}});
  EXPECT_EQ(m, (std::vector<std::string>{"STORAGE_HOSTNAME (or management_address)", "STORAGE_PASSWORD (or password)"}));
  EXPECT_EQ(MissingProviderKeys({{"user", "u"}}), (std::vector<std::string>{"password"}));
}

}  // namespace
}  // namespace hoist::planner

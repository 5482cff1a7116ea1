#include "controller/kinds.h"
#include "kube/objects.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/names.h"
#include "core/error.h"
#include "unit/controller/fixtures.h"

namespace hoist::controller {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Kinds, TableMatchesForklift) {
  const KindInfo& o = Info(PopulatorKind::kOvirt);
  EXPECT_EQ(o.kind_name, "OvirtVolumePopulator");
  EXPECT_EQ(o.plural, "ovirtvolumepopulators");
  EXPECT_EQ(o.image_env, "OVIRT_POPULATOR_IMAGE");
  EXPECT_EQ(o.controller_metrics_port, 8080);
  EXPECT_EQ(o.progress_metric, "ovirt_progress");
  EXPECT_EQ(o.owner_uid_label, "ownerUID");
  EXPECT_EQ(o.max_recreations, 3);
  const KindInfo& s = Info(PopulatorKind::kOpenstack);
  EXPECT_EQ(s.plural, "openstackvolumepopulators");
  EXPECT_EQ(s.image_env, "OPENSTACK_POPULATOR_IMAGE");
  EXPECT_EQ(s.controller_metrics_port, 8081);
  EXPECT_EQ(s.progress_metric, "openstack_populator_progress");
  const KindInfo& x = Info(PopulatorKind::kVSphereXcopy);
  EXPECT_EQ(x.kind_name, "VSphereXcopyVolumePopulator");
  EXPECT_EQ(x.plural, "vspherexcopyvolumepopulators");
  EXPECT_EQ(x.image_env, "VSPHERE_COPY_OFFLOAD_POPULATOR_IMAGE");
  EXPECT_EQ(x.controller_metrics_port, 8082);
  EXPECT_EQ(x.populator_metrics_port, 8443);
  EXPECT_EQ(x.progress_metric, "vsphere_xcopy_volume_populator_progress");
  EXPECT_EQ(x.owner_uid_label, "owner_uid");
  EXPECT_EQ(x.max_recreations, 0);
  EXPECT_EQ(FindKind("OpenstackVolumePopulator"), &s);
  EXPECT_EQ(FindKind("DataVolume"), nullptr);
}

TEST(Kinds, KindOfPvcOnlyForOurDataSources) {
  EXPECT_EQ(KindOfPvc(fixtures::TargetPvc("VSphereXcopyVolumePopulator")), PopulatorKind::kVSphereXcopy);
  EXPECT_EQ(KindOfPvc(fixtures::TargetPvc("OvirtVolumePopulator")), PopulatorKind::kOvirt);
  EXPECT_EQ(KindOfPvc(fixtures::TargetPvc("VolumeImportSource")), std::nullopt);
  json other_group = fixtures::TargetPvc("OvirtVolumePopulator");
  other_group["spec"]["dataSourceRef"]["apiGroup"] = "cdi.kubevirt.io";
  EXPECT_EQ(KindOfPvc(other_group), std::nullopt);
  json no_name = fixtures::TargetPvc("OvirtVolumePopulator");
  no_name["spec"]["dataSourceRef"]["name"] = "";
  EXPECT_EQ(KindOfPvc(no_name), std::nullopt);
  json plain = fixtures::TargetPvc("OvirtVolumePopulator");
  plain["spec"].erase("dataSourceRef");
  EXPECT_EQ(KindOfPvc(plain), std::nullopt);
}

TEST(Quantity, ParsesKubernetesQuantitiesToBytes) {
  EXPECT_EQ(ParseStorageQuantity("10Gi"), 10737418240);
  EXPECT_EQ(ParseStorageQuantity("1Ki"), 1024);
  EXPECT_EQ(ParseStorageQuantity("1500M"), 1500000000);
  EXPECT_EQ(ParseStorageQuantity("1G"), 1000000000);
  EXPECT_EQ(ParseStorageQuantity("1e9"), 1000000000);
  EXPECT_EQ(ParseStorageQuantity("1E3"), 1000);
  EXPECT_EQ(ParseStorageQuantity("1.5Gi"), 1610612736);
  EXPECT_EQ(ParseStorageQuantity("0.5Ki"), 512);
  EXPECT_EQ(ParseStorageQuantity("1500m"), 2);  // 1.5 bytes round up
  EXPECT_EQ(ParseStorageQuantity("12345"), 12345);
  EXPECT_EQ(ParseStorageQuantity("2Ei"), 2305843009213693952);
  for (const char* bad : {"", "Gi", "10Xi", "-1Gi", "10 Gi", "1e", "16Ei", "1.2.3"}) {
    EXPECT_THROW(ParseStorageQuantity(bad), Error) << bad;
  }
}

TEST(Args, XcopyExactlyAsForklift) {
  json pvc = fixtures::TargetPvc("VSphereXcopyVolumePopulator");
  EXPECT_THAT(PopulatorArgs(PopulatorKind::kVSphereXcopy, fixtures::XcopyCr(), pvc),
              ElementsAre("--source-vm-id=vm-42", "--source-vmdk=[ds1] vm/vm.vmdk", "--target-namespace=mig",
                          "--cr-name=disk-0-cr", "--cr-namespace=mig", "--owner-name=plan-vm-disk-0",
                          "--secret-name=plan-secret-0", "--storage-vendor-product=ontap",
                          "--pvc-size=10737418240", "--owner-uid=5b1c7a2e-0000-4c1e-9f0a-2b3c4d5e6f70"));
}

TEST(Args, XcopyMigrationHostOnlyWhenSet) {
  json pvc = fixtures::TargetPvc("VSphereXcopyVolumePopulator");
  json cr = fixtures::XcopyCr();
  cr["spec"]["migrationHost"] = "host-36";
  auto args = PopulatorArgs(PopulatorKind::kVSphereXcopy, cr, pvc);
  ASSERT_EQ(args.size(), 11u);
  EXPECT_EQ(args[8], "--migration-host=host-36");
  cr["spec"]["migrationHost"] = "";
  args = PopulatorArgs(PopulatorKind::kVSphereXcopy, cr, pvc);
  for (const auto& a : args) EXPECT_THAT(a, ::testing::Not(HasSubstr("migration-host")));
}

TEST(Args, OvirtUsesVolumePathByVolumeMode) {
  json cr = fixtures::OvirtCr();
  EXPECT_THAT(
      PopulatorArgs(PopulatorKind::kOvirt, cr, fixtures::TargetPvc("OvirtVolumePopulator", "Filesystem")),
      ElementsAre("--volume-path=/mnt/disk.img", "--secret-name=engine-secret",
                  "--disk-id=d1f0c6a4-7d1e-4b43-8f67-0f6b9e1c2a11", "--engine-url=https://engine.example.com",
                  "--cr-name=disk-0-cr", "--cr-namespace=mig", "--pvc-size=10737418240",
                  "--owner-uid=5b1c7a2e-0000-4c1e-9f0a-2b3c4d5e6f70"));
  EXPECT_EQ(PopulatorArgs(PopulatorKind::kOvirt, cr, fixtures::TargetPvc("OvirtVolumePopulator", "Block"))[0],
            "--volume-path=/dev/block");
  json no_mode = fixtures::TargetPvc("OvirtVolumePopulator");
  no_mode["spec"].erase("volumeMode");  // Kubernetes' default is Filesystem
  EXPECT_EQ(PopulatorArgs(PopulatorKind::kOvirt, cr, no_mode)[0], "--volume-path=/mnt/disk.img");
}

TEST(Args, Openstack) {
  EXPECT_THAT(
      PopulatorArgs(PopulatorKind::kOpenstack, fixtures::OpenstackCr(),
                    fixtures::TargetPvc("OpenstackVolumePopulator", "Filesystem")),
      ElementsAre("--volume-path=/mnt/disk.img", "--endpoint=https://keystone:5000/v3",
                  "--secret-name=os-secret", "--image-id=img-1", "--cr-name=disk-0-cr", "--cr-namespace=mig",
                  "--pvc-size=10737418240", "--owner-uid=5b1c7a2e-0000-4c1e-9f0a-2b3c4d5e6f70"));
  EXPECT_EQ(SecretName(PopulatorKind::kOpenstack, fixtures::OpenstackCr()), "os-secret");
  EXPECT_EQ(SecretName(PopulatorKind::kOvirt, fixtures::OvirtCr()), "engine-secret");
}

TEST(Args, MissingFieldsArePreconditionErrorsNamingTheCr) {
  json cr = fixtures::OvirtCr();
  cr["spec"].erase("diskId");
  try {
    PopulatorArgs(PopulatorKind::kOvirt, cr, fixtures::TargetPvc("OvirtVolumePopulator"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_THAT(e.what(), HasSubstr("OvirtVolumePopulator mig/disk-0-cr has no spec.diskId"));
  }
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator");
  pvc["spec"]["resources"] = json::object();
  try {
    PopulatorArgs(PopulatorKind::kOvirt, fixtures::OvirtCr(), pvc);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("PVC mig/plan-vm-disk-0 has no spec.resources.requests.storage"));
  }
}

TEST(Retry, OvirtAndOpenstackRecreateThreeTimes) {
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator");
  pvc["metadata"].erase("annotations");  // Forklift would have crashed on a nil annotation map
  RetryDecision d = DecideRetry(PopulatorKind::kOvirt, pvc);
  EXPECT_TRUE(d.recreate);
  EXPECT_EQ(d.recreations, 1);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_THAT(d.message, HasSubstr("attempt 1 of 4"));
  for (int n = 1; n <= 3; ++n) {
    pvc["metadata"]["annotations"]["recreations"] = std::to_string(n);
    d = DecideRetry(PopulatorKind::kOpenstack, pvc);
    EXPECT_EQ(d.recreate, n < 3) << n;
    EXPECT_EQ(d.attempts, n + 1);
    if (n < 3) {
      EXPECT_EQ(d.recreations, n + 1);
    }
  }
  EXPECT_THAT(d.message, HasSubstr("failed 4 times; giving up"));
  EXPECT_THAT(d.message, HasSubstr("kubectl logs -n mig populate-5b1c7a2e-0000-4c1e-9f0a-2b3c4d5e6f70"));
  EXPECT_EQ(RecreationsPatch(2).dump(), R"({"metadata":{"annotations":{"recreations":"2"}}})");
}

TEST(Retry, XcopyNeverAndGarbageCounterStops) {
  RetryDecision d =
      DecideRetry(PopulatorKind::kVSphereXcopy, fixtures::TargetPvc("VSphereXcopyVolumePopulator"));
  EXPECT_FALSE(d.recreate);
  EXPECT_THAT(d.message, HasSubstr("not retried"));
  json pvc = fixtures::TargetPvc("OvirtVolumePopulator");
  pvc["metadata"]["annotations"]["recreations"] = "many";
  d = DecideRetry(PopulatorKind::kOvirt, pvc);
  EXPECT_FALSE(d.recreate);
  EXPECT_THAT(d.message, HasSubstr("recreations=\"many\""));
}

TEST(Names, DerivedNamesAndLabelValues) {
  EXPECT_EQ(PrimePvcName("abc"), "prime-abc");
  EXPECT_EQ(PopulatorPodName("abc"), "populate-abc");
  EXPECT_TRUE(IsValidLabelValue(""));
  EXPECT_TRUE(IsValidLabelValue("host-12"));
  EXPECT_TRUE(IsValidLabelValue("a.b_c-d"));
  EXPECT_FALSE(IsValidLabelValue("-host"));
  EXPECT_FALSE(IsValidLabelValue("host 12"));
  EXPECT_FALSE(IsValidLabelValue(std::string(64, 'a')));
  EXPECT_TRUE(IsValidLabelValue(std::string(63, 'a')));
  json obj = fixtures::XcopyCr();
  EXPECT_EQ(kube::Label(obj, "sourceHost"), "host-12");
  EXPECT_EQ(kube::Label(obj, "missing"), "");
  EXPECT_EQ(kube::StringAt(obj, {"spec", "vmId", "deeper"}), "");
  EXPECT_EQ(kube::ObjectKey(obj), "mig/disk-0-cr");
}

}  // namespace
}  // namespace hoist::controller

// The oVirt engine's JSON (numbers as strings) and imageio's extents.
#include "populators/ovirt/engine.h"

#include <gtest/gtest.h>

#include "populators/ovirt/imageio.h"

namespace hoist::populators::ovirt {
namespace {

TEST(OvirtEngine, ReadsDisksAndTransfersAsTheEngineWritesThem) {
  DiskInfo d = ParseDisk(R"({"id": "d1", "alias": "vm1_Disk1", "provisioned_size": "10737418240",
                             "status": "ok", "format": "cow", "image_id": "i1"})");
  EXPECT_EQ(d.provisioned_size, 10737418240u);
  EXPECT_EQ(d.name, "vm1_Disk1");
  EXPECT_EQ(d.format, "cow");
  TransferInfo t = ParseTransfer(R"({"id": "t1", "phase": "transferring", "direction": "download",
     "transfer_url": "https://host:54322/images/abc", "proxy_url": "https://engine:54323/images/abc",
     "disk": {"href": "/ovirt-engine/api/disks/d1", "id": "d1"}})");
  EXPECT_EQ(t.phase, "transferring");
  EXPECT_EQ(t.disk_id, "d1");
  EXPECT_EQ(t.proxy_url, "https://engine:54323/images/abc");
  EXPECT_EQ(EngineBase("https://engine.example.com"), "https://engine.example.com/ovirt-engine");
  EXPECT_EQ(EngineBase("https://engine.example.com/ovirt-engine/api/"),
            "https://engine.example.com/ovirt-engine");
}

TEST(Imageio, ZeroExtentsAreMergedAndClipped) {
  auto z = ParseZeroExtents(R"([{"start": 0, "length": 65536, "zero": false, "hole": false},
      {"start": 65536, "length": 131072, "zero": true, "hole": false},
      {"start": 196608, "length": 4096, "zero": true, "hole": true},
      {"start": 200704, "length": 4096, "zero": false},
      {"start": 204800, "length": 100000000, "zero": true}])",
                            1 << 20);
  ASSERT_EQ(z.size(), 2u);
  EXPECT_EQ(z[0], (sink::Range{65536, 200704}));
  EXPECT_EQ(z[1], (sink::Range{204800, 1 << 20})) << "clipped to the disk size";
}

}  // namespace
}  // namespace hoist::populators::ovirt

#pragma once
// The few system calls whose use differs between a regular file and a block device (and the data sync
// the checkpoint depends on), behind a small interface so that tests can drive the block-device paths
// (BLKZEROOUT unsupported, discard that does or does not zero) on a regular file.
#include <cstdint>

namespace hoist::sink {

class DeviceOps {
 public:
  virtual ~DeviceOps() = default;
  // fstat(2) S_ISBLK.
  virtual bool IsBlockDevice(int fd) = 0;
  // BLKGETSIZE64: the device's size in bytes.
  virtual uint64_t BlockDeviceSize(int fd) = 0;
  // BLKZEROOUT over [offset, offset+length) (both multiples of 4096). Returns false when the device or
  // kernel does not support it (EOPNOTSUPP, EINVAL, ENOTTY); throws on other failures.
  virtual bool ZeroOut(int fd, uint64_t offset, uint64_t length) = 0;
  // BLKDISCARDZEROES: whether discarded blocks read back as zeros. Kernels since 4.12 always say no.
  virtual bool DiscardZeroesData(int fd) = 0;
  // BLKDISCARD over [offset, offset+length). Returns false when unsupported; throws on other failures.
  virtual bool Discard(int fd, uint64_t offset, uint64_t length) = 0;
  // fdatasync(2); throws on failure. The checkpoint relies on it having returned before a record is
  // written.
  virtual void DataSync(int fd) = 0;
};

// The real ioctls.
DeviceOps& SystemDeviceOps();

}  // namespace hoist::sink

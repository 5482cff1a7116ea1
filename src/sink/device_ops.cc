#include "sink/device_ops.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.h"

namespace hoist::sink {
namespace {

bool Unsupported(int err) { return err == EOPNOTSUPP || err == EINVAL || err == ENOTTY || err == ENOSYS; }

class SystemOps : public DeviceOps {
 public:
  bool IsBlockDevice(int fd) override {
    struct stat st {};
    if (fstat(fd, &st) != 0)
      throw TransientError(std::string("fstat of the volume: ") + std::strerror(errno));
    return S_ISBLK(st.st_mode);
  }

  uint64_t BlockDeviceSize(int fd) override {
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
      throw TransientError(std::string("reading the block device size (BLKGETSIZE64): ") +
                           std::strerror(errno));
    }
    return size;
  }

  bool ZeroOut(int fd, uint64_t offset, uint64_t length) override {
    uint64_t range[2] = {offset, length};
    if (ioctl(fd, BLKZEROOUT, range) == 0) return true;
    if (Unsupported(errno)) return false;
    throw TransientError("zeroing " + std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                         " of the block device (BLKZEROOUT): " + std::strerror(errno));
  }

  bool DiscardZeroesData(int fd) override {
    unsigned int zeroes = 0;
    if (ioctl(fd, BLKDISCARDZEROES, &zeroes) != 0) return false;
    return zeroes != 0;
  }

  bool Discard(int fd, uint64_t offset, uint64_t length) override {
    uint64_t range[2] = {offset, length};
    if (ioctl(fd, BLKDISCARD, range) == 0) return true;
    if (Unsupported(errno)) return false;
    throw TransientError("discarding " + std::to_string(length) + " bytes at offset " +
                         std::to_string(offset) +
                         " of the block device (BLKDISCARD): " + std::strerror(errno));
  }

  void DataSync(int fd) override {
    if (fdatasync(fd) != 0) {
      throw TransientError(std::string("syncing the volume's data (fdatasync): ") + std::strerror(errno) +
                           " — check the storage behind the PVC");
    }
  }
};

}  // namespace

DeviceOps& SystemDeviceOps() {
  static SystemOps ops;
  return ops;
}

}  // namespace hoist::sink

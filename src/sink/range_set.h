#pragma once
// A set of half-open byte ranges [begin, end), kept sorted and merged. The sink uses it to remember
// which parts of the disk are done; with writers that advance roughly in order it holds about one
// entry per range in flight, whatever the disk size.
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace hoist::sink {

struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;  // exclusive
  uint64_t length() const { return end - begin; }
  friend bool operator==(const Range&, const Range&) = default;
};

class RangeSet {
 public:
  // Adds [begin, end), merging with neighbours it touches or overlaps. Empty ranges are ignored.
  void Add(uint64_t begin, uint64_t end);
  // True when some byte of [begin, end) is in the set.
  bool Overlaps(uint64_t begin, uint64_t end) const;
  // True when every byte of [begin, end) is in the set.
  bool Contains(uint64_t begin, uint64_t end) const;
  // End of the range that starts at 0 (0 when byte 0 is not in the set).
  uint64_t ContiguousFromZero() const;
  // Bytes in the set.
  uint64_t Total() const;
  // The parts of [0, limit) that are not in the set, in order.
  std::vector<Range> Gaps(uint64_t limit) const;
  std::vector<Range> Ranges() const;
  size_t size() const { return ranges_.size(); }
  void Clear() { ranges_.clear(); }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end, disjoint and not touching
};

}  // namespace hoist::sink

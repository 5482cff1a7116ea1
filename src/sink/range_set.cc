#include "sink/range_set.h"

#include <algorithm>

namespace hoist::sink {

void RangeSet::Add(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  // First range that could touch [begin, end): the last one starting at or before `begin`.
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin) it = prev;
  }
  while (it != ranges_.end() && it->first <= end) {
    begin = std::min(begin, it->first);
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(begin, end);
}

bool RangeSet::Overlaps(uint64_t begin, uint64_t end) const {
  if (begin >= end) return false;
  auto it = ranges_.lower_bound(end);  // first range starting at or after `end`: cannot overlap
  if (it == ranges_.begin()) return false;
  return std::prev(it)->second > begin;
}

bool RangeSet::Contains(uint64_t begin, uint64_t end) const {
  if (begin >= end) return true;
  auto it = ranges_.upper_bound(begin);
  if (it == ranges_.begin()) return false;
  --it;
  return it->first <= begin && it->second >= end;
}

uint64_t RangeSet::ContiguousFromZero() const {
  if (ranges_.empty() || ranges_.begin()->first != 0) return 0;
  return ranges_.begin()->second;
}

uint64_t RangeSet::Total() const {
  uint64_t total = 0;
  for (const auto& [b, e] : ranges_) total += e - b;
  return total;
}

std::vector<Range> RangeSet::Gaps(uint64_t limit) const {
  std::vector<Range> gaps;
  uint64_t pos = 0;
  for (const auto& [b, e] : ranges_) {
    if (b >= limit) break;
    if (b > pos) gaps.push_back({pos, b});
    pos = std::max(pos, e);
  }
  if (pos < limit) gaps.push_back({pos, limit});
  return gaps;
}

std::vector<Range> RangeSet::Ranges() const {
  std::vector<Range> out;
  out.reserve(ranges_.size());
  for (const auto& [b, e] : ranges_) out.push_back({b, e});
  return out;
}

}  // namespace hoist::sink

#include "sink/range_set.h"

#include <gtest/gtest.h>

namespace hoist::sink {
namespace {

TEST(RangeSet, MergesTouchingAndOverlappingRanges) {
  RangeSet s;
  s.Add(10, 20);
  s.Add(30, 40);
  EXPECT_EQ(s.size(), 2u);
  s.Add(20, 30);  // touches both neighbours
  EXPECT_EQ(s.Ranges(), (std::vector<Range>{{10, 40}}));
  s.Add(5, 12);
  s.Add(35, 50);
  EXPECT_EQ(s.Ranges(), (std::vector<Range>{{5, 50}}));
  s.Add(0, 0);  // empty: ignored
  EXPECT_EQ(s.Total(), 45u);
}

TEST(RangeSet, OutOfOrderCompletionCollapsesToOneRange) {
  RangeSet s;
  for (uint64_t i : {3, 1, 4, 0, 2}) s.Add(i * 100, (i + 1) * 100);
  EXPECT_EQ(s.Ranges(), (std::vector<Range>{{0, 500}}));
  EXPECT_EQ(s.ContiguousFromZero(), 500u);
}

TEST(RangeSet, QueriesAndGaps) {
  RangeSet s;
  s.Add(10, 20);
  s.Add(30, 40);
  EXPECT_EQ(s.ContiguousFromZero(), 0u);
  EXPECT_TRUE(s.Overlaps(19, 25));
  EXPECT_FALSE(s.Overlaps(20, 30));
  EXPECT_FALSE(s.Overlaps(0, 10));
  EXPECT_TRUE(s.Contains(12, 18));
  EXPECT_FALSE(s.Contains(15, 31));
  EXPECT_EQ(s.Gaps(50), (std::vector<Range>{{0, 10}, {20, 30}, {40, 50}}));
  EXPECT_EQ(s.Gaps(25), (std::vector<Range>{{0, 10}, {20, 25}}));
  s.Add(0, 10);
  EXPECT_EQ(s.ContiguousFromZero(), 20u);
}

}  // namespace
}  // namespace hoist::sink

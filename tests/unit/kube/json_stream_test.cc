#include "kube/json_stream.h"

#include <gtest/gtest.h>

#include <vector>

namespace hoist::kube {
namespace {

TEST(JsonStreamSplitterTest, SplitsObjectsAcrossArbitraryPieces) {
  std::string stream =
      "{\"type\":\"ADDED\",\"object\":{\"a\":\"}{\\\"\"}}\n"
      "{\"type\":\"MODIFIED\",\"object\":{\"list\":[1,{\"x\":2}]}}\n  \n"
      "{\"type\":\"DELETED\",\"object\":{}}";
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    JsonStreamSplitter splitter;
    std::vector<std::string> objects;
    for (size_t i = 0; i < stream.size(); i += piece) {
      splitter.Feed(stream.substr(i, piece), [&](std::string_view o) {
        objects.emplace_back(o);
        return true;
      });
    }
    ASSERT_EQ(objects.size(), 3u) << "piece " << piece;
    EXPECT_EQ(objects[0], "{\"type\":\"ADDED\",\"object\":{\"a\":\"}{\\\"\"}}");
    EXPECT_EQ(objects[2], "{\"type\":\"DELETED\",\"object\":{}}");
    EXPECT_EQ(splitter.pending(), 0u);
  }
}

TEST(JsonStreamSplitterTest, StopsWhenTheCallbackSaysSo) {
  JsonStreamSplitter splitter;
  int seen = 0;
  EXPECT_FALSE(splitter.Feed("{}{}{}", [&](std::string_view) { return ++seen < 2; }));
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace hoist::kube

#include "net/http.h"

#include <gtest/gtest.h>

namespace hoist::net {
namespace {

TEST(NetHeaders, CaseInsensitiveGetSetHas) {
  Headers h;
  h.Add("Content-Type", "application/json");
  h.Add("X-Multi", "1");
  h.Add("x-multi", "2");
  EXPECT_EQ(h.Get("content-type"), "application/json");
  EXPECT_TRUE(h.Has("CONTENT-TYPE"));
  EXPECT_FALSE(h.Has("Content-Length"));
  EXPECT_EQ(h.Get("Missing"), "");
  EXPECT_EQ(h.Get("X-MULTI"), "1");  // first value

  h.Set("X-MULTI", "3");  // replaces every value, keeps the position of the first
  ASSERT_EQ(h.items().size(), 2u);
  EXPECT_EQ(h.items()[1].first, "X-Multi");
  EXPECT_EQ(h.items()[1].second, "3");

  h.Set("Accept", "*/*");
  EXPECT_EQ(h.items().back().first, "Accept");
  EXPECT_EQ(h.Get("accept"), "*/*");
}

TEST(NetHeaders, EqualsIgnoreCase) {
  EXPECT_TRUE(EqualsIgnoreCase("Transfer-Encoding", "transfer-encoding"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abd"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abcd"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
}

TEST(NetUrl, Decode) {
  EXPECT_EQ(UrlDecode("a%20b+c"), "a b c");
  EXPECT_EQ(UrlDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(UrlDecode("%2Fapi%2fv1"), "/api/v1");
  EXPECT_EQ(UrlDecode("app%3Dweb%2Ctier%21%3Dfront"), "app=web,tier!=front");
  // Malformed escapes are kept as written.
  EXPECT_EQ(UrlDecode("100%"), "100%");
  EXPECT_EQ(UrlDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(UrlDecode("%e2%9c%93"), "\xe2\x9c\x93");
}

TEST(NetUrl, EncodeRoundTrips) {
  EXPECT_EQ(UrlEncode("abc-_.~XYZ019"), "abc-_.~XYZ019");
  EXPECT_EQ(UrlEncode("a b/c=d&e"), "a%20b%2Fc%3Dd%26e");
  EXPECT_EQ(UrlEncode("\xff"), "%FF");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(UrlDecode(UrlEncode(all)), all);
}

TEST(NetStatusText, KnownAndUnknown) {
  EXPECT_EQ(StatusText(200), "OK");
  EXPECT_EQ(StatusText(404), "Not Found");
  EXPECT_EQ(StatusText(409), "Conflict");
  EXPECT_EQ(StatusText(410), "Gone");
  EXPECT_EQ(StatusText(413), "Payload Too Large");
  EXPECT_EQ(StatusText(422), "Unprocessable Entity");
  EXPECT_EQ(StatusText(599), "Server Error");
  EXPECT_EQ(StatusText(42), "Unknown");
}

}  // namespace
}  // namespace hoist::net

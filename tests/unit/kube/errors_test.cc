#include "kube/errors.h"

#include <gtest/gtest.h>

namespace hoist::kube {
namespace {

TEST(ApiErrorTest, StatusObjectsMapToReasonsAndClasses) {
  struct Case {
    int code;
    const char* reason;
    Reason want;
    ErrorClass cls;
  } cases[] = {
      {404, "NotFound", Reason::kNotFound, ErrorClass::kPrecondition},
      {409, "AlreadyExists", Reason::kAlreadyExists, ErrorClass::kPrecondition},
      {409, "Conflict", Reason::kConflict, ErrorClass::kTransient},
      {410, "Gone", Reason::kGone, ErrorClass::kPrecondition},
      {410, "Expired", Reason::kExpired, ErrorClass::kPrecondition},
      {403, "Forbidden", Reason::kForbidden, ErrorClass::kPrecondition},
      {401, "Unauthorized", Reason::kUnauthorized, ErrorClass::kPrecondition},
      {422, "Invalid", Reason::kInvalid, ErrorClass::kPrecondition},
      {400, "BadRequest", Reason::kBadRequest, ErrorClass::kPrecondition},
      {429, "TooManyRequests", Reason::kTooManyRequests, ErrorClass::kTransient},
      {500, "InternalError", Reason::kInternalError, ErrorClass::kTransient},
      {504, "Timeout", Reason::kTimeout, ErrorClass::kTransient},
      {500, "ServerTimeout", Reason::kServerTimeout, ErrorClass::kTransient},
      {503, "ServiceUnavailable", Reason::kServiceUnavailable, ErrorClass::kTransient},
  };
  for (const auto& c : cases) {
    std::string body = R"({"kind":"Status","apiVersion":"v1","status":"Failure","code":)" +
                       std::to_string(c.code) + R"(,"reason":")" + c.reason + R"(","message":"the message"})";
    ApiError e = ErrorFromResponse("get pods ns/p", c.code, body);
    EXPECT_EQ(e.code(), c.code) << c.reason;
    EXPECT_EQ(e.reason(), c.want) << c.reason;
    EXPECT_EQ(e.error_class(), c.cls) << c.reason;
    EXPECT_EQ(e.status_message(), "the message");
    EXPECT_NE(std::string(e.what()).find("get pods ns/p"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos);
  }
}

TEST(ApiErrorTest, HelpersRecogniseReasons) {
  ApiError nf = ErrorFromResponse("x", 404, R"({"kind":"Status","code":404,"reason":"NotFound"})");
  EXPECT_TRUE(IsNotFound(nf));
  EXPECT_FALSE(IsConflict(nf));
  ApiError gone = ErrorFromResponse("x", 410, R"({"kind":"Status","code":410,"reason":"Expired"})");
  EXPECT_TRUE(IsGone(gone));
  EXPECT_TRUE(IsServerError(ErrorFromResponse("x", 503, "")));
  EXPECT_TRUE(IsTooManyRequests(ErrorFromResponse("x", 429, "")));
  EXPECT_TRUE(IsForbidden(ErrorFromResponse("x", 403, "")));
  EXPECT_TRUE(IsUnauthorized(ErrorFromResponse("x", 401, "")));
  EXPECT_TRUE(IsInvalid(ErrorFromResponse("x", 422, "")));
  EXPECT_TRUE(IsAlreadyExists(ErrorFromResponse("x", 409, R"({"kind":"Status","reason":"AlreadyExists"})")));
  std::runtime_error other("plain");
  EXPECT_FALSE(IsNotFound(other));
  EXPECT_EQ(AsApiError(other), nullptr);
}

TEST(ApiErrorTest, NonStatusBodiesAndRetryAfter) {
  ApiError e = ErrorFromResponse("list events.events.k8s.io", 404, "404 page not found\n");
  EXPECT_EQ(e.reason(), Reason::kNotFound);
  EXPECT_EQ(e.status_message(), "404 page not found");
  ApiError throttled = ErrorFromResponse("x", 429, "", "7");
  EXPECT_EQ(throttled.retry_after(), std::chrono::seconds(7));
  ApiError from_details = ErrorFromResponse(
      "x", 429,
      R"({"kind":"Status","code":429,"reason":"TooManyRequests","details":{"retryAfterSeconds":3}})");
  EXPECT_EQ(from_details.retry_after(), std::chrono::seconds(3));
  ApiError unknown = ErrorFromResponse("x", 418, "teapot");
  EXPECT_EQ(unknown.reason(), Reason::kUnknown);
  EXPECT_EQ(unknown.error_class(), ErrorClass::kPrecondition);
  EXPECT_EQ(ErrorFromResponse("x", 502, "bad gateway").error_class(), ErrorClass::kTransient);
}

TEST(ApiErrorTest, WatchErrorEventStatus) {
  ApiError e = ErrorFromStatusJson("watch pods",
                                   R"({"kind":"Status","code":410,"reason":"Expired","message":"too old"})");
  EXPECT_TRUE(IsGone(e));
  EXPECT_EQ(e.code(), 410);
  EXPECT_EQ(ReasonName(Reason::kServiceUnavailable), "ServiceUnavailable");
  EXPECT_EQ(ParseReason("Conflict"), Reason::kConflict);
  EXPECT_EQ(ParseReason("whatever"), Reason::kUnknown);
}

TEST(RetryOnConflictTest, RetriesConflictsOnlyAndGivesUp) {
  int calls = 0;
  RetryOnConflict([&] {
    if (++calls < 3) throw ErrorFromResponse("update x", 409, R"({"kind":"Status","reason":"Conflict"})");
  });
  EXPECT_EQ(calls, 3);

  calls = 0;
  EXPECT_THROW(RetryOnConflict(
                   [&] {
                     ++calls;
                     throw ErrorFromResponse("update x", 409, R"({"kind":"Status","reason":"Conflict"})");
                   },
                   {4, std::chrono::milliseconds(1)}),
               ApiError);
  EXPECT_EQ(calls, 4);

  calls = 0;
  EXPECT_THROW(RetryOnConflict([&] {
                 ++calls;
                 throw ErrorFromResponse("update x", 404, "");
               }),
               ApiError);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace hoist::kube

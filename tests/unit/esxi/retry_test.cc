#include "esxi/retry.h"

#include <gtest/gtest.h>

#include <thread>

namespace hoist::esxi {
namespace {

TEST(SleepUnlessStopped, SaysWhetherItWasStopped) {
  EXPECT_TRUE(SleepUnlessStopped(std::chrono::milliseconds(1), {}));
  std::stop_source stopped;
  stopped.request_stop();
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(SleepUnlessStopped(std::chrono::seconds(30), stopped.get_token()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  std::stop_source later;
  std::thread t([&] { later.request_stop(); });
  EXPECT_FALSE(SleepUnlessStopped(std::chrono::seconds(30), later.get_token()));
  t.join();
}

TEST(RetryTransient, RetriesTransientFailuresAndStopsOnRequest) {
  int calls = 0;
  EXPECT_EQ(RetryTransient(3, std::chrono::milliseconds(1), std::chrono::milliseconds(2), {}, "reading",
                           [&] {
                             if (++calls < 3) throw TransientError("busy");
                             return 7;
                           }),
            7);
  EXPECT_EQ(calls, 3);
  calls = 0;
  EXPECT_THROW(RetryTransient(5, std::chrono::milliseconds(1), std::chrono::milliseconds(2), {}, "reading",
                              [&]() -> int {
                                ++calls;
                                throw PreconditionError("no such thing");
                              }),
               Error);
  EXPECT_EQ(calls, 1) << "a precondition is not retried";
  std::stop_source stop;
  try {
    RetryTransient(5, std::chrono::seconds(30), std::chrono::seconds(30), stop.get_token(), "reading",
                   [&]() -> int {
                     stop.request_stop();
                     throw TransientError("busy");
                   });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kCancelled);
  }
}

}  // namespace
}  // namespace hoist::esxi

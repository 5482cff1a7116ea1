#include "core/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/error.h"

namespace hoist {
namespace {

// Running, not a zombie waiting for a parent that does not reap.
bool Alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

ProcessOptions Opts() {
  ProcessOptions o;
  o.env = {"PATH=/usr/bin:/bin", "GREETING=hello"};
  o.timeout = std::chrono::seconds(20);
  return o;
}

TEST(RunProcessTest, CollectsOutputExitCodeAndOnlyTheGivenEnvironment) {
  ProcessOptions o = Opts();
  o.input = "from stdin\n";
  ProcessResult r =
      RunProcess({"sh", "-c", "cat; echo \"$GREETING ${HOME:-nohome}\"; echo oops >&2; exit 3"}, o);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.out, "from stdin\nhello nohome\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(RunProcessTest, ATimeoutEndsTheProgramAndWhatItStarted) {
  ProcessOptions o = Opts();
  o.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  // The grandchild keeps the output pipe open: only killing the whole group ends the wait.
  ProcessResult r = RunProcess({"sh", "-c", "sleep 30 & echo $!; wait"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  pid_t grandchild = static_cast<pid_t>(std::stol(r.out));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(Alive(grandchild)) << "the background sleep outlived the timeout";
}

TEST(RunProcessTest, AStopRequestEndsTheProgram) {
  std::stop_source stop;
  ProcessOptions o = Opts();
  o.stop = stop.get_token();
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.request_stop();
  });
  ProcessResult r = RunProcess({"sleep", "30"}, o);
  t.join();
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST(RunProcessTest, AMissingProgramIsAPrecondition) {
  try {
    RunProcess({"no-such-program-hoist"}, Opts());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("no-such-program-hoist"), std::string::npos);
  }
}

}  // namespace
}  // namespace hoist

#include "esxi/task_status.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hoist::esxi {
namespace {

std::string Xml(std::string_view status, std::string_view message) {
  return "<?xml version=\"1.0\" ?>\n<output xmlns=\"http://www.vmware.com/Products/ESX/5.0/esxcli/\">\n"
         "    <structure typeName=\"result\">\n"
         "        <field name=\"status\"><string>" +
         std::string(status) + "</string></field>\n        <field name=\"message\"><string>" +
         std::string(message) + "</string></field>\n    </structure>\n</output>\n";
}

TEST(ParseWrapperXml, ReadsStatusAndMessage) {
  auto r = ParseWrapperXml(Xml("0", R"({"taskId": "t1", "pid": 42, "xcopyUsed": false})"));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.message, R"({"taskId": "t1", "pid": 42, "xcopyUsed": false})");
}

TEST(ParseWrapperXml, DecodesEntitiesAndSkipsLeadingNoise) {
  auto r =
      ParseWrapperXml("Warning: banner\r\n" + Xml("1", "a &lt;b&gt; &amp;amp; &quot;q&quot; &#233; &#x41;"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, "1");
  EXPECT_EQ(r.message, "a <b> &amp; \"q\" \xC3\xA9 A");
}

TEST(ParseWrapperXml, EmptyElementAndCdata) {
  std::string xml =
      "<output><structure typeName='result'><field name='status'><string>0</string></field>"
      "<field name=\"message\"><string/></field></structure></output>";
  auto r = ParseWrapperXml(xml);
  EXPECT_EQ(r.status, "0");
  EXPECT_EQ(r.message, "");
  auto c = ParseWrapperXml(Xml("0", "<![CDATA[x < y & z]]>"));
  EXPECT_EQ(c.message, "x < y & z");
}

// Forklift's wrapper does not escape its XML; its answers must still be readable.
TEST(ParseWrapperXml, ToleratesUnescapedMarkupFromForkliftsWrapper) {
  auto r = ParseWrapperXml(Xml("0", R"({"lastLine": "Clone: 5% done. <b>a & b</b>", "stdErr": "x<y"})"));
  EXPECT_EQ(r.message, R"({"lastLine": "Clone: 5% done. <b>a & b</b>", "stdErr": "x<y"})");
  auto st = ParseTaskMessage(r.message);
  EXPECT_EQ(st.last_line, "Clone: 5% done. <b>a & b</b>");
  EXPECT_EQ(st.progress_percent, 5);
}

TEST(ParseWrapperXml, ErrorClasses) {
  try {
    ParseWrapperXml("  \n");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient);
  }
  try {
    ParseWrapperXml("sh: /vmfs/volumes/ds1/secure-vmkfstools-wrapper: not found");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos);
  }
  EXPECT_THROW(ParseWrapperXml("<output><structure></structure></output>"), Error);
}

TEST(ParseProgressPercent, TakesTheLastPercentageAcrossCarriageReturns) {
  EXPECT_EQ(ParseProgressPercent("Clone: 0% done.\rClone: 25% done.\rClone: 26% done."), 26);
  EXPECT_EQ(ParseProgressPercent("Clone: 99% done.\rClone: 100% done.\n"), 100);
  EXPECT_EQ(ParseProgressPercent("Clone: 7% done.\r\n"), 7);
}

TEST(ParseProgressPercent, IgnoresLinesWithoutPercentage) {
  EXPECT_EQ(ParseProgressPercent(""), std::nullopt);
  EXPECT_EQ(ParseProgressPercent("Destination disk format: VMFS thin-provisioned"), std::nullopt);
  EXPECT_EQ(ParseProgressPercent("Cloning disk '/vmfs/volumes/ds/vm/vm.vmdk'..."), std::nullopt);
  EXPECT_EQ(ParseProgressPercent("100 percent"), std::nullopt);
  EXPECT_EQ(ParseProgressPercent("%"), std::nullopt);
}

TEST(ParseProgressPercent, IgnoresValuesAboveHundred) {
  EXPECT_EQ(ParseProgressPercent("Clone: 40% done. 1234%"), 40);
  EXPECT_EQ(ParseProgressPercent("250%"), std::nullopt);
}

TEST(ParseTaskMessage, ForkliftRunningTask) {
  auto st = ParseTaskMessage(
      R"({"taskId": "abc", "pid": 1234, "exitCode": "", "lastLine": "Clone: 45% done.", "xcopyUsed": null, "stdErr": ""})");
  EXPECT_EQ(st.task_id, "abc");
  EXPECT_EQ(st.pid, 1234);
  EXPECT_TRUE(st.running);
  EXPECT_FALSE(st.finished());
  EXPECT_EQ(st.progress_percent, 45);
  EXPECT_EQ(st.xcopy_used, std::nullopt);
}

TEST(ParseTaskMessage, HoistFinishedTaskPrefersProgressField) {
  auto st = ParseTaskMessage(
      R"({"taskId": "abc", "pid": 1, "exitCode": "0", "lastLine": "done", "xcopyUsed": true, "stdErr": "",)"
      R"( "running": false, "progress": 100, "cloneWriteOps": 37})");
  EXPECT_FALSE(st.running);
  EXPECT_TRUE(st.succeeded());
  EXPECT_EQ(st.progress_percent, 100);
  EXPECT_EQ(st.xcopy_used, true);
  EXPECT_EQ(st.clone_write_ops, 37u);
}

TEST(ParseTaskMessage, FailedTaskKeepsStderr) {
  auto st = ParseTaskMessage(
      R"({"taskId": "abc", "pid": 1, "exitCode": "3", "lastLine": "Clone: 12% done.", "xcopyUsed": false,)"
      R"( "stdErr": "Failed to clone disk: Input/output error (327689).\n"})");
  EXPECT_TRUE(st.finished());
  EXPECT_FALSE(st.succeeded());
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(st.std_err, "Failed to clone disk: Input/output error (327689).\n");
  EXPECT_EQ(st.progress_percent, 12);
}

TEST(ParseTaskMessage, NonNumericExitCodeIsAFailure) {
  auto st = ParseTaskMessage(R"({"taskId": "a", "exitCode": "killed"})");
  EXPECT_TRUE(st.finished());
  EXPECT_EQ(st.exit_code, -1);
}

TEST(ParseTaskMessage, NonJsonBecomesLastLine) {
  auto st = ParseTaskMessage("Clone: 3% done.");
  EXPECT_EQ(st.last_line, "Clone: 3% done.");
  EXPECT_EQ(st.progress_percent, 3);
}

TEST(ParseTaskGetReply, MissingTaskIsAPrecondition) {
  WrapperReply r{
      "1",
      R"({"taskId": "x", "stdErr": "Task directory /tmp/vmkfstools-wrapper-x not found", "xcopyUsed": false})"};
  try {
    ParseTaskGetReply(r, "x on host-1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition);
    EXPECT_NE(std::string(e.what()).find("x on host-1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("restarted"), std::string::npos);
  }
}

TEST(ParseCloneReply, StartedAndRefused) {
  auto s = ParseCloneReply({"0", R"({"taskId": "t-1", "pid": 99, "xcopyUsed": false})"}, "disk");
  EXPECT_EQ(s.task_id, "t-1");
  EXPECT_EQ(s.pid, 99);
  try {
    ParseCloneReply(
        {"1", R"({"stdErr": "Path validation error: '..' is not allowed", "code": "InvalidPath"})"}, "d");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Path validation error"), std::string::npos);
  }
  try {
    ParseCloneReply({"28", "Error running subprocess: free space is low"}, "d");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/tmp"), std::string::npos);
  }
  EXPECT_THROW(ParseCloneReply({"0", "{}"}, "d"), Error);
}

TEST(ParseVersionReply, ForkliftHoistAndSimple) {
  auto f = ParseVersionReply({"0", R"({"version": "0.3.3"})"}, "h");
  EXPECT_EQ(f.version, "0.3.3");
  EXPECT_TRUE(f.implementation.empty());
  EXPECT_FALSE(f.has("hex-args"));
  auto h = ParseVersionReply(
      {"0",
       R"({"version": "1.0.0", "implementation": "hoist", "features": ["hex-args", "quoted-ssh-args"]})"},
      "h");
  EXPECT_EQ(h.implementation, "hoist");
  EXPECT_TRUE(h.has("hex-args"));
  EXPECT_EQ(ParseVersionReply({"0", "1.0.0\n"}, "h").version, "1.0.0");
  EXPECT_THROW(ParseVersionReply({"0", "usage: secure-vmkfstools-wrapper.py"}, "h"), Error);
}

TEST(ProgressTracker, OnlyMovesForwardAndIgnoresPollsWithoutPercentage) {
  ProgressTracker t;
  CloneTaskStatus st;
  st.progress_percent = 10;
  EXPECT_EQ(t.Update(st), 10);
  st.progress_percent = std::nullopt;  // e.g. "Destination disk format: …"
  EXPECT_EQ(t.Update(st), std::nullopt);
  EXPECT_EQ(t.current(), 10);
  st.progress_percent = 5;
  EXPECT_EQ(t.Update(st), std::nullopt);
  st.progress_percent = 100;
  EXPECT_EQ(t.Update(st), 100);
}

TEST(XmlUnescape, LeavesUnknownAndBrokenEntities) {
  EXPECT_EQ(XmlUnescape("&foo; & &#xZZ; &lt"), "&foo; & &#xZZ; &lt");
}

}  // namespace
}  // namespace hoist::esxi

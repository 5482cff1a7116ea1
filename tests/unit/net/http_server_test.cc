// The HTTP server at the protocol level: exact bytes over a raw socket.
#include "net/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/error.h"
#include "net_test_util.h"

namespace hoist::net {
namespace {

using namespace std::chrono_literals;
using testing::RawSocket;

Handler Echo() {
  return [](const ServerRequest& req, ResponseWriter& w) {
    Headers h;
    h.Add("X-Target", req.target);
    h.Add("X-Path", req.path);
    w.Send(200, h, req.method + " " + req.body);
  };
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

TEST(NetHttpServerProtocol, ExpectContinueIsAnsweredBeforeTheBody) {
  HttpServer server({}, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  std::string got = s.ReadUntil("\r\n\r\n");
  EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
  s.Send("hello");
  got = s.ReadUntil("PUT hello");
  EXPECT_NE(got.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << got;
}

TEST(NetHttpServerProtocol, ExpectContinueWithTooLargeBodyGets413WithoutContinue) {
  HttpServerOptions o;
  o.max_body_bytes = 10;
  HttpServer server(o, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  EXPECT_EQ(s.buffer().rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << s.buffer();
  EXPECT_EQ(s.buffer().find("100 Continue"), std::string::npos);
}

TEST(NetHttpServerProtocol, ChunkedRequestBody) {
  HttpServer server({}, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send(
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n "
      "world\r\n0\r\n"
      "Trailer-Field: x\r\n\r\n");
  std::string got = s.ReadUntil("POST hello world");
  EXPECT_NE(got.find("Content-Length: 16\r\n"), std::string::npos) << got;
}

TEST(NetHttpServerProtocol, ChunkedRequestBodyOverTheLimit) {
  HttpServerOptions o;
  o.max_body_bytes = 8;
  HttpServer server(o, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send(
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
      "chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  EXPECT_EQ(s.buffer().rfind("HTTP/1.1 413 ", 0), 0u) << s.buffer();
}

TEST(NetHttpServerProtocol, PipelinedRequestsOnOneConnection) {
  HttpServer server({}, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send(
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "GET /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  const std::string& got = s.buffer();
  EXPECT_EQ(Count(got, "HTTP/1.1 200 OK"), 3u) << got;
  EXPECT_NE(got.find("POST abc"), std::string::npos);
  EXPECT_NE(got.find("X-Target: /3\r\n"), std::string::npos);
  EXPECT_EQ(Count(got, "Connection: close"), 1u) << got;
}

TEST(NetHttpServerProtocol, Http10ClosesUnlessKeepAlive) {
  HttpServer server({}, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send("GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  EXPECT_EQ(s.buffer().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);

  RawSocket k(server.port());
  k.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(k.WaitForEof(10s));
  EXPECT_EQ(Count(k.buffer(), "HTTP/1.1 200 OK"), 2u) << k.buffer();
}

TEST(NetHttpServerProtocol, MalformedRequestsGet400AndClose) {
  HttpServer server({}, Echo());
  server.Start();
  for (const char* bad : {"NONSENSE\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                          "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                          "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                          "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"}) {
    RawSocket s(server.port());
    s.Send(bad);
    EXPECT_TRUE(s.WaitForEof(10s)) << bad;
    EXPECT_EQ(s.buffer().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << bad << " -> " << s.buffer();
  }
  RawSocket v(server.port());
  v.Send("GET / HTTP/2.0\r\n\r\n");
  EXPECT_TRUE(v.WaitForEof(10s));
  EXPECT_EQ(v.buffer().rfind("HTTP/1.1 505 ", 0), 0u) << v.buffer();

  RawSocket te(server.port());
  te.Send("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_TRUE(te.WaitForEof(10s));
  EXPECT_EQ(te.buffer().rfind("HTTP/1.1 501 ", 0), 0u) << te.buffer();
}

TEST(NetHttpServerProtocol, AbsoluteFormTarget) {
  HttpServer server({}, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send(
      "GET http://example.com/api/v1/x%2Fy?a=b HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  EXPECT_NE(s.buffer().find("X-Path: /api/v1/x/y\r\n"), std::string::npos) << s.buffer();
}

TEST(NetHttpServerProtocol, IdleConnectionsAreClosed) {
  HttpServerOptions o;
  o.idle_timeout = 200ms;
  HttpServer server(o, Echo());
  server.Start();
  RawSocket s(server.port());
  s.Send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  s.ReadUntil("GET ");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(s.WaitForEof(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

TEST(NetHttpServerProtocol, ClientGoneIsSeenWithoutWriting) {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, gone = false;
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    w.StartChunked(200, {});
    {
      std::lock_guard<std::mutex> lock(mu);
      started = true;
      cv.notify_all();
    }
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!w.ClientGone() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    std::lock_guard<std::mutex> lock(mu);
    gone = w.ClientGone();
    cv.notify_all();
  });
  server.Start();
  RawSocket s(server.port());
  s.Send("GET /watch HTTP/1.1\r\nHost: h\r\n\r\n");
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return started; }));
  EXPECT_TRUE(s.ReadUntil("\r\n\r\n").find("Transfer-Encoding: chunked") != std::string::npos);
  s.Close();
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return gone; }));
}

TEST(NetHttpServerProtocol, HeadGetsHeadersOnly) {
  HttpServer server({}, [](const ServerRequest& req, ResponseWriter& w) {
    if (req.path == "/chunked") {
      w.StartChunked(200, {});
      w.WriteChunk("ignored");
      w.Finish();
    } else {
      w.Send(200, {}, "twelve bytes");
    }
  });
  server.Start();
  RawSocket s(server.port());
  s.Send(
      "HEAD /whole HTTP/1.1\r\nHost: h\r\n\r\nHEAD /chunked HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /whole HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  const std::string& got = s.buffer();
  EXPECT_EQ(Count(got, "Content-Length: 12\r\n"), 2u) << got;
  EXPECT_EQ(Count(got, "twelve bytes"), 1u) << got;
  EXPECT_EQ(got.find("ignored"), std::string::npos) << got;
}

TEST(NetHttpServerProtocol, NoContentHasNoBodyOrLength) {
  HttpServer server({}, [](const ServerRequest&, ResponseWriter& w) { w.Send(204, {}, ""); });
  server.Start();
  RawSocket s(server.port());
  s.Send("DELETE /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  EXPECT_EQ(s.buffer(), "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
}

TEST(NetHttpServerProtocol, HeaderValuesCannotInjectLines) {
  HttpServer server({}, [](const ServerRequest&, ResponseWriter& w) {
    Headers h;
    h.Add("X-Evil", "a\r\nSet-Cookie: b");
    w.Send(200, h, "");
  });
  server.Start();
  RawSocket s(server.port());
  s.Send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(s.WaitForEof(10s));
  EXPECT_EQ(s.buffer().find("\r\nSet-Cookie"), std::string::npos) << s.buffer();
}

TEST(NetHttpServer, BindFailureIsAnError) {
  HttpServer first({}, Echo());
  first.Start();
  HttpServerOptions o;
  o.port = first.port();
  HttpServer second(o, Echo());
  EXPECT_THROW(second.Start(), Error);
}

TEST(NetHttpServer, BadTlsMaterialIsAPreconditionError) {
  HttpServerOptions o;
  o.tls_cert_pem = "not a certificate";
  o.tls_key_pem = "not a key";
  HttpServer server(o, Echo());
  try {
    server.Start();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
  }
}

}  // namespace
}  // namespace hoist::net

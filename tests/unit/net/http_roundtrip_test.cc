// hoist's HTTP client against hoist's HTTP server, in plain HTTP and TLS.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/tls.h"
#include "net_test_util.h"

namespace hoist::net {
namespace {

using namespace std::chrono_literals;
using testing::Req;

std::string Url(const HttpServer& server, const std::string& path) {
  return std::string(server.tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(server.port()) +
         path;
}

Handler EchoHandler() {
  return [](const ServerRequest& req, ResponseWriter& w) {
    Headers h;
    h.Add("Content-Type", "text/plain");
    h.Add("X-Method", req.method);
    h.Add("X-Path", req.path);
    h.Add("X-Remote", req.remote_address);
    h.Add("X-Content-Type", req.headers.Get("Content-Type"));
    h.Add("X-Expect", req.headers.Get("Expect"));
    w.Send(200, h, req.body);
  };
}

// A one-shot flag a test thread can wait on with a deadline.
class Signal {
 public:
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

TEST(NetHttpRoundTrip, MethodsBodiesAndHeaders) {
  HttpServer server({}, EchoHandler());
  server.Start();
  HttpClient client;

  HttpResponse r = client.Do(Req("GET", Url(server, "/a%20b")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("x-method"), "GET");
  EXPECT_EQ(r.headers.Get("X-Path"), "/a b");
  EXPECT_EQ(r.body, "");

  HttpRequest post = Req("POST", Url(server, "/p"), std::string(3 << 20, 'x'));
  post.headers.Add("Content-Type", "application/json");
  r = client.Do(post);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("X-Method"), "POST");
  EXPECT_EQ(r.headers.Get("X-Content-Type"), "application/json");
  EXPECT_EQ(r.headers.Get("X-Expect"), "");  // no 100-continue round trip
  EXPECT_EQ(r.body, post.body);

  for (const char* method : {"PUT", "PATCH", "DELETE"}) {
    r = client.Do(Req(method, Url(server, "/m"), "b"));
    EXPECT_EQ(r.headers.Get("X-Method"), method);
    EXPECT_EQ(r.body, "b");
    EXPECT_EQ(r.headers.Get("X-Content-Type"), "");  // no form type invented
  }
  r = client.Do(Req("DELETE", Url(server, "/m")));
  EXPECT_EQ(r.headers.Get("X-Method"), "DELETE");

  r = client.Do(Req("HEAD", Url(server, "/h")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("X-Method"), "HEAD");
  EXPECT_EQ(r.body, "");
}

TEST(NetHttpRoundTrip, ErrorStatusesAreReturnedNotThrown) {
  HttpServer server({}, [](const ServerRequest&, ResponseWriter& w) {
    Headers h;
    h.Add("Content-Type", "application/json");
    w.Send(409, h, R"({"reason":"Conflict"})");
  });
  server.Start();
  HttpClient client;
  HttpResponse r = client.Do(Req("POST", Url(server, "/x"), "{}"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, R"({"reason":"Conflict"})");
}

TEST(NetHttpRoundTrip, QueryIsDecoded) {
  std::multimap<std::string, std::string> seen;
  std::string raw_path, target;
  HttpServer server({}, [&](const ServerRequest& req, ResponseWriter& w) {
    seen = req.query;
    raw_path = req.raw_path;
    target = req.target;
    EXPECT_EQ(req.Query("labelSelector"), "app=web,tier!=db");
    EXPECT_EQ(req.Query("missing", "fallback"), "fallback");
    EXPECT_EQ(req.Query("a"), "1");  // the first of repeated names
    EXPECT_TRUE(req.HasQuery("watch"));
    EXPECT_FALSE(req.HasQuery("missing"));
    w.Send(200, {}, "");
  });
  server.Start();
  HttpClient client;
  std::string query = "?labelSelector=" + UrlEncode("app=web,tier!=db") + "&watch&a=1&a=2&s=x+y&e=%26%3D";
  client.Do(Req("GET", Url(server, "/api/v1/name%2Fspaced") + query));
  EXPECT_EQ(seen.count("a"), 2u);
  EXPECT_EQ(seen.find("s")->second, "x y");
  EXPECT_EQ(seen.find("e")->second, "&=");
  EXPECT_EQ(seen.find("watch")->second, "");
  EXPECT_EQ(raw_path, "/api/v1/name%2Fspaced");
  EXPECT_EQ(target, "/api/v1/name%2Fspaced" + query);
}

TEST(NetHttpRoundTrip, KeepAliveReusesTheConnection) {
  std::mutex mu;
  std::set<std::string> remotes;
  HttpServer server({}, [&](const ServerRequest& req, ResponseWriter& w) {
    {
      std::lock_guard<std::mutex> lock(mu);
      remotes.insert(req.remote_address);
    }
    w.Send(200, {}, "ok");
  });
  server.Start();
  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.Do(Req("GET", Url(server, "/k"))).status, 200);
    EXPECT_EQ(client.Do(Req("POST", Url(server, "/k"), "body")).status, 200);
  }
  EXPECT_EQ(remotes.size(), 1u);
}

TEST(NetHttpRoundTrip, TlsVerifiedWithCaAndRefusedWithout) {
  CaAndServer pki = GenerateCaAndServer("hoist-test-ca", "localhost", {"localhost"}, {"127.0.0.1"});
  HttpServerOptions options;
  options.tls_cert_pem = pki.server.cert_pem;
  options.tls_key_pem = pki.server.key_pem;
  HttpServer server(options, EchoHandler());
  server.Start();
  ASSERT_TRUE(server.tls());

  HttpClientOptions copts;
  copts.tls.ca_pem = pki.ca.cert_pem;
  HttpClient client(copts);
  HttpResponse r = client.Do(Req("PUT", Url(server, "/secure"), "over tls"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "over tls");
  // By host name too (the certificate names localhost).
  r = client.Do(Req("GET", "https://localhost:" + std::to_string(server.port()) + "/n"));
  EXPECT_EQ(r.status, 200);

  // The CA as a file works the same.
  testing::TempDir dir;
  HttpClientOptions fopts;
  fopts.tls.ca_file = dir.File("ca.pem", pki.ca.cert_pem);
  HttpClient file_client(fopts);
  EXPECT_EQ(file_client.Do(Req("GET", Url(server, "/f"))).status, 200);

  HttpClient untrusting;
  HttpRequest secret = Req("POST", Url(server, "/secure"), "super-secret-body");
  secret.headers.Add("Authorization", "Bearer super-secret-token");
  try {
    untrusting.Do(secret);
    FAIL() << "expected a verification failure";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << msg;
    EXPECT_NE(msg.find(Url(server, "/secure")), std::string::npos) << msg;
    EXPECT_NE(msg.find("CA bundle"), std::string::npos) << msg;
    EXPECT_NE(msg.find("insecureSkipVerify"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("super-secret"), std::string::npos) << msg;
  }

  // A CA that did not sign the server certificate is refused as well.
  HttpClientOptions wrong;
  wrong.tls.ca_pem = GenerateCaAndServer("other", "x", {"localhost"}, {}).ca.cert_pem;
  HttpClient wrong_client(wrong);
  try {
    wrong_client.Do(Req("GET", Url(server, "/secure")));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
  }

  HttpClientOptions insecure;
  insecure.tls.insecure_skip_verify = true;
  HttpClient insecure_client(insecure);
  EXPECT_EQ(insecure_client.Do(Req("GET", Url(server, "/i"))).status, 200);
}

TEST(NetHttpRoundTrip, TlsWithSelfSignedCertificate) {
  CertAndKey ck = GenerateSelfSigned("metrics", {"localhost"}, {"127.0.0.1"});
  HttpServerOptions options;
  options.tls_cert_pem = ck.cert_pem;
  options.tls_key_pem = ck.key_pem;
  HttpServer server(options, EchoHandler());
  server.Start();
  HttpClientOptions copts;
  copts.tls.ca_pem = ck.cert_pem;
  HttpClient client(copts);
  EXPECT_EQ(client.Do(Req("GET", Url(server, "/metrics"))).status, 200);
}

TEST(NetHttpRoundTrip, MutualTlsClientCertificateIsSent) {
  CaAndServer pki = GenerateCaAndServer("ca", "localhost", {"localhost"}, {"127.0.0.1"});
  HttpServerOptions options;
  options.tls_cert_pem = pki.server.cert_pem;
  options.tls_key_pem = pki.server.key_pem;
  HttpServer server(options, EchoHandler());
  server.Start();
  CertAndKey client_cert = GenerateSelfSigned("admin", {}, {});
  HttpClientOptions copts;
  copts.tls.ca_pem = pki.ca.cert_pem;
  copts.tls.client_cert_pem = client_cert.cert_pem;
  copts.tls.client_key_pem = client_cert.key_pem;
  HttpClient client(copts);
  EXPECT_EQ(client.Do(Req("GET", Url(server, "/m"))).status, 200);

  HttpClientOptions broken = copts;
  broken.tls.client_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  HttpClient broken_client(broken);
  try {
    broken_client.Do(Req("GET", Url(server, "/m")));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kPrecondition) << e.what();
    EXPECT_EQ(std::string(e.what()).find("AAAA"), std::string::npos);
  }
}

TEST(NetHttpRoundTrip, ConnectionRefusedIsTransient) {
  uint16_t port;
  {
    HttpServer server({}, EchoHandler());
    server.Start();
    port = server.port();
  }
  HttpClient client;
  try {
    client.Do(Req("GET", "http://127.0.0.1:" + std::to_string(port) + "/x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
  // Credentials in a URL stay out of messages.
  try {
    client.Do(Req("GET", "http://admin:hunter2@127.0.0.1:" + std::to_string(port) + "/x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("http://127.0.0.1:"), std::string::npos) << e.what();
  }
}

TEST(NetHttpRoundTrip, RequestTimeoutIsTransient) {
  Signal release;
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    release.WaitFor(10s);
    w.Send(200, {}, "late");
  });
  server.Start();
  HttpClient client;
  HttpRequest req = Req("GET", Url(server, "/slow"));
  req.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  try {
    client.Do(req);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  release.Notify();
}

TEST(NetHttpRoundTrip, ServerClosingMidResponseIsTransient) {
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    w.StartChunked(200, {});
    w.WriteChunk("partial");
    throw std::runtime_error("handler broke");  // the server can only close the connection
  });
  server.Start();
  HttpClient client;
  try {
    client.Do(Req("GET", Url(server, "/broken")));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient) << e.what();
  }
}

TEST(NetHttpRoundTrip, HandlerExceptionBecomes500) {
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter&) { throw std::runtime_error("boom"); });
  server.Start();
  HttpClient client;
  HttpResponse r = client.Do(Req("GET", Url(server, "/x")));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("boom"), std::string::npos);  // internals stay in the server log
}

TEST(NetHttpRoundTrip, PayloadTooLarge) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  HttpServer server(options, EchoHandler());
  server.Start();
  HttpClient client;
  EXPECT_EQ(client.Do(Req("POST", Url(server, "/x"), std::string(1000, 'a'))).status, 200);
  HttpResponse r = client.Do(Req("POST", Url(server, "/x"), std::string(5000, 'a')));
  EXPECT_EQ(r.status, 413);
  // A body far over the limit: the server answers before reading it, and the client still gets the 413.
  r = client.Do(Req("POST", Url(server, "/x"), std::string(8 << 20, 'a')));
  EXPECT_EQ(r.status, 413);
  // The connection was closed after the 413; the next request works on a new one.
  EXPECT_EQ(client.Do(Req("POST", Url(server, "/x"), "small")).body, "small");
}

TEST(NetHttpStream, ChunksArriveBeforeTheResponseEnds) {
  Signal first_received;
  std::atomic<bool> handler_saw_ack{false};
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    Headers h;
    h.Add("Content-Type", "application/json");
    w.StartChunked(200, h);
    EXPECT_TRUE(w.WriteChunk("{\"type\":\"ADDED\"}\n"));
    // Only continue once the client has seen the first chunk: proves incremental delivery.
    handler_saw_ack = first_received.WaitFor(10s);
    EXPECT_TRUE(w.WriteChunk("{\"type\":\"MODIFIED\"}\n"));
    w.Finish();
  });
  server.Start();
  HttpClient client;
  std::string got;
  int headers_calls = 0;
  int status_at_headers = 0;
  HttpRequest req = Req("GET", Url(server, "/watch"));
  req.timeout = 0ms;
  HttpResponse r = client.Stream(
      req,
      [&](std::string_view data) {
        EXPECT_EQ(headers_calls, 1);  // headers come first
        got.append(data);
        if (got.find("ADDED") != std::string::npos) first_received.Notify();
        return true;
      },
      [&](int status, const Headers& h) {
        ++headers_calls;
        status_at_headers = status;
        EXPECT_EQ(h.Get("content-type"), "application/json");
      });
  EXPECT_TRUE(handler_saw_ack.load());
  EXPECT_EQ(headers_calls, 1);
  EXPECT_EQ(status_at_headers, 200);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(got, "{\"type\":\"ADDED\"}\n{\"type\":\"MODIFIED\"}\n");
}

TEST(NetHttpStream, HeadersDeliveredForEmptyBody) {
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) { w.Send(410, {}, ""); });
  server.Start();
  HttpClient client;
  int status = 0;
  HttpResponse r = client.Stream(
      Req("GET", Url(server, "/gone")), [](std::string_view) { return true; },
      [&](int s, const Headers&) { status = s; });
  EXPECT_EQ(status, 410);
  EXPECT_EQ(r.status, 410);
}

// A handler that streams until the client or the server goes away, reporting how it ended.
struct EndlessStream {
  Signal ended;
  std::atomic<bool> saw_client_gone{false};
  std::atomic<bool> saw_stopping{false};
  std::atomic<int> chunks{0};
  Handler handler() {
    return [this](const ServerRequest&, ResponseWriter& w) {
      w.StartChunked(200, {});
      while (w.WriteChunk("tick\n")) {
        ++chunks;
        std::this_thread::sleep_for(10ms);  // pacing of the stream, not a wait for an event
        if (w.ClientGone()) {
          saw_client_gone = true;
          break;
        }
      }
      if (w.ServerStopping()) saw_stopping = true;
      if (w.ClientGone()) saw_client_gone = true;
      ended.Notify();
    };
  }
};

TEST(NetHttpStream, CallbackReturningFalseStopsWithoutError) {
  EndlessStream stream;
  HttpServer server({}, stream.handler());
  server.Start();
  HttpClient client;
  int pieces = 0;
  HttpResponse r =
      client.Stream(Req("GET", Url(server, "/w")), [&](std::string_view) { return ++pieces < 3; });
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(pieces, 3);
  EXPECT_TRUE(stream.ended.WaitFor(10s));
  EXPECT_TRUE(stream.saw_client_gone.load());
}

TEST(NetHttpStream, CancelStreamsAbortsStreamsInProgress) {
  EndlessStream stream;
  HttpServer server({}, stream.handler());
  server.Start();
  HttpClient client;
  Signal receiving;
  auto result = std::async(std::launch::async, [&] {
    HttpRequest req = Req("GET", Url(server, "/w"));
    req.timeout = 0ms;
    try {
      client.Stream(req, [&](std::string_view) {
        receiving.Notify();
        return true;
      });
      return std::string("returned");
    } catch (const Error& e) {
      return std::string(ErrorClassName(e.error_class()));
    }
  });
  ASSERT_TRUE(receiving.WaitFor(10s));
  auto start = std::chrono::steady_clock::now();
  client.CancelStreams();
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(result.get(), "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(stream.ended.WaitFor(10s));

  // Later calls work normally.
  int pieces = 0;
  client.Stream(Req("GET", Url(server, "/w")), [&](std::string_view) { return ++pieces < 2; });
  EXPECT_EQ(pieces, 2);
}

TEST(NetHttpStream, CancelStreamsAbortsAnIdleStream) {
  Signal release;
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    w.StartChunked(200, {});
    w.WriteChunk("first\n");
    release.WaitFor(10s);  // then silence, like a watch with no events
  });
  server.Start();
  HttpClient client;
  Signal receiving;
  auto result = std::async(std::launch::async, [&] {
    HttpRequest req = Req("GET", Url(server, "/w"));
    req.timeout = 0ms;
    try {
      client.Stream(req, [&](std::string_view) {
        receiving.Notify();
        return true;
      });
      return std::string("returned");
    } catch (const Error& e) {
      return std::string(ErrorClassName(e.error_class()));
    }
  });
  ASSERT_TRUE(receiving.WaitFor(10s));
  client.CancelStreams();
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), "cancelled");
  release.Notify();
}

TEST(NetHttpStream, StopTokenCancelsBeforeAndDuring) {
  EndlessStream stream;
  HttpServer server({}, stream.handler());
  server.Start();
  HttpClient client;

  std::stop_source already;
  already.request_stop();
  HttpRequest early = Req("GET", Url(server, "/w"));
  early.cancel = already.get_token();
  try {
    client.Stream(early, [](std::string_view) { return true; });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kCancelled) << e.what();
  }

  std::stop_source source;
  HttpRequest req = Req("GET", Url(server, "/w"));
  req.timeout = 0ms;
  req.cancel = source.get_token();
  int pieces = 0;
  try {
    client.Stream(req, [&](std::string_view) {
      if (++pieces == 2) source.request_stop();
      return true;
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kCancelled) << e.what();
  }
  EXPECT_GE(pieces, 2);
}

TEST(NetHttpStream, IdleTimeoutEndsASilentStream) {
  Signal release;
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    w.StartChunked(200, {});
    w.WriteChunk("one\n");
    release.WaitFor(10s);
  });
  server.Start();
  HttpClient client;
  HttpRequest req = Req("GET", Url(server, "/w"));
  req.timeout = 0ms;
  req.idle_timeout = 300ms;
  std::string got;
  auto start = std::chrono::steady_clock::now();
  try {
    client.Stream(req, [&](std::string_view d) {
      got.append(d);
      return true;
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.error_class(), ErrorClass::kTransient) << e.what();
    EXPECT_NE(std::string(e.what()).find("no data"), std::string::npos) << e.what();
  }
  EXPECT_EQ(got, "one\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  release.Notify();
}

TEST(NetHttpStream, ExceptionFromCallbackPropagates) {
  EndlessStream stream;
  HttpServer server({}, stream.handler());
  server.Start();
  HttpClient client;
  EXPECT_THROW(client.Stream(Req("GET", Url(server, "/w")),
                             [&](std::string_view) -> bool { throw std::logic_error("decode failed"); }),
               std::logic_error);
}

TEST(NetHttpServerStop, EndsOpenStreamsAndJoins) {
  EndlessStream stream;
  HttpServer server({}, stream.handler());
  server.Start();
  HttpClient client;
  Signal receiving;
  auto result = std::async(std::launch::async, [&] {
    HttpRequest req = Req("GET", Url(server, "/w"));
    req.timeout = 0ms;
    try {
      client.Stream(req, [&](std::string_view) {
        receiving.Notify();
        return true;
      });
      return std::string("returned");
    } catch (const Error& e) {
      return std::string(ErrorClassName(e.error_class()));
    }
  });
  ASSERT_TRUE(receiving.WaitFor(10s));
  auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(stream.saw_stopping.load());
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  // The stream ended without its final chunk: the client sees a transport failure.
  EXPECT_EQ(result.get(), "transient");
}

TEST(NetHttpServerStop, WakesHandlersThroughTheStopCallback) {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  Signal in_handler;
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    w.StartChunked(200, {});
    in_handler.Notify();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return stop; });  // a watch waiting for events
  });
  server.SetOnStopping([&] {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    cv.notify_all();
  });
  server.Start();
  HttpClient client;
  auto result = std::async(std::launch::async, [&] {
    try {
      HttpRequest req = Req("GET", Url(server, "/w"));
      req.timeout = 0ms;
      client.Stream(req, [](std::string_view) { return true; });
    } catch (const Error&) {
    }
  });
  ASSERT_TRUE(in_handler.WaitFor(10s));
  server.Stop();
  EXPECT_EQ(result.wait_for(10s), std::future_status::ready);
}

TEST(NetHttpServerStop, ClosesIdleKeepAliveConnectionsPromptly) {
  HttpServer server({}, EchoHandler());
  server.Start();
  HttpClient client;
  EXPECT_EQ(client.Do(Req("GET", Url(server, "/x"))).status, 200);  // leaves an idle connection
  auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  server.Stop();  // idempotent
}

TEST(NetHttpClientConcurrency, OneClientManyThreads) {
  CaAndServer pki = GenerateCaAndServer("ca", "localhost", {"localhost"}, {"127.0.0.1"});
  HttpServerOptions options;
  options.tls_cert_pem = pki.server.cert_pem;
  options.tls_key_pem = pki.server.key_pem;
  std::mutex mu;
  std::set<std::string> remotes;
  HttpServer server(options, [&](const ServerRequest& req, ResponseWriter& w) {
    {
      std::lock_guard<std::mutex> lock(mu);
      remotes.insert(req.remote_address);
    }
    w.Send(200, {}, req.body);
  });
  server.Start();
  HttpClientOptions copts;
  copts.tls.ca_pem = pki.ca.cert_pem;
  copts.max_pooled_connections = 4;
  HttpClient client(copts);
  constexpr int kThreads = 8, kRequests = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        std::string body = std::to_string(t) + "/" + std::to_string(i);
        HttpResponse r = client.Do(Req("POST", Url(server, "/c"), body));
        if (r.status == 200 && r.body == body) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kRequests);
  // Connections are pooled: far fewer than one per request.
  EXPECT_LT(remotes.size(), static_cast<size_t>(kThreads * kRequests / 2));
}

TEST(NetHttpServerStop, EndsATlsStream) {
  CaAndServer pki = GenerateCaAndServer("ca", "localhost", {"localhost"}, {"127.0.0.1"});
  HttpServerOptions options;
  options.tls_cert_pem = pki.server.cert_pem;
  options.tls_key_pem = pki.server.key_pem;
  EndlessStream stream;
  HttpServer server(options, stream.handler());
  server.Start();
  HttpClientOptions copts;
  copts.tls.ca_pem = pki.ca.cert_pem;
  HttpClient client(copts);
  Signal receiving;
  auto result = std::async(std::launch::async, [&] {
    HttpRequest req = Req("GET", Url(server, "/w"));
    req.timeout = 0ms;
    try {
      client.Stream(req, [&](std::string_view) {
        receiving.Notify();
        return true;
      });
      return std::string("returned");
    } catch (const Error& e) {
      return std::string(ErrorClassName(e.error_class()));
    }
  });
  ASSERT_TRUE(receiving.WaitFor(10s));
  server.Stop();
  EXPECT_TRUE(stream.saw_stopping.load());
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(result.get(), "transient");
}

int OpenFileDescriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST(NetHttpServerStop, LeavesNoFileDescriptorsBehind) {
  CaAndServer pki = GenerateCaAndServer("ca", "localhost", {"localhost"}, {"127.0.0.1"});
  HttpServerOptions options;
  options.tls_cert_pem = pki.server.cert_pem;
  options.tls_key_pem = pki.server.key_pem;
  HttpClientOptions copts;
  copts.tls.ca_pem = pki.ca.cert_pem;
  {
    // Warm up process-wide state (OpenSSL, libcurl) so that only per-server resources are counted.
    EndlessStream stream;
    HttpServer server(options, stream.handler());
    server.Start();
    HttpClient client(copts);
    client.Stream(Req("GET", Url(server, "/w")), [](std::string_view) { return false; });
  }
  int before = OpenFileDescriptors();
  {
    EndlessStream stream;
    HttpServer server(options, stream.handler());
    server.Start();
    HttpClient client(copts);
    for (int i = 0; i < 3; ++i) {
      int pieces = 0;
      client.Stream(Req("GET", Url(server, "/w")), [&](std::string_view) { return ++pieces < 2; });
    }
    testing::RawSocket idle(server.port());
    server.Stop();
  }
  EXPECT_EQ(OpenFileDescriptors(), before);
}

TEST(NetHttpServer, ManyConcurrentStreams) {
  constexpr int kStreams = 200;
  std::atomic<int> open{0};
  HttpServer server({}, [&](const ServerRequest&, ResponseWriter& w) {
    w.StartChunked(200, {});
    ++open;
    while (w.WriteChunk("x")) {
      std::this_thread::sleep_for(50ms);  // pacing
    }
    --open;
  });
  server.Start();
  std::vector<std::unique_ptr<testing::RawSocket>> sockets;
  for (int i = 0; i < kStreams; ++i) {
    sockets.push_back(std::make_unique<testing::RawSocket>(server.port()));
    sockets.back()->Send("GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (auto& s : sockets) {
    EXPECT_NE(s->ReadUntil("\r\n1\r\nx\r\n").find("\r\n1\r\nx\r\n"), std::string::npos);
  }
  EXPECT_EQ(open.load(), kStreams);
  auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(open.load(), 0);
  for (auto& s : sockets) EXPECT_TRUE(s->WaitForEof(5s));
}

}  // namespace
}  // namespace hoist::net

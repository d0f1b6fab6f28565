// The asynchronous HTTP client against real loopback servers: plain, TLS
// with a CA made in the test, and servers that accept and never answer.

#include "net/http_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/pg_cluster.hpp"
#include "support/test_http_server.hpp"
#include "support/test_pki.hpp"

namespace drwatch::net {
namespace {

using namespace std::chrono_literals;
using test::ScriptedResponse;
using test::TestHttpServer;
using test::TestPki;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---- URLs --------------------------------------------------------------------

Url MustParse(std::string_view text) {
  std::string error;
  auto url = ParseUrl(text, error);
  EXPECT_TRUE(url) << text << ": " << error;
  return url.value_or(Url{});
}

std::string ParseError(std::string_view text) {
  std::string error;
  EXPECT_FALSE(ParseUrl(text, error)) << text;
  return error;
}

TEST(ParseUrl, SplitsEveryPart) {
  Url url = MustParse("HTTPS://user:p%40ss@Example.com:8443/a/b?x=1#frag");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.userinfo, "user:p%40ss");
  EXPECT_EQ(url.host, "Example.com");
  EXPECT_EQ(url.port, 8443);
  EXPECT_EQ(url.target, "/a/b?x=1");
  EXPECT_EQ(url.HostHeader(), "Example.com:8443");
  EXPECT_EQ(url.ToString(), "https://Example.com:8443/a/b?x=1");
}

TEST(ParseUrl, DefaultsPortAndTarget) {
  Url http = MustParse("http://example.com");
  EXPECT_EQ(http.port, 80);
  EXPECT_EQ(http.target, "/");
  EXPECT_EQ(http.HostHeader(), "example.com");
  Url https = MustParse("https://example.com?q=1");
  EXPECT_EQ(https.port, 443);
  EXPECT_EQ(https.target, "/?q=1");
  EXPECT_EQ(MustParse("https://example.com:/x").port, 443);
}

TEST(ParseUrl, BracketsIpv6) {
  Url url = MustParse("http://[::1]:8080/metrics");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.HostHeader(), "[::1]:8080");
}

TEST(ParseUrl, RejectsWhatItCannotUse) {
  EXPECT_EQ(ParseError("ftp://example.com/"), "unsupported scheme \"ftp\" (use http or https)");
  EXPECT_EQ(ParseError("example.com/x"), "expected scheme://host");
  EXPECT_EQ(ParseError("http:///x"), "missing host");
  EXPECT_EQ(ParseError("http://h:99999/"), "invalid port \"99999\"");
  EXPECT_EQ(ParseError("http://h:0/"), "invalid port \"0\"");
  EXPECT_EQ(ParseError("http://h:8o/"), "invalid port \"8o\"");
  EXPECT_EQ(ParseError("http://bad_host!/"), "invalid host \"bad_host!\"");
  EXPECT_EQ(ParseError("http://[::1/"), "unclosed '[' in host");
  EXPECT_EQ(ParseError("http://[zz::1]/"), "invalid IPv6 address \"zz::1\"");
  EXPECT_EQ(ParseError("http://h/a b"), "contains a space or control character");
}

TEST(JoinTarget, JoinsWithOneSlashAndKeepsTheQueryLast) {
  EXPECT_EQ(JoinTarget("/", ""), "/");
  EXPECT_EQ(JoinTarget("/", "/health"), "/health");
  EXPECT_EQ(JoinTarget("/functions/v1/", "/health"), "/functions/v1/health");
  EXPECT_EQ(JoinTarget("/functions/v1", "health"), "/functions/v1/health");
  EXPECT_EQ(JoinTarget("/api?k=1", "/health"), "/api/health?k=1");
  EXPECT_EQ(JoinTarget("/api?k=1", "/health?deep=true"), "/api/health?deep=true&k=1");
}

// ---- Fetch -------------------------------------------------------------------

class HttpClientTest : public ::testing::Test {
 protected:
  std::optional<HttpResult> Run(HttpRequestSpec spec, std::chrono::milliseconds deadline = 5s) {
    return test::RunWithDeadline(io_, Fetch(io_.get_executor(), std::move(spec)), deadline);
  }
  HttpRequestSpec Get(const std::string& url) {
    HttpRequestSpec spec;
    spec.url = MustParse(url);
    return spec;
  }
  std::shared_ptr<TlsClientConfig> Tls(const std::string& ca_file, bool insecure = false) {
    std::string error;
    auto config = TlsClientConfig::Make(ca_file, insecure, error);
    EXPECT_TRUE(config) << error;
    return config;
  }
  // Runs a request that can only end by its deadline (the server never
  // answers): the deadline's timer must fire on the loop while the request
  // still waits, and end it well within ten deadlines; a request that ignored
  // its deadline or blocked the loop would never return.
  void ExpectCancelledPromptly(HttpRequestSpec spec, std::chrono::milliseconds deadline = 300ms) {
    auto start = std::chrono::steady_clock::now();
    auto result = Run(std::move(spec), deadline);
    auto elapsed = test::Since(start);
    EXPECT_FALSE(result) << result->error;
    EXPECT_GE(elapsed, deadline - 10ms);
    EXPECT_LT(elapsed, test::WellWithin(deadline));
  }

  boost::asio::io_context io_;
};

TEST_F(HttpClientTest, GetsAResponseWithHeadersBodyAndPhases) {
  TestHttpServer server;
  server.Respond({201, {{"Content-Type", "application/json"}, {"X-Reply", "yes"}}, R"({"ok":true})"});
  auto spec = Get(server.Url("/status?verbose=1"));
  spec.headers = {{"X-Probe", "drwatch"}, {"Accept", "application/json"}};
  auto r = Run(std::move(spec));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->Header("x-reply"), "yes");
  EXPECT_TRUE(r->phases.resolve && r->phases.connect && r->phases.first_byte && r->phases.transfer);
  EXPECT_FALSE(r->phases.tls);
  EXPECT_FALSE(r->cert_not_after);
  EXPECT_LT(*r->phases.connect, 1.0);

  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/status?verbose=1");
  EXPECT_EQ(requests[0].Header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].Header("X-Probe"), "drwatch");
  EXPECT_EQ(requests[0].Header("Accept"), "application/json");  // replaces the default
  EXPECT_THAT(requests[0].Header("User-Agent"), StartsWith("drwatchd/"));
  EXPECT_EQ(requests[0].Header("Connection"), "close");
}

TEST_F(HttpClientTest, ResolvesNames) {
  TestHttpServer server;
  auto r = Run(Get("http://localhost:" + std::to_string(server.port()) + "/"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->phases.resolve);
}

TEST_F(HttpClientTest, PostsABodyAndTurnsUserinfoIntoBasicAuth) {
  TestHttpServer server;
  auto spec = Get("http://alice:s%3Acret@127.0.0.1:" + std::to_string(server.port()) + "/submit");
  spec.method = "POST";
  spec.body = "hello";
  auto r = Run(std::move(spec));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  auto req = server.Requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.body, "hello");
  EXPECT_EQ(req.Header("Content-Length"), "5");
  EXPECT_EQ(req.Header("Authorization"), "Basic YWxpY2U6czpjcmV0");  // alice:s:cret
}

TEST_F(HttpClientTest, HeadReadsNoBody) {
  TestHttpServer server;
  server.Respond({200, {}, std::string(5000, 'x')});
  auto spec = Get(server.Url("/"));
  spec.method = "HEAD";
  auto r = Run(std::move(spec));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
}

TEST_F(HttpClientTest, TruncatesAnOversizedBody) {
  TestHttpServer server;
  server.Respond({200, {}, std::string(3 * 1024 * 1024, 'x')});
  auto spec = Get(server.Url("/big"));
  spec.body_limit = 1000;
  auto r = Run(std::move(spec));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->body.size(), 1000u);

  spec = Get(server.Url("/big"));
  spec.body_limit = 3 * 1024 * 1024;
  r = Run(std::move(spec));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->body.size(), 3u * 1024 * 1024);
}

TEST_F(HttpClientTest, ReportsARefusedConnection) {
  auto r = Run(Get("http://127.0.0.1:" + std::to_string(test::pgproc::FreeLoopbackPort()) + "/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "connect: Connection refused");
  EXPECT_EQ(r->status, 0);
  EXPECT_TRUE(r->phases.resolve);
  EXPECT_FALSE(r->phases.connect);
}

TEST_F(HttpClientTest, VerifiesTheCertificateWithTheGivenCa) {
  TestPki pki;
  TestHttpServer server({.tls = &pki});
  auto spec = Get(server.Url("/secure"));
  spec.tls = Tls(pki.ca_file());
  auto r = Run(spec);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_TRUE(r->phases.tls);
  ASSERT_TRUE(r->cert_not_after);
  EXPECT_EQ(*r->cert_not_after, pki.leaf_not_after());

  // By name too: the leaf is for localhost and 127.0.0.1.
  spec.url = MustParse("https://localhost:" + std::to_string(server.port()) + "/");
  r = Run(spec);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
}

TEST_F(HttpClientTest, RefusesAnUnknownCa) {
  TestPki pki;
  TestHttpServer server({.tls = &pki});
  auto r = Run(Get(server.Url("/")));  // system CAs only
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "tls: certificate verify failed: unable to get local issuer certificate");
  EXPECT_EQ(r->status, 0);
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpClientTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  TestPki pki;
  TestHttpServer server({.tls = &pki});
  auto spec = Get(server.Url("/"));
  spec.tls = Tls("", true);
  auto r = Run(std::move(spec));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->cert_not_after);
}

TEST_F(HttpClientTest, RefusesACertificateForAnotherHost) {
  TestPki pki;
  TestHttpServer server({.tls = &pki});
  auto spec = Get(server.Url("/"));
  spec.tls = Tls(pki.ca_file());
  spec.server_name = "example.org";
  auto r = Run(spec);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "tls: certificate verify failed: hostname mismatch");

  TestPki other({"other.example"});
  TestHttpServer other_server({.tls = &other});
  spec = Get(other_server.Url("/"));
  spec.tls = Tls(other.ca_file());
  r = Run(spec);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "tls: certificate verify failed: IP address mismatch");
}

// A sink coroutine of its own, not a lambda: GCC 12 and coroutine lambdas.
boost::asio::awaitable<std::string> CollectInto(std::vector<std::string>& pieces, int& status,
                                                std::string_view data, const HttpResult& head) {
  status = head.status;
  pieces.emplace_back(data);
  co_return pieces.size() == 3 ? "sink: enough" : "";
}

TEST_F(HttpClientTest, ABodySinkGetsTheBodyInPiecesAndCanStopIt) {
  TestHttpServer server;
  std::string body(100 * 1024, 'x');
  server.Respond({200, {}, body});
  std::vector<std::string> pieces;
  int status = 0;
  auto spec = Get(server.Url("/big"));
  spec.body_limit = 10;  // not applied to a sink
  spec.body_sink = [&](const HttpResult& head, std::string_view data) {
    return CollectInto(pieces, status, data, head);
  };
  auto r = Run(spec);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "sink: enough");  // the third piece stopped it
  EXPECT_EQ(status, 200);
  EXPECT_EQ(pieces.size(), 3u);
  EXPECT_EQ(r->body, "");
  pieces.clear();
  server.Respond({200, {}, "small"});
  r = Run(spec);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(pieces, std::vector<std::string>{"small"});
}

TEST_F(HttpClientTest, TlsConfigReportsAMissingCaFile) {
  std::string error;
  EXPECT_EQ(TlsClientConfig::Make("/nonexistent/ca.pem", false, error), nullptr);
  EXPECT_EQ(error, "cannot read CA file /nonexistent/ca.pem: No such file or directory");
}

TEST_F(HttpClientTest, AServerThatNeverAnswersIsCancelledByTheDeadline) {
  TestHttpServer server({.stall = true});
  ExpectCancelledPromptly(Get(server.Url("/")));
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpClientTest, AStalledTlsHandshakeIsCancelledByTheDeadline) {
  TestHttpServer server({.stall = true});
  auto spec = Get("https://127.0.0.1:" + std::to_string(server.port()) + "/");
  spec.tls = Tls("", true);
  ExpectCancelledPromptly(std::move(spec));
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpClientTest, ABlackHoledAddressEndsByTheDeadline) {
  // 192.0.2.0/24 is TEST-NET-1: nothing answers. Where no route exists the
  // connect fails at once instead; either way the run ends well within ten
  // deadlines, where a connect left to the kernel takes minutes.
  auto start = std::chrono::steady_clock::now();
  auto r = Run(Get("http://192.0.2.1:81/"), 300ms);
  EXPECT_LT(test::Since(start), test::WellWithin(300ms));
  if (r) {
    EXPECT_THAT(r->error, StartsWith("connect: "));
  }
}

// Loop lag is the point here: the suite is labelled `timing` (CTest runs it
// alone) and compares with the same loop's idle baseline.
class HttpClientTiming : public HttpClientTest {};

TEST_F(HttpClientTiming, AStalledServerDoesNotLagTheLoop) {
  TestHttpServer server({.stall = true});
  auto lag = test::MeasureLoopLag(io_, [&] { EXPECT_FALSE(Run(Get(server.Url("/")), 1s)); });
  EXPECT_LT(lag.busy, lag.idle + test::kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

TEST_F(HttpClientTiming, AStalledTlsHandshakeDoesNotLagTheLoop) {
  TestHttpServer server({.stall = true});
  auto spec = Get("https://127.0.0.1:" + std::to_string(server.port()) + "/");
  spec.tls = Tls("", true);
  auto lag = test::MeasureLoopLag(io_, [&] { EXPECT_FALSE(Run(std::move(spec), 1s)); });
  EXPECT_LT(lag.busy, lag.idle + test::kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

}  // namespace
}  // namespace drwatch::net

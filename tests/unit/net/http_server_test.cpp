#include "net/http_server.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace drwatch::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::HttpConnection;
using test::HttpGet;
using test::HttpRequest;
using test::HttpResponse;

constexpr const char* kLoopback = "127.0.0.1";
constexpr const char* kExposition =
    "# HELP drwatch_up Always 1.\n# TYPE drwatch_up gauge\ndrwatch_up 1\n";

HttpServerOptions LoopbackOptions() {
  HttpServerOptions options;
  options.listen_address = "127.0.0.1:0";
  return options;
}

std::chrono::milliseconds ElapsedSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

// What the handlers answer; they run on the server's loop thread.
struct HandlerState {
  std::mutex mutex;
  std::string metrics = kExposition;
  std::string reload_error;
  std::atomic<bool> ready{true};
  std::atomic<bool> metrics_throws{false};
  std::atomic<int> metrics_calls{0};
  std::atomic<int> reload_calls{0};
  std::atomic<int> reload_delay_ms{0};  // a reload that keeps its connection busy

  HttpHandlers Handlers() {
    HttpHandlers handlers;
    handlers.metrics = [this] {
      ++metrics_calls;
      if (metrics_throws) throw std::runtime_error("boom");
      std::lock_guard lock(mutex);
      return metrics;
    };
    handlers.ready = [this] { return ready.load(); };
    handlers.reload = [this]() -> boost::asio::awaitable<std::string> {
      ++reload_calls;
      if (int delay = reload_delay_ms) {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(delay));
        co_await timer.async_wait(boost::asio::use_awaitable);
      }
      std::string error;
      {
        std::lock_guard lock(mutex);
        error = reload_error;
      }
      co_return error;
    };
    return handlers;
  }
};

// A client that writes raw bytes and watches for the server hanging up.
class RawClient {
 public:
  explicit RawClient(unsigned short port) : socket_(io_) {
    socket_.connect({asio::ip::make_address(kLoopback), port});
    connected_at_ = std::chrono::steady_clock::now();
  }

  void Write(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // Write, but false when the server has already hung up.
  bool TryWrite(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    return !ec;
  }

  // Time from connecting until the server closed the connection, or nullopt
  // if it is still open after `limit`. Anything the server sends is skipped.
  std::optional<std::chrono::milliseconds> WaitForClose(std::chrono::milliseconds limit) {
    std::optional<std::chrono::milliseconds> closed_after;
    std::array<char, 4096> buffer;
    std::function<void(boost::system::error_code, std::size_t)> on_read =
        [&](boost::system::error_code ec, std::size_t) {
          if (ec == asio::error::operation_aborted) return;
          if (ec) {
            closed_after = ElapsedSince(connected_at_);
            return;
          }
          socket_.async_read_some(asio::buffer(buffer), on_read);
        };
    socket_.async_read_some(asio::buffer(buffer), on_read);
    io_.restart();
    io_.run_for(limit);
    socket_.cancel();
    io_.restart();
    io_.run();
    return closed_after;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::chrono::steady_clock::time_point connected_at_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  ~HttpServerTest() override { StopAndWait(5s); }

  void StartServer(HttpServerOptions options = LoopbackOptions(), std::optional<HttpHandlers> handlers = {}) {
    server_ = std::make_unique<HttpServer>(io_.get_executor(), options, handlers ? *handlers : state_.Handlers());
    server_->Start();
    port_ = server_->LocalEndpoint().port();
    loop_ = std::thread([this] {
      io_.run();
      loop_done_.set_value();
    });
  }

  // Stops the server on its loop; true when io_context::run() then returned
  // within `limit` (it is forced to stop otherwise).
  bool StopAndWait(std::chrono::milliseconds limit) {
    if (!loop_.joinable()) return true;
    asio::post(io_, [this] { server_->Stop(); });
    bool returned = loop_done_.get_future().wait_for(limit) == std::future_status::ready;
    if (!returned) io_.stop();
    loop_.join();
    return returned;
  }

  HttpResponse Get(const std::string& target, const test::HttpHeaders& headers = {}) {
    return HttpGet(kLoopback, port_, target, headers);
  }

  // The server's counters, read on its loop.
  HttpServerStats Stats() {
    std::promise<HttpServerStats> stats;
    asio::post(io_, [&] { stats.set_value(server_->Stats()); });
    return stats.get_future().get();
  }

  // Waits until the server holds `open` connections.
  bool WaitForOpen(std::size_t open) {
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(5ms)) {
      if (Stats().open_connections == open) return true;
    }
    return false;
  }

  asio::io_context io_;
  HandlerState state_;
  std::unique_ptr<HttpServer> server_;
  unsigned short port_ = 0;
  std::thread loop_;
  std::promise<void> loop_done_;
};

// ---- routes -------------------------------------------------------------------

TEST_F(HttpServerTest, ServesMetrics) {
  StartServer();
  HttpResponse response = Get("/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.Header("Content-Encoding"), "");
  EXPECT_EQ(response.body, kExposition);
}

TEST_F(HttpServerTest, HeadMetricsSendsHeadersOnly) {
  StartServer();
  HttpResponse response = HttpRequest("HEAD", kLoopback, port_, "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Content-Length"), std::to_string(std::string(kExposition).size()));
  EXPECT_EQ(response.body, "");
}

TEST_F(HttpServerTest, IgnoresQueryStringWhenRouting) {
  StartServer();
  EXPECT_EQ(Get("/metrics?debug=1").body, kExposition);
}

TEST_F(HttpServerTest, ServesACustomTelemetryPath) {
  HttpServerOptions options = LoopbackOptions();
  options.telemetry_path = "/custom/metrics";
  StartServer(options);
  EXPECT_EQ(Get("/custom/metrics").status, 200);
  EXPECT_EQ(Get("/metrics").status, 404);
  EXPECT_NE(Get("/").body.find("href=\"/custom/metrics\""), std::string::npos);
}

TEST_F(HttpServerTest, HealthyAnswersOK) {
  StartServer();
  HttpResponse response = Get("/-/healthy");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "OK");
}

TEST_F(HttpServerTest, ReadyFollowsTheHandler) {
  StartServer();
  HttpResponse ready = Get("/-/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "Ready");
  state_.ready = false;
  EXPECT_EQ(Get("/-/ready").status, 503);
}

TEST_F(HttpServerTest, ReloadIsForbiddenWithoutLifecycle) {
  StartServer();
  HttpResponse response = HttpRequest("POST", kLoopback, port_, "/-/reload");
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.body, "Lifecycle API is not enabled.");
  EXPECT_EQ(state_.reload_calls, 0);
}

TEST_F(HttpServerTest, ReloadCallsTheHandlerWithLifecycle) {
  HttpServerOptions options = LoopbackOptions();
  options.enable_lifecycle = true;
  StartServer(options);
  EXPECT_EQ(HttpRequest("POST", kLoopback, port_, "/-/reload").status, 200);
  EXPECT_EQ(HttpRequest("PUT", kLoopback, port_, "/-/reload").status, 200);
  EXPECT_EQ(state_.reload_calls, 2);
}

TEST_F(HttpServerTest, FailedReloadAnswers500WithTheError) {
  HttpServerOptions options = LoopbackOptions();
  options.enable_lifecycle = true;
  StartServer(options);
  {
    std::lock_guard lock(state_.mutex);
    state_.reload_error = "catalogue.yml:3:5: checks[0].interval: bad duration";
  }
  HttpResponse response = HttpRequest("POST", kLoopback, port_, "/-/reload");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body, "catalogue.yml:3:5: checks[0].interval: bad duration");
}

TEST_F(HttpServerTest, WrongMethodAnswers405WithAllow) {
  StartServer();
  HttpResponse reload = Get("/-/reload");
  EXPECT_EQ(reload.status, 405);
  EXPECT_EQ(reload.Header("Allow"), "POST, PUT");
  for (const char* path : {"/metrics", "/-/healthy", "/-/ready", "/"}) {
    HttpResponse response = HttpRequest("POST", kLoopback, port_, path);
    EXPECT_EQ(response.status, 405) << path;
    EXPECT_EQ(response.Header("Allow"), "GET, HEAD") << path;
  }
}

TEST_F(HttpServerTest, IndexPageLinksTheEndpoints) {
  StartServer();
  HttpResponse response = Get("/");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Content-Type"), "text/html; charset=utf-8");
  for (const char* link : {"href=\"/metrics\"", "href=\"/-/healthy\"", "href=\"/-/ready\""}) {
    EXPECT_NE(response.body.find(link), std::string::npos) << link;
  }
}

TEST_F(HttpServerTest, UnknownPathAnswers404) {
  StartServer();
  EXPECT_EQ(Get("/nope").status, 404);
  EXPECT_EQ(Get("/metrics/extra").status, 404);
}

TEST_F(HttpServerTest, ThrowingHandlerAnswers500AndServingGoesOn) {
  StartServer();
  state_.metrics_throws = true;
  EXPECT_EQ(Get("/metrics").status, 500);
  state_.metrics_throws = false;
  EXPECT_EQ(Get("/metrics").status, 200);
}

// ---- gzip ---------------------------------------------------------------------

TEST_F(HttpServerTest, GzipRoundTrip) {
  std::string large;
  for (int i = 0; i < 2000; ++i) {
    large += "drwatch_check_success{check=\"c" + std::to_string(i) + "\"} 1\n";
  }
  state_.metrics = large;
  StartServer();
  HttpResponse response = Get("/metrics", {{"Accept-Encoding", "gzip, deflate"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(response.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_LT(response.body.size(), large.size() / 4);
  EXPECT_EQ(test::Gunzip(response.body), large);
}

TEST_F(HttpServerTest, AKeptHeadAndAFreshTailMakeTheBody) {
  auto head = std::make_shared<const SharedText>("# TYPE a gauge\na 1\n");
  int calls = 0;
  HttpHandlers handlers = state_.Handlers();
  handlers.metrics = [&] { return MetricsBody(head, "# TYPE b gauge\nb " + std::to_string(++calls) + "\n"); };
  StartServer(LoopbackOptions(), handlers);
  EXPECT_EQ(Get("/metrics").body, "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n");
  HttpResponse zipped = Get("/metrics", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(zipped.Header("Content-Encoding"), "gzip");
  EXPECT_EQ(test::Gunzip(zipped.body), "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n");
}

TEST_F(HttpServerTest, GzipFollowsAcceptEncoding) {
  StartServer();
  auto encoding = [&](const std::string& accept) {
    return Get("/metrics", {{"Accept-Encoding", accept}}).Header("Content-Encoding");
  };
  EXPECT_EQ(encoding("GZIP"), "gzip");
  EXPECT_EQ(encoding("deflate, gzip;q=0.5"), "gzip");
  EXPECT_EQ(encoding("*"), "gzip");
  EXPECT_EQ(encoding("gzip;q=0"), "");
  EXPECT_EQ(encoding("identity"), "");
  EXPECT_EQ(encoding("gzipper"), "");
  EXPECT_EQ(Get("/-/healthy", {{"Accept-Encoding", "gzip"}}).body, "OK");
}

// ---- connections ----------------------------------------------------------------

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer();
  HttpConnection connection(kLoopback, port_);
  HttpResponse first = connection.Send("GET", "/metrics");
  EXPECT_EQ(first.status, 200);
  EXPECT_FALSE(first.close);
  HttpResponse second = connection.Send("GET", "/-/healthy");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "OK");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  StartServer();
  HttpConnection connection(kLoopback, port_);
  EXPECT_TRUE(connection.Send("GET", "/-/healthy", {{"Connection", "close"}}).close);
  EXPECT_THROW(connection.Send("GET", "/-/healthy"), std::runtime_error);
}

// The stalled clients are dropped only after a minute: a request answered
// while both are still connected was not held up by them.
TEST_F(HttpServerTest, StalledClientsDoNotHoldUpOthers) {
  HttpServerOptions options = LoopbackOptions();
  options.io_timeout = 60s;
  StartServer(options);
  RawClient stalled(port_);
  RawClient half(port_);
  half.Write("GET /metrics HTTP/1.1\r\nHost: x\r\n");

  EXPECT_EQ(Get("/metrics").status, 200);
  for (RawClient* client : {&stalled, &half}) {
    EXPECT_FALSE(client->WaitForClose(10ms).has_value()) << "a stalled client was dropped before another was served";
  }
}

// Without the deadline these connections would stay open for good.
TEST_F(HttpServerTest, StalledClientsAreDroppedAtTheDeadline) {
  HttpServerOptions options = LoopbackOptions();
  options.io_timeout = 200ms;
  StartServer(options);
  RawClient stalled(port_);
  RawClient half(port_);
  half.Write("GET /metrics HTTP/1.1\r\nHost: x\r\n");

  for (RawClient* client : {&stalled, &half}) {
    auto closed_after = client->WaitForClose(30s);
    ASSERT_TRUE(closed_after.has_value()) << "not disconnected";
    EXPECT_GE(*closed_after, 190ms);
    EXPECT_LT(*closed_after, test::WellWithin(200ms));
  }
  EXPECT_EQ(Get("/metrics").status, 200);
}

// The read deadline covers the whole request: trickling bytes does not extend
// it. A header line every 50 ms for 3 s (15 deadlines) would keep a deadline
// re-armed by each read from ever firing.
TEST_F(HttpServerTest, DripFedRequestIsCutAtTheDeadline) {
  HttpServerOptions options = LoopbackOptions();
  options.io_timeout = 200ms;
  StartServer(options);
  RawClient drip(port_);
  drip.Write("GET /metrics HTTP/1.1\r\n");
  std::optional<std::chrono::milliseconds> closed_after;
  bool hung_up = false;
  for (int i = 0; i < 60 && !closed_after && !hung_up; ++i) {
    hung_up = !drip.TryWrite("X-Drip-" + std::to_string(i) + ": y\r\n");
    if (!hung_up) closed_after = drip.WaitForClose(50ms);
  }
  EXPECT_TRUE(closed_after || hung_up) << "the server kept reading a drip-fed request for 3 s";
  if (closed_after) {
    EXPECT_GE(*closed_after, 190ms);
  }
}

TEST_F(HttpServerTest, OversizedHeaderIsRejectedWith413) {
  StartServer();
  HttpResponse response = Get("/metrics", {{"X-Padding", std::string(16 * 1024, 'x')}});
  EXPECT_EQ(response.status, 413);
  EXPECT_TRUE(response.close);
  EXPECT_EQ(state_.metrics_calls, 0);
}

TEST_F(HttpServerTest, OversizedBodyIsRejectedWith413) {
  HttpServerOptions options = LoopbackOptions();
  options.enable_lifecycle = true;
  StartServer(options);
  HttpResponse response =
      HttpRequest("POST", kLoopback, port_, "/-/reload", {}, std::string(100 * 1024, 'x'));
  EXPECT_EQ(response.status, 413);
  EXPECT_TRUE(response.close);
  EXPECT_EQ(state_.reload_calls, 0);
  EXPECT_EQ(Get("/-/healthy").status, 200);
}

// ---- lifecycle ------------------------------------------------------------------

TEST_F(HttpServerTest, StopClosesConnectionsAndRunReturns) {
  HttpServerOptions options = LoopbackOptions();
  options.io_timeout = 5min;  // only Stop() can end these connections within the wait below
  StartServer(options);
  HttpConnection idle(kLoopback, port_);
  EXPECT_EQ(idle.Send("GET", "/-/healthy").status, 200);
  RawClient stalled(port_);
  EXPECT_TRUE(StopAndWait(30s));
  EXPECT_THROW(idle.Send("GET", "/-/healthy"), std::runtime_error);
  EXPECT_THROW(HttpConnection connection(kLoopback, port_), std::runtime_error);
}

TEST(HttpServerLifecycleTest, StopBeforeRunLetsRunReturn) {
  asio::io_context io;
  HttpServer server(io.get_executor(), LoopbackOptions(), {});
  server.Start();
  server.Stop();
  io.run();  // would block forever if anything were left pending
}

TEST(HttpServerLifecycleTest, StartReportsABusyPort) {
  asio::io_context io;
  HttpServer first(io.get_executor(), LoopbackOptions(), {});
  first.Start();
  std::string address = "127.0.0.1:" + std::to_string(first.LocalEndpoint().port());
  HttpServerOptions options;
  options.listen_address = address;
  HttpServer second(io.get_executor(), options, {});
  try {
    second.Start();
    FAIL() << "bound a port already in use";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "listen on " + address + ": Address already in use");
  }
}

TEST(HttpServerLifecycleTest, StartReportsABadAddress) {
  asio::io_context io;
  HttpServerOptions options;
  options.listen_address = "nohost";
  HttpServer server(io.get_executor(), options, {});
  try {
    server.Start();
    FAIL() << "started with a bad address";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "listen on nohost: invalid listen address \"nohost\": expected HOST:PORT");
  }
}

TEST_F(HttpServerTest, WildcardAddressAcceptsIPv4) {
  HttpServerOptions options;
  options.listen_address = ":0";
  StartServer(options);
  EXPECT_EQ(Get("/-/healthy").status, 200);
}

TEST_F(HttpServerTest, ListensOnIPv6Loopback) {
  HttpServerOptions options;
  options.listen_address = "[::1]:0";
  try {
    StartServer(options);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  EXPECT_EQ(HttpGet("::1", port_, "/-/healthy").status, 200);
}

// ---- ParseListenAddress ------------------------------------------------------------

TEST(ParseListenAddressTest, AcceptsTheDocumentedForms) {
  using asio::ip::make_address;
  EXPECT_EQ(ParseListenAddress(":10432"),
            asio::ip::tcp::endpoint(asio::ip::address_v6::any(), 10432));
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0"),
            asio::ip::tcp::endpoint(make_address("127.0.0.1"), 0));
  EXPECT_EQ(ParseListenAddress("0.0.0.0:80"), asio::ip::tcp::endpoint(make_address("0.0.0.0"), 80));
  EXPECT_EQ(ParseListenAddress("[::1]:9000"), asio::ip::tcp::endpoint(make_address("::1"), 9000));
  EXPECT_EQ(ParseListenAddress("[::]:65535"), asio::ip::tcp::endpoint(make_address("::"), 65535));
  EXPECT_EQ(ParseListenAddress("localhost:10432"),
            asio::ip::tcp::endpoint(make_address("127.0.0.1"), 10432));
}

std::string ParseError(const std::string& address) {
  try {
    ParseListenAddress(address);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ParseListenAddressTest, RejectsBadAddressesWithAClearMessage) {
  const std::string kBrackets = "expected HOST:PORT (write an IPv6 host in brackets: [::1]:9000)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"x", "invalid listen address \"x\": expected HOST:PORT"},
      {"", "invalid listen address \"\": expected HOST:PORT"},
      {"10432", "invalid listen address \"10432\": expected HOST:PORT"},
      {"127.0.0.1:", "invalid listen address \"127.0.0.1:\": port \"\" is not a number in 0-65535"},
      {":65536", "invalid listen address \":65536\": port \"65536\" is not a number in 0-65535"},
      {":http", "invalid listen address \":http\": port \"http\" is not a number in 0-65535"},
      {":-1", "invalid listen address \":-1\": port \"-1\" is not a number in 0-65535"},
      {"::1:9000", "invalid listen address \"::1:9000\": " + kBrackets},
      {"[::1]", "invalid listen address \"[::1]\": " + kBrackets},
      {"[::1:9000", "invalid listen address \"[::1:9000\": " + kBrackets},
      {"[nope]:80", "invalid listen address \"[nope]:80\": \"[nope]\" is not an IPv6 address"},
      {"example.com:80",
       "invalid listen address \"example.com:80\": host \"example.com\" is not an IPv4 "
       "address, a bracketed IPv6 address or localhost"},
      {"999.1.1.1:80",
       "invalid listen address \"999.1.1.1:80\": host \"999.1.1.1\" is not an IPv4 address, "
       "a bracketed IPv6 address or localhost"},
  };
  for (const auto& [address, message] : cases) EXPECT_EQ(ParseError(address), message);
}

// ---- the connection limit ----------------------------------------------------

TEST_F(HttpServerTest, AtTheLimitTheConnectionIdleLongestMakesRoom) {
  HttpServerOptions options = LoopbackOptions();
  options.max_connections = 3;
  StartServer(options);
  RawClient first(port_);
  ASSERT_TRUE(WaitForOpen(1));
  RawClient second(port_);
  ASSERT_TRUE(WaitForOpen(2));
  RawClient third(port_);
  ASSERT_TRUE(WaitForOpen(3));
  RawClient fourth(port_);
  EXPECT_TRUE(first.WaitForClose(5s)) << "the oldest idle connection stays open";
  EXPECT_FALSE(second.WaitForClose(100ms));
  // A scrape is one more newcomer: it is served, the next oldest gives way.
  EXPECT_EQ(Get("/metrics").status, 200);
  EXPECT_TRUE(second.WaitForClose(5s));
  EXPECT_FALSE(third.WaitForClose(100ms));
  EXPECT_LE(Stats().open_connections, 3u);
  EXPECT_EQ(Stats().closed_at_limit_total, 2u);
}

TEST_F(HttpServerTest, AConnectionBeingAnsweredIsNeverClosedForANewcomer) {
  HttpServerOptions options = LoopbackOptions();
  options.max_connections = 1;
  options.enable_lifecycle = true;
  StartServer(options);
  state_.reload_delay_ms = 1000;
  std::future<HttpResponse> busy =
      std::async(std::launch::async, [&] { return HttpRequest("POST", kLoopback, port_, "/-/reload"); });
  for (auto until = std::chrono::steady_clock::now() + 10s;
       state_.reload_calls == 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(state_.reload_calls, 1);
  RawClient newcomer(port_);
  EXPECT_TRUE(newcomer.WaitForClose(5s)) << "the newcomer was not closed";
  EXPECT_EQ(busy.get().status, 200);
  EXPECT_EQ(Stats().closed_at_limit_total, 1u);
  EXPECT_EQ(Get("/metrics").status, 200);  // room again once the answer is written
}

}  // namespace
}  // namespace drwatch::net

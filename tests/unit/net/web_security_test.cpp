// The web configuration served: basic auth (bcrypt through libcrypt, off the
// loop), TLS only when configured, client certificates, extra headers.
// Real loopback servers and clients throughout.

#include "net/web_security.hpp"

#include <crypt.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <array>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "config/web_config.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/test_pki.hpp"

namespace drwatch::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::TestPki;

// Cost 5: fast enough for tests, the same code path as cost 10.
std::string HashOf(const std::string& password) {
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), "$2b$05$abcdefghijklmnopqrstuu", &data);
  return out ? out : "";
}

std::string BasicHeader(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":" + password, out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

std::shared_ptr<const WebSecurity> Make(const WebConfig& config) {
  std::string error;
  auto security = WebSecurity::Make(config, error);
  EXPECT_TRUE(security) << error;
  return security;
}

TEST(ParseBasicAuth, SplitsUserAndPassword) {
  std::string user, password;
  ASSERT_TRUE(ParseBasicAuth(BasicHeader("alice", "pa:ss"), user, password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "pa:ss");
  ASSERT_TRUE(ParseBasicAuth("basic " + BasicHeader("bob", "x").substr(6), user, password));
  EXPECT_EQ(user, "bob");
  EXPECT_FALSE(ParseBasicAuth("Bearer abc", user, password));
  EXPECT_FALSE(ParseBasicAuth("Basic !!!!", user, password));
  EXPECT_FALSE(ParseBasicAuth("Basic " + std::string("bm9jb2xvbg=="), user, password));  // "nocolon"
}

TEST(WebSecurity, ChecksBcryptPasswords) {
  WebConfig config;
  config.basic_auth_users["alice"] = HashOf("secret");
  auto security = Make(config);
  ASSERT_TRUE(security);
  EXPECT_TRUE(security->requires_auth());
  EXPECT_TRUE(security->CheckPassword("alice", "secret"));
  EXPECT_FALSE(security->CheckPassword("alice", "Secret"));
  EXPECT_FALSE(security->CheckPassword("alice", ""));
  EXPECT_FALSE(security->CheckPassword("mallory", "secret"));
}

TEST(WebSecurity, RemembersOnlyCredentialsThatMatched) {
  WebConfig config;
  config.basic_auth_users["alice"] = HashOf("secret");
  auto security = Make(config);
  ASSERT_TRUE(security);
  EXPECT_FALSE(security->IsKnownGood("alice", "secret"));
  EXPECT_FALSE(security->CheckPassword("alice", "wrong"));
  EXPECT_FALSE(security->IsKnownGood("alice", "wrong"));
  EXPECT_TRUE(security->CheckPassword("alice", "secret"));
  EXPECT_TRUE(security->IsKnownGood("alice", "secret"));
  EXPECT_FALSE(security->IsKnownGood("alice", "secre"));
  EXPECT_FALSE(Make(config)->IsKnownGood("alice", "secret")) << "a new configuration starts empty";
}

// Timing: run alone (see tests/CMakeLists.txt).
TEST(WebSecurityTiming, AnUnknownUserCostsWhatAWrongPasswordCosts) {
  WebConfig config;
  // Cost 8 so the time is well above the noise, yet quick.
  crypt_data data{};
  config.basic_auth_users["alice"] = crypt_r("secret", "$2b$08$abcdefghijklmnopqrstuu", &data);
  auto security = Make(config);
  ASSERT_TRUE(security);
  auto time = [&](const char* user) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(security->CheckPassword(user, "wrong"));
    return std::chrono::steady_clock::now() - start;
  };
  auto wrong_password = time("alice");
  auto wrong_user = time("mallory");
  EXPECT_GT(wrong_user, wrong_password / 3);
  EXPECT_LT(wrong_user, wrong_password * 3);
}

using SecuritySource = std::function<std::shared_ptr<const WebSecurity>()>;

// A server on its own loop thread, serving under `security`, or under what
// the source that `make_source` builds (on the server's loop and pool) answers.
class SecureServer {
 public:
  explicit SecureServer(std::shared_ptr<const WebSecurity> security)
      : SecureServer([](asio::any_io_executor, BlockingPool&) -> SecuritySource { return nullptr; }) {
    Swap(std::move(security));
  }
  explicit SecureServer(const std::function<SecuritySource(asio::any_io_executor, BlockingPool&)>& make_source) {
    source_ = make_source(io_.get_executor(), pool_);
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.io_timeout = 2000ms;
    options.blocking_pool = &pool_;
    HttpHandlers handlers;
    handlers.metrics = [] { return std::string("drwatch_up 1\n"); };
    handlers.ready = [] { return true; };
    handlers.security = [this] {
      if (source_) return source_();
      std::lock_guard lock(mutex_);
      return security_;
    };
    server_ = std::make_unique<HttpServer>(io_.get_executor(), options, handlers);
    server_->Start();
    port_ = server_->LocalEndpoint().port();
    loop_ = std::thread([this] { io_.run(); });
  }
  ~SecureServer() {
    asio::post(io_, [this] { server_->Stop(); });
    loop_.join();
    pool_.Join();
  }
  unsigned short port() const { return port_; }
  void Swap(std::shared_ptr<const WebSecurity> security) {
    std::lock_guard lock(mutex_);
    security_ = std::move(security);
  }

 private:
  BlockingPool pool_{2};
  asio::io_context io_;
  std::mutex mutex_;
  std::shared_ptr<const WebSecurity> security_;
  SecuritySource source_;
  std::unique_ptr<HttpServer> server_;
  unsigned short port_ = 0;
  std::thread loop_;
};

// An https GET with the test CA trusted, and optionally a client certificate.
HttpResult HttpsGet(unsigned short port, const TestPki& pki, const std::string& target,
                    bool client_cert = false, HeaderList headers = {}) {
  std::string error;
  auto tls = TlsClientConfig::Make(pki.ca_file(), false, error);
  EXPECT_TRUE(tls) << error;
  if (client_cert) {
    tls->context().use_certificate_chain_file(pki.client_cert_file());
    tls->context().use_private_key_file(pki.client_key_file(), asio::ssl::context::pem);
  }
  HttpRequestSpec spec;
  spec.url = *ParseUrl("https://127.0.0.1:" + std::to_string(port) + target, error);
  spec.tls = tls;
  spec.headers = std::move(headers);
  asio::io_context io;
  auto result = test::RunWithDeadline(io, Fetch(io.get_executor(), std::move(spec)), 10s);
  return result.value_or(HttpResult{"deadline"});
}

WebConfig TlsConfig(const TestPki& pki, ClientAuth auth = ClientAuth::kNoClientCert) {
  WebConfig config;
  config.tls = TlsServerConfig{};
  config.tls->cert_file = pki.cert_file();
  config.tls->key_file = pki.key_file();
  config.tls->client_auth = auth;
  if (auth != ClientAuth::kNoClientCert) config.tls->client_ca_file = pki.ca_file();
  return config;
}

TEST(WebSecurityServer, BasicAuthGuardsEverythingButHealthAndReadiness) {
  WebConfig config;
  config.basic_auth_users["alice"] = HashOf("secret");
  config.headers = {{"X-Frame-Options", "deny"}};
  SecureServer server(Make(config));
  auto get = [&](const std::string& target, test::HttpHeaders headers = {}) {
    return test::HttpGet("127.0.0.1", server.port(), target, headers);
  };
  test::HttpResponse missing = get("/metrics");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Header("WWW-Authenticate"), "Basic realm=\"drwatch\"");
  EXPECT_EQ(missing.Header("X-Frame-Options"), "deny");
  EXPECT_EQ(get("/metrics", {{"Authorization", BasicHeader("alice", "wrong")}}).status, 401);
  EXPECT_EQ(get("/metrics", {{"Authorization", BasicHeader("mallory", "secret")}}).status, 401);
  EXPECT_EQ(get("/metrics", {{"Authorization", "Bearer secret"}}).status, 401);
  EXPECT_EQ(get("/", {}).status, 401);
  EXPECT_EQ(get("/nowhere", {}).status, 401);
  test::HttpResponse right = get("/metrics", {{"Authorization", BasicHeader("alice", "secret")}});
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(right.body, "drwatch_up 1\n");
  EXPECT_EQ(get("/", {{"Authorization", BasicHeader("alice", "secret")}}).status, 200);
  EXPECT_EQ(get("/-/healthy").status, 200);
  EXPECT_EQ(get("/-/ready").status, 200);
}

TEST(WebSecurityServerTiming, AFloodOfGuessesIsToldToRetryInsteadOfQueueingOnThePool) {
  WebConfig config;
  crypt_data data{};
  config.basic_auth_users["alice"] = crypt_r("secret", "$2b$11$abcdefghijklmnopqrstuu", &data);  // slow
  SecureServer server(Make(config));
  std::vector<std::future<int>> guesses;
  for (int i = 0; i < 6; ++i) {
    guesses.push_back(std::async(std::launch::async, [&] {
      return test::HttpGet("127.0.0.1", server.port(), "/metrics",
                           {{"Authorization", BasicHeader("alice", "guess")}}, 20s).status;
    }));
  }
  int unauthorized = 0, busy = 0;
  for (auto& g : guesses) {
    int status = g.get();
    unauthorized += status == 401;
    busy += status == 503;
  }
  EXPECT_EQ(unauthorized + busy, 6);
  EXPECT_GE(busy, 1);
}

TEST(WebSecurityServerTiming, ARightPasswordIsCheckedWithBcryptOnceThenRemembered) {
  WebConfig config;
  crypt_data data{};
  config.basic_auth_users["alice"] = crypt_r("secret", "$2b$11$abcdefghijklmnopqrstuu", &data);  // slow
  SecureServer server(Make(config));
  auto scrape = [&] {
    auto start = std::chrono::steady_clock::now();
    int status = test::HttpGet("127.0.0.1", server.port(), "/metrics",
                               {{"Authorization", BasicHeader("alice", "secret")}}, 20s).status;
    EXPECT_EQ(status, 200);
    return std::chrono::steady_clock::now() - start;
  };
  auto first = scrape();
  auto second = scrape();
  EXPECT_LT(second, first / 2);
}

TEST(WebSecurityServer, TlsOnlyScrapeWorksAndPlainHttpIsRefused) {
  TestPki pki;
  SecureServer server(Make(TlsConfig(pki)));
  HttpResult https = HttpsGet(server.port(), pki, "/metrics");
  EXPECT_TRUE(https.ok()) << https.error;
  EXPECT_EQ(https.status, 200);
  EXPECT_EQ(https.body, "drwatch_up 1\n");
  EXPECT_ANY_THROW(test::HttpGet("127.0.0.1", server.port(), "/metrics", {}, 3000ms));
}

TEST(WebSecurityServer, AClientThatNeverStartsTheHandshakeIsDroppedAfterTheIoTimeout) {
  TestPki pki;
  SecureServer server(Make(TlsConfig(pki)));  // io_timeout 2 s
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  auto start = std::chrono::steady_clock::now();
  std::array<char, 16> buffer;
  boost::system::error_code ec;
  socket.read_some(asio::buffer(buffer), ec);  // blocks until the server hangs up
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec);
  EXPECT_GE(waited, 1500ms);
  EXPECT_LT(waited, 20s);
}

TEST(WebSecurityServer, TlsAndBasicAuthTogether) {
  TestPki pki;
  WebConfig config = TlsConfig(pki);
  config.basic_auth_users["alice"] = HashOf("secret");
  SecureServer server(Make(config));
  EXPECT_EQ(HttpsGet(server.port(), pki, "/metrics").status, 401);
  EXPECT_EQ(HttpsGet(server.port(), pki, "/metrics", false, {{"Authorization", BasicHeader("alice", "secret")}})
                .status,
            200);
}

TEST(WebSecurityServer, RequireAndVerifyClientCertRejectsAClientWithoutOne) {
  TestPki pki;
  SecureServer server(Make(TlsConfig(pki, ClientAuth::kRequireAndVerifyClientCert)));
  HttpResult without = HttpsGet(server.port(), pki, "/metrics");
  EXPECT_FALSE(without.ok());
  EXPECT_EQ(without.status, 0);
  HttpResult with = HttpsGet(server.port(), pki, "/metrics", true);
  EXPECT_TRUE(with.ok()) << with.error;
  EXPECT_EQ(with.status, 200);
}

TEST(WebSecurityServer, ANewConfigAppliesToTheNextConnection) {
  TestPki first, second;
  SecureServer server(Make(TlsConfig(first)));
  HttpResult before = HttpsGet(server.port(), first, "/metrics");
  ASSERT_TRUE(before.ok()) << before.error;
  server.Swap(Make(TlsConfig(second)));
  HttpResult after = HttpsGet(server.port(), second, "/metrics");
  EXPECT_TRUE(after.ok()) << after.error;
  EXPECT_FALSE(HttpsGet(server.port(), first, "/metrics").ok());  // the old CA no longer matches
}

// config::WebConfigWatcher behind a real server: certificates rotate
// without a restart, and a broken file keeps the previous configuration.
class WebConfigWatcherTest : public ::testing::Test {
 protected:
  WebConfigWatcherTest() {
    std::string pattern = (std::filesystem::temp_directory_path() / "drwatch-web-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    Install(first_);
    Write(dir_ + "/web.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n");
  }
  ~WebConfigWatcherTest() override { std::filesystem::remove_all(dir_); }

  static void Write(const std::string& path, const std::string& text) {
    std::ofstream(path + ".tmp") << text;
    // Owner only, as a private key must be (the others do not mind).
    std::filesystem::permissions(path + ".tmp",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::rename(path + ".tmp", path);  // as deployment tools do
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void Install(const TestPki& pki) {
    Write(dir_ + "/server.key", Read(pki.key_file()));
    Write(dir_ + "/server.pem", Read(pki.cert_file()));
  }
  // Connects until a handshake trusting `pki` succeeds; false after 10 s.
  bool EventuallyServes(unsigned short port, const TestPki& pki) {
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
      if (HttpsGet(port, pki, "/metrics").ok()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  std::function<SecuritySource(asio::any_io_executor, BlockingPool&)> Watch() {
    return [this](asio::any_io_executor ex, BlockingPool& pool) -> SecuritySource {
      std::vector<std::string> errors;
      auto watcher = std::shared_ptr<config::WebConfigWatcher>(
          config::WebConfigWatcher::Create(ex, pool, dir_ + "/web.yml", errors));
      EXPECT_TRUE(watcher) << (errors.empty() ? "" : errors.front());
      return [watcher] { return watcher->Current(); };
    };
  }

  std::string dir_;
  TestPki first_, second_;
};

TEST_F(WebConfigWatcherTest, CertificatesRotateWithoutARestart) {
  SecureServer server(Watch());
  ASSERT_TRUE(HttpsGet(server.port(), first_, "/metrics").ok());
  Install(second_);  // the web config itself is unchanged
  EXPECT_TRUE(EventuallyServes(server.port(), second_));
  EXPECT_FALSE(HttpsGet(server.port(), first_, "/metrics").ok());
}

TEST_F(WebConfigWatcherTest, AnInvalidFileKeepsThePreviousConfig) {
  SecureServer server(Watch());
  ASSERT_TRUE(HttpsGet(server.port(), first_, "/metrics").ok());
  Write(dir_ + "/web.yml", "tls_server_config:\n  cert_file: server.pem\n  bogus: 1\n");
  std::this_thread::sleep_for(1200ms);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(HttpsGet(server.port(), first_, "/metrics").ok());
    std::this_thread::sleep_for(300ms);
  }
  // Fixed, the file applies again: now with basic auth.
  Write(dir_ + "/web.yml", "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
                           "basic_auth_users:\n  alice: " + HashOf("secret") + "\n");
  bool guarded = false;
  for (auto until = std::chrono::steady_clock::now() + 10s; !guarded && std::chrono::steady_clock::now() < until;) {
    guarded = HttpsGet(server.port(), first_, "/metrics").status == 401;
    if (!guarded) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(guarded);
}

}  // namespace
}  // namespace drwatch::net

#include "support/test_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>

#include "support/test_pki.hpp"

namespace drwatch::test {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}
}  // namespace

std::string RecordedRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (IEquals(n, name)) return v;
  }
  return "";
}

struct TestHttpServer::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(Options o) : options(o), acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    if (options.tls) {
      tls.emplace(ssl::context::tls_server);
      tls->use_certificate_chain_file(options.tls->cert_file());
      tls->use_private_key_file(options.tls->key_file(), ssl::context::pem);
    }
  }

  template <typename Stream>
  asio::awaitable<void> Serve(Stream& stream) {
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kNoThrow);
    if (ec) co_return;
    RecordedRequest recorded{std::string(req.method_string()), std::string(req.target()), {}, req.body()};
    for (const auto& f : req) recorded.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    ScriptedResponse scripted;
    {
      std::lock_guard lock(mu);
      recorded_.push_back(recorded);
      scripted = handler ? handler(recorded) : fixed;
    }
    ++requests;
    http::response<http::string_body> res{static_cast<http::status>(scripted.status), 11};
    for (const auto& [name, value] : scripted.headers) res.set(name, value);
    res.body() = scripted.body;
    res.prepare_payload();
    if (req.method() == http::verb::head) res.content_length(scripted.body.size());
    res.keep_alive(false);
    if (req.method() == http::verb::head) {
      http::response_serializer<http::string_body> sr(res);
      co_await http::async_write_header(stream, sr, kNoThrow);
    } else {
      co_await http::async_write(stream, res, kNoThrow);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    if (!tls) {
      co_await Serve(socket);
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
    ssl::stream<tcp::socket> stream(std::move(socket), *tls);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
    if (ec) co_return;
    co_await Serve(stream);
    co_await stream.async_shutdown(kNoThrow);
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec) co_return;
      ++connections;
      if (options.stall) {
        stalled.push_back(std::move(socket));  // kept open, never read
        continue;
      }
      asio::co_spawn(io, Session(std::move(socket)), asio::detached);
    }
  }

  Options options;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;
  std::vector<tcp::socket> stalled;
  std::mutex mu;
  Handler handler;
  ScriptedResponse fixed{200, {{"Content-Type", "text/plain"}}, "ok"};
  std::vector<RecordedRequest> recorded_;
  std::atomic<int> requests{0};
  std::atomic<int> connections{0};
  std::thread thread;
};

TestHttpServer::TestHttpServer() : TestHttpServer(Options{}) {}

TestHttpServer::TestHttpServer(Options options) : impl_(std::make_shared<Impl>(options)) {
  asio::co_spawn(impl_->io, impl_->Accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

TestHttpServer::~TestHttpServer() {
  impl_->io.stop();
  impl_->thread.join();
}

unsigned short TestHttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string TestHttpServer::Url(const std::string& path) const {
  return std::string(impl_->options.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) + path;
}

void TestHttpServer::SetHandler(Handler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->handler = std::move(handler);
}

void TestHttpServer::Respond(ScriptedResponse response) {
  SetHandler([response](const RecordedRequest&) { return response; });
}

int TestHttpServer::requests() const { return impl_->requests.load(); }
int TestHttpServer::connections() const { return impl_->connections.load(); }

std::vector<RecordedRequest> TestHttpServer::Requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->recorded_;
}

}  // namespace drwatch::test

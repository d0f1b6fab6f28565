// HttpServer: the listening socket, connections within their limits and
// deadlines, TLS; routing and handlers are in http_routes.cpp, basic auth in
// http_auth.cpp.
#include "net/http_server.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <stdexcept>
#include <string_view>

#include "net/http_server_internal.hpp"

namespace drwatch::net {

namespace ssl = asio::ssl;
using namespace server_detail;

namespace {

constexpr std::size_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kBodyLimit = 64 * 1024;
constexpr std::size_t kDrainLimit = 1024 * 1024;
constexpr std::chrono::milliseconds kDrainTimeout{1000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// ---- listen address ------------------------------------------------------

[[noreturn]] void BadAddress(const std::string& address, const std::string& what) {
  throw std::invalid_argument("invalid listen address \"" + address + "\": " + what);
}

unsigned short ParsePort(const std::string& address, std::string_view port) {
  unsigned value = 0;
  const char* end = port.data() + port.size();
  auto [ptr, ec] = std::from_chars(port.data(), end, value);
  if (port.empty() || ec != std::errc{} || ptr != end || value > 65535) {
    BadAddress(address, "port \"" + std::string(port) + "\" is not a number in 0-65535");
  }
  return static_cast<unsigned short>(value);
}

// Host names other than "localhost" are rejected rather than resolved:
// resolving can block, and a name with several addresses has no single
// answer for where to listen.
asio::ip::address ParseHost(const std::string& address, std::string_view host) {
  if (host.empty()) return asio::ip::address_v6::any();
  if (host == "localhost") return asio::ip::address_v4::loopback();
  boost::system::error_code ec;
  if (host.front() == '[') {
    auto v6 = asio::ip::make_address_v6(host.substr(1, host.size() - 2), ec);
    if (ec) BadAddress(address, "\"" + std::string(host) + "\" is not an IPv6 address");
    return v6;
  }
  auto v4 = asio::ip::make_address_v4(host, ec);
  if (ec) {
    BadAddress(address, "host \"" + std::string(host) +
                            "\" is not an IPv4 address, a bracketed IPv6 address or localhost");
  }
  return v4;
}

bool IsWildcard(const std::string& address) { return !address.empty() && address[0] == ':'; }

void SetCloseOnExec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

bool IsNormalClose(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == beast::error::timeout;
}

void LogEscaped(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("http: unexpected exception (a bug): {}", e.what());
  }
}

}  // namespace

// ---- the server ------------------------------------------------------------

void HttpServer::Impl::Start() {
  if (started_) throw std::logic_error("HttpServer::Start called twice");
  const std::string& address = options_.listen_address;
  tcp::endpoint endpoint;
  try {
    endpoint = ParseListenAddress(address);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("listen on " + address + ": " + e.what());
  }
  boost::system::error_code ec = Bind(endpoint);
  if (ec && IsWildcard(address) &&
      (ec == asio::error::address_family_not_supported ||
       ec == boost::system::errc::address_not_available)) {
    // No IPv6 on this host: all IPv4 interfaces will do.
    ec = Bind(tcp::endpoint(asio::ip::address_v4::any(), endpoint.port()));
  }
  if (ec) throw std::runtime_error("listen on " + address + ": " + ec.message());
  started_ = true;
  asio::co_spawn(executor_, AcceptLoop(shared_from_this()), LogEscaped);
}

boost::system::error_code HttpServer::Impl::Bind(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.close(ec);
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return ec;
  SetCloseOnExec(acceptor_.native_handle());
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  if (endpoint.address().is_v6() && endpoint.address().is_unspecified()) {
    boost::system::error_code ignored;  // dual-stack where allowed, else IPv6 only
    acceptor_.set_option(asio::ip::v6_only(false), ignored);
  }
  acceptor_.bind(endpoint, ec);
  if (ec) return ec;
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

void HttpServer::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) {
      session->closed = true;
      session->stream.close();
    }
  }
  sessions_.clear();
}

asio::awaitable<void> HttpServer::Impl::AcceptLoop(std::shared_ptr<Impl> self) {
  while (!stopped_) {
    auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
    if (stopped_) co_return;
    if (ec) {
      // EMFILE leaves the connection queued: retrying at once would spin the loop.
      spdlog::warn("http: accept failed: {}", ec.message());
      retry_timer_.expires_after(kAcceptRetryDelay);
      co_await retry_timer_.async_wait(kNoThrow);
      continue;
    }
    StartSession(std::move(socket));
  }
}

void HttpServer::Impl::StartSession(tcp::socket socket) {
  SetCloseOnExec(socket.native_handle());
  std::erase_if(sessions_, [](const std::weak_ptr<Session>& s) {
    auto session = s.lock();
    return !session || session->closed;
  });
  if (sessions_.size() >= std::max<std::size_t>(options_.max_connections, 1) && !MakeRoom()) {
    ++closed_at_limit_;
    spdlog::debug("http: {} connections are busy; closing a new one", sessions_.size());
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  auto session = std::make_shared<Session>(std::move(socket),
                                           handlers_.security ? handlers_.security() : nullptr);
  sessions_.push_back(session);
  asio::co_spawn(executor_, Serve(shared_from_this(), std::move(session)), LogEscaped);
}

// Closes the connection that has waited longest for a request; false when
// every connection is busy answering one. Linear in the open connections,
// which max_connections bounds; only called at the limit.
bool HttpServer::Impl::MakeRoom() {
  std::shared_ptr<Session> oldest;
  std::size_t oldest_index = 0;
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    auto session = sessions_[i].lock();
    if (session && session->waiting && (!oldest || session->waiting_since < oldest->waiting_since)) {
      oldest = std::move(session);
      oldest_index = i;
    }
  }
  if (!oldest) return false;
  ++closed_at_limit_;
  oldest->closed = true;
  oldest->stream.close();  // its pending read ends with operation_aborted
  sessions_.erase(sessions_.begin() + static_cast<std::ptrdiff_t>(oldest_index));
  return true;
}

// One connection: the TLS handshake when configured (within the I/O
// deadline), then requests in turn.
asio::awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Impl> self,
                                              std::shared_ptr<Session> session) {
  ssl::context* tls = session->security ? session->security->tls() : nullptr;
  if (!tls) {
    co_await ServeRequests(*session, session->stream);
    boost::system::error_code ignored;
    session->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  ssl::stream<beast::tcp_stream&> stream(session->stream, *tls);
  session->stream.expires_after(options_.io_timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
  if (session->closed) co_return;
  if (ec) {
    // Plain HTTP on the TLS port ends here, as does a client without the
    // certificate client_auth_type requires.
    spdlog::debug("http: TLS handshake: {}", ec.message());
    co_return;
  }
  co_await ServeRequests(*session, stream);
  if (stopped_) co_return;
  session->stream.expires_after(std::min(options_.io_timeout, kDrainTimeout));
  co_await stream.async_shutdown(kNoThrow);
}

// Requests in turn while the client keeps the connection alive. The deadline
// set before a read covers the whole request, however slowly it drips.
template <typename Stream>
asio::awaitable<void> HttpServer::Impl::ServeRequests(Session& session, Stream& stream) {
  beast::tcp_stream& lowest = session.stream;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    lowest.expires_after(options_.io_timeout);
    session.Wait();
    auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (stopped_ || session.closed) co_return;
    session.waiting = false;
    if (read_ec == http::error::header_limit || read_ec == http::error::body_limit) {
      co_await RejectTooLarge(stream);
      co_return;
    }
    if (read_ec) {
      if (!IsNormalClose(read_ec)) spdlog::debug("http: read: {}", read_ec.message());
      co_return;
    }
    Response response;
    if (auto refusal = co_await Refusal(session, parser.get())) {
      response = Finish(parser.get(), std::move(*refusal));
    } else if (IsAllowedReload(parser.get())) {
      response = co_await RunReload(parser.get());
    } else {
      response = Handle(parser.get());
    }
    if (stopped_) co_return;
    if (session.security) {
      for (const auto& [name, value] : session.security->headers()) response.set(name, value);
    }
    bool keep_alive = response.keep_alive();
    lowest.expires_after(options_.io_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, response, kNoThrow);
    if (write_ec) {
      if (!IsNormalClose(write_ec)) spdlog::debug("http: write: {}", write_ec.message());
      co_return;
    }
    if (!keep_alive) co_return;
  }
}

// Closing a socket with unread request bytes makes the kernel answer with a
// reset, which can destroy the 413 before the client reads it; so the rest of
// the request is read and dropped, within limits, before closing.
template <typename Stream>
asio::awaitable<void> HttpServer::Impl::RejectTooLarge(Stream& stream) {
  beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
  Response response = TextResponse(http::status::payload_too_large, "Request Too Large");
  response.keep_alive(false);
  response.prepare_payload();
  lowest.expires_after(options_.io_timeout);
  auto [ec, written] = co_await http::async_write(stream, response, kNoThrow);
  if (ec || stopped_) co_return;
  boost::system::error_code ignored;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  lowest.expires_after(std::min(options_.io_timeout, kDrainTimeout));
  std::array<char, 16 * 1024> sink;
  for (std::size_t drained = 0; drained < kDrainLimit && !stopped_;) {
    auto [read_ec, n] = co_await lowest.async_read_some(asio::buffer(sink), kNoThrow);
    if (read_ec) break;
    drained += n;
  }
}

// ---- public interface --------------------------------------------------------

tcp::endpoint ParseListenAddress(const std::string& address) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) BadAddress(address, "expected HOST:PORT");
  std::string_view host(address.data(), colon);
  bool bracketed = !host.empty() && host.front() == '[';
  if (bracketed ? host.size() < 2 || host.back() != ']'
                : host.find_first_of(":[]") != std::string_view::npos) {
    BadAddress(address, "expected HOST:PORT (write an IPv6 host in brackets: [::1]:9000)");
  }
  unsigned short port = ParsePort(address, std::string_view(address).substr(colon + 1));
  return tcp::endpoint(ParseHost(address, host), port);
}

HttpServer::HttpServer(asio::any_io_executor executor, HttpServerOptions options,
                       HttpHandlers handlers)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options),
                                   std::move(handlers))) {
  if (impl_->handlers_.security && !impl_->options_.blocking_pool) {
    throw std::invalid_argument("HttpServer: a web configuration needs a blocking pool");
  }
}

HttpServer::~HttpServer() { impl_->Stop(); }

void HttpServer::Start() { impl_->Start(); }

void HttpServer::Stop() { impl_->Stop(); }

HttpServerStats HttpServer::Stats() const {
  HttpServerStats stats;
  for (const auto& weak : impl_->sessions_) {
    auto session = weak.lock();
    stats.open_connections += session && !session->closed;
  }
  stats.closed_at_limit_total = impl_->closed_at_limit_;
  return stats;
}

tcp::endpoint HttpServer::LocalEndpoint() const {
  boost::system::error_code ec;
  return impl_->acceptor_.local_endpoint(ec);
}

}  // namespace drwatch::net


#pragma once
// What the pieces of the HTTP endpoint share: HttpServer::Impl, a
// connection's Session and plain text answers. Only for lib/net/http_server.cpp
// (listening, connections, TLS), http_routes.cpp (routing, handlers) and
// http_auth.cpp (basic auth).

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_server.hpp"

namespace drwatch::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace server_detail {

constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";

Response TextResponse(http::status status, std::string body, std::string_view content_type = kTextContentType);

// A connection, with its web configuration for its whole life (a rotated
// certificate applies to the connections that come after it).
struct Session {
  Session(tcp::socket socket, std::shared_ptr<const WebSecurity> s)
      : stream(std::move(socket)), security(std::move(s)) {}
  // Waiting for a request (or the TLS handshake) since `waiting_since`;
  // false while a request is answered. Only waiting connections are closed
  // to make room (see HttpServerOptions::max_connections).
  void Wait() {
    waiting = true;
    waiting_since = std::chrono::steady_clock::now();
  }
  beast::tcp_stream stream;
  std::shared_ptr<const WebSecurity> security;
  bool waiting = true;
  std::chrono::steady_clock::time_point waiting_since = std::chrono::steady_clock::now();
  bool closed = false;
};

}  // namespace server_detail

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor executor, HttpServerOptions options, HttpHandlers handlers)
      : executor_(executor),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        acceptor_(executor),
        retry_timer_(executor) {}

  void Start();
  void Stop();
  boost::system::error_code Bind(const tcp::endpoint& endpoint);
  // Each coroutine takes `self` so the server outlives it.
  asio::awaitable<void> AcceptLoop(std::shared_ptr<Impl> self);
  void StartSession(tcp::socket socket);
  bool MakeRoom();
  asio::awaitable<void> Serve(std::shared_ptr<Impl> self, std::shared_ptr<server_detail::Session> session);
  template <typename Stream>
  asio::awaitable<void> ServeRequests(server_detail::Session& session, Stream& stream);
  template <typename Stream>
  asio::awaitable<void> RejectTooLarge(Stream& stream);
  asio::awaitable<std::optional<Response>> Refusal(const server_detail::Session& session, const Request& request);
  Response Handle(const Request& request);
  Response Finish(const Request& request, Response response);
  bool IsAllowedReload(const Request& request) const;
  asio::awaitable<Response> RunReload(const Request& request);
  Response Route(const Request& request);
  Response Metrics(const Request& request);
  Response Reload(const Request& request);

  asio::any_io_executor executor_;
  HttpServerOptions options_;
  HttpHandlers handlers_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::vector<std::weak_ptr<server_detail::Session>> sessions_;
  bool started_ = false;
  bool stopped_ = false;
  int password_checks_ = 0;  // bcrypt checks on the pool now
  std::uint64_t closed_at_limit_ = 0;
};

}  // namespace drwatch::net

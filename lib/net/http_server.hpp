#pragma once
// The HTTP endpoint: /metrics, /-/healthy, /-/ready, /-/reload and the status
// page (/ and /status.json), served by Boost.Beast on the daemon's one
// io_context, over TLS and behind basic auth when the web configuration says
// so (every path but /-/healthy and /-/ready then needs the password). Every read and
// write has a deadline and request bodies are capped, so slow or half-open
// clients cannot hold the loop or grow memory.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/blocking.hpp"
#include "net/gzip.hpp"
#include "net/web_security.hpp"

namespace drwatch::net {

struct HttpServerOptions {
  /// "HOST:PORT", ":PORT" (all interfaces), "[::1]:PORT".
  std::string listen_address = ":10432";
  std::string telemetry_path = "/metrics";
  /// Enables POST /-/reload (and PUT, as Prometheus does).
  bool enable_lifecycle = false;
  /// Deadline for reading a request and for writing a response.
  std::chrono::milliseconds io_timeout{10000};
  /// Where basic auth's bcrypt checks run; required with HttpHandlers::security.
  BlockingPool* blocking_pool = nullptr;
  /// Open connections at most. A connection past the limit makes room by
  /// closing the one that has waited longest for a request (an idle
  /// keep-alive connection, or one dripping its request slowly); when every
  /// connection is busy answering, the new one is closed instead. Bounds the
  /// file descriptors the endpoint can take from checks and backups.
  std::size_t max_connections = 256;
};

/// Counters of the endpoint, for the daemon's own metrics.
struct HttpServerStats {
  std::size_t open_connections = 0;
  /// Connections closed to stay within max_connections (waiting ones closed
  /// for a newcomer, newcomers closed because all were busy).
  std::uint64_t closed_at_limit_total = 0;
};

/// A /metrics body: `head` (may be null), kept and shared by the scrapes
/// while nothing it shows changes (its gzip too), followed by `tail`, made
/// for this scrape. Together: exposition text (format 0.0.4), each metric
/// family wholly in one of the two.
struct MetricsBody {
  MetricsBody() = default;
  MetricsBody(std::string text) : tail(std::move(text)) {}  // NOLINT: all of it per scrape
  MetricsBody(std::shared_ptr<const SharedText> head, std::string tail)
      : head(std::move(head)), tail(std::move(tail)) {}
  std::shared_ptr<const SharedText> head;
  std::string tail;
};

struct HttpHandlers {
  /// Current exposition. Called on the loop.
  std::function<MetricsBody()> metrics;
  /// True once a catalogue is loaded (GET /-/ready answers 200, else 503).
  std::function<bool()> ready;
  /// Reloads the catalogue; completes with an empty string on success, else
  /// the error text for the response body (500). Asynchronous: loading a
  /// catalogue reads files, which happens off the loop.
  std::function<boost::asio::awaitable<std::string>()> reload;
  /// The status page (GET /, HTML) and its data (GET /status.json); without
  /// them / is a page of links.
  std::function<std::string()> status_page;
  std::function<std::string()> status_json;
  /// The web configuration a new connection is served under (TLS, basic
  /// auth, extra headers); unset or null: plain HTTP, open to anyone.
  /// Called on the loop once per connection.
  std::function<std::shared_ptr<const WebSecurity>()> security;
};

/// Parses a listen address; throws std::invalid_argument naming what is wrong.
boost::asio::ip::tcp::endpoint ParseListenAddress(const std::string& address);

class HttpServer {
 public:
  /// Throws std::invalid_argument when handlers.security is set without
  /// options.blocking_pool.
  HttpServer(boost::asio::any_io_executor executor, HttpServerOptions options,
             HttpHandlers handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting. Throws std::runtime_error ("listen on
  /// ADDRESS: reason") when the address is bad or cannot be bound.
  void Start();
  /// Stops accepting and closes open connections.
  void Stop();
  /// The bound endpoint (useful with port 0).
  boost::asio::ip::tcp::endpoint LocalEndpoint() const;
  HttpServerStats Stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace drwatch::net

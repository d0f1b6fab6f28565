#pragma once
// A small asynchronous HTTP/1.1 client (Boost.Beast, OpenSSL) for probes that
// run on the daemon's one event loop: one request per fresh connection, DNS
// through Asio's resolver, TLS with certificate and host name verification,
// a response body limit, and per-phase timings.
//
// Fetch has no timeouts of its own: the caller's per-operation cancellation
// (the check's deadline, `co_await (Fetch(...) || timer)`) ends it promptly in
// every phase, including a DNS look-up still running and a TLS handshake the
// server never answers. It never throws for a failing server.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/tls_client.hpp"
#include "net/url.hpp"

namespace drwatch::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::size_t kDefaultBodyLimit = 1024 * 1024;

struct HttpResult;

/// One request.
struct HttpRequestSpec {
  std::string method = "GET";  // any token; HEAD reads no body
  Url url;
  /// Sent as given, after Host, User-Agent, Connection: close and (for a
  /// body) Content-Length; a header given here replaces the default of the
  /// same name. The URL's userinfo becomes Basic authorization unless an
  /// Authorization header is given.
  HeaderList headers;
  std::string body;
  /// For https: null means TlsClientConfig::Default().
  std::shared_ptr<const TlsClientConfig> tls;
  /// SNI and the name the certificate must match; empty means url.host.
  std::string server_name;
  /// Bytes of body kept; the rest is not read and `truncated` is set.
  std::size_t body_limit = kDefaultBodyLimit;
  /// When set, the body is not kept in the result (nor limited by
  /// body_limit): each piece is handed to the sink as it arrives, with the
  /// result so far (status, headers), and the next read waits for the sink.
  /// A sink that returns an error text stops the transfer: that text becomes
  /// the result's error. For downloads too big for memory.
  std::function<boost::asio::awaitable<std::string>(const HttpResult& head, std::string_view data)>
      body_sink;
};

/// How long each phase took, in seconds; a phase that did not happen (TLS
/// for http, all after a failure) is absent. first_byte runs from the end of
/// the handshake (or connect) to the end of the response header; transfer
/// from there to the end of the body.
struct HttpPhases {
  std::optional<double> resolve, connect, tls, first_byte, transfer;
};

struct HttpResult {
  /// Empty when a whole response (or the body up to the limit) arrived.
  /// Otherwise "<phase>: <reason>", e.g. "resolve: Host not found
  /// (authoritative)", "connect: Connection refused", "tls: certificate
  /// verify failed: hostname mismatch", "read: end of stream", "cancelled".
  std::string error;
  int status = 0;  // 0 when no response header arrived
  HeaderList headers;
  std::string body;
  bool truncated = false;  // body_limit reached: the rest was not read
  HttpPhases phases;
  /// notAfter of the server's (leaf) certificate, for https.
  std::optional<std::chrono::system_clock::time_point> cert_not_after;

  bool ok() const { return error.empty(); }
  /// The first header named `name` (case-insensitive), or "" when absent.
  std::string_view Header(std::string_view name) const;
};

/// Performs one request on a fresh connection and closes it. Cancel the
/// awaiting coroutine (per-operation cancellation) to give up at any phase:
/// the result then has error "cancelled" (or the coroutine sees
/// operation_aborted), and nothing is left running on the loop.
boost::asio::awaitable<HttpResult> Fetch(boost::asio::any_io_executor executor, HttpRequestSpec spec);

}  // namespace drwatch::net

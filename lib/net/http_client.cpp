#include "net/http_client.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>

#include "common/percent.hpp"
#include "common/text.hpp"
#include "drwatch/version.hpp"

namespace drwatch::net {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kChunk = 16 * 1024;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool IsIpAddress(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

double Seconds(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

bool Cancelled(const asio::cancellation_state& state, const error_code& ec) {
  return ec == asio::error::operation_aborted || state.cancelled() != asio::cancellation_type::none;
}

// ---- a resolve that ends at once when cancelled ---------------------------
//
// Asio's resolver runs getaddrinfo on a background thread and ignores
// per-operation cancellation: a look-up stuck on a dead DNS server would hold
// the deadline for as long as the C library retries. This operation completes
// with operation_aborted as soon as it is cancelled and drops the late answer.

using Endpoints = tcp::resolver::results_type;

template <typename Handler>
struct ResolveOp {
  ResolveOp(Handler h, asio::any_io_executor ex) : handler(std::move(h)), resolver(std::move(ex)) {}
  std::optional<Handler> handler;
  tcp::resolver resolver;

  static void Finish(const std::shared_ptr<ResolveOp>& op, error_code ec, Endpoints endpoints) {
    if (!op->handler) return;
    Handler h = std::move(*op->handler);
    op->handler.reset();
    auto ex = asio::get_associated_executor(h, op->resolver.get_executor());
    // Posted, and the slot cleared there: this may run inside the slot's own
    // handler, which must not be destroyed while it runs.
    asio::post(ex, [h = std::move(h), ec, endpoints = std::move(endpoints)]() mutable {
      auto slot = asio::get_associated_cancellation_slot(h);
      if (slot.is_connected()) slot.clear();
      std::move(h)(ec, std::move(endpoints));
    });
  }
};

template <typename Token>
auto AsyncResolve(asio::any_io_executor ex, std::string host, std::string port, Token&& token) {
  return asio::async_initiate<Token, void(error_code, Endpoints)>(
      [](auto handler, asio::any_io_executor ex, std::string host, std::string port) {
        using Op = ResolveOp<decltype(handler)>;
        auto op = std::make_shared<Op>(std::move(handler), ex);
        auto slot = asio::get_associated_cancellation_slot(*op->handler);
        if (slot.is_connected()) {
          slot.assign([op](asio::cancellation_type) {
            op->resolver.cancel();
            Op::Finish(op, asio::error::operation_aborted, {});
          });
        }
        op->resolver.async_resolve(host, port, tcp::resolver::numeric_service,
                                   [op](error_code ec, Endpoints endpoints) {
                                     Op::Finish(op, ec, std::move(endpoints));
                                   });
      },
      token, std::move(ex), std::move(host), std::move(port));
}

// ---- TLS helpers -------------------------------------------------------------

// Sets SNI and the name the certificate must match.
void PrepareTls(SSL* ssl, const std::string& name, bool verify) {
  bool ip = IsIpAddress(name);
  if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!verify) {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    return;
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
  }
}

std::string HandshakeError(SSL* ssl, const error_code& ec) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return std::string("tls: certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  return "tls: " + ec.message();
}

std::optional<std::chrono::system_clock::time_point> PeerNotAfter(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return std::nullopt;
  std::tm tm{};
  bool ok = ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1;
  X509_free(cert);
  if (!ok) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// ---- one exchange on a connected stream -------------------------------------

// Moves the body out of `spec`: copying a large one (an 8 MiB S3 part) into a
// fresh buffer costs the loop tens of milliseconds of page faults and memcpy.
http::request<http::string_body> BuildRequest(HttpRequestSpec& spec) {
  http::request<http::string_body> req;
  req.version(11);
  req.method_string(spec.method);
  req.target(spec.url.target);
  req.set(http::field::host, spec.url.HostHeader());
  req.set(http::field::user_agent, std::string("drwatchd/") + kVersion);
  req.set(http::field::accept, "*/*");
  req.set(http::field::connection, "close");
  bool has_auth = false;
  for (const auto& [name, value] : spec.headers) has_auth = has_auth || IEquals(name, "authorization");
  if (!spec.url.userinfo.empty() && !has_auth) {
    req.set(http::field::authorization, "Basic " + Base64(PercentDecode(spec.url.userinfo)));
  }
  for (const auto& [name, value] : spec.headers) req.set(name, value);
  if (!spec.body.empty() || spec.method == "POST" || spec.method == "PUT") {
    req.body() = std::move(spec.body);
    req.prepare_payload();
  }
  return req;
}

void AppendBody(HttpResult& result, const char* data, std::size_t n, std::size_t limit) {
  std::size_t room = limit > result.body.size() ? limit - result.body.size() : 0;
  if (n > room) result.truncated = true;
  result.body.append(data, std::min(n, room));
}

template <typename Stream>
asio::awaitable<void> Exchange(Stream& stream, HttpRequestSpec& spec, HttpResult& result) {
  auto cancellation = co_await asio::this_coro::cancellation_state;
  auto start = SteadyClock::now();
  auto request = BuildRequest(spec);
  auto [write_ec, written] = co_await http::async_write(stream, request, kNoThrow);
  if (write_ec) {
    result.error = Cancelled(cancellation, write_ec) ? "cancelled" : "write: " + write_ec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // enforced below, by truncating
  if (spec.method == "HEAD") parser.skip(true);
  auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  if (header_ec) {
    result.error = Cancelled(cancellation, header_ec) ? "cancelled" : "read: " + header_ec.message();
    co_return;
  }
  auto header_done = SteadyClock::now();
  result.phases.first_byte = Seconds(start, header_done);
  result.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) {
    result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  std::array<char, kChunk> chunk;
  while (!parser.is_done() && !result.truncated) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    std::size_t got = chunk.size() - parser.get().body().size;
    if (spec.body_sink && got > 0) {
      std::string_view piece(chunk.data(), got);
      std::string sink_error = co_await spec.body_sink(result, piece);
      if (!sink_error.empty()) {
        result.error = std::move(sink_error);
        co_return;
      }
    } else if (!spec.body_sink) {
      AppendBody(result, chunk.data(), got, spec.body_limit);
    }
    if (ec) {
      result.error = Cancelled(cancellation, ec) ? "cancelled" : "read: " + ec.message();
      co_return;
    }
  }
  result.phases.transfer = Seconds(header_done, SteadyClock::now());
}

// Resolves, or makes the endpoint of an IP literal without the resolver.
asio::awaitable<std::optional<Endpoints>> Resolve(asio::any_io_executor ex, const Url& url, HttpResult& result) {
  auto cancellation = co_await asio::this_coro::cancellation_state;
  auto start = SteadyClock::now();
  error_code ec;
  auto address = asio::ip::make_address(url.host, ec);
  if (!ec) {
    result.phases.resolve = Seconds(start, SteadyClock::now());
    co_return Endpoints::create(tcp::endpoint(address, url.port), url.host, std::to_string(url.port));
  }
  auto [resolve_ec, endpoints] = co_await AsyncResolve(ex, url.host, std::to_string(url.port), kNoThrow);
  if (resolve_ec) {
    result.error = Cancelled(cancellation, resolve_ec) ? "cancelled" : "resolve: " + resolve_ec.message();
    co_return std::nullopt;
  }
  result.phases.resolve = Seconds(start, SteadyClock::now());
  co_return endpoints;
}

// Tries each address in turn; the error of the last one is reported.
asio::awaitable<bool> Connect(tcp::socket& socket, const Endpoints& endpoints, HttpResult& result) {
  auto cancellation = co_await asio::this_coro::cancellation_state;
  auto start = SteadyClock::now();
  error_code last = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    error_code ignored;
    socket.close(ignored);
    auto [ec] = co_await socket.async_connect(entry.endpoint(), kNoThrow);
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ignored);
      result.phases.connect = Seconds(start, SteadyClock::now());
      co_return true;
    }
    if (Cancelled(cancellation, ec)) {
      result.error = "cancelled";
      co_return false;
    }
    last = ec;
  }
  result.error = "connect: " + last.message();
  co_return false;
}

asio::awaitable<void> FetchTls(tcp::socket socket, HttpRequestSpec& spec, HttpResult& result) {
  auto cancellation = co_await asio::this_coro::cancellation_state;
  auto config = spec.tls ? spec.tls : TlsClientConfig::Default();
  ssl::stream<tcp::socket> stream(std::move(socket), config->context());
  const std::string& name = spec.server_name.empty() ? spec.url.host : spec.server_name;
  PrepareTls(stream.native_handle(), name, config->verify());
  auto start = SteadyClock::now();
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kNoThrow);
  if (ec) {
    result.error = Cancelled(cancellation, ec) ? "cancelled" : HandshakeError(stream.native_handle(), ec);
    co_return;
  }
  result.phases.tls = Seconds(start, SteadyClock::now());
  result.cert_not_after = PeerNotAfter(stream.native_handle());
  // No TLS close_notify exchange: a peer that never answers it would hold
  // the run until its deadline. The socket is simply closed.
  co_await Exchange(stream, spec, result);
}

}  // namespace

// ---- Fetch ---------------------------------------------------------------------

std::string_view HttpResult::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (IEquals(n, name)) return v;
  }
  return {};
}

asio::awaitable<HttpResult> Fetch(asio::any_io_executor executor, HttpRequestSpec spec) {
  HttpResult result;
  auto endpoints = co_await Resolve(executor, spec.url, result);
  if (!endpoints) co_return result;
  tcp::socket socket(executor);
  if (!co_await Connect(socket, *endpoints, result)) co_return result;
  if (spec.url.https()) {
    co_await FetchTls(std::move(socket), spec, result);
  } else {
    co_await Exchange(socket, spec, result);
  }
  co_return result;
}

}  // namespace drwatch::net

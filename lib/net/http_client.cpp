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
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>

#include "drwatch/version.hpp"
#include "common/text.hpp"

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

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int hi = text[i] == '%' && i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int lo = hi >= 0 ? HexValue(text[i + 2]) : -1;
    if (lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
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

// Trusts the system bundle, loaded now (the hashed-directory lookup of
// set_default_verify_paths would read files during handshakes, on the loop).
void LoadSystemCas(ssl::context& ctx) {
  const char* env = std::getenv(X509_get_default_cert_file_env());
  std::string file = env && *env ? env : X509_get_default_cert_file();
  error_code ec;
  if (std::filesystem::exists(file)) {
    ctx.load_verify_file(file, ec);
    if (!ec) return;
  }
  ctx.set_default_verify_paths(ec);
}

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

// ---- Url ---------------------------------------------------------------------

std::string Url::HostHeader() const {
  std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::uint16_t default_port = https() ? 443 : 80;
  return port == default_port ? host_part : host_part + ":" + std::to_string(port);
}

std::string Url::ToString() const { return scheme + "://" + HostHeader() + target; }

std::optional<Url> ParseUrl(std::string_view text, std::string& error) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      error = "contains a space or control character";
      return std::nullopt;
    }
  }
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    error = "expected scheme://host";
    return std::nullopt;
  }
  Url url;
  url.scheme = AsciiLower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    error = "unsupported scheme \"" + url.scheme + "\" (use http or https)";
    return std::nullopt;
  }
  std::string_view rest = text.substr(scheme_end + 3);
  auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view port_text;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed '[' in host";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    error_code ec;
    asio::ip::make_address_v6(url.host, ec);
    if (ec) {
      error = "invalid IPv6 address \"" + url.host + "\"";
      return std::nullopt;
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') {
      error = "unexpected text after ']'";
      return std::nullopt;
    }
    if (!after.empty()) port_text = after.substr(1);
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (!std::all_of(url.host.begin(), url.host.end(), IsHostChar)) {
      error = "invalid host \"" + url.host + "\"";
      return std::nullopt;
    }
  }
  if (url.host.empty()) {
    error = "missing host";
    return std::nullopt;
  }
  url.port = url.https() ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      error = "invalid port \"" + std::string(port_text) + "\"";
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  tail = tail.substr(0, tail.find('#'));
  url.target = tail.starts_with('/') ? std::string(tail) : "/" + std::string(tail);
  return url;
}

std::string JoinTarget(std::string_view url_target, std::string_view path) {
  if (path.empty()) return std::string(url_target);
  auto split = [](std::string_view t) {
    auto q = t.find('?');
    return std::pair{t.substr(0, q), q == std::string_view::npos ? std::string_view() : t.substr(q + 1)};
  };
  auto [base, base_query] = split(url_target);
  auto [extra, extra_query] = split(path);
  while (base.ends_with('/')) base.remove_suffix(1);
  while (extra.starts_with('/')) extra.remove_prefix(1);
  std::string out = std::string(base) + "/" + std::string(extra);
  std::string query(extra_query);
  if (!base_query.empty()) query += (query.empty() ? "" : "&") + std::string(base_query);
  if (!query.empty()) out += "?" + query;
  return out;
}

// ---- TlsClientConfig -----------------------------------------------------------

TlsClientConfig::TlsClientConfig() = default;
TlsClientConfig::~TlsClientConfig() = default;

std::shared_ptr<TlsClientConfig> TlsClientConfig::Make(const std::string& ca_file, bool insecure_skip_verify,
                                                       std::string& error) {
  std::shared_ptr<TlsClientConfig> config(new TlsClientConfig());
  config->context_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(config->context_->native_handle(), TLS1_2_VERSION);
  config->verify_ = !insecure_skip_verify;
  if (!ca_file.empty()) {
    if (FILE* f = std::fopen(ca_file.c_str(), "r")) {
      std::fclose(f);
    } else {
      error = "cannot read CA file " + ca_file + ": " + std::strerror(errno);
      return nullptr;
    }
    error_code ec;
    config->context_->load_verify_file(ca_file, ec);
    if (ec) {
      error = "cannot load CA file " + ca_file + ": " + ec.message();
      return nullptr;
    }
  } else if (config->verify_) {
    LoadSystemCas(*config->context_);
  }
  return config;
}

std::shared_ptr<TlsClientConfig> TlsClientConfig::Default() {
  static const std::shared_ptr<TlsClientConfig> config = [] {
    std::string error;
    return Make("", false, error);
  }();
  return config;
}

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

#include "support/http_client.hpp"

#include <zlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace drwatch::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t kMaxResponseBody = 64 * 1024 * 1024;

HttpResponse ToResponse(const http::response<http::string_body>& message) {
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message.base()) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = message.body();
  response.close = !message.keep_alive();
  return response;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return {};
}

struct HttpConnection::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  std::string host;
  std::chrono::milliseconds timeout{};

  // Runs one asynchronous step to completion on the private loop; the
  // stream's deadline bounds it, which a blocking socket call could not do.
  template <typename Initiate>
  void Run(const char* step, Initiate initiate) {
    boost::system::error_code result;
    stream.expires_after(timeout);
    initiate([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    if (result) {
      throw std::runtime_error(std::string("http client: ") + step + " " + host + ": " +
                               result.message());
    }
  }
};

HttpConnection::HttpConnection(const std::string& host, unsigned short port,
                               std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = host + ":" + std::to_string(port);
  impl_->timeout = timeout;
  tcp::resolver resolver(impl_->io);
  auto endpoints = resolver.resolve(host, std::to_string(port));
  impl_->Run("connect", [&](auto handler) { impl_->stream.async_connect(endpoints, handler); });
}

HttpConnection::~HttpConnection() = default;

HttpResponse HttpConnection::Send(const std::string& method, const std::string& target,
                                  const HttpHeaders& headers, const std::string& body) {
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, impl_->host);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  impl_->Run("write to", [&](auto handler) { http::async_write(impl_->stream, request, handler); });

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  parser.skip(request.method() == http::verb::head);
  impl_->Run("read from", [&](auto handler) {
    http::async_read(impl_->stream, impl_->buffer, parser, handler);
  });
  return ToResponse(parser.get());
}

HttpResponse HttpGet(const std::string& host, unsigned short port, const std::string& target,
                     const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  return HttpRequest("GET", host, port, target, headers, {}, timeout);
}

HttpResponse HttpRequest(const std::string& method, const std::string& host, unsigned short port,
                         const std::string& target, const HttpHeaders& headers,
                         const std::string& body, std::chrono::milliseconds timeout) {
  HttpConnection connection(host, port, timeout);
  return connection.Send(method, target, headers, body);
}

std::string Gunzip(std::string_view compressed) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("gunzip: inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char chunk[16 * 1024];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - zs.avail_out);
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("gunzip: not a complete gzip stream");
  return out;
}

}  // namespace drwatch::test

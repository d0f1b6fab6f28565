// An HTTP request as the endpoint reads it: Beast's parser with the server's
// limits (8 KiB of headers, 64 KiB of body), then what drwatchd itself does
// with the request's fields (basic auth credentials, listen addresses).

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_server.hpp"
#include "net/web_security.hpp"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < bytes.size() && !ec && !parser.is_done()) {
    std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (n == 0) break;
    used += n;
  }
  if (!ec && parser.is_header_done()) {
    const auto& request = parser.get();
    std::string user, password;
    drwatch::net::ParseBasicAuth(request[http::field::authorization], user, password);
    std::string target(request.target());
    try {
      drwatch::net::ParseListenAddress(target);
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}

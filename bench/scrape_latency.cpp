// Measures /metrics latency: N sequential GETs on one keep-alive connection,
// then prints min, p50, p90, p99 and max in microseconds and the body size.
// usage: scrape_latency HOST PORT [PATH] [N]

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s HOST PORT [PATH] [N]\n", argv[0]);
    return 2;
  }
  std::string host = argv[1], port = argv[2];
  std::string path = argc > 3 ? argv[3] : "/metrics";
  int n = argc > 4 ? std::stoi(argv[4]) : 1000;
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.connect(resolver.resolve(host, port));
  std::vector<double> micros;
  std::size_t bytes = 0;
  beast::flat_buffer buffer;
  for (int i = 0; i < n; ++i) {
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, host);
    auto start = std::chrono::steady_clock::now();
    http::write(stream, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);  // 10,000 checks make a ~10 MB body; Beast's default is 8 MB
    http::read(stream, buffer, parser);
    auto res = parser.release();
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    bytes = res.body().size();
    if (res.result() != http::status::ok) {
      std::fprintf(stderr, "HTTP %d\n", static_cast<int>(res.result_int()));
      return 1;
    }
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) { return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * micros.size()))]; };
  std::printf("requests %d  body %zu bytes  latency us: min %.0f  p50 %.0f  p90 %.0f  p99 %.0f  max %.0f\n", n,
              bytes, micros.front(), pct(0.5), pct(0.9), pct(0.99), micros.back());
  return 0;
}

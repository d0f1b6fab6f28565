#pragma once
// A small blocking HTTP/1.1 client for tests (Boost.Beast on a private
// io_context). Every step has a deadline; failures throw std::runtime_error.
// Bodies are returned as received: a gzip body stays compressed (see Gunzip).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drwatch::test {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  /// True when the server announced it will close the connection.
  bool close = false;

  /// The first header named `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

inline constexpr std::chrono::milliseconds kDefaultHttpTimeout{5000};

/// One connection that can carry several requests (keep-alive).
class HttpConnection {
 public:
  /// Connects to host:port (an IP address or "localhost"); throws on failure.
  HttpConnection(const std::string& host, unsigned short port,
                 std::chrono::milliseconds timeout = kDefaultHttpTimeout);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  /// Sends one request and reads its response, both within the timeout.
  /// `method` is "GET", "HEAD", "POST", … ; a Host header is added.
  HttpResponse Send(const std::string& method, const std::string& target,
                    const HttpHeaders& headers = {}, const std::string& body = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// GET on a fresh connection.
HttpResponse HttpGet(const std::string& host, unsigned short port, const std::string& target,
                     const HttpHeaders& headers = {},
                     std::chrono::milliseconds timeout = kDefaultHttpTimeout);

/// Any method on a fresh connection.
HttpResponse HttpRequest(const std::string& method, const std::string& host, unsigned short port,
                         const std::string& target, const HttpHeaders& headers = {},
                         const std::string& body = {},
                         std::chrono::milliseconds timeout = kDefaultHttpTimeout);

/// Decompresses a gzip body; throws std::runtime_error when it is not gzip.
std::string Gunzip(std::string_view compressed);

}  // namespace drwatch::test

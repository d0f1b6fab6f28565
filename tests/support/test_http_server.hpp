#pragma once
// A scripted HTTP/1.1 server on a loopback port for tests, running on a
// thread of its own (so the code under test keeps its loop to itself): it
// answers every request through a handler, records and counts requests,
// serves https with a TestPki's certificate, or stalls (accepts and never
// reads: an HTTP request then waits forever, and so does a TLS handshake).

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drwatch::test {

class TestPki;

using ServerHeaders = std::vector<std::pair<std::string, std::string>>;

struct ScriptedResponse {
  int status = 200;
  ServerHeaders headers;  // Content-Length is added
  std::string body;
};

struct RecordedRequest {
  std::string method;
  std::string target;
  ServerHeaders headers;
  std::string body;
  /// The first header named `name` (case-insensitive), or "".
  std::string Header(std::string_view name) const;
};

class TestHttpServer {
 public:
  struct Options {
    /// Accept connections and never read from them nor answer.
    bool stall = false;
    /// Serve https with the PKI's leaf certificate (must outlive the server).
    const TestPki* tls = nullptr;
  };
  using Handler = std::function<ScriptedResponse(const RecordedRequest&)>;

  /// Binds 127.0.0.1 on a free port and starts serving; throws on failure.
  TestHttpServer();
  explicit TestHttpServer(Options options);
  /// Stops the thread and closes every connection.
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  unsigned short port() const;
  /// "http://127.0.0.1:PORT" + path (https when serving TLS).
  std::string Url(const std::string& path = "/") const;

  /// Answers every request through `handler` (called on the server thread).
  void SetHandler(Handler handler);
  /// Answers every request with `response`. The default is 200 "ok".
  void Respond(ScriptedResponse response);

  /// Complete requests received so far, and connections accepted.
  int requests() const;
  int connections() const;
  std::vector<RecordedRequest> Requests() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace drwatch::test

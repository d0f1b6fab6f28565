#pragma once
// A stand-in for the Supabase Management API (https://api.supabase.com), the
// one service the tests cannot run: a loopback server that checks the bearer
// token and the project ref like the real one and answers the documented v1
// endpoints drwatchd reads, with realistic bodies that carry secrets (which
// must never reach storage, logs or metrics). Tests change what it answers.

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "support/test_http_server.hpp"

namespace drwatch::test {

class FakeManagementApi {
 public:
  static constexpr char kRef[] = "abcdefghijklmnopqrst";
  static constexpr char kToken[] = "sbp_5ecret_t0ken_4711";

  /// The secret values in the default answers: none may be stored or logged.
  static const std::vector<std::string>& SecretValues();

  FakeManagementApi();

  std::string Url() const { return server_.Url(); }
  TestHttpServer& server() { return server_; }

  /// Replaces the answer to GET /v1/projects/{ref}<path> (e.g. "/config/auth").
  void Answer(const std::string& path, ScriptedResponse response);
  /// Answers the next GET of `path` with `response`, then as before.
  void AnswerOnce(const std::string& path, ScriptedResponse response);
  /// The answer's JSON body as it stands (for edits and re-Answer).
  std::string Body(const std::string& path) const;
  /// GET requests served for `path`, in order.
  int Calls(const std::string& path) const;

 private:
  ScriptedResponse Handle(const RecordedRequest& request);

  mutable std::mutex mu_;
  std::map<std::string, ScriptedResponse> answers_;
  std::map<std::string, std::deque<ScriptedResponse>> once_;
  std::map<std::string, int> calls_;
  TestHttpServer server_;
};

}  // namespace drwatch::test

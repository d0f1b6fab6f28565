// Kind http, built from catalogue text as the daemon builds it, run against
// real loopback servers (plain, TLS with a CA made in the test, stalling)
// with the runner's deadline pattern.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/redact.hpp"
#include "config/catalogue.hpp"
#include "support/bad_fixtures.hpp"
#include "support/pg_cluster.hpp"
#include "support/test_http_server.hpp"
#include "support/test_pki.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Errors = std::vector<std::string>;

std::map<std::string, double> ByName(const std::vector<metrics::Sample>& samples) {
  std::map<std::string, double> out;
  for (const auto& s : samples) {
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "{" + k + "=" + v + "}";
    out[key] = s.value;
  }
  return out;
}

class HttpProbeTest : public ::testing::Test {
 protected:
  // Loads a catalogue with target `web` (its keys given) and one check `probe`
  // of kind http with `check_keys` (each "    key: value\n").
  std::shared_ptr<const config::Catalogue> Load(const std::string& target_keys, const std::string& check_keys = "") {
    std::string text = "targets:\n  web:\n    type: http\n" + target_keys +
                       "checks:\n  - name: probe\n    kind: http\n    target: web\n" + check_keys;
    auto loaded = config::LoadCatalogueText(text, "http_test.yml");
    std::string errors;
    for (const auto& e : loaded.errors) errors += e + "\n";
    EXPECT_TRUE(loaded.catalogue) << errors;
    if (loaded.catalogue) target_ = loaded.catalogue->targets.at("web")->MakeRuntime(io_.get_executor(), pool_);
    catalogue_ = loaded.catalogue;
    return loaded.catalogue;
  }

  Errors LoadErrors(const std::string& target_keys, const std::string& check_keys) {
    std::string text = "targets:\n  web:\n    type: http\n" + target_keys +
                       "checks:\n  - name: probe\n    kind: http\n    target: web\n" + check_keys;
    return config::LoadCatalogueText(text, "f.yml").errors;
  }

  std::optional<probes::ProbeResult> Run(std::chrono::milliseconds timeout = 5s) {
    const auto& check = catalogue_->checks.at(0);
    probes::RunContext ctx{io_.get_executor(), pool_, *target_, timeout, Clock::now() + timeout, check.name, {}};
    return RunWithDeadline(io_, check.probe->Run(ctx), timeout);
  }

  std::string Url(const TestHttpServer& server, const std::string& path = "") {
    return "    url: \"" + server.Url(path) + "\"\n";
  }

  boost::asio::io_context io_;
  BlockingPool pool_{2};
  std::shared_ptr<const config::Catalogue> catalogue_;
  std::shared_ptr<targets::TargetRuntime> target_;
};

TEST_F(HttpProbeTest, SucceedsOnA2xxWithItsSamples) {
  TestHttpServer server;
  ASSERT_TRUE(Load(Url(server, "/functions/v1"), "    path: /health\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "status 200");
  auto samples = ByName(r->samples);
  EXPECT_EQ(samples["drwatch_http_status_code"], 200);
  for (const char* phase : {"resolve", "connect", "first_byte", "transfer"}) {
    EXPECT_TRUE(samples.contains(std::string("drwatch_http_phase_duration_seconds{phase=") + phase + "}")) << phase;
  }
  EXPECT_FALSE(samples.contains("drwatch_http_phase_duration_seconds{phase=tls}"));
  EXPECT_FALSE(samples.contains("drwatch_http_tls_cert_expiry_timestamp_seconds"));
  EXPECT_EQ(server.Requests().at(0).target, "/functions/v1/health");
}

// Not a benchmark: the order of magnitude of one run, for the notes.
TEST_F(HttpProbeTest, CostOfOneRun) {
  TestPki pki;
  TestHttpServer plain;
  TestHttpServer tls({.tls = &pki});
  for (auto [name, keys] : {std::pair{"plain", Url(plain)},
                            std::pair{"https", Url(tls) + "    ca_file: " + pki.ca_file() + "\n"}}) {
    ASSERT_TRUE(Load(keys));
    constexpr int kRuns = 50;
    auto start = std::chrono::steady_clock::now();
    std::clock_t cpu_start = std::clock();
    for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(Run()->success);
    double wall_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    double cpu_us = 1e6 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::cout << "[ cost     ] one http run (" << name << ", loopback server in-process): " << wall_us / kRuns
              << " us wall, " << cpu_us / kRuns << " us CPU (client and server)\n";
  }
}

TEST_F(HttpProbeTest, ChecksTheStatus) {
  TestHttpServer server;
  server.Respond({503, {}, "down"});
  ASSERT_TRUE(Load(Url(server)));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "status 503, expected 2xx");
  EXPECT_EQ(ByName(r->samples)["drwatch_http_status_code"], 503);

  ASSERT_TRUE(Load(Url(server), "    expect_status: [503]\n"));
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;

  server.Respond({404, {}, ""});
  ASSERT_TRUE(Load(Url(server), "    expect_status: [200, 204, 301]\n"));
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "status 404, expected 200, 204 or 301");
}

TEST_F(HttpProbeTest, MatchesTheBody) {
  TestHttpServer server;
  server.Respond({200, {}, R"({"status": "ok", "db": "up"})"});
  ASSERT_TRUE(Load(Url(server), "    body_regex: '\"db\":\\s*\"up\"'\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;

  server.Respond({200, {}, R"({"status": "ok", "db": "down"})"});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "status 200, body does not match /\"db\":\\s*\"up\"/");
}

TEST_F(HttpProbeTest, MatchesOnlyTheFirst64KiB) {
  TestHttpServer server;
  server.Respond({200, {}, std::string(70 * 1024, 'x') + "MARKER"});
  ASSERT_TRUE(Load(Url(server), "    body_regex: MARKER\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "status 200, body does not match /MARKER/");
}

// std::regex recursed once per character here: a 30 KB body overflowed the
// stack (SIGSEGV) and ^(a+)+$ backtracked for ever. RE2 answers in linear
// time while the loop keeps turning.
TEST_F(HttpProbeTest, AHostileBodyOrPatternNeitherCrashesNorStallsTheLoop) {
  TestHttpServer server;
  const std::string as(60 * 1024, 'a');
  struct Case {
    std::string regex, body, reason;
  };
  const Case cases[] = {
      {"a+!", as, "status 200, body does not match /a+!/"},
      {"a+!", as + "!", "status 200"},
      {"^(a+)+$", as + "b", "status 200, body does not match /^(a+)+$/"},
      {"^(a+)+$", as, "status 200"},
      {"(x+x+)+y", std::string(60 * 1024, 'x'), "status 200, body does not match /(x+x+)+y/"},
  };
  for (const Case& c : cases) {
    server.Respond({200, {}, c.body});
    ASSERT_TRUE(Load(Url(server), "    body_regex: '" + c.regex + "'\n"));
    LoopWatch watch(io_, 5ms);
    auto r = Run();
    ASSERT_TRUE(r) << c.regex;
    EXPECT_EQ(r->reason, c.reason);
    EXPECT_EQ(r->success, c.reason == "status 200");
    EXPECT_LT(watch.worst_lateness(), 50ms) << c.regex;
  }
}

TEST_F(HttpProbeTest, BodyRegexSearchesUnanchoredLikeGo) {
  TestHttpServer server;
  server.Respond({200, {}, "line one\nstatus: OK\nline three"});
  for (const char* regex : {"status: OK", "(?i)STATUS: ok", "(?m)^status: OK$", "\\bOK\\b"}) {
    ASSERT_TRUE(Load(Url(server), std::string("    body_regex: '") + regex + "'\n"));
    auto r = Run();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->success) << regex << ": " << r->reason;
  }
  ASSERT_TRUE(Load(Url(server), "    body_regex: '^status'\n"));  // ^ is the start of the body
  EXPECT_FALSE(Run()->success);
}

TEST_F(HttpProbeTest, PostsTheBodyWithTheTargetHeadersFromASecretFile) {
  std::string file = ::testing::TempDir() + "/drwatch_anon_key";
  std::ofstream(file) << "Bearer eyJhbGciOi.anon-key-4711\n";
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  TestHttpServer server;
  ASSERT_TRUE(Load(Url(server) + "    headers:\n      Authorization: \"${file:" + file + "}\"\n      X-Client: drwatch\n",
                   "    method: POST\n    body: '{\"ping\": true}'\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  auto req = server.Requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.body, "{\"ping\": true}");
  EXPECT_EQ(req.Header("Authorization"), "Bearer eyJhbGciOi.anon-key-4711");
  EXPECT_EQ(req.Header("X-Client"), "drwatch");
  EXPECT_EQ(Redactor::Global().Apply("Bearer eyJhbGciOi.anon-key-4711"), "<redacted>");
}

TEST_F(HttpProbeTest, HeadWorks) {
  TestHttpServer server;
  ASSERT_TRUE(Load(Url(server), "    method: HEAD\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(server.Requests().at(0).method, "HEAD");
}

TEST_F(HttpProbeTest, ReportsARefusedConnection) {
  ASSERT_TRUE(Load("    url: http://127.0.0.1:" + std::to_string(pgproc::FreeLoopbackPort()) + "/\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "connect: Connection refused");
  EXPECT_FALSE(ByName(r->samples).contains("drwatch_http_status_code"));
}

TEST_F(HttpProbeTest, VerifiesTlsAndExportsTheCertificateExpiry) {
  TestPki pki;
  TestHttpServer server({.tls = &pki});
  ASSERT_TRUE(Load(Url(server) + "    ca_file: " + pki.ca_file() + "\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  auto samples = ByName(r->samples);
  EXPECT_EQ(samples["drwatch_http_tls_cert_expiry_timestamp_seconds"], ToUnixSeconds(pki.leaf_not_after()));
  EXPECT_TRUE(samples.contains("drwatch_http_phase_duration_seconds{phase=tls}"));

  ASSERT_TRUE(Load(Url(server)));  // the system's CAs do not know ours
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "tls: certificate verify failed: unable to get local issuer certificate");

  ASSERT_TRUE(Load(Url(server) + "    insecure_skip_verify: true\n"));
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
}

TEST_F(HttpProbeTest, RefusesACertificateForAnotherName) {
  TestPki pki({"other.example"});
  TestHttpServer server({.tls = &pki});
  ASSERT_TRUE(Load(Url(server) + "    ca_file: " + pki.ca_file() + "\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "tls: certificate verify failed: IP address mismatch");
}

// The runner's pattern: the probe races its 300 ms deadline and loses. The
// server never answers, so the deadline's timer fired on the loop while the
// probe still waited; a probe that ignored its deadline or blocked the loop
// would never return.
void ExpectDeadlineWins(HttpProbeTest& t, const std::function<std::optional<probes::ProbeResult>()>& run,
                        boost::asio::io_context& io) {
  auto start = std::chrono::steady_clock::now();
  auto r = run();
  auto elapsed = Since(start);
  EXPECT_FALSE(r) << r->reason;
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, WellWithin(300ms));
}

TEST_F(HttpProbeTest, AStallingServerEndsByTheDeadline) {
  TestHttpServer server({.stall = true});
  ASSERT_TRUE(Load(Url(server)));
  ExpectDeadlineWins(*this, [&] { return Run(300ms); }, io_);
}

TEST_F(HttpProbeTest, AStalledTlsHandshakeEndsByTheDeadline) {
  TestHttpServer server({.stall = true});
  ASSERT_TRUE(Load("    url: https://127.0.0.1:" + std::to_string(server.port()) + "/\n"));
  ExpectDeadlineWins(*this, [&] { return Run(300ms); }, io_);
  EXPECT_EQ(server.connections(), 1);
}

// Loop lag is the point here: the suite is labelled `timing` (CTest runs it
// alone) and compares with the same loop's idle baseline.
class HttpProbeTiming : public HttpProbeTest {};

TEST_F(HttpProbeTiming, AStallingServerDoesNotLagTheLoop) {
  TestHttpServer server({.stall = true});
  ASSERT_TRUE(Load(Url(server)));
  auto lag = MeasureLoopLag(io_, [&] { EXPECT_FALSE(Run(1s)); });
  EXPECT_LT(lag.busy, lag.idle + kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

// ---- validation: one bad fixture per rule, with its exact message ----------

const std::vector<BadCase> kBadCases = {
    {"bad_http_method.yml", {":8:13: checks[0].method: unsupported method \"PUT\" (use GET, HEAD or POST)"}},
    {"bad_http_body_without_post.yml", {":8:11: checks[0].body: a body needs method: POST"}},
    {"bad_http_expect_status.yml",
     {":8:26: checks[0].expect_status[1]: expected a status code between 100 and 599"}},
    {"bad_http_expect_status_scalar.yml",
     {":8:20: checks[0].expect_status: expected a list of status codes, e.g. [200, 204]"}},
    {"bad_http_body_regex.yml",
     {":8:17: checks[0].body_regex: invalid regular expression: missing ): (ok"}},
    {"bad_http_body_regex_backreference.yml",
     {":8:17: checks[0].body_regex: unsupported regular expression: backreference \\1 (RE2 syntax matches in "
      "linear time and has no backreferences)"}},
    {"bad_http_body_regex_lookahead.yml",
     {":8:17: checks[0].body_regex: unsupported regular expression: lookaround (?= (RE2 syntax matches in "
      "linear time and has no lookahead or lookbehind)"}},
    {"bad_http_body_regex_lookbehind.yml",
     {":8:17: checks[0].body_regex: unsupported regular expression: lookaround (?<! (RE2 syntax matches in "
      "linear time and has no lookahead or lookbehind)"}},
    {"bad_http_body_regex_too_large.yml",
     {":8:17: checks[0].body_regex: regular expression too large (over the 4 MiB budget: use fewer or smaller "
      "repetitions)"}},
    {"bad_http_ca_file.yml",
     {":5:14: targets.web.ca_file: cannot read CA file /nonexistent/drwatch/ca.pem: No such file or directory"}},
    {"bad_http_url_port.yml", {":4:10: targets.web.url: invalid URL: invalid port \"80a\""}},
    {"bad_supabase_project_ref.yml",
     {":4:18: targets.supa.project_ref: invalid project_ref \"abc/def\" (letters, digits, '-' and '_')"}},
    {"bad_supabase_missing_token.yml", {":3:5: targets.supa.access_token: missing required key"}},
    {"bad_supabase_api_url.yml", {":6:14: targets.supa.api_url: invalid URL: unsupported scheme \"ftp\" (use http or https)"}},
    {"bad_supabase_max_age.yml", {":7:5: checks[0].max_age: missing required key"}},
    {"bad_supabase_min_pitr_window.yml",
     {":11:22: checks[0].min_pitr_window: invalid duration \"a week\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)"}},
};

class BadHttpCatalogue : public testing::TestWithParam<BadCase> {};

TEST_P(BadHttpCatalogue, ReportsExactErrors) {
  ExpectRefused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadHttpCatalogue, testing::ValuesIn(kBadCases), BadCaseName);

TEST_F(HttpProbeTest, HeadHasNoBodyToMatch) {
  EXPECT_EQ(LoadErrors("    url: http://127.0.0.1/\n", "    method: HEAD\n    body_regex: ok\n"),
            Errors{"f.yml:10:17: checks[0].body_regex: a HEAD response has no body to match"});
}

}  // namespace
}  // namespace drwatch::test

// drwatchd as a user runs it: a real process against real PostgreSQL
// clusters, scraped over HTTP. Covers the command line, /metrics (promtool
// must accept it), the frozen-server case, reloads and secret redaction.

#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const char* kDaemon = DRWATCH_DAEMON_PATH;

// The value of the first series of `name` whose labels include all of
// `labels` (each as `key="value"`), or nullopt.
std::optional<double> MetricValue(const std::string& text, const std::string& name,
                                  const std::vector<std::string>& labels = {}) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (!all) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

std::string CatalogueFor(const std::string& dsn_a, const std::string& dsn_b = "") {
  std::string text = "global: {interval: 2s, timeout: 1s}\ntargets:\n  a: {type: postgres, dsn: \"" + dsn_a + "\"}\n";
  if (!dsn_b.empty()) text += "  b: {type: postgres, dsn: \"" + dsn_b + "\"}\n";
  text += R"(objectives:
  rpo: {daily_operations: 24h}
checks:
  - name: a_ping
    kind: postgres.ping
    target: a
  - name: a_recency
    kind: postgres.recency
    target: a
    query: "SELECT max(created_at) FROM audit_logs -- newest row"
    max_age: 1h
    objective: rpo.daily_operations
)";
  if (!dsn_b.empty()) {
    text += R"(  - name: b_recency
    kind: postgres.recency
    target: b
    query: SELECT max(created_at) FROM audit_logs
    max_age: 1h
    interval: 1s
    timeout: 500ms
)";
  }
  return text;
}

void CreateAuditLogs(const PgCluster& pg) {
  pg.Exec("CREATE TABLE IF NOT EXISTS audit_logs (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), actor text, action text);"
          "INSERT INTO audit_logs (actor, action) VALUES ('test', 'login');"
          "GRANT SELECT ON audit_logs TO drwatch;");
}

// A drwatchd process on a free port, ready to be scraped.
class Daemon {
 public:
  Daemon(const std::string& catalogue_path, std::vector<std::string> flags = {},
         std::vector<std::string> env = {})
      : port_(pgproc::FreeLoopbackPort()) {
    std::vector<std::string> argv = {kDaemon, "--config.file=" + catalogue_path,
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<ChildProcess>(argv, env);
    for (auto until = Clock::now() + 10s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
      try {
        if (HttpGet("127.0.0.1", port_, "/-/ready").status == 200) return;
      } catch (const std::exception&) {
      }
    }
    ADD_FAILURE() << "drwatchd did not become ready:\n" << process_->Output();
    throw std::runtime_error("drwatchd not ready");
  }

  std::string Metrics() const { return HttpGet("127.0.0.1", port_, "/metrics").body; }
  // Polls /metrics until `pred` holds; returns the last body.
  std::string WaitMetrics(const std::function<bool(const std::string&)>& pred,
                          std::chrono::milliseconds timeout = 15s) const {
    std::string body;
    for (auto until = Clock::now() + timeout; Clock::now() < until; std::this_thread::sleep_for(50ms)) {
      body = Metrics();
      if (pred(body)) return body;
    }
    ADD_FAILURE() << "condition not reached; last /metrics:\n" << body << "\nlog:\n" << process_->Output();
    return body;
  }
  int port() const { return port_; }
  ChildProcess& process() { return *process_; }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

TEST(DaemonCli, UnknownFlagOrMissingConfigIsUsageErrorExit2) {
  auto r = RunCommand({kDaemon, "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown flag --bogus"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: drwatchd"), std::string::npos);
  r = RunCommand({kDaemon});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("missing --config.file"), std::string::npos) << r.err;
  r = RunCommand({kDaemon, "--config.file=x.yml", "--log.level=loud"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid value \"loud\" for --log.level"), std::string::npos) << r.err;
}

TEST(DaemonCli, VersionPrintsVersion) {
  auto r = RunCommand({kDaemon, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("drwatchd ", 0), 0u) << r.out;
}

TEST(DaemonCli, ConfigCheckPrintsOkOrEveryError) {
  auto good = WriteTempFile("good.yml", CatalogueFor("host=127.0.0.1 port=1 dbname=x"));
  auto r = RunCommand({kDaemon, "--config.file=" + good, "--config.check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "OK\n");

  auto bad = WriteTempFile("bad.yml", "targets: {t: {type: postgres, dsn: \"host=h\"}}\nchecks:\n  - name: x\n    kind: nope\n    target: t\n  - name: y\n    kind: postgres.ping\n    target: t\n    colour: red\n");
  r = RunCommand({kDaemon, "--config.file=" + bad, "--config.check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ":4:11: checks[0].kind: unknown kind \"nope\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + ":9:5: checks[1].colour: unknown key"), std::string::npos) << r.err;

  r = RunCommand({kDaemon, "--config.file=/nonexistent/drwatch.yml", "--config.check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/drwatch.yml: cannot read"), std::string::npos) << r.err;
}

TEST(DaemonCli, ConfigCheckNeedsEveryExpansionToResolve) {
  auto path = WriteTempFile("env.yml", CatalogueFor("${env:DRWATCH_TEST_UNSET_DSN}"));
  auto r = RunCommand({kDaemon, "--config.file=" + path, "--config.check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("DRWATCH_TEST_UNSET_DSN"), std::string::npos) << r.err;
  r = RunCommand({kDaemon, "--config.file=" + path, "--config.check"},
                 "", {"DRWATCH_TEST_UNSET_DSN=host=127.0.0.1 port=1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(DaemonCli, OncePrintsATableAndFailsWhenACheckFails) {
  PgCluster pg;
  CreateAuditLogs(pg);
  auto path = WriteTempFile("once.yml", CatalogueFor(pg.Dsn()));
  auto r = RunCommand({kDaemon, "--config.file=" + path, "--once"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("CHECK"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("a_ping +success")) ) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("a_recency +success .*newest row is"))) << r.out;

  pg.Exec("TRUNCATE audit_logs");
  r = RunCommand({kDaemon, "--config.file=" + path, "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("a_recency +failure .*no rows"))) << r.out;
}

TEST(DaemonServe, MetricsAreServedAndPassPromtool) {
  PgCluster pg;
  CreateAuditLogs(pg);
  auto path = WriteTempFile("serve.yml", CatalogueFor(pg.Dsn()));
  Daemon d(path);
  auto body = d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1 &&
           MetricValue(m, "drwatch_check_success", {"check=\"a_ping\""}) == 1;
  });
  EXPECT_EQ(MetricValue(body, "drwatch_objective_met", {"objective=\"rpo\"", "name=\"daily_operations\""}), 1);
  EXPECT_EQ(MetricValue(body, "drwatch_data_max_age_seconds", {"check=\"a_recency\""}), 3600);
  EXPECT_TRUE(MetricValue(body, "drwatch_postgres_server_info", {"check=\"a_ping\""}).has_value());
  EXPECT_EQ(MetricValue(body, "drwatch_config_last_reload_successful"), 1);
  EXPECT_TRUE(MetricValue(body, "drwatch_build_info").has_value());
  EXPECT_GT(MetricValue(body, "process_resident_memory_bytes").value_or(0), 0);
  EXPECT_EQ(body.find("\nup"), std::string::npos) << "never a metric named up";

  auto promtool = RunCommand({"/usr/bin/promtool", "check", "metrics"}, body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;

  auto gz = HttpGet("127.0.0.1", d.port(), "/metrics", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_NE(Gunzip(gz.body).find("drwatch_check_success"), std::string::npos);
  EXPECT_EQ(HttpGet("127.0.0.1", d.port(), "/-/healthy").status, 200);
  EXPECT_EQ(HttpRequest("POST", "127.0.0.1", d.port(), "/-/reload").status, 403)
      << "lifecycle API is off by default";
}

TEST(DaemonServe, StaleDataFailsTheCheckAndBreachesTheObjective) {
  PgCluster pg;
  CreateAuditLogs(pg);
  pg.Exec("UPDATE audit_logs SET created_at = now() - interval '2 hours'");
  auto path = WriteTempFile("stale.yml", CatalogueFor(pg.Dsn()));
  Daemon d(path);
  auto body = d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 0;
  });
  EXPECT_NEAR(MetricValue(body, "drwatch_data_age_seconds", {"check=\"a_recency\""}).value_or(0), 7200, 30);
  EXPECT_EQ(MetricValue(body, "drwatch_objective_met", {"name=\"daily_operations\""}), 0);
  EXPECT_TRUE(d.process().WaitForOutput("check a_recency failing (failure): newest row is 2h", 5s))
      << d.process().Output();

  pg.Exec("INSERT INTO audit_logs (actor, action) VALUES ('test', 'fresh')");
  body = d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1;
  });
  EXPECT_EQ(MetricValue(body, "drwatch_objective_met", {"name=\"daily_operations\""}), 1);
  EXPECT_TRUE(d.process().WaitForOutput("check a_recency recovered", 5s));
}

// A SIGSTOPped server: its checks end as timeout within timeout + 1 s, while
// /metrics keeps answering fast and the healthy cluster keeps its schedule.
TEST(DaemonServe, FrozenServerTimesOutWithoutStallingScrapesOrOtherChecks) {
  PgCluster a, b;
  CreateAuditLogs(a);
  CreateAuditLogs(b);
  auto path = WriteTempFile("frozen.yml", CatalogueFor(a.Dsn(), b.Dsn()));
  Daemon d(path);
  d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1 &&
           MetricValue(m, "drwatch_check_success", {"check=\"a_ping\""}) == 1 &&
           MetricValue(m, "drwatch_check_success", {"check=\"b_recency\""}) == 1;
  });
  auto before = d.Metrics();
  double b_runs_before = *MetricValue(before, "drwatch_check_runs_total", {"check=\"b_recency\"", "result=\"success\""});

  a.Freeze();
  auto frozen_at = Clock::now();
  std::chrono::microseconds worst{0};
  std::string body;
  while (Clock::now() - frozen_at < 7s) {
    auto start = Clock::now();
    body = d.Metrics();
    worst = std::max(worst, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start));
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LT(worst, 100ms) << "a scrape took " << worst.count() << " us while a server was frozen";
  EXPECT_GE(MetricValue(body, "drwatch_check_runs_total", {"check=\"a_recency\"", "result=\"timeout\""}).value_or(0), 2);
  EXPECT_GE(MetricValue(body, "drwatch_check_runs_total", {"check=\"a_ping\"", "result=\"timeout\""}).value_or(0), 2);
  EXPECT_EQ(MetricValue(body, "drwatch_check_success", {"check=\"a_recency\""}), 0);
  EXPECT_LE(MetricValue(body, "drwatch_check_duration_seconds", {"check=\"a_recency\""}).value_or(99), 2.0)
      << "timeout 1s: the run must end within timeout + 1 s";
  EXPECT_LE(MetricValue(body, "drwatch_check_duration_seconds", {"check=\"a_ping\""}).value_or(99), 2.0);
  double b_runs = *MetricValue(body, "drwatch_check_runs_total", {"check=\"b_recency\"", "result=\"success\""});
  EXPECT_GE(b_runs - b_runs_before, 5) << "the healthy cluster's 1s check kept its schedule";
  EXPECT_EQ(MetricValue(body, "drwatch_check_success", {"check=\"b_recency\""}), 1);
  EXPECT_EQ(MetricValue(body, "drwatch_check_runs_total", {"check=\"b_recency\"", "result=\"skipped\""}), 0);

  a.Thaw();
  d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1 &&
           MetricValue(m, "drwatch_check_success", {"check=\"a_ping\""}) == 1;
  }, 45s);
}

TEST(DaemonServe, ReloadRefusesABadCatalogueAndAppliesAGoodOne) {
  PgCluster pg;
  CreateAuditLogs(pg);
  auto path = WriteTempFile("reload.yml", CatalogueFor(pg.Dsn()));
  Daemon d(path, {"--web.enable-lifecycle"});
  d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_ping\""}) == 1;
  });

  std::ofstream(path) << "checks: [this is not valid\n";
  d.process().Signal(SIGHUP);
  auto body = d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_config_last_reload_successful") == 0;
  });
  EXPECT_TRUE(MetricValue(body, "drwatch_check_success", {"check=\"a_ping\""}).has_value())
      << "the old catalogue keeps running";
  EXPECT_TRUE(d.process().WaitForOutput("reload refused", 5s));
  EXPECT_TRUE(d.process().WaitForOutput(path + ":", 5s)) << "errors name the file";

  std::string text = CatalogueFor(pg.Dsn());
  text = text.substr(0, text.find("  - name: a_recency"));  // drop a_recency
  text += "  - name: a_query\n    kind: postgres.query\n    target: a\n    query: SELECT count(*) AS n FROM audit_logs\n";
  std::ofstream(path) << text;
  d.process().Signal(SIGHUP);
  body = d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_config_last_reload_successful") == 1 &&
           MetricValue(m, "drwatch_query_n", {"check=\"a_query\""}).has_value();
  });
  EXPECT_FALSE(MetricValue(body, "drwatch_check_runs_total", {"check=\"a_recency\""}).has_value())
      << "series of a removed check disappear";
  EXPECT_EQ(MetricValue(body, "drwatch_query_n", {"check=\"a_query\""}), 1);

  std::ofstream(path) << "checks: []\nbogus: 1\n";
  auto reload = HttpRequest("POST", "127.0.0.1", d.port(), "/-/reload");
  EXPECT_EQ(reload.status, 500);
  EXPECT_NE(reload.body.find("bogus: unknown key"), std::string::npos) << reload.body;
  EXPECT_EQ(MetricValue(d.Metrics(), "drwatch_config_last_reload_successful"), 0);

  std::ofstream(path) << text;
  reload = HttpRequest("POST", "127.0.0.1", d.port(), "/-/reload");
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(MetricValue(d.Metrics(), "drwatch_config_last_reload_successful"), 1);
}

TEST(DaemonServe, PasswordsNeverReachMetricsLogsOrOnceOutput) {
  PgCluster pg;
  CreateAuditLogs(pg);
  std::string secret = PgCluster::kPassword;
  auto dsn_file = WriteTempFile("dsn", pg.PasswordDsn() + "\n");
  // Target b: right password, closed port, so connection errors get logged.
  std::string text = CatalogueFor("${file:" + dsn_file + "}",
                                  "host=127.0.0.1 port=1 user=drwatch password=" + secret + " connect_timeout=1");
  auto path = WriteTempFile("secret.yml", text);
  Daemon d(path, {"--log.level=debug"});
  auto body = d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1 &&
           MetricValue(m, "drwatch_check_success", {"check=\"b_recency\""}) == 0;
  });
  EXPECT_EQ(body.find(secret), std::string::npos);
  EXPECT_EQ(d.process().Output().find(secret), std::string::npos) << d.process().Output();
  auto once = RunCommand({kDaemon, "--config.file=" + path, "--once"});
  EXPECT_EQ(once.out.find(secret), std::string::npos) << once.out;
  EXPECT_EQ(once.err.find(secret), std::string::npos) << once.err;
  EXPECT_NE(once.out.find("b_recency"), std::string::npos);
}

}  // namespace
}  // namespace drwatch::test

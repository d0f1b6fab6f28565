// drwatchd as a user runs it: a real process against real PostgreSQL
// clusters, scraped over HTTP. Covers the command line, /metrics (promtool
// must accept it), the frozen-server case, reloads and secret redaction.

#include <crypt.h>
#include <libpq-fe.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <stdlib.h>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "engine/scheduler.hpp"
#include "engine/shard.hpp"
#include "engine/state_store.hpp"
#include "metrics/families.hpp"
#include "probes/history.hpp"
#include "support/fake_management_api.hpp"
#include "support/http_client.hpp"
#include "support/metrics_text.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"
#include "support/test_http_server.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const char* kDaemon = DRWATCH_DAEMON_PATH;

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
    // A later --storage.path in `flags` wins (a restart reusing a state directory).
    argv.push_back("--storage.path=" + MakeStateDir());
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

TEST(DaemonCli, AWebConfigIsValidatedAndABadOneRefusesToStart) {
  auto catalogue = WriteTempFile("web_catalogue.yml", CatalogueFor("host=127.0.0.1 port=1 dbname=x"));
  auto bad = WriteTempFile("web_bad.yml", "basic_auth_users:\n  alice: plaintext\n");
  std::string message = bad + ":2:10: basic_auth_users.alice: expected a bcrypt hash";
  auto r = RunCommand({kDaemon, "--config.file=" + catalogue, "--web.config.file=" + bad, "--config.check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  r = RunCommand({kDaemon, "--config.file=" + catalogue, "--web.config.file=" + bad,
                  "--web.listen-address=127.0.0.1:0", "--storage.path=" + MakeStateDir()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refusing to start: 1 error(s) in " + bad), std::string::npos) << r.err;
}

TEST(DaemonServe, BasicAuthGuardsMetricsButNotHealthOrReadiness) {
  crypt_data data{};
  std::string hash = crypt_r("secret", "$2b$05$abcdefghijklmnopqrstuu", &data);
  auto web = WriteTempFile("web.yml", "basic_auth_users:\n  prometheus: " + hash + "\n");
  auto catalogue = WriteTempFile("web_serve.yml", CatalogueFor("host=127.0.0.1 port=1 dbname=x"));
  Daemon d(catalogue, {"--web.config.file=" + web});  // waits on /-/ready: no password needed
  EXPECT_EQ(HttpGet("127.0.0.1", d.port(), "/-/healthy").status, 200);
  auto refused = HttpGet("127.0.0.1", d.port(), "/metrics");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.Header("WWW-Authenticate"), "Basic realm=\"drwatch\"");
  // "prometheus:secret" and "prometheus:wrong" in base64.
  EXPECT_EQ(HttpGet("127.0.0.1", d.port(), "/metrics", {{"Authorization", "Basic cHJvbWV0aGV1czp3cm9uZw=="}}).status,
            401);
  auto scraped = HttpGet("127.0.0.1", d.port(), "/metrics", {{"Authorization", "Basic cHJvbWV0aGV1czpzZWNyZXQ="}});
  EXPECT_EQ(scraped.status, 200);
  EXPECT_NE(scraped.body.find("drwatch_build_info"), std::string::npos);
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

// cron or CI runs one of the strategy's lists and reads JUnit XML.
TEST(DaemonCli, OnceRunsOneChecklistAndWritesJUnit) {
  PgCluster pg;
  CreateAuditLogs(pg);
  auto path = WriteTempFile("checklist.yml", CatalogueFor(pg.Dsn()) +
                                                 "  - {name: review, kind: postgres.security, target: a, "
                                                 "rules: {ssl_off: critical}}\n");
  auto r = RunCommand({kDaemon, "--config.file=" + path, "--once", "--checklist=weekly", "--output=junit"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("<testsuite name=\"drwatch.weekly\" tests=\"1\" failures=\"1\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<testcase classname=\"drwatch.weekly\" name=\"review\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<failure type=\"failure\" message=\"critical findings: rls_disabled_in_public (1), ssl_off (1)\">"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("a_ping"), std::string::npos) << "only the weekly list runs";

  r = RunCommand({kDaemon, "--config.file=" + path, "--once", "--checklist=daily"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("a_ping"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("review"), std::string::npos) << r.out;
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

  EXPECT_EQ(MetricValue(body, "drwatch_shard_info", {"shard=\"0\"", "shards=\"1\""}), 1);
  EXPECT_GE(MetricValue(body, "drwatch_check_schedule_delay_seconds_count").value_or(0), 2);
  EXPECT_TRUE(MetricValue(body, "drwatch_check_schedule_delay_seconds_bucket", {"le=\"+Inf\""}).has_value());

  auto promtool = RunCommand({"/usr/bin/promtool", "check", "metrics"}, body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;

  auto gz = HttpGet("127.0.0.1", d.port(), "/metrics", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  std::string unzipped = Gunzip(gz.body);
  EXPECT_NE(unzipped.find("drwatch_check_success"), std::string::npos);
  promtool = RunCommand({"/usr/bin/promtool", "check", "metrics"}, unzipped);
  EXPECT_EQ(promtool.exit_code, 0) << "the gzip body, a kept head and a fresh tail: " << promtool.out << promtool.err;
  EXPECT_EQ(HttpGet("127.0.0.1", d.port(), "/-/healthy").status, 200);
  EXPECT_EQ(HttpRequest("POST", "127.0.0.1", d.port(), "/-/reload").status, 403)
      << "lifecycle API is off by default";
}

// One catalogue with a check of every probe kind, for the scrape below.
std::string EveryKindCatalogue(const PgCluster& pg, const PgCluster& drill, const std::string& store,
                               const std::string& files, const TestHttpServer& web, const FakeManagementApi& supabase) {
  return "global: {interval: 3s, timeout: 2s}\ntargets:\n"
         "  a: {type: postgres, dsn: \"" + pg.Dsn() + "\"}\n"
         "  drill: {type: postgres, dsn: \"" + drill.Dsn() + "\"}\n"
         "  backups: {type: storage, url: \"file://" + store + "\"}\n"
         "  copy: {type: storage, url: \"file://" + store + "\"}\n"
         "  web: {type: http, url: \"" + web.Url("/healthz") + "\"}\n"
         "  supa: {type: supabase, project_ref: " + FakeManagementApi::kRef + ", access_token: " +
         FakeManagementApi::kToken + ", api_url: \"" + supabase.Url() + "\"}\n"
         "objectives:\n  rpo: {daily_operations: 24h}\n  rto: {authentication: 15m}\n"
         "checks:\n"
         "  - {name: ping, kind: postgres.ping, target: a}\n"
         "  - {name: recency, kind: postgres.recency, target: a, query: \"SELECT max(created_at) FROM audit_logs\", "
         "max_age: 1h, objective: rpo.daily_operations}\n"
         "  - {name: numbers, kind: postgres.query, target: a, query: \"SELECT 1 AS one\"}\n"
         "  - {name: archive, kind: postgres.wal_archive, target: a, max_age: 1h}\n"
         "  - {name: standbys, kind: postgres.replication, target: a, max_lag: 30s}\n"
         "  - {name: review, kind: postgres.security, target: a, interval: 3s}\n"
         "  - {name: baseline, kind: postgres.baseline, target: a, interval: 3s, checks: [ping], warmup: 1, window: 3, "
         "factor: 100}\n"
         "  - {name: site, kind: http, target: web}\n"
         "  - {name: platform, kind: supabase.backups, target: supa, max_age: 25h, interval: 3s}\n"
         "  - {name: store_up, kind: storage.reachable, target: backups}\n"
         "  - {name: store_fresh, kind: storage.freshness, target: backups, pattern: \"nightly/*/manifest.json\", "
         "max_age: 1h}\n"
         "  - {name: store_copy, kind: storage.replication, target: backups, replica: copy, "
         "pattern: \"nightly/*/manifest.json\", max_lag: 1h}\n"
         "  - {name: nightly, kind: backup.pg_dump, target: a, storage: backups, interval: 5s, timeout: 4s, "
         "tables: [public.audit_logs]}\n"
         "  - {name: functions, kind: backup.files, storage: backups, path: \"" + files + "\", interval: 5s, timeout: 4s}\n"
         "  - {name: project_config, kind: backup.supabase_config, target: supa, storage: backups, interval: 5s, "
         "timeout: 4s}\n"
         "  - {name: weekly_drill, kind: restore.drill, target: drill, backup: nightly, interval: 10s, timeout: 9s, "
         "covers: {authentication: [public.audit_logs]}}\n"
         "  - {name: drift, kind: postgres.schema_drift, target: a, backup: nightly, interval: 5s, timeout: 4s}\n";
}

struct ScrapedFamily {
  int help_lines = 0;
  int type_lines = 0;
  std::string help;
  std::string type;
};

// The label names of a series line: name{a="x",b="y\"z"} value.
std::vector<std::string> SeriesLabelNames(const std::string& line) {
  std::vector<std::string> names;
  auto open = line.find('{');
  if (open == std::string::npos || open > line.find(' ')) return names;
  for (std::size_t i = open + 1; i < line.size() && line[i] != '}';) {
    auto eq = line.find('=', i);
    names.push_back(line.substr(i, eq - i));
    i = eq + 2;  // past ="
    while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
    i += line[i + 1] == ',' ? 2 : 1;
  }
  return names;
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

// A check of every probe kind in one daemon: each family on /metrics has one
// HELP and one TYPE line, those declared in lib/metrics/families.hpp, and its
// series carry the declared labels; promtool accepts the whole.
TEST(DaemonServe, EveryKindTogetherShowsEachFamilyOnceAsDeclared) {
  PgCluster pg;
  PgCluster drill;
  CreateAuditLogs(pg);
  std::string store = MakeStateDir();
  std::string files = MakeStateDir();
  std::ofstream(files + "/index.ts") << "export default 1;\n";
  TestHttpServer web;
  FakeManagementApi supabase;
  auto path = WriteTempFile("every_kind.yml", EveryKindCatalogue(pg, drill, store, files, web, supabase));
  Daemon d(path);
  auto body = d.WaitMetrics([](const std::string& m) {
    for (const char* check : {"recency", "nightly", "store_fresh", "platform"}) {
      if (!MetricValue(m, "drwatch_data_age_seconds", {"check=\"" + std::string(check) + "\""})) return false;
    }
    // postgres.wal_archive exports its counters only with archive_mode on
    // (this cluster has it off); postgres_wal_archive_test covers them.
    for (const char* name : {"drwatch_data_max_age_seconds", "drwatch_postgres_server_info", "drwatch_query_one",
                             "drwatch_security_findings", "drwatch_baseline_ratio", "drwatch_http_status_code",
                             "drwatch_storage_free_bytes", "drwatch_storage_replication_lag_seconds",
                             "drwatch_backup_objects", "drwatch_restore_verified_tables", "drwatch_schema_drift",
                             "drwatch_supabase_config_changed_timestamp_seconds"}) {
      if (!MetricValue(m, name)) return false;
    }
    return MetricValue(m, "drwatch_backup_size_bytes", {"check=\"functions\""}).has_value();
  }, 60s);

  std::map<std::string, ScrapedFamily> families;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      auto space = line.find(' ', 7);
      ScrapedFamily& f = families[line.substr(7, space - 7)];
      bool help = line[2] == 'H';
      (help ? f.help_lines : f.type_lines)++;
      (help ? f.help : f.type) = line.substr(space + 1);
      continue;
    }
    std::string series = line.substr(0, line.find_first_of("{ "));
    const metrics::Family* family = metrics::FindFamily(series);
    auto labels = SeriesLabelNames(line);
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (family || !series.ends_with(suffix)) continue;
      family = metrics::FindFamily(series.substr(0, series.size() - std::strlen(suffix)));
      if (family && std::string_view(suffix) == "_bucket") labels.pop_back();  // le
    }
    if (series.starts_with("drwatch_query_")) continue;  // named by the check's columns
    ASSERT_TRUE(family) << "not declared in lib/metrics/families.hpp: " << line;
    EXPECT_EQ(Joined(labels), family->labels) << line;
  }
  for (const auto& [name, f] : families) {
    EXPECT_EQ(f.help_lines, 1) << name;
    EXPECT_EQ(f.type_lines, 1) << name;
    if (name.starts_with("drwatch_query_")) continue;
    const metrics::Family* family = metrics::FindFamily(name);
    ASSERT_TRUE(family) << "not declared in lib/metrics/families.hpp: " << name;
    EXPECT_EQ(f.help, family->help) << name;
    const char* types[] = {"gauge", "counter", "histogram"};
    EXPECT_EQ(f.type, types[static_cast<int>(family->type)]) << name;
  }
  auto promtool = RunCommand({"/usr/bin/promtool", "check", "metrics"}, body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;
}

// Between two results the kept part of /metrics is byte for byte the same;
// only the live series (process, loop lag, runs in flight, schedule delay)
// are new; the next result changes it.
TEST(DaemonServe, ScrapesWithoutANewResultShareTheRenderedBody) {
  auto path = WriteTempFile("quiet.yml", "global: {interval: 1h, timeout: 1s}\n"
                                         "targets: {a: {type: postgres, dsn: \"host=127.0.0.1 port=1 dbname=x\"}}\n"
                                         "checks:\n  - {name: quiet, kind: postgres.ping, target: a}\n");
  Daemon d(path);
  auto kept = [](const std::string& body) {
    std::string out;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
      bool live = false;
      for (const char* name : {"process_", "drwatch_event_loop_lag_seconds", "drwatch_scheduler_runs_in_flight",
                               "drwatch_check_schedule_delay_seconds", "drwatch_state_write_errors_total"}) {
        live = live || line.find(name) != std::string::npos;
      }
      if (!live) out += line + "\n";
    }
    return out;
  };
  std::string first = d.Metrics();
  std::string second = d.Metrics();
  EXPECT_EQ(kept(first), kept(second));
  EXPECT_NE(first.find("drwatch_check_runs_total{check=\"quiet\""), std::string::npos) << first;
  auto third = HttpGet("127.0.0.1", d.port(), "/metrics", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(kept(Gunzip(third.body)), kept(first));
}

// --shard=i/N: the shards split the checks, each exactly once; bad values are refused.
TEST(DaemonCli, ShardsSplitTheChecksInOnceAndConfigCheck) {
  std::string text = "global: {interval: 1h, timeout: 1s}\n"
                     "targets: {a: {type: postgres, dsn: \"host=127.0.0.1 port=1 dbname=x\"}}\nchecks:\n";
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) {
    names.push_back("check_" + std::to_string(i));
    text += "  - {name: " + names.back() + ", kind: postgres.ping, target: a}\n";
  }
  auto path = WriteTempFile("shards.yml", text);
  std::map<std::string, int> seen;
  for (int i = 0; i < 3; ++i) {
    std::string shard = "--shard=" + std::to_string(i) + "/3";
    auto r = RunCommand({kDaemon, "--config.file=" + path, "--once", shard});
    EXPECT_EQ(r.exit_code, 1) << "nothing listens on port 1: " << r.out << r.err;
    std::size_t mine = 0;
    for (const auto& name : names) {
      bool listed = std::regex_search(r.out, std::regex("\\b" + name + " +failure"));
      EXPECT_EQ(listed, engine::ShardOf(name, 3) == static_cast<std::uint32_t>(i)) << name << "\n" << r.out;
      seen[name] += listed;
      mine += listed;
    }
    r = RunCommand({kDaemon, "--config.file=" + path, "--config.check", shard});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "OK (shard " + std::to_string(i) + "/3: " + std::to_string(mine) + " of 12 checks, 0 of 0 objectives)\n");
  }
  for (const auto& name : names) EXPECT_EQ(seen[name], 1) << name;
  for (const char* bad : {"--shard=0/0", "--shard=3/2", "--shard=a/b", "--shard=1/0"}) {
    auto r = RunCommand({kDaemon, "--config.file=" + path, bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find(std::string("invalid --shard \"") + (bad + 8) + "\""), std::string::npos) << r.err;
  }
}

// The status page a person opens: the checklists with each check's state,
// the objectives, and the same data as JSON; never a DSN.
// The daemon hands --storage.path to the performance baseline: its history
// file appears there and its ratios reach /metrics, which still passes promtool.
TEST(DaemonServe, PerformanceBaselineKeepsItsHistoryAndExportsRatios) {
  PgCluster pg;
  CreateAuditLogs(pg);
  std::string state = MakeStateDir();
  auto path = WriteTempFile("baseline.yml", CatalogueFor(pg.Dsn()) + R"(  - name: baseline
    kind: postgres.baseline
    target: a
    interval: 2s
    checks: [a_ping]
    warmup: 1
    window: 3
    factor: 100  # the wiring is tested here, not the judgement (a loaded machine varies a ping's time)
)");
  Daemon d(path, {"--storage.path=" + state});
  auto body = d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_baseline_ratio", {"check=\"baseline\"", "subject=\"check:a_ping\""}).has_value() &&
           MetricValue(m, "drwatch_baseline_ratio", {"subject=\"table:public.audit_logs\""}).has_value();
  }, 20s);
  EXPECT_EQ(MetricValue(body, "drwatch_check_success", {"check=\"baseline\""}), 1);
  EXPECT_TRUE(std::filesystem::exists(state + "/history/baseline.json"));
  auto promtool = RunCommand({"/usr/bin/promtool", "check", "metrics"}, body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;
}

TEST(DaemonServe, TheStatusPageShowsTheChecklistsTickingThemselves) {
  PgCluster pg;
  CreateAuditLogs(pg);
  pg.Exec(std::string("GRANT SELECT ON audit_logs TO ") + PgCluster::kPasswordUser);
  auto path = WriteTempFile("status.yml", CatalogueFor(pg.PasswordDsn()));
  Daemon d(path);
  d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1 &&
           MetricValue(m, "drwatch_check_success", {"check=\"a_ping\""}) == 1;
  });
  auto page = HttpGet("127.0.0.1", d.port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("Daily checklist"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("id=\"check-a_recency\"><td class=\"state ok\">"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("rpo.daily_operations"), std::string::npos);
  EXPECT_EQ(page.body.find(PgCluster::kPassword), std::string::npos) << "no secret on the page";
  EXPECT_EQ(page.body.find("host="), std::string::npos) << "no DSN on the page";
  auto json = HttpGet("127.0.0.1", d.port(), "/status.json");
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.Header("Content-Type"), "application/json");
  EXPECT_NE(json.body.find("\"name\":\"a_ping\""), std::string::npos) << json.body;
  EXPECT_NE(json.body.find("\"checklist\":\"daily\""), std::string::npos) << json.body;
  EXPECT_EQ(json.body.find(PgCluster::kPassword), std::string::npos);
}

// What a person sees: Debian's Chromium renders the page headless; the
// rendered DOM shows each check's state, and a screenshot is kept as a test
// artefact (build/tests/artifacts/status-page.png).
TEST(DaemonServe, AHeadlessBrowserRendersEachChecksState) {
  PgCluster pg;
  CreateAuditLogs(pg);
  pg.Exec("UPDATE audit_logs SET created_at = now() - interval '2 hours'");
  auto path = WriteTempFile("browser.yml", CatalogueFor(pg.Dsn()));
  Daemon d(path);
  d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 0 &&
           MetricValue(m, "drwatch_check_success", {"check=\"a_ping\""}) == 1;
  });
  std::string url = "http://127.0.0.1:" + std::to_string(d.port()) + "/";
  std::string profile = (std::filesystem::temp_directory_path() / "drwatch-chromium-XXXXXX").string();
  ASSERT_NE(::mkdtemp(profile.data()), nullptr);
  std::vector<std::string> browser = {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                      "--no-first-run", "--user-data-dir=" + profile, "--window-size=900,1200"};
  auto dom_argv = browser;
  dom_argv.insert(dom_argv.end(), {"--dump-dom", url});
  auto dom = RunCommand(dom_argv, "", {}, std::chrono::seconds(120));
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_NE(dom.out.find("Daily checklist"), std::string::npos) << dom.out;
  EXPECT_TRUE(std::regex_search(dom.out, std::regex(R"(id="check-a_ping"><td class="state ok">✓ ok( \(running\))?</td>)"))) << dom.out;
  EXPECT_TRUE(std::regex_search(dom.out, std::regex(R"(id="check-a_recency"><td class="state failing">✗ failing)")))
      << dom.out;
  EXPECT_NE(dom.out.find("newest row is 2h"), std::string::npos) << dom.out;
  namespace fs = std::filesystem;
  fs::create_directories(DRWATCH_ARTIFACT_DIR);
  std::string shot = std::string(DRWATCH_ARTIFACT_DIR) + "/status-page.png";
  auto shot_argv = browser;
  shot_argv.insert(shot_argv.end(), {"--screenshot=" + shot, url});
  auto taken = RunCommand(shot_argv, "", {}, std::chrono::seconds(120));
  EXPECT_EQ(taken.exit_code, 0) << taken.err;
  EXPECT_GT(fs::exists(shot) ? fs::file_size(shot) : 0, 10000u) << "a rendered page, not a blank one";
  fs::remove_all(profile);
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

// State that outlives a restart, and the commands for people.

namespace drwatch::test {
namespace {

// The a_recency check of CatalogueFor with `interval` instead of the global 2s.
std::string WithRecencyInterval(std::string text, const std::string& interval) {
  const std::string objective = "    objective: rpo.daily_operations\n";
  text.replace(text.find(objective), objective.size(), objective + "    interval: " + interval + "\n");
  return text;
}

TEST(DaemonState, RestartExportsTheSavedResultsBeforeTheNextRun) {
  PgCluster pg;
  CreateAuditLogs(pg);
  std::string state = MakeStateDir();
  auto path = WriteTempFile("state.yml", CatalogueFor(pg.Dsn()));
  std::optional<double> last_success, age;
  {
    Daemon d(path, {"--storage.path=" + state});
    auto body = d.WaitMetrics([](const std::string& m) {
      return MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1;
    });
    // The file is written after the run, off the loop: wait for it.
    for (auto until = Clock::now() + 5s; Clock::now() < until && !std::filesystem::exists(state + "/checks/a_recency.json");)
      std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(300ms);
    body = d.Metrics();
    last_success = MetricValue(body, "drwatch_check_last_success_timestamp_seconds", {"check=\"a_recency\""});
    age = MetricValue(body, "drwatch_data_age_seconds", {"check=\"a_recency\""});
    ASSERT_TRUE(last_success && age) << body;
    d.process().Signal(SIGKILL);  // no goodbye: the state was saved after the run, not at exit
    d.process().WaitExit(5s);
  }
  // Restarted with a long interval: the saved run is recent, so no run now.
  auto slow = WriteTempFile("state-slow.yml", WithRecencyInterval(CatalogueFor(pg.Dsn()), "1h"));
  Daemon d(slow, {"--storage.path=" + state});
  std::string body = d.Metrics();
  EXPECT_EQ(MetricValue(body, "drwatch_check_success", {"check=\"a_recency\""}), 1) << body;
  // Equal unless a 2 s run slipped in between the scrape and SIGKILL.
  EXPECT_NEAR(MetricValue(body, "drwatch_check_last_success_timestamp_seconds", {"check=\"a_recency\""}).value_or(0),
              *last_success, 2.5);
  EXPECT_NEAR(MetricValue(body, "drwatch_data_age_seconds", {"check=\"a_recency\""}).value_or(-100), *age, 2.5);
  EXPECT_EQ(MetricValue(body, "drwatch_objective_met", {"objective=\"rpo\"", "name=\"daily_operations\""}), 1);
  EXPECT_EQ(MetricValue(body, "drwatch_state_write_errors_total"), 0);
  auto runs = MetricValue(body, "drwatch_check_runs_total", {"check=\"a_recency\"", "result=\"success\""});
  EXPECT_GE(runs.value_or(0), 1) << "run counters carry on across a restart";
  std::this_thread::sleep_for(3s);
  body = d.Metrics();
  EXPECT_EQ(MetricValue(body, "drwatch_check_runs_total", {"check=\"a_recency\"", "result=\"success\""}), runs)
      << "a check with interval 1h that ran seconds ago ran again at start";
}

TEST(DaemonState, HourlyCheckThatRanTenMinutesAgoDoesNotRunAtStart) {
  std::string state = MakeStateDir();
  engine::StateStore store(state);
  std::string error;
  ASSERT_TRUE(store.Prepare(error)) << error;
  engine::CheckState saved;
  saved.has_result = true;
  saved.success = true;
  saved.last_result = engine::RunResult::kSuccess;
  saved.last_run_timestamp = ToUnixSeconds(std::chrono::system_clock::now() - 10min);
  saved.last_success_timestamp = saved.last_run_timestamp;
  saved.runs = {7, 0, 0, 0};
  std::int64_t mtime = 0;
  ASSERT_TRUE(store.Write("a_ping", engine::EncodeState("a_ping", "postgres.ping", saved), mtime, error)) << error;
  // Port 1: a run would fail at once, and show as a failure.
  std::string text = CatalogueFor("host=127.0.0.1 port=1 dbname=x connect_timeout=1");
  text.replace(text.find("    target: a\n"), 14, "    target: a\n    interval: 1h\n");
  auto path = WriteTempFile("hourly.yml", text);
  Daemon d(path, {"--storage.path=" + state});
  std::this_thread::sleep_for(3s);
  auto body = d.Metrics();
  EXPECT_EQ(MetricValue(body, "drwatch_check_runs_total", {"check=\"a_ping\"", "result=\"success\""}), 7) << body;
  EXPECT_EQ(MetricValue(body, "drwatch_check_runs_total", {"check=\"a_ping\"", "result=\"failure\""}), 0) << body;
  EXPECT_NEAR(MetricValue(body, "drwatch_check_last_run_timestamp_seconds", {"check=\"a_ping\""}).value_or(0),
              saved.last_run_timestamp, 0.01);
}

TEST(DaemonState, CorruptStateIsSetAsideAndTheDaemonStarts) {
  std::string state = MakeStateDir();
  std::filesystem::create_directories(state + "/checks");
  std::ofstream(state + "/checks/a_ping.json") << "{ not json";
  auto path = WriteTempFile("corrupt.yml", CatalogueFor("host=127.0.0.1 port=1 dbname=x"));
  Daemon d(path, {"--storage.path=" + state});
  EXPECT_TRUE(d.process().WaitForOutput(state + "/checks/a_ping.json: invalid JSON", 5s)) << d.process().Output();
  bool set_aside = false;
  for (const auto& e : std::filesystem::directory_iterator(state + "/checks")) {
    set_aside = set_aside || e.path().filename().string().rfind("a_ping.json.corrupt-", 0) == 0;
  }
  EXPECT_TRUE(set_aside);
}

TEST(DaemonState, UnwritableStoragePathIsCountedNotFatal) {
  auto file = WriteTempFile("not-a-dir", "x");
  PgCluster pg;
  auto path = WriteTempFile("unwritable.yml", CatalogueFor(pg.Dsn()));
  Daemon d(path, {"--storage.path=" + file});
  d.WaitMetrics([](const std::string& m) {
    return MetricValue(m, "drwatch_state_write_errors_total").value_or(0) >= 2 &&
           MetricValue(m, "drwatch_check_success", {"check=\"a_ping\""}) == 1;
  });
  EXPECT_TRUE(d.process().WaitForOutput("cannot save check state", 1s));
}

TEST(DaemonState, AdoptsAResultTheCommandLineSaved) {
  std::string state = MakeStateDir();
  auto path = WriteTempFile("adopt.yml", WithRecencyInterval(CatalogueFor("host=127.0.0.1 port=1 dbname=x"), "1h"));
  Daemon d(path, {"--storage.path=" + state});
  engine::CheckState saved;
  saved.has_result = true;
  saved.success = true;
  saved.last_result = engine::RunResult::kSuccess;
  saved.last_run_timestamp = ToUnixSeconds(std::chrono::system_clock::now());
  saved.last_success_timestamp = saved.last_run_timestamp;
  saved.runs = {1, 0, 0, 0};
  saved.samples.push_back({"drwatch_data_age_seconds", "Age.", metrics::MetricType::kGauge, {}, 12});
  engine::StateStore store(state);
  std::string error;
  std::int64_t mtime = 0;
  ASSERT_TRUE(store.Write("a_recency", engine::EncodeState("a_recency", "postgres.recency", saved), mtime, error))
      << error;
  d.WaitMetrics(
      [](const std::string& m) {
        return MetricValue(m, "drwatch_data_age_seconds", {"check=\"a_recency\""}) == 12 &&
               MetricValue(m, "drwatch_check_success", {"check=\"a_recency\""}) == 1;
      },
      25s);
}

TEST(DaemonCommands, RefuseAnUnknownCheckOrOneOfTheWrongKind) {
  std::string state = MakeStateDir();
  auto path = WriteTempFile("cmd.yml", CatalogueFor("host=127.0.0.1 port=1 dbname=x"));
  auto r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "run", "a_ping"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "drwatchd: check \"a_ping\" is a postgres.ping check; backup run takes a backup.pg_dump, "
                   "backup.files or backup.supabase_config check\n");
  r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "restore", "drill", "a_recency"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "drwatchd: check \"a_recency\" is a postgres.recency check; restore drill takes a restore.drill check\n");
  r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "list", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "drwatchd: no check \"nope\" in " + path + "\n");
  r = RunCommand({kDaemon, "--config.file=" + path, "restore", "latest", "a_ping"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("restore latest needs the database to restore into: --to DSN, --to-file PATH or "
                       "$DRWATCH_RESTORE_DSN"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(state + "/checks")) << "a refused command wrote state";
}

// The target's password can stay out of ps: --to-file (a private file) or
// $DRWATCH_RESTORE_DSN; a password given with --to is warned about. The
// backup store is empty, so each run ends at "no complete backup".
TEST(DaemonCommands, RestoreLatestTakesItsTargetFromAPrivateFileOrTheEnvironment) {
  std::string store = MakeStateDir();
  auto path = WriteTempFile("restore_target.yml",
                            "targets:\n  a: {type: postgres, dsn: \"host=127.0.0.1 port=1 dbname=x\"}\n"
                            "  backups: {type: storage, url: \"file://" + store + "\"}\n"
                            "checks:\n  - {name: nightly, kind: backup.pg_dump, target: a, storage: backups}\n");
  const std::string password = "Hunter2-restore-pw";
  const std::string dsn = "host=127.0.0.1 port=1 dbname=new password=" + password;
  std::vector<std::string> base = {kDaemon, "--config.file=" + path, "--storage.path=" + MakeStateDir(), "restore",
                                   "latest", "nightly"};
  auto with = [&](std::vector<std::string> extra) {
    auto argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  };
  const std::string warning = "warning: --to carries a password";

  auto r = RunCommand(with({"--to", dsn}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(warning), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find(password), std::string::npos) << r.out << r.err;

  auto file = WriteTempFile("restore.dsn", dsn + "\n");  // mode 0600
  r = RunCommand(with({"--to-file", file}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.find(warning), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("no complete backup of nightly"), std::string::npos) << r.out;  // past the target
  EXPECT_EQ((r.out + r.err).find(password), std::string::npos) << r.out << r.err;

  std::filesystem::permissions(file, std::filesystem::perms::others_read, std::filesystem::perm_options::add);
  r = RunCommand(with({"--to-file", file}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "drwatchd: secret file " + file + " is readable by every user (mode 0604): run chmod 600 " + file +
                       " (or chmod o-rw " + file + ")\n");

  r = RunCommand(base, "", {"DRWATCH_RESTORE_DSN=" + dsn});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.find(warning), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("no complete backup of nightly"), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find(password), std::string::npos) << r.out << r.err;
}

// backup run and backup list through the real pg_dump, the result saved
// where the daemon finds it.
TEST(DaemonCommands, BackupRunRecordsItsResultAndBackupListShowsTheRun) {
  PgCluster pg;
  CreateAuditLogs(pg);
  std::string state = MakeStateDir();
  std::string store = MakeStateDir();
  std::string text = "targets:\n  a: {type: postgres, dsn: \"" + pg.Dsn() +
                     "\"}\n  backups: {type: storage, url: \"file://" + store +
                     "\"}\nchecks:\n  - name: nightly\n    kind: backup.pg_dump\n    target: a\n"
                     "    storage: backups\n    schedule: \"daily 02:30\"\n    timeout: 5m\n";
  auto path = WriteTempFile("backup.yml", text);
  auto r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "run", "nightly"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("backup run nightly: success in "), std::string::npos) << r.out;
  engine::StateStore states(state);
  std::string error;
  auto saved = states.Load("nightly", error);
  ASSERT_TRUE(saved.has_value()) << error;
  EXPECT_EQ(saved->kind, "backup.pg_dump");
  EXPECT_TRUE(saved->state.success);
  EXPECT_EQ(saved->state.runs[0], 1u);
  EXPECT_TRUE(saved->state.last_success_timestamp.has_value());

  r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "list", "nightly"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(r.out.empty());

  // A second run counts on from the saved counters.
  r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "run", "nightly"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  saved = states.Load("nightly", error);
  ASSERT_TRUE(saved.has_value()) << error;
  EXPECT_EQ(saved->state.runs[0], 2u);

  // The daemon exports the saved result at start, long before 02:30.
  Daemon d(path, {"--storage.path=" + state});
  auto body = d.Metrics();
  EXPECT_EQ(MetricValue(body, "drwatch_check_success", {"check=\"nightly\""}), 1) << body;
  EXPECT_EQ(MetricValue(body, "drwatch_check_interval_seconds", {"check=\"nightly\""}), 86400);
  EXPECT_EQ(MetricValue(body, "drwatch_check_runs_total", {"check=\"nightly\"", "result=\"success\""}), 2);
}

TEST(DaemonCommands, BackupRunFailureExitsOneAndIsRecorded) {
  std::string state = MakeStateDir();
  std::string store = MakeStateDir();
  std::string text = "targets:\n  a: {type: postgres, dsn: \"host=127.0.0.1 port=1 dbname=x user=postgres connect_timeout=2\"}\n"
                     "  backups: {type: storage, url: \"file://" + store +
                     "\"}\nchecks:\n  - name: nightly\n    kind: backup.pg_dump\n    target: a\n"
                     "    storage: backups\n    timeout: 1m\n";
  auto path = WriteTempFile("backup-down.yml", text);
  auto r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "run", "nightly"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("backup run nightly: failure in "), std::string::npos) << r.out;
  engine::StateStore states(state);
  std::string error;
  auto saved = states.Load("nightly", error);
  ASSERT_TRUE(saved.has_value()) << error;
  EXPECT_FALSE(saved->state.success);
  EXPECT_EQ(saved->state.runs[1], 1u);
}

TEST(DaemonCommands, SigintCancelsARunWhichIsNotRecorded) {
  PgCluster pg;
  std::string state = MakeStateDir();
  std::string store = MakeStateDir();
  std::string text = "targets:\n  a: {type: postgres, dsn: \"" + pg.Dsn() +
                     "\"}\n  backups: {type: storage, url: \"file://" + store +
                     "\"}\nchecks:\n  - name: nightly\n    kind: backup.pg_dump\n    target: a\n"
                     "    storage: backups\n    timeout: 5m\n";
  auto path = WriteTempFile("backup-int.yml", text);
  pg.Freeze();  // the dump hangs on a server that never answers
  ChildProcess cli({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "run", "nightly"});
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(cli.WaitExit(0ms).has_value()) << "the run ended on a frozen server:\n" << cli.Output();
  cli.Signal(SIGINT);
  auto code = cli.WaitExit(15s);
  pg.Thaw();
  EXPECT_EQ(code, 130) << cli.Output();
  EXPECT_NE(cli.Output().find("backup run nightly cancelled; nothing recorded"), std::string::npos) << cli.Output();
  EXPECT_FALSE(std::filesystem::exists(state + "/checks/nightly.json"));
}

// restore drill from the command line: the drill's measured RTO is saved and
// the daemon exports it at start, days before the drill's weekly run.
TEST(DaemonCommands, RestoreDrillSavesTheMeasuredRtoForTheDaemon) {
  PgCluster source;
  PgCluster drill;
  CreateAuditLogs(source);
  std::string state = MakeStateDir();
  std::string store = MakeStateDir();
  std::string text = "targets:\n  db: {type: postgres, dsn: \"" + source.Dsn() + "\"}\n"
                     "  drill: {type: postgres, dsn: \"" + drill.Dsn() + "\"}\n"
                     "  backups: {type: storage, url: \"file://" + store + "\"}\n"
                     "objectives:\n  rto: {authentication: 15m}\n"
                     "checks:\n"
                     "  - {name: nightly, kind: backup.pg_dump, target: db, storage: backups, tables: [public.audit_logs]}\n"
                     "  - name: weekly_drill\n    kind: restore.drill\n    target: drill\n    backup: nightly\n"
                     "    covers:\n      authentication: [public.audit_logs]\n";
  auto path = WriteTempFile("drill.yml", text);
  auto r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "run", "nightly"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Backup performance: the run's duration joins the check's history. Earlier
  // drills that took a millisecond each make this one far more than 2x slower.
  std::string error;
  EXPECT_EQ(probes::LoadHistory(state, "nightly", error).subjects["duration"].samples.size(), 1u) << error;
  probes::History fast;
  fast.subjects["duration"].samples = {0.001, 0.001, 0.001};
  ASSERT_TRUE(probes::SaveHistory(state, "weekly_drill", fast, error)) << error;
  r = RunCommand({kDaemon, "--config.file=" + path, "--storage.path=" + state, "restore", "drill", "weekly_drill"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::cout << r.out;  // each step's time: the figures of the report
  EXPECT_NE((r.out + r.err).find("check weekly_drill: drill took "), std::string::npos) << r.out << r.err;
  EXPECT_EQ(probes::LoadHistory(state, "weekly_drill", error).subjects["duration"].samples.size(), 4u) << error;
  EXPECT_NE(r.out.find("restore drill weekly_drill: success in "), std::string::npos) << r.out;
  engine::StateStore states(state);
  auto saved = states.Load("weekly_drill", error);
  ASSERT_TRUE(saved.has_value()) << error;
  ASSERT_TRUE(saved->state.objective_observed.contains("rto.authentication"));
  double measured = saved->state.objective_observed.at("rto.authentication");

  Daemon d(path, {"--storage.path=" + state});
  auto body = d.Metrics();
  EXPECT_EQ(MetricValue(body, "drwatch_check_success", {"check=\"weekly_drill\""}), 1) << body;
  EXPECT_EQ(MetricValue(body, "drwatch_check_interval_seconds", {"check=\"weekly_drill\""}), 7 * 86400);
  EXPECT_NEAR(MetricValue(body, "drwatch_objective_observed_seconds", {"objective=\"rto\"", "name=\"authentication\""})
                  .value_or(-1),
              measured, 0.01)
      << body;
  EXPECT_EQ(MetricValue(body, "drwatch_objective_met", {"objective=\"rto\"", "name=\"authentication\""}), 1);
  EXPECT_GT(MetricValue(body, "drwatch_backup_duration_ratio", {"check=\"weekly_drill\""}).value_or(0), 2) << body;
}

}  // namespace
}  // namespace drwatch::test

namespace drwatch::test {
namespace {

// Processes whose parent is `parent` and whose command line contains `needle`.
std::vector<int> ChildrenOf(int parent, const std::string& needle) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream status(entry.path() / "status");
    int ppid = -1;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("PPid:", 0) == 0) ppid = std::stoi(line.substr(5));
    }
    if (ppid != parent) continue;
    std::ifstream cmdline(entry.path() / "cmdline");
    std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (args.find(needle) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

// A new check's first run comes at a stable offset into its interval: a
// check name whose offset lies in [from, to), so a test need not wait minutes.
std::string NameDueWithin(std::chrono::minutes interval, std::chrono::seconds from, std::chrono::seconds to) {
  for (int i = 0;; ++i) {
    std::string candidate = "nightly_" + std::to_string(i);
    auto offset = engine::Scheduler::SpreadOffset(candidate, interval);
    if (offset >= from && offset < to) return candidate;
  }
}

// A catalogue with one backup.pg_dump check `name` of `pg` into `store`,
// every 10 minutes, plus `extra` keys.
std::string ScheduledBackup(const PgCluster& pg, const std::string& store, const std::string& name,
                            const std::string& extra) {
  return "targets:\n  a: {type: postgres, dsn: \"" + pg.Dsn() + "\"}\n  backups: {type: storage, url: \"file://" +
         store + "\"}\nchecks:\n  - name: " + name + "\n    kind: backup.pg_dump\n    target: a\n"
         "    storage: backups\n    interval: 10m\n" + extra;
}

// SIGTERM while a scheduled backup runs: drwatchd exits promptly, takes
// pg_dump's process group with it, and leaves no run that looks complete.
TEST(DaemonShutdown, SigtermDuringABackupKillsPgDumpAndLeavesNoCompleteRun) {
  PgCluster pg;
  CreateAuditLogs(pg);
  std::string store = MakeStateDir();
  std::string name = NameDueWithin(std::chrono::minutes(10), 0s, 3s);
  auto path = WriteTempFile("backup-sigterm.yml", ScheduledBackup(pg, store, name, "    timeout: 5m\n"));
  // pg_dump waits for this lock, so the run is in flight when SIGTERM comes.
  PGconn* locker = PQconnectdb(pg.Dsn().c_str());
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK);
  PQclear(PQexec(locker, "BEGIN; LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE"));

  Daemon d(path);
  std::vector<int> dumping;
  for (auto until = Clock::now() + 15s; Clock::now() < until && dumping.empty();
       std::this_thread::sleep_for(100ms)) {
    dumping = ChildrenOf(d.process().pid(), "--snapshot=");
  }
  ASSERT_EQ(dumping.size(), 1u) << d.process().Output();

  auto sent = Clock::now();
  d.process().Signal(SIGTERM);
  auto code = d.process().WaitExit(10s);
  ASSERT_TRUE(code.has_value()) << "drwatchd did not exit after SIGTERM:\n" << d.process().Output();
  EXPECT_EQ(*code, 0) << d.process().Output();
  std::cout << "[shutdown] SIGTERM during pg_dump -> exit in "
            << std::chrono::duration<double>(Clock::now() - sent).count() << " s\n";
  std::error_code ec;
  for (auto until = Clock::now() + 2s; Clock::now() < until && std::filesystem::exists("/proc/" + std::to_string(dumping[0]), ec);) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(dumping[0]), ec)) << "pg_dump outlived drwatchd";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(store)) {
    EXPECT_NE(entry.path().filename(), "manifest.json") << entry.path();
    // The cancelled writer's temp file is removed before drwatchd exits.
    EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
  }
  PQclear(PQexec(locker, "ROLLBACK"));
  PQfinish(locker);
}

// The daemon's run that falls due while `backup run` holds the check is
// skipped, not run next to it: counted, logged with the holder, and the
// command line's run completes.
TEST(DaemonCommands, AScheduledRunDueWhileBackupRunHoldsTheCheckIsSkipped) {
  PgCluster pg;
  CreateAuditLogs(pg);
  pg.Exec("CREATE TABLE blocker (id int)");
  std::string state = MakeStateDir();
  std::string store = MakeStateDir();
  std::string name = NameDueWithin(std::chrono::minutes(10), 2s, 6s);
  auto path = WriteTempFile("backup-skip.yml",
                            ScheduledBackup(pg, store, name, "    tables: [public.audit_logs]\n    timeout: 1m\n"));
  PGconn* locker = PQconnectdb(pg.Dsn().c_str());  // pg_dump waits for this lock
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK);
  PQclear(PQexec(locker, "BEGIN; LOCK TABLE blocker IN ACCESS EXCLUSIVE MODE"));
  ChildProcess cli({kDaemon, "--config.file=" + path, "--storage.path=" + state, "backup", "run", name});
  for (int i = 0; i < 200 && !std::filesystem::exists(state + "/locks/" + name + ".lock"); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  {
    Daemon d(path, {"--storage.path=" + state});
    d.WaitMetrics([&](const std::string& m) {
      return MetricValue(m, "drwatch_check_runs_total", {"check=\"" + name + "\"", "result=\"skipped\""}) == 1;
    });
    EXPECT_TRUE(d.process().WaitForOutput(
        "check " + name + ": run skipped: already running (pid " + std::to_string(cli.pid()) + ", since ", 5s))
        << d.process().Output();
    EXPECT_EQ(MetricValue(d.Metrics(), "drwatch_check_runs_total", {"check=\"" + name + "\"", "result=\"success\""}),
              0);
  }
  PQclear(PQexec(locker, "ROLLBACK"));
  PQfinish(locker);
  EXPECT_EQ(cli.WaitExit(60s), 0) << cli.Output();
}

}  // namespace
}  // namespace drwatch::test

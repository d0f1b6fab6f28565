// From metric to page with the real programs: PostgreSQL with a live
// audit_logs table, drwatchd, Prometheus (1 s scrape and evaluation, the
// shipped config/alerts/drwatch.rules.yml exactly as shipped), Alertmanager
// (webhook receiver, group_wait 0s) and a webhook sink. Also runs every PromQL
// expression of config/grafana/drwatch.json against that Prometheus.
//
// Latencies are printed as "[alert latency] …" lines (ctest -V shows them).

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/alerting_stack.hpp"
#include "support/grafana_dashboard.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Labels = std::vector<std::pair<std::string, std::string>>;

const std::string kSource = DRWATCH_SOURCE_DIR;
constexpr int kMaxAgeSeconds = 5;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Inserts an audit_logs row every 200 ms while running; remembers when the
// last insert committed.
class AuditWriter {
 public:
  explicit AuditWriter(const PgCluster& pg) : pg_(pg) {}
  ~AuditWriter() { Stop(); }

  void Start() {
    Stop();
    running_ = true;
    thread_ = std::thread([this] {
      while (running_) {
        try {
          pg_.Exec("INSERT INTO audit_logs (actor, action) VALUES ('writer', 'tick')");
          std::lock_guard lock(mutex_);
          last_insert_ = Clock::now();
        } catch (const std::exception&) {
          // The database is being stopped; the test decides what that means.
        }
        for (int i = 0; i < 20 && running_; ++i) std::this_thread::sleep_for(10ms);
      }
    });
  }
  /// Stops writing; returns when the last insert committed.
  Clock::time_point Stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    return last_insert_;
  }

 private:
  const PgCluster& pg_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::mutex mutex_;
  Clock::time_point last_insert_{};
};

std::string Catalogue(const std::string& dsn) {
  return "global: {interval: 1s, timeout: 500ms}\n"
         "targets:\n  primary: {type: postgres, dsn: \"" + dsn + "\"}\n" +
         R"(objectives:
  rpo: {daily_operations: 1h}
  rto: {core_business_logic: 30m}
checks:
  - name: db_ping
    kind: postgres.ping
    target: primary
  - name: audit_logs_recency
    kind: postgres.recency
    target: primary
    query: SELECT max(created_at) FROM audit_logs
    max_age: )" + std::to_string(kMaxAgeSeconds) + "s\n" +
         "    objective: rpo.daily_operations\n";
}

std::string PrometheusConfig(int drwatch_port, int alertmanager_port) {
  return "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
         "rule_files:\n  - " + kSource + "/config/alerts/drwatch.rules.yml\n"
         "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:" +
         std::to_string(alertmanager_port) + "']\n"
         "scrape_configs:\n  - job_name: drwatch\n    static_configs:\n        - targets: ['127.0.0.1:" +
         std::to_string(drwatch_port) + "']\n";
}

std::string AlertmanagerConfig(const std::string& webhook_url) {
  return "route:\n  receiver: sink\n  group_by: [alertname, check, target]\n"
         "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
         "receivers:\n  - name: sink\n    webhook_configs:\n      - url: " + webhook_url +
         "\n        send_resolved: true\n";
}

// drwatchd on a free port, ready (as in daemon_test.cpp).
std::unique_ptr<ChildProcess> StartDaemon(const std::string& catalogue_path, int port) {
  auto process = std::make_unique<ChildProcess>(WithParentDeathSignal(
      {DRWATCH_DAEMON_PATH, "--config.file=" + catalogue_path,
       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--storage.path=" + MakeStateDir()}));
  for (auto until = Clock::now() + 10s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    try {
      if (HttpGet("127.0.0.1", port, "/-/ready").status == 200) return process;
    } catch (const std::exception&) {
    }
  }
  pgproc::Fail("drwatchd did not become ready:\n" + process->Output());
}

class AlertingEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    started_ = Clock::now();
    pg_.Exec("CREATE TABLE audit_logs (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),"
             " actor text, action text)");
    writer_.Start();
    drwatch_port_ = pgproc::FreeLoopbackPort();
    daemon_ = StartDaemon(WriteTempFile("drwatch.yml", Catalogue(pg_.Dsn())), drwatch_port_);
    alertmanager_ = std::make_unique<AlertmanagerServer>(AlertmanagerConfig(sink_.Url()));
    prometheus_ = std::make_unique<PrometheusServer>(PrometheusConfig(drwatch_port_, alertmanager_->port()));
    instance_ = "127.0.0.1:" + std::to_string(drwatch_port_);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- drwatchd log\n" << daemon_->Output() << "--- webhook notifications\n";
      for (const auto& n : sink_.Received()) std::cerr << json::serialize(n.body) << "\n";
      std::cerr << "--- prometheus log (tail)\n" << Tail(prometheus_->Log())
                << "--- alertmanager log (tail)\n" << Tail(alertmanager_->Log());
    }
    std::cout << "[alert latency] test took " << Seconds(Clock::now() - started_) << " s\n";
  }

  static std::string Tail(const std::string& text) {
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  // Polls Prometheus until `promql` returns at least one series.
  void WaitForSeries(const std::string& promql, std::chrono::milliseconds timeout = 30s) {
    auto start = Clock::now();
    while (prometheus_->QueryVector(promql).empty()) {
      ASSERT_LT(Clock::now() - start, timeout) << "Prometheus never returned " << promql;
      std::this_thread::sleep_for(100ms);
    }
  }

  // Waits until both checks have reported to Prometheus and the rules have
  // been evaluated on that data (an evaluation after the first scrape).
  void WaitUntilWatching() {
    WaitForSeries("drwatch_check_success{check=\"db_ping\"} == 1");
    WaitForSeries("drwatch_check_success{check=\"audit_logs_recency\"} == 1");
    WaitForSeries("drwatch_data_age_seconds{check=\"audit_logs_recency\"}");
    // Prometheus runs with TZ=UTC, so lastEvaluation is "…Z" and compares as text.
    auto after = FormatRfc3339(std::chrono::system_clock::now() + 1s);
    for (auto until = Clock::now() + 10s;; std::this_thread::sleep_for(100ms)) {
      ASSERT_LT(Clock::now(), until) << "the rules were never evaluated";
      auto rules = prometheus_->Rules();
      const auto& group = rules.at("data").at("groups").as_array().at(0).as_object();
      auto last = std::string(group.at("lastEvaluation").as_string());
      if (last > after) break;
    }
  }

  static std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
    std::time_t s = std::chrono::system_clock::to_time_t(t);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", std::gmtime(&s));
    return buffer;
  }

  // Every alert ALERTS currently holds, as "name/check".
  std::vector<std::string> ActiveAlerts() {
    std::vector<std::string> out;
    for (const auto& s : prometheus_->QueryVector("ALERTS")) {
      const auto& m = s.at("metric").as_object();
      auto check = m.if_contains("check");
      out.push_back(std::string(m.at("alertname").as_string()) + "/" +
                    (check ? std::string(check->as_string()) : "") + " " +
                    std::string(m.at("alertstate").as_string()));
    }
    return out;
  }

  // For `window`, nothing is pending or firing and nothing reached the sink.
  void ExpectQuietFor(std::chrono::milliseconds window) {
    for (auto until = Clock::now() + window; Clock::now() < until; std::this_thread::sleep_for(200ms)) {
      auto active = ActiveAlerts();
      ASSERT_TRUE(active.empty()) << "while healthy: " << ::testing::PrintToString(active);
      ASSERT_TRUE(sink_.Received().empty()) << json::serialize(sink_.Received().front().body);
    }
  }

  // Waits for a notification carrying an alert with exactly these labels in
  // `status`; returns when it arrived.
  std::optional<WebhookNotification> WaitForAlert(const std::map<std::string, std::string>& labels,
                                                  const std::string& status, std::chrono::milliseconds timeout) {
    Labels wanted(labels.begin(), labels.end());
    auto found = sink_.WaitFor([&](const WebhookNotification& n) { return FindAlert(n, wanted, status); }, timeout);
    if (!found) {
      ADD_FAILURE() << "no " << status << " notification for " << ::testing::PrintToString(wanted)
                    << "; Prometheus ALERTS: " << ::testing::PrintToString(ActiveAlerts());
      return found;
    }
    const auto* alert = FindAlert(*found, wanted, status);
    std::map<std::string, std::string> have;
    for (const auto& [key, value] : alert->at("labels").as_object()) have[std::string(key)] = std::string(value.as_string());
    EXPECT_EQ(have, labels) << "exact label set";
    return found;
  }

  bool SinkHas(const Labels& labels, const std::string& status) {
    for (const auto& n : sink_.Received()) {
      if (FindAlert(n, labels, status)) return true;
    }
    return false;
  }

  Clock::time_point started_;
  PgCluster pg_;
  AuditWriter writer_{pg_};
  WebhookSink sink_;
  int drwatch_port_ = 0;
  std::string instance_;
  std::unique_ptr<ChildProcess> daemon_;
  std::unique_ptr<AlertmanagerServer> alertmanager_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

TEST_F(AlertingEndToEnd, StaleAuditLogPagesThenResolvesWhenWritesResume) {
  WaitUntilWatching();
  ExpectQuietFor(3s);
  std::cout << "[alert latency] stack watching " << Seconds(Clock::now() - started_) << " s after start\n";

  const std::map<std::string, std::string> labels = {
      {"alertname", "DrwatchAuditLogStale"}, {"check", "audit_logs_recency"}, {"target", "primary"},
      {"severity", "critical"}, {"instance", instance_}, {"job", "drwatch"}};
  auto last_insert = writer_.Stop();
  auto fired = WaitForAlert(labels, "firing", 40s);
  ASSERT_TRUE(fired.has_value());
  double latency = Seconds(fired->received - last_insert);
  std::cout << "[alert latency] DrwatchAuditLogStale: last insert -> webhook " << latency << " s (max_age "
            << kMaxAgeSeconds << " s, check interval 1 s, scrape and evaluation 1 s)\n";
  EXPECT_GE(latency, kMaxAgeSeconds) << "fired before the data was older than max_age";
  const auto* alert = FindAlert(*fired, Labels(labels.begin(), labels.end()), "firing");
  const auto& annotations = alert->at("annotations").as_object();
  EXPECT_EQ(annotations.at("runbook_url"),
            "https://github.com/example/drwatch/blob/main/docs/runbook.md#drwatchauditlogstale");
  EXPECT_EQ(std::string(annotations.at("summary").as_string()).rfind("No new audit-log rows on primary for ", 0), 0u)
      << annotations.at("summary");
  // Stale data is DrwatchAuditLogStale's business alone.
  EXPECT_FALSE(SinkHas({{"alertname", "DrwatchCheckFailing"}}, "firing"));
  EXPECT_FALSE(SinkHas({{"alertname", "DrwatchDataStale"}}, "firing"));

  auto resumed = Clock::now();
  writer_.Start();
  auto resolved = WaitForAlert(labels, "resolved", 30s);
  ASSERT_TRUE(resolved.has_value());
  std::cout << "[alert latency] DrwatchAuditLogStale: writes resumed -> resolved webhook "
            << Seconds(resolved->received - resumed) << " s\n";
}

TEST_F(AlertingEndToEnd, StoppedDatabasePagesThenResolvesWhenItIsBack) {
  WaitUntilWatching();
  ExpectQuietFor(2s);

  const std::map<std::string, std::string> ping = {
      {"alertname", "DrwatchCheckFailing"}, {"check", "db_ping"}, {"kind", "postgres.ping"},
      {"target", "primary"}, {"severity", "warning"}, {"instance", instance_}, {"job", "drwatch"}};
  auto recency = ping;
  recency["check"] = "audit_logs_recency";
  recency["kind"] = "postgres.recency";

  writer_.Stop();
  auto stopped = Clock::now();
  pg_.Stop();
  auto fired = WaitForAlert(ping, "firing", 40s);
  ASSERT_TRUE(fired.has_value());
  double latency = Seconds(fired->received - stopped);
  std::cout << "[alert latency] DrwatchCheckFailing: database stopped -> webhook " << latency
            << " s (three 1 s check intervals since the last success)\n";
  EXPECT_GE(latency, 2.0) << "fired before three intervals without success";
  EXPECT_TRUE(WaitForAlert(recency, "firing", 20s).has_value());
  EXPECT_TRUE(daemon_->WaitForOutput("check db_ping failing (", 1s)) << daemon_->Output();
  // A failing database is not stale data.
  EXPECT_FALSE(SinkHas({{"alertname", "DrwatchAuditLogStale"}}, "firing"));

  auto restarted = Clock::now();
  pg_.Start();
  writer_.Start();
  auto resolved = WaitForAlert(ping, "resolved", 30s);
  ASSERT_TRUE(resolved.has_value());
  std::cout << "[alert latency] DrwatchCheckFailing: database back -> resolved webhook "
            << Seconds(resolved->received - restarted) << " s\n";
  EXPECT_TRUE(WaitForAlert(recency, "resolved", 40s).has_value());
}

TEST_F(AlertingEndToEnd, RulesEvaluateCleanlyAndEveryDashboardQueryRuns) {
  WaitUntilWatching();
  WaitForSeries("drwatch_objective_observed_seconds");

  std::set<std::string> alerts;
  auto rules = prometheus_->Rules();
  for (const auto& group : rules.at("data").at("groups").as_array()) {
    for (const auto& rule : group.at("rules").as_array()) {
      alerts.insert(std::string(rule.at("name").as_string()));
      EXPECT_EQ(rule.at("health"), "ok") << json::serialize(rule);
    }
  }
  std::set<std::string> shipped;
  for (const auto& group : YAML::LoadFile(kSource + "/config/alerts/drwatch.rules.yml")["groups"]) {
    for (const auto& rule : group["rules"]) shipped.insert(rule["alert"].as<std::string>());
  }
  EXPECT_EQ(alerts, shipped);

  auto dashboard = ParseJsonFile(kSource + "/config/grafana/drwatch.json");
  auto queries = PanelExpressions(dashboard);
  auto selectors = VariableSelectors(dashboard);
  queries.insert(queries.end(), selectors.begin(), selectors.end());
  std::set<std::string> names;
  for (const auto& q : queries) {
    auto expr = ExpandGrafanaVariables(q.expr);
    auto response = prometheus_->Query(expr);
    EXPECT_EQ(response.at("status"), "success") << q.where << ": " << expr << "\n" << json::serialize(response);
    for (const auto& n : PromqlMetricNames(expr)) names.insert(n);
  }
  // Every metric the dashboard uses is one this drwatchd exports, except
  // Prometheus's ALERTS and the metrics of kinds this catalogue does not run
  // (storage, backup, drill, drift and Supabase checks: their own tests assert
  // the names).
  auto other_kind = [](const std::string& name) {
    for (const char* prefix :
         {"drwatch_backup_", "drwatch_restore_", "drwatch_schema_", "drwatch_baseline_", "drwatch_supabase_"}) {
      if (name.starts_with(prefix)) return true;
    }
    return false;
  };
  for (const auto& name : names) {
    if (name == "ALERTS" || other_kind(name)) continue;
    EXPECT_FALSE(prometheus_->QueryVector(name + "{instance=\"" + instance_ + "\"}").empty())
        << "no series " << name << " from drwatchd";
  }
}

}  // namespace
}  // namespace drwatch::test

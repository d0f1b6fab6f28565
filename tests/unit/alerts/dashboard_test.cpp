// The shipped Grafana dashboard, read as data: it parses, is importable
// (schema, datasource variable), filters by instance and target, and uses
// only metrics drwatchd exports (README's metric tables). The end-to-end test
// runs every expression on a real Prometheus.

#include <gtest/gtest.h>

#include <set>

#include "support/grafana_dashboard.hpp"

namespace drwatch::test {
namespace {

namespace json = boost::json;

const std::string kSource = DRWATCH_SOURCE_DIR;

const json::value& Dashboard() {
  static const json::value dashboard = ParseJsonFile(kSource + "/config/grafana/drwatch.json");
  return dashboard;
}

// Names a dashboard may use that README's tables do not list: Prometheus's
// own series, and the storage probes' backup size (not exported yet).
const std::set<std::string> kNotFromReadme = {"up", "ALERTS", "drwatch_backup_newest_size_bytes"};

TEST(PromqlMetricNames, FindsSelectorsAndNothingElse) {
  EXPECT_EQ(PromqlMetricNames(R"q(sum by (check, result) (increase(foo_total{a="b", c=~"d|e"}[5m])))q"),
            (std::set<std::string>{"foo_total"}));
  EXPECT_EQ(PromqlMetricNames(R"q(time() - bar{x="sum(y)"} > on(instance) group_left(job) 3 * baz offset 5m)q"),
            (std::set<std::string>{"bar", "baz"}));
  EXPECT_EQ(PromqlMetricNames("a and b unless c or max without (d) (e) / 1.5e3"),
            (std::set<std::string>{"a", "b", "c", "e"}));
  EXPECT_EQ(PromqlMetricNames(ExpandGrafanaVariables(
                R"q(rate(x{instance=~"$instance", target=~"${target}"}[$__rate_interval]))q")),
            (std::set<std::string>{"x"}));
  EXPECT_EQ(ExpandGrafanaVariables(R"q(x{i=~"$instance"}[$__rate_interval])q"), R"q(x{i=~".*"}[1m])q");
}

TEST(Dashboard, ParsesAndIsImportable) {
  const auto& d = Dashboard().as_object();
  EXPECT_GE(d.at("schemaVersion").to_number<int>(), 37);
  EXPECT_FALSE(d.at("title").as_string().empty());
  EXPECT_FALSE(d.at("uid").as_string().empty());
  std::map<std::string, std::string> variables;
  for (const auto& v : d.at("templating").at("list").as_array()) {
    variables[std::string(v.at("name").as_string())] = v.at("type").as_string();
  }
  EXPECT_EQ(variables["datasource"], "datasource");
  EXPECT_EQ(variables["instance"], "query");
  EXPECT_EQ(variables["target"], "query");
}

TEST(Dashboard, EveryPanelUsesTheDatasourceVariableAndHasAUniqueId) {
  std::set<std::int64_t> ids;
  for (const auto* panel : DashboardPanels(Dashboard())) {
    auto id = panel->at("id").to_number<std::int64_t>();
    EXPECT_TRUE(ids.insert(id).second) << "duplicate panel id " << id;
    if (panel->at("type") == "row") continue;
    EXPECT_EQ(panel->at("datasource").at("uid"), "${datasource}") << "panel " << id;
    for (const auto& target : panel->at("targets").as_array()) {
      EXPECT_EQ(target.at("datasource").at("uid"), "${datasource}") << "panel " << id;
    }
  }
}

TEST(Dashboard, EveryExpressionFiltersByInstanceAndUsesOnlyExportedMetrics) {
  auto exported = ReadmeMetricNames(ReadTextFile(kSource + "/README.md"));
  ASSERT_GT(exported.size(), 20u) << "README's metric tables were not found";
  auto queries = PanelExpressions(Dashboard());
  auto selectors = VariableSelectors(Dashboard());
  ASSERT_GT(queries.size(), 15u);
  ASSERT_EQ(selectors.size(), 2u);
  queries.insert(queries.end(), selectors.begin(), selectors.end());
  std::set<std::string> used;
  for (const auto& q : queries) {
    auto names = PromqlMetricNames(ExpandGrafanaVariables(q.expr));
    EXPECT_FALSE(names.empty()) << q.where << ": " << q.expr;
    for (const auto& name : names) {
      EXPECT_TRUE(exported.count(name) || kNotFromReadme.count(name)) << q.where << " uses " << name;
      used.insert(name);
    }
    if (!names.count("ALERTS") && q.where != "variable instance") {
      EXPECT_NE(q.expr.find("instance=~\"$instance\""), std::string::npos) << q.where << ": " << q.expr;
    }
  }
  // What the issue asks the dashboard to show.
  for (const char* name : {"drwatch_objective_target_seconds", "drwatch_objective_observed_seconds",
                           "drwatch_objective_met", "drwatch_check_success",
                           "drwatch_check_last_success_timestamp_seconds", "drwatch_data_age_seconds",
                           "drwatch_check_duration_seconds", "drwatch_backup_newest_size_bytes",
                           "drwatch_build_info", "drwatch_config_last_reload_successful",
                           "process_resident_memory_bytes"}) {
    EXPECT_TRUE(used.count(name)) << "the dashboard does not show " << name;
  }
}

}  // namespace
}  // namespace drwatch::test

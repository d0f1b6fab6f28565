#pragma once
// Reading the shipped Grafana dashboard and the PromQL inside it, for the
// dashboard's unit test and the end-to-end run that feeds every expression to
// a real Prometheus.

#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace drwatch::test {

/// One PromQL expression of a dashboard and where it came from.
struct DashboardQuery {
  std::string where;  // "panel 5 \"Checks…\" target B" or "variable target"
  std::string expr;   // as written, Grafana variables not expanded
};

/// The whole file as text; throws std::runtime_error when unreadable.
std::string ReadTextFile(const std::string& path);
/// Parses a JSON file; throws on unreadable or invalid JSON.
boost::json::value ParseJsonFile(const std::string& path);

/// Every panel of the dashboard, rows' nested panels included.
std::vector<const boost::json::object*> DashboardPanels(const boost::json::value& dashboard);
/// Every targets[].expr of every panel.
std::vector<DashboardQuery> PanelExpressions(const boost::json::value& dashboard);
/// The series selector of every `label_values(SELECTOR, label)` query variable.
std::vector<DashboardQuery> VariableSelectors(const boost::json::value& dashboard);

/// Replaces Grafana's variables with values Prometheus accepts: $instance,
/// ${target} … (used as `=~"$x"`) with `.*`, $__rate_interval and
/// $__interval with `1m`, $__range with `1h`.
std::string ExpandGrafanaVariables(std::string expr);

/// The metric names a PromQL expression selects: identifiers that are not
/// functions, aggregations, keywords, label names or inside strings,
/// matchers and ranges. `{__name__="x"}` selectors are not recognised.
std::set<std::string> PromqlMetricNames(const std::string& expr);

/// The metric names (drwatch_*, process_*) listed in the "## Metrics" section
/// of README.md.
std::set<std::string> ReadmeMetricNames(const std::string& readme_text);

}  // namespace drwatch::test

#pragma once
// The status page: the DR strategy's checklists (daily, weekly, monthly) with
// each check's state, and every objective with its target and what was
// observed, as HTML a person reads in five seconds (GET /) and as JSON for
// scripts (GET /status.json). Pure rendering of a snapshot the scheduler
// takes; nothing secret is in it (reasons and details never carry secrets).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::engine {

struct CheckStatus {
  std::string name;
  std::string kind;
  std::string target;
  std::string checklist;  // daily, weekly, monthly
  /// "ok", "failing", "stale" (no run ended for two intervals), "never run".
  std::string state;
  bool running = false;
  std::optional<double> last_success;  // unix seconds
  std::optional<double> last_run;      // unix seconds
  double interval_seconds = 0;
  std::string reason;   // of the last run
  std::string details;  // the probe's report of the last run (security findings, drill steps)
};

struct ObjectiveLine {
  std::string id;  // "rpo.daily_operations"
  double target_seconds = 0;
  std::optional<double> observed;
  std::optional<bool> met;
};

struct Status {
  double now = 0;  // unix seconds
  std::vector<CheckStatus> checks;  // catalogue order
  std::vector<ObjectiveLine> objectives;
};

/// "ok", "failing", "stale" or "never run" for a check's last result.
std::string CheckStateName(bool has_result, bool success, std::optional<double> last_run, double interval_seconds,
                           double now);

/// The page: self-contained HTML and CSS, no script, refreshing itself every
/// 30 s; links to `telemetry_path` and the runbook.
std::string RenderStatusHtml(const Status& status, std::string_view telemetry_path);
/// The same data as JSON.
std::string RenderStatusJson(const Status& status);

}  // namespace drwatch::engine

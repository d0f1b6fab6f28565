#include "engine/status.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/iso8601.hpp"
#include "common/text.hpp"
#include "config/duration.hpp"

namespace drwatch::engine {
namespace {

namespace json = boost::json;

constexpr std::string_view kLists[] = {"daily", "weekly", "monthly"};
constexpr std::size_t kMaxDetails = 4096;

std::string Ago(std::optional<double> when, double now) {
  if (!when) return "never";
  return config::FormatAge(std::max(0.0, now - *when)) + " ago";
}

std::string Seconds(double s) { return config::FormatAge(s); }

const char* kCss = R"css(
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#1d2330;background:#f6f7f9}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:.5em 0}
.pill{padding:4px 10px;border-radius:12px;font-weight:600;background:#e3e6eb}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e8ec;vertical-align:top}
th{font-size:.85em;color:#596173;font-weight:600}
table{table-layout:fixed}th:nth-child(1){width:8.5em}th:nth-child(3){width:8em}
.state{font-weight:700;white-space:nowrap}
.state.ok,.pill.ok{color:#137333}.state.failing,.pill.failing{color:#b3261e}.state.stale,.pill.stale{color:#a05a00}
.state.never,.pill.never{color:#596173}
tr.failing td{background:#fdecea}tr.stale td{background:#fff4e0}
.reason{color:#3c4252;word-break:break-word}
details pre{white-space:pre-wrap;font-size:.8em;margin:.3em 0}
footer{margin-top:1.5em;font-size:.85em;color:#596173}
@media (max-width:640px){.hide-narrow{display:none}td,th{padding:5px 4px}}
)css";

std::string StateCell(const CheckStatus& c) {
  std::string css = c.state == "never run" ? "never" : c.state;
  std::string label = c.state == "ok" ? "&#10003; ok" : c.state == "failing" ? "&#10007; failing"
                      : c.state == "stale" ? "&#9888; stale" : "&#8226; never run";
  if (c.running) label += " (running)";
  return "<td class=\"state " + css + "\">" + label + "</td>";
}

std::string CheckRow(const CheckStatus& c, double now) {
  std::string css = c.state == "never run" ? "never" : c.state;
  std::string row = "<tr class=\"" + css + "\" id=\"check-" + EscapeMarkup(c.name) + "\">" + StateCell(c) +
                    "<td><b>" + EscapeMarkup(c.name) + "</b><br><small>" + EscapeMarkup(c.kind) + " on " +
                    EscapeMarkup(c.target) + ", every " + Seconds(c.interval_seconds) + "</small></td>" +
                    "<td class=\"hide-narrow\">" + Ago(c.last_success, now) + "</td><td class=\"reason\">" +
                    EscapeMarkup(c.reason);
  if (!c.details.empty()) {
    row += "<details><summary>details</summary><pre>" + EscapeMarkup(c.details.substr(0, kMaxDetails)) +
           "</pre></details>";
  }
  return row + "</td></tr>\n";
}

std::string ObjectiveRow(const ObjectiveLine& o) {
  std::string state = !o.met ? "never" : *o.met ? "ok" : "failing";
  std::string label = !o.met ? "unknown" : *o.met ? "&#10003; met" : "&#10007; missed";
  return "<tr class=\"" + state + "\"><td class=\"state " + state + "\">" + label + "</td><td><b>" +
         EscapeMarkup(o.id) + "</b></td><td>" + Seconds(o.target_seconds) + "</td><td>" +
         (o.observed ? Seconds(*o.observed) : std::string("&mdash;")) + "</td></tr>\n";
}

}  // namespace

std::string CheckStateName(bool has_result, bool success, std::optional<double> last_run, double interval_seconds,
                           double now) {
  if (!has_result) return "never run";
  if (last_run && interval_seconds > 0 && now - *last_run > 2 * interval_seconds) return "stale";
  return success ? "ok" : "failing";
}

std::string RenderStatusHtml(const Status& status, std::string_view telemetry_path) {
  int counts[4] = {0, 0, 0, 0};  // ok, failing, stale, never
  for (const auto& c : status.checks) {
    counts[c.state == "ok" ? 0 : c.state == "failing" ? 1 : c.state == "stale" ? 2 : 3]++;
  }
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta http-equiv=\"refresh\" content=\"30\"><title>drwatch: " +
      std::string(counts[1] + counts[2] ? "ATTENTION" : "all ok") + "</title><style>" + kCss +
      "</style></head><body>\n<h1>drwatch &mdash; backup and disaster-recovery checklists</h1>\n"
      "<div class=\"summary\"><span class=\"pill ok\">" + std::to_string(counts[0]) +
      " ok</span><span class=\"pill failing\">" + std::to_string(counts[1]) +
      " failing</span><span class=\"pill stale\">" + std::to_string(counts[2]) +
      " stale</span><span class=\"pill never\">" + std::to_string(counts[3]) + " never run</span></div>\n";
  for (auto list : kLists) {
    std::string rows;
    for (const auto& c : status.checks) {
      if (c.checklist == list) rows += CheckRow(c, status.now);
    }
    if (rows.empty()) continue;
    std::string title(list);
    title[0] = static_cast<char>(title[0] - 'a' + 'A');
    out += "<h2 id=\"" + std::string(list) + "\">" + title + " checklist</h2>\n<table><tr><th>state</th><th>check"
           "</th><th class=\"hide-narrow\">last success</th><th>last result</th></tr>\n" + rows + "</table>\n";
  }
  if (!status.objectives.empty()) {
    out += "<h2 id=\"objectives\">Recovery objectives</h2>\n<table><tr><th>state</th><th>objective</th>"
           "<th>target</th><th>observed</th></tr>\n";
    for (const auto& o : status.objectives) out += ObjectiveRow(o);
    out += "</table>\n";
  }
  std::string metrics = EscapeMarkup(telemetry_path);
  auto as_of = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(status.now));
  out += "<footer>As of " + FormatReadableUtc(as_of) + " (refreshes every 30 s). <a href=\"" + metrics + "\">" +
         metrics + "</a> &middot; <a href=\"/status.json\">/status.json</a> &middot; runbook: "
         "<code>/usr/share/doc/drwatch/docs/runbook.md</code> &middot; Grafana: the <i>drwatch</i> dashboard</footer>\n"
         "</body></html>\n";
  return out;
}

std::string RenderStatusJson(const Status& status) {
  json::object root;
  root["now"] = status.now;
  json::array checks;
  for (const auto& c : status.checks) {
    json::object o;
    o["name"] = c.name;
    o["kind"] = c.kind;
    o["target"] = c.target;
    o["checklist"] = c.checklist;
    o["state"] = c.state;
    o["running"] = c.running;
    o["interval_seconds"] = c.interval_seconds;
    o["last_success"] = c.last_success ? json::value(*c.last_success) : json::value(nullptr);
    o["last_run"] = c.last_run ? json::value(*c.last_run) : json::value(nullptr);
    o["reason"] = c.reason;
    o["details"] = c.details.substr(0, kMaxDetails);
    checks.push_back(std::move(o));
  }
  root["checks"] = std::move(checks);
  json::array objectives;
  for (const auto& o : status.objectives) {
    json::object j;
    j["id"] = o.id;
    j["target_seconds"] = o.target_seconds;
    j["observed_seconds"] = o.observed ? json::value(*o.observed) : json::value(nullptr);
    j["met"] = o.met ? json::value(*o.met) : json::value(nullptr);
    objectives.push_back(std::move(j));
  }
  root["objectives"] = std::move(objectives);
  return json::serialize(root) + "\n";
}

}  // namespace drwatch::engine

#include <limits>

#include "config/duration.hpp"
#include "engine/objectives.hpp"
#include "engine/scheduler.hpp"
#include "engine/scheduler_entry.hpp"
#include "engine/state_store.hpp"

namespace drwatch::engine {

std::vector<std::pair<const catalogue::Objective*, ObjectiveStatus>> Scheduler::Objectives(double* changes_at) const {
  std::vector<std::pair<const catalogue::Objective*, ObjectiveStatus>> out;
  if (!catalogue_) return out;
  double now = WallSeconds();
  std::vector<CheckFeed> feeds;
  for (const auto& e : entries_) {
    const CheckState& s = *e->state;
    CheckFeed feed{e->spec.objective, {}, {s.has_result, s.success, s.observed, s.last_success_timestamp},
                   s.objective_observed};
    for (const auto& ref : e->spec.probe->MeasuredObjectives()) feed.measured.push_back(ref.objective);
    feeds.push_back(std::move(feed));
  }
  for (const auto& objective : catalogue_->objectives) {
    auto feeders = FeedersOf(objective, feeds);
    out.emplace_back(&objective, EvaluateObjective(objective, feeders, now));
    if (changes_at) *changes_at = std::min(*changes_at, ObjectiveChangesAt(objective, feeders, now));
  }
  return out;
}

Status Scheduler::Snapshot() const {
  Status status;
  status.now = WallSeconds();
  for (const auto& e : entries_) {
    const CheckState& s = *e->state;
    CheckStatus c;
    c.name = e->spec.name;
    c.kind = e->spec.kind;
    c.target = e->spec.target;
    c.checklist = e->spec.checklist;
    c.interval_seconds = config::ToSeconds(e->spec.interval);
    if (s.has_result) c.last_run = s.last_run_timestamp;
    c.last_success = s.last_success_timestamp;
    c.state = CheckStateName(s.has_result, s.success, c.last_run, c.interval_seconds, status.now);
    c.running = s.running;
    c.reason = s.reason;
    c.details = s.details;
    status.checks.push_back(std::move(c));
  }
  for (const auto& [objective, evaluated] : Objectives()) {
    status.objectives.push_back({objective->id(), config::ToSeconds(objective->target), evaluated.observed,
                                 evaluated.met});
  }
  return status;
}

void Scheduler::Collect(std::vector<metrics::Sample>& out) const {
  CollectState(out);
  CollectLive(out);
}

double Scheduler::CollectState(std::vector<metrics::Sample>& out) const {
  using metrics::MetricType;
  double changes_at = std::numeric_limits<double>::infinity();
  for (const auto& e : entries_) {
    const CheckState& s = *e->state;
    auto labels = CheckLabels(e->spec);
    out.push_back({"drwatch_check_interval_seconds", "Configured interval between runs of the check.",
                   MetricType::kGauge, labels, config::ToSeconds(e->spec.interval)});
    out.push_back({"drwatch_check_timeout_seconds", "Configured deadline of one run of the check.",
                   MetricType::kGauge, labels, config::ToSeconds(e->spec.timeout)});
    if (s.has_result) {
      out.push_back({"drwatch_check_success", "1 if the check's last run succeeded, else 0.",
                     MetricType::kGauge, labels, s.success ? 1.0 : 0.0});
      out.push_back({"drwatch_check_duration_seconds", "Duration of the check's last run.",
                     MetricType::kGauge, labels, s.last_duration_seconds});
      out.push_back({"drwatch_check_last_run_timestamp_seconds", "When the check's last run ended (unix time).",
                     MetricType::kGauge, labels, s.last_run_timestamp});
      out.push_back({"drwatch_check_last_success_timestamp_seconds",
                     "When the check last succeeded (unix time); 0 if it never has.", MetricType::kGauge,
                     labels, s.last_success_timestamp.value_or(0)});
    }
    for (auto r : {RunResult::kSuccess, RunResult::kFailure, RunResult::kTimeout, RunResult::kSkipped}) {
      auto with_result = labels;
      with_result.emplace_back("result", ToString(r));
      out.push_back({"drwatch_check_runs_total",
                     "Runs of the check by result (skipped: still running when due, or its run lock held).",
                     MetricType::kCounter, with_result, static_cast<double>(s.runs[static_cast<int>(r)])});
    }
    out.insert(out.end(), s.samples.begin(), s.samples.end());
    std::vector<metrics::Sample> fixed;
    e->spec.probe->StaticSamples(fixed);
    for (auto& sample : fixed) out.push_back(WithCheckLabels(std::move(sample), e->spec));
  }
  if (!catalogue_) return changes_at;
  for (const auto& [objective, status] : Objectives(&changes_at)) AppendObjectiveSamples(*objective, status, out);
  return changes_at;
}

void Scheduler::CollectLive(std::vector<metrics::Sample>& out) const {
  using metrics::MetricType;
  out.push_back({"drwatch_check_schedule_delay_seconds",
                 "How late scheduled runs started: actual start minus planned start (a run that cannot "
                 "start before its next planned start is counted in drwatch_check_runs_total{result=\"skipped\"} "
                 "instead).",
                 MetricType::kHistogram, {}, 0, schedule_delay_});
  out.push_back({"drwatch_scheduler_runs_in_flight", "Check runs in flight now.", MetricType::kGauge, {},
                 static_cast<double>(in_flight_)});
  if (writer_) {
    out.push_back({"drwatch_state_write_errors_total",
                   "Check states that could not be saved under --storage.path.", MetricType::kCounter, {},
                   static_cast<double>(writer_->write_errors())});
  }
}

}  // namespace drwatch::engine

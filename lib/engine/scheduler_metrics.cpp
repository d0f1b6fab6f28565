#include <limits>

#include "config/duration.hpp"
#include "engine/objectives.hpp"
#include "engine/scheduler.hpp"
#include "engine/scheduler_entry.hpp"
#include "engine/state_store.hpp"
#include "metrics/families.hpp"

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
  double changes_at = std::numeric_limits<double>::infinity();
  for (const auto& e : entries_) {
    const CheckState& s = *e->state;
    auto labels = CheckLabels(e->spec);
    out.push_back(metrics::kCheckIntervalSeconds.Make(config::ToSeconds(e->spec.interval), labels));
    out.push_back(metrics::kCheckTimeoutSeconds.Make(config::ToSeconds(e->spec.timeout), labels));
    if (s.has_result) {
      out.push_back(metrics::kCheckSuccess.Make(s.success ? 1.0 : 0.0, labels));
      out.push_back(metrics::kCheckDurationSeconds.Make(s.last_duration_seconds, labels));
      out.push_back(metrics::kCheckLastRunTimestampSeconds.Make(s.last_run_timestamp, labels));
      out.push_back(metrics::kCheckLastSuccessTimestampSeconds.Make(s.last_success_timestamp.value_or(0), labels));
    }
    for (auto r : {RunResult::kSuccess, RunResult::kFailure, RunResult::kTimeout, RunResult::kSkipped}) {
      auto with_result = labels;
      with_result.emplace_back("result", ToString(r));
      out.push_back(metrics::kCheckRunsTotal.Make(static_cast<double>(s.runs[static_cast<int>(r)]), with_result));
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
  out.push_back(metrics::kCheckScheduleDelaySeconds.Make(schedule_delay_));
  out.push_back(metrics::kSchedulerRunsInFlight.Make(static_cast<double>(in_flight_)));
  if (writer_) {
    out.push_back(metrics::kStateWriteErrorsTotal.Make(static_cast<double>(writer_->write_errors())));
  }
}

}  // namespace drwatch::engine

#include "engine/objectives.hpp"
#include "metrics/families.hpp"

#include <algorithm>
#include <cmath>

namespace drwatch::engine {

std::vector<FeederState> FeedersOf(const catalogue::Objective& objective, const std::vector<CheckFeed>& checks) {
  std::vector<FeederState> feeders;
  const std::string id = objective.id();
  for (const auto& c : checks) {
    if (std::find(c.measured.begin(), c.measured.end(), id) != c.measured.end()) {
      FeederState f = c.state;
      auto value = c.objective_observed.find(id);
      f.observed = value == c.objective_observed.end() ? std::nullopt : std::optional<double>(value->second);
      feeders.push_back(f);
    } else if (c.objective == id) {
      feeders.push_back(c.state);
    }
  }
  return feeders;
}

ObjectiveStatus EvaluateObjective(const catalogue::Objective& objective,
                                  const std::vector<FeederState>& feeders, double now) {
  ObjectiveStatus status;
  status.target_seconds = config::ToSeconds(objective.target);
  bool any_result = false;
  bool breached = false;
  for (const auto& f : feeders) {
    if (!f.has_result) continue;
    any_result = true;
    if (f.observed) status.observed = std::max(status.observed.value_or(*f.observed), *f.observed);
    if (!f.success) breached = true;
    if (!f.last_success) breached = true;
    // RPO only: data older than the objective is lost data. An RTO is
    // measured by drills that may run weekly; their last result stands.
    if (objective.kind == "rpo" && f.last_success && now - *f.last_success > status.target_seconds) {
      breached = true;
    }
  }
  if (status.observed && *status.observed > status.target_seconds) breached = true;
  if (any_result) status.met = !breached;
  return status;
}

double ObjectiveChangesAt(const catalogue::Objective& objective, const std::vector<FeederState>& feeders,
                          double now) {
  double at = std::numeric_limits<double>::infinity();
  if (objective.kind != "rpo") return at;
  double target = config::ToSeconds(objective.target);
  for (const auto& f : feeders) {
    // Strictly after: EvaluateObjective breaches when now - last_success > target.
    if (f.has_result && f.last_success && *f.last_success + target >= now) {
      at = std::min(at, std::nextafter(*f.last_success + target, at));
    }
  }
  return at;
}

void AppendObjectiveSamples(const catalogue::Objective& objective, const ObjectiveStatus& status,
                            std::vector<metrics::Sample>& out) {
  metrics::Labels labels{{"objective", objective.kind}, {"name", objective.name}};
  out.push_back(metrics::kObjectiveTargetSeconds.Make(status.target_seconds, labels));
  if (status.observed) {
    out.push_back(metrics::kObjectiveObservedSeconds.Make(*status.observed, labels));
  }
  if (status.met) {
    out.push_back(metrics::kObjectiveMet.Make(*status.met ? 1.0 : 0.0, labels));
  }
}

}  // namespace drwatch::engine

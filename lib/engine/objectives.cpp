#include "engine/objectives.hpp"

#include <algorithm>

namespace drwatch::engine {

ObjectiveStatus EvaluateObjective(const config::Objective& objective,
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

void AppendObjectiveSamples(const config::Objective& objective, const ObjectiveStatus& status,
                            std::vector<metrics::Sample>& out) {
  metrics::Labels labels{{"objective", objective.kind}, {"name", objective.name}};
  out.push_back({"drwatch_objective_target_seconds",
                 "Recovery objective from the catalogue (RPO: data loss allowed, RTO: recovery time allowed).",
                 metrics::MetricType::kGauge, labels, status.target_seconds});
  if (status.observed) {
    out.push_back({"drwatch_objective_observed_seconds",
                   "Worst value reported by the checks that feed the objective.",
                   metrics::MetricType::kGauge, labels, *status.observed});
  }
  if (status.met) {
    out.push_back({"drwatch_objective_met",
                   "1 when the objective is met, 0 when observed exceeds target or a feeding check fails or is stale.",
                   metrics::MetricType::kGauge, labels, *status.met ? 1.0 : 0.0});
  }
}

}  // namespace drwatch::engine

#pragma once
// Recovery objectives (RPO, RTO): what the catalogue promises versus what the
// checks that feed each objective observe.

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalogue/catalogue.hpp"
#include "metrics/sample.hpp"

namespace drwatch::engine {

/// What one feeding check last reported.
struct FeederState {
  bool has_result = false;  // false until its first run ends
  bool success = false;
  std::optional<double> observed;        // seconds, e.g. data age
  std::optional<double> last_success;    // unix seconds
};

/// What one check last reported, as the objectives see it.
struct CheckFeed {
  std::string objective;                             // its `objective:` key, or empty
  std::vector<std::string> measured;                 // objectives its probe measures itself (MeasuredObjectives)
  FeederState state;                                 // `observed` is the check's single value
  std::map<std::string, double> objective_observed;  // its value per measured objective
};

/// The feeders of `objective` among `checks`: each check that measures it
/// (its value from objective_observed: a drill's time for one RTO system,
/// absent when that system was not reached) or names it with `objective:`.
std::vector<FeederState> FeedersOf(const catalogue::Objective& objective, const std::vector<CheckFeed>& checks);

struct ObjectiveStatus {
  double target_seconds = 0;
  std::optional<double> observed;  // worst (largest) value reported by a feeder
  std::optional<bool> met;         // unknown until a feeder has a result
};

/// Evaluates one objective at wall time `now` (unix seconds). Met is false
/// when the observed value exceeds the target, when a feeder is failing or
/// never succeeded, or (RPO only) when a feeder's last success is older than
/// the target. An RTO keeps the last drill's measurement however old it is.
ObjectiveStatus EvaluateObjective(const catalogue::Objective& objective,
                                  const std::vector<FeederState>& feeders, double now);

/// The next wall time (unix seconds, after `now`) at which EvaluateObjective
/// could answer differently with the same feeders: when an RPO feeder's last
/// success grows older than the target. Infinity when only new results can
/// change the answer.
double ObjectiveChangesAt(const catalogue::Objective& objective, const std::vector<FeederState>& feeders, double now);

/// Appends drwatch_objective_target_seconds, drwatch_objective_observed_seconds
/// and drwatch_objective_met for one objective (the last two only when known).
void AppendObjectiveSamples(const catalogue::Objective& objective, const ObjectiveStatus& status,
                            std::vector<metrics::Sample>& out);

}  // namespace drwatch::engine

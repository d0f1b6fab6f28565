#pragma once
// The scheduler's insides, shared by its files: scheduler.cpp (the run
// loop), scheduler_sync.cpp (state saved, restored and adopted),
// scheduler_metrics.cpp (samples, objectives, the status page). Not for use
// outside lib/engine/.

#include <map>
#include <memory>
#include <string>

#include "catalogue/catalogue.hpp"
#include "engine/scheduler.hpp"
#include "metrics/sample.hpp"
#include "probes/probe.hpp"
#include "targets/target.hpp"

namespace drwatch::engine {

struct Scheduler::Entry {
  catalogue::CheckSpec spec;
  std::shared_ptr<targets::TargetRuntime> target;
  std::shared_ptr<CheckState> state;
  /// The targets the probe names besides its own (ReferencedTargets()).
  std::map<std::string, std::shared_ptr<targets::TargetRuntime>, std::less<>> referenced;
};

metrics::Labels CheckLabels(const catalogue::CheckSpec& spec);
/// Puts check and target in front of a probe sample's own labels.
metrics::Sample WithCheckLabels(metrics::Sample s, const catalogue::CheckSpec& spec);
/// Now, in unix seconds.
double WallSeconds();

}  // namespace drwatch::engine

#pragma once
// The check catalogue: the YAML file that declares targets, recovery
// objectives and checks. Loading validates everything (every probe is
// constructed from its node) and reports every error at once.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/duration.hpp"
#include "config/schedule.hpp"
#include "probes/probe.hpp"
#include "targets/target.hpp"

namespace drwatch::catalogue {

using config::Duration;
using config::Schedule;

struct Global {
  Duration interval{std::chrono::seconds(30)};  // default check interval
  Duration timeout{std::chrono::seconds(10)};   // default per-run deadline
  int max_concurrency = 32;                      // runs in flight at once
};

/// A recovery objective: kind "rpo" or "rto", a name ("daily_operations") and
/// its target duration.
struct Objective {
  std::string kind;
  std::string name;
  Duration target{};
  std::string id() const { return kind + "." + name; }
};

struct CheckSpec {
  std::string name;
  std::string kind;    // "postgres.recency"
  std::string target;  // key under targets:
  Duration interval{};  // with a schedule: its period (1d or 7d)
  Duration timeout{};
  /// Runs at these wall-clock times instead of every interval.
  std::optional<Schedule> schedule;
  std::string objective;  // "rpo.daily_operations", or empty
  std::string checklist;  // "daily", "weekly" or "monthly": the strategy's list it belongs to
  std::shared_ptr<probes::Probe> probe;
  /// Equal fingerprints mean the check (and its target) did not change, so a
  /// reload keeps its state.
  std::string fingerprint;
};

struct Catalogue {
  std::string file;
  Global global;
  std::map<std::string, std::shared_ptr<const targets::TargetSpec>> targets;
  std::vector<Objective> objectives;
  std::vector<CheckSpec> checks;
};

struct LoadResult {
  std::shared_ptr<const Catalogue> catalogue;  // null when errors is not empty
  std::vector<std::string> errors;             // "FILE:LINE:COL: PATH: message", redacted
};

/// Reads and validates the catalogue at `path` (blocking file reads: the
/// daemon calls it off the loop; safe on any thread). An unreadable file is one
/// error: "PATH: cannot read: REASON".
LoadResult LoadCatalogueFile(const std::string& path);
/// Validates catalogue text; `file` names it in messages.
LoadResult LoadCatalogueText(const std::string& text, const std::string& file);

}  // namespace drwatch::catalogue

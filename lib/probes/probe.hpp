#pragma once
// The probe interface. One probe kind = one file in lib/probes/ implementing
// Probe, listed once in registry.cpp.
//
// A probe is constructed from its check's validated catalogue node and must
// only read there (construction is validation: --config.check builds every
// probe). Run() performs one run. The runner, not the probe, enforces the
// deadline (by cancelling the coroutine), times the run and owns the common
// metrics; a probe returns success or failure with a reason and adds the
// samples specific to its kind. Run never throws for a failing target.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/blocking.hpp"
#include "common/clock.hpp"
#include "metrics/sample.hpp"
#include "run/context.hpp"
#include "targets/target.hpp"

namespace drwatch::config {
class NodeReader;
}

namespace drwatch::probes {

// The result and context of one run live on the floor below restore, which
// runs checks without knowing the probe interface.
using run::ProbeResult;
using run::RunContext;

/// A target a check uses besides its own (storage.replication's `replica`):
/// the catalogue checks that `target` is declared and of type `type`,
/// reporting errors at the check's key `key`.
struct TargetReference {
  std::string key;
  std::string target;
  std::string type;
};

/// A check this check builds on (restore.drill's `backup`): the catalogue
/// checks that `check` is declared and of kind `kind` (any kind when empty),
/// reporting errors at the check's key `key` (at its item `item` when `key`
/// is a list), then hands it to Probe::Link.
struct CheckReference {
  std::string key;
  std::string check;
  std::string kind;
  int item = -1;
};

/// An objective the probe measures itself (restore.drill: `rto.<system>` for
/// each system under `covers`): the catalogue checks it is declared,
/// reporting errors at `item` of the check's mapping `key` (or at `key`).
struct ObjectiveReference {
  std::string key;
  std::string item;
  std::string objective;  // "rto.authentication"
};

/// A referenced check as the catalogue resolved it.
struct ReferencedCheck {
  std::string name;
  std::string target;                            // its target's name
  const targets::TargetSpec* target_spec = nullptr;
  const class Probe* probe = nullptr;
};

/// What Probe::Link learns once the whole catalogue is read.
struct LinkContext {
  const targets::TargetSpec* own_target = nullptr;  // the check's target
  std::vector<ReferencedCheck> checks;              // as ReferencedChecks() lists them
  std::map<std::string, std::chrono::milliseconds> objectives;  // every declared objective by id
};

/// An error Link reports at the check's key `key`.
struct LinkError {
  std::string key;
  std::string message;
};

class Probe {
 public:
  virtual ~Probe() = default;
  /// One run. Cancellation (the deadline) arrives as operation_aborted at the
  /// current co_await; the probe must not start new waits after it.
  virtual boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) = 0;
  /// Samples derived from configuration alone, exported whether or not a run
  /// succeeded (e.g. drwatch_data_max_age_seconds). Labels as for samples.
  virtual void StaticSamples(std::vector<metrics::Sample>& out) const {}
  /// Other targets this check uses (see TargetReference); none by default.
  virtual std::vector<TargetReference> ReferencedTargets() const { return {}; }
  /// Whether a run that times out keeps the previous run's samples. Yes for
  /// kinds whose samples describe stored results (the newest complete
  /// backup), not live state the timed-out run failed to read.
  virtual bool KeepsSamplesOnTimeout() const { return false; }
  /// Whether runs of the check must never overlap on this host, across
  /// processes (backups and drills write or restore the same things): the
  /// runner then holds the check's run lock for each run (engine/run_lock.hpp)
  /// and skips a run that finds it held.
  virtual bool RunsAlone() const { return false; }
  /// Checks this check builds on (see CheckReference); none by default.
  virtual std::vector<CheckReference> ReferencedChecks() const { return {}; }
  /// Objectives this probe measures itself (see ObjectiveReference).
  virtual std::vector<ObjectiveReference> MeasuredObjectives() const { return {}; }
  /// Called at load once the referenced checks and objectives are known to
  /// be valid; the probe keeps what it needs (a backup's storage target,
  /// which may then appear in ReferencedTargets()). Errors refuse the check.
  virtual std::vector<LinkError> Link(const LinkContext& context) { return {}; }
};

/// A probe kind: its catalogue name, the target type it needs, and the parser
/// that reads its own keys from the check's node and returns the probe, or
/// nullptr after reporting errors on the node.
struct ProbeKind {
  std::string_view name;
  std::string_view target_type;
  std::unique_ptr<Probe> (*parse)(config::NodeReader& check);
  /// The interval of a check that sets none, when the kind has a default of
  /// its own (an API with a rate limit); zero: global.interval.
  std::chrono::milliseconds default_interval{};
  /// The wall-clock schedule of a check that sets neither `schedule` nor
  /// `interval` ("weekly sun 04:00" for restore.drill); empty: none.
  std::string_view default_schedule{};
  /// The timeout of a check that sets none, when the kind needs longer than
  /// global.timeout (a backup runs for minutes); zero: global.timeout.
  std::chrono::milliseconds default_timeout{};
  /// The check's key that names its target, when not `target` (backup.files
  /// names its storage target with `storage`, having no other target).
  std::string_view target_key{};
  /// The DR strategy's checklist a check of this kind belongs to unless it
  /// sets `checklist`: daily, weekly or monthly.
  std::string_view checklist = "daily";
};

/// The one list of probe kinds.
const std::vector<ProbeKind>& ProbeKinds();
const ProbeKind* FindProbeKind(std::string_view name);

}  // namespace drwatch::probes

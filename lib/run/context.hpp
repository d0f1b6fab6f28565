#pragma once
// What one run of a check may use (RunContext) and what it returns
// (ProbeResult). Below restore and the probes, so the restore code can run
// with a context without knowing the probe interface, and the engine builds
// both without going through the catalogue.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/blocking.hpp"
#include "common/clock.hpp"
#include "metrics/sample.hpp"
#include "targets/target.hpp"

namespace drwatch::run {

struct ProbeResult {
  bool success = false;
  /// Why it failed (logged on state change, shown by --once). No secrets, no
  /// newlines. May be set on success too ("age 12s").
  std::string reason;
  /// The value this run observed for the check's objective and --once output
  /// (e.g. data age in seconds).
  std::optional<double> observed;
  /// A human report for the command line (`backup run`, `restore drill`):
  /// several lines, e.g. the run's path and manifest summary or each step's
  /// time. Not logged by the daemon, not exported. No secrets.
  std::string details;
  /// Kind-specific samples. The runner adds the labels check and target in
  /// front of the probe's own labels.
  std::vector<metrics::Sample> samples;
  /// Values for several objectives at once, by objective id
  /// ("rto.authentication" → seconds): a restore drill measures one RTO per
  /// system it covers. Feeds the objectives the probe names in
  /// MeasuredObjectives(), in place of `observed`.
  std::map<std::string, double> objective_observed;

  static ProbeResult Ok() {
    ProbeResult r;
    r.success = true;
    return r;
  }
  static ProbeResult Fail(std::string why) {
    ProbeResult r;
    r.reason = std::move(why);
    return r;
  }
};

/// The last recorded run of a check (postgres.baseline compares others').
struct LastRun {
  bool success = false;
  double duration_seconds = 0;
  double at = 0;  // unix seconds, end of the run
};

/// What one run may use.
struct RunContext {
  using ReadLastRun = std::function<std::optional<LastRun>(const std::string& check)>;
  using FindTarget = std::function<targets::TargetRuntime*(std::string_view name)>;
  // A constructor rather than aggregate initialisation, so callers that have
  // no other targets may leave find_target out.
  RunContext(boost::asio::any_io_executor executor, BlockingPool& pool, targets::TargetRuntime& target,
             std::chrono::milliseconds timeout, Clock::time_point deadline, std::string_view check_name,
             FindTarget find_target = {})
      : executor(std::move(executor)), pool(pool), target(target), timeout(timeout), deadline(deadline),
        check_name(check_name), find_target(std::move(find_target)) {}

  boost::asio::any_io_executor executor;
  BlockingPool& pool;
  targets::TargetRuntime& target;  // of the type the kind declares
  std::chrono::milliseconds timeout;
  Clock::time_point deadline;
  std::string_view check_name;
  /// The run-time state of a target the probe names in ReferencedTargets()
  /// (of the type declared there), or nullptr for any other name. Valid for
  /// the whole run.
  FindTarget find_target;
  /// --storage.path, where probes keep history that outlives a restart
  /// (<storage.path>/history/<check>.json, probes/history.hpp) and where the
  /// checks' state files are; empty: none (history is not kept).
  std::string storage_path;
  /// The last run of another check as its state file under storage_path
  /// records it, nullopt when none (blocking: call on the pool). Set by the
  /// engine, which owns the state files; empty: none is known.
  ReadLastRun read_last_run;
};

}  // namespace drwatch::run

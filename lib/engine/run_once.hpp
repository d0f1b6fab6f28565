#pragma once
// The one way to run a check once now: the scheduler's runs, the command
// line's and the tests' all build their context with MakeRunContext and run
// the probe with RunOnce, so a run outside the scheduler is the same run.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "catalogue/catalogue.hpp"
#include "common/blocking.hpp"
#include "common/clock.hpp"
#include "run/context.hpp"
#include "targets/target.hpp"

namespace drwatch::engine {

enum class RunResult { kSuccess = 0, kFailure = 1, kTimeout = 2, kSkipped = 3 };
const char* ToString(RunResult r);

/// How one run ended: the probe's result, or the deadline's ("timed out
/// after 10s", no samples).
struct RunOutcome {
  RunResult result = RunResult::kFailure;
  run::ProbeResult probe;
  double duration_seconds = 0;  // from the start of RunOnce to its end
};

/// The last run of each check as this process knows it (the scheduler's
/// results and the state files it adopted), readable from any thread:
/// postgres.baseline reads other checks' runs here as well as in their state
/// files, since a file may lag its check by up to StateWriter's min_rewrite.
class LastRuns {
 public:
  void Set(const std::string& check, const run::LastRun& last);
  std::optional<run::LastRun> Get(const std::string& check) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, run::LastRun, std::less<>> runs_;
};

/// The context of one run of `check` on its target `target`: `timeout` (the
/// check's own for the daemon's runs) and the `deadline` the run must end by;
/// `find_target` gives the other targets it names (ReferencedTargets());
/// `storage_path` is --storage.path (empty: none), where probes keep history
/// and from whose state files they read other checks' last runs; `known`
/// (the scheduler's) is read too, and the newer of the two wins.
run::RunContext MakeRunContext(boost::asio::any_io_executor executor, BlockingPool& pool,
                               const catalogue::CheckSpec& check, targets::TargetRuntime& target,
                               std::chrono::milliseconds timeout, Clock::time_point deadline,
                               run::RunContext::FindTarget find_target = {}, std::string storage_path = {},
                               std::shared_ptr<const LastRuns> known = {});

/// Runs `check`'s probe once with `ctx`: the probe and a timer at
/// ctx.deadline race, and whichever finishes first cancels the other. An
/// exception escaping the probe (a bug) reaches the caller.
boost::asio::awaitable<RunOutcome> RunOnce(const catalogue::CheckSpec& check, run::RunContext& ctx);

}  // namespace drwatch::engine

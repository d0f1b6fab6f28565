#pragma once
// The scheduler: runs every check of the catalogue on its interval (or at its
// wall-clock schedule) on one io_context, enforces each run's deadline by cancelling it, never overlaps a
// check with itself, caps runs in flight, and keeps every result in memory
// for the next scrape. It owns the common per-check metrics. With a state
// store it saves every result and resumes from the saved ones (state_store.hpp).
// Every run due is either started, with its lateness observed in
// drwatch_check_schedule_delay_seconds, or counted as skipped: never silently late.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/blocking.hpp"
#include "common/clock.hpp"
#include "catalogue/catalogue.hpp"
#include "engine/objectives.hpp"
#include "engine/run_once.hpp"
#include "engine/status.hpp"
#include "metrics/sample.hpp"

namespace drwatch::engine {

/// What a check's last runs left behind. Shared across reloads by checks
/// whose configuration did not change.
struct CheckState {
  bool running = false;
  bool has_result = false;
  bool success = false;
  RunResult last_result = RunResult::kSkipped;
  double last_duration_seconds = 0;
  double last_run_timestamp = 0;                // unix seconds, end of the last run
  std::optional<double> last_success_timestamp;  // unix seconds
  std::array<std::uint64_t, 4> runs{};           // by RunResult
  std::string reason;
  std::string details;  // the probe's report of the last run, capped (the status page shows it)
  std::optional<double> observed;
  std::map<std::string, double> objective_observed;  // by objective id, from probes that measure several
  std::vector<metrics::Sample> samples;  // the probe's, from the last run
  std::optional<Clock::time_point> next_due;
  /// Scheduled checks: the wall-clock time of the next run (next_due follows it).
  std::optional<std::chrono::system_clock::time_point> next_wall_due;
  std::shared_ptr<boost::asio::cancellation_signal> cancel;  // of the run in flight
};

/// One finished run, as --once prints it.
struct RunReport {
  std::string check;
  RunResult result = RunResult::kFailure;
  double duration_seconds = 0;
  std::optional<double> observed;
  std::string reason;
  std::string details;  // the probe's report for the command line
};

class StateStore;
class StateWriter;
struct PersistedCheck;

class Scheduler {
 public:
  Scheduler(boost::asio::any_io_executor executor, BlockingPool& pool);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Installs a catalogue, whole. Checks whose fingerprint did not change keep
  /// their state and schedule; targets whose fingerprint did not change keep
  /// their connections; new checks start at a point spread over their first
  /// interval (stable per name). Runs of removed checks finish unobserved.
  void Apply(std::shared_ptr<const catalogue::Catalogue> catalogue);
  /// The same, and checks that get a new state start from their persisted one
  /// (`persisted`, by check name, of the same kind): its results are exported
  /// at once, and the first run is planned from its last run (see
  /// docs/catalogue.md, "Scheduling").
  void Apply(std::shared_ptr<const catalogue::Catalogue> catalogue,
             const std::map<std::string, PersistedCheck>& persisted);
  /// Saves every result through `store` (off the loop) and, once started,
  /// adopts results that another process (the command line) wrote there.
  /// Call before Start().
  void EnablePersistence(std::shared_ptr<const StateStore> store);
  /// Runs of checks whose probe RunsAlone() take their run lock under `dir`
  /// (<storage.path>/locks, see run_lock.hpp); a run that finds it held by
  /// another process or run is skipped: counted as skipped, logged, and
  /// reported with "already running (pid N, since …)". Without a directory
  /// (the default) no lock is taken.
  void SetRunLockDirectory(std::string dir) { lock_dir_ = std::move(dir); }
  /// --storage.path, handed to every run (run::RunContext::storage_path):
  /// probes keep their history there. Empty (the default): none.
  void SetStoragePath(std::string path) { storage_path_ = std::move(path); }
  /// Starts scheduling (after Apply).
  void Start();
  /// Stops scheduling and cancels the runs in flight.
  void Stop();
  /// Runs every check once now, concurrently (within max_concurrency), and
  /// calls `done` with one report per check in catalogue order.
  void RunAllOnce(std::function<void(std::vector<RunReport>)> done);
  /// Runs the check named `check` once now (not started: the command line);
  /// false when there is no such check. A run cancelled by Stop() is not
  /// recorded and reports "cancelled".
  bool RunNow(const std::string& check, std::function<void(const RunReport&)> done);
  /// The state of the check named `check`, or nullptr.
  const CheckState* StateOf(const std::string& check) const;

  /// Appends every check's, probe's and objective's samples: CollectState
  /// then CollectLive.
  void Collect(std::vector<metrics::Sample>& out) const;
  /// The samples that change only when generation() does, or by the passing
  /// of time at the wall time (unix seconds) returned (infinity: never): the
  /// checks', the probes' and the objectives'.
  double CollectState(std::vector<metrics::Sample>& out) const;
  /// The samples that change at any time: runs in flight, the schedule delay
  /// histogram, state write errors.
  void CollectLive(std::vector<metrics::Sample>& out) const;
  /// Grows whenever what CollectState shows changes (a result, a skipped
  /// run, an adopted state, a new catalogue).
  std::uint64_t generation() const { return generation_; }
  /// Every check's state and every objective now, for the status page.
  Status Snapshot() const;
  /// Runs in flight now.
  int in_flight() const { return in_flight_; }

  /// The first run's offset into the interval for a check named `name`.
  static Clock::duration SpreadOffset(const std::string& name, Clock::duration interval);
  /// A check that missed its time while drwatchd was down runs within this
  /// much after start (its spread offset, capped).
  static constexpr std::chrono::minutes kCatchUpWithin{1};
  /// How often the state directory is polled for results of the command line.
  static constexpr std::chrono::seconds kStatePollInterval{10};
  /// Upper bounds of drwatch_check_schedule_delay_seconds.
  static const std::vector<double>& ScheduleDelayBuckets();

 private:
  struct Entry;
  using Done = std::function<void(const RunReport&)>;
  /// A run waiting for a slot under max_concurrency. `planned`: the time it
  /// was due (scheduled runs only).
  struct Waiting {
    std::shared_ptr<Entry> entry;
    Done done;
    std::optional<Clock::time_point> planned;
  };

  void Arm();
  void OnTick();
  void ScheduleFirst(Entry& entry);
  void TickScheduled(const std::shared_ptr<Entry>& entry, Clock::time_point now,
                     std::chrono::system_clock::time_point wall);
  void Restore(Entry& entry, const PersistedCheck& persisted);
  void Persist(const Entry& entry);
  void ArmStatePoll();
  void PollStateFiles();
  void Adopt(const std::string& check, std::uint64_t generation, const PersistedCheck& persisted);
  void Due(const std::shared_ptr<Entry>& entry, Clock::time_point planned);
  void CountSkipped(Entry& entry, std::uint64_t runs);
  void Launch(const std::shared_ptr<Entry>& entry, Done done, std::optional<Clock::time_point> planned = {});
  void Finished(const std::shared_ptr<Entry>& entry);
  void Record(Entry& entry, RunReport report, RunOutcome& outcome);
  /// Every objective evaluated now; `changes_at`: when one could change by time alone.
  std::vector<std::pair<const catalogue::Objective*, ObjectiveStatus>> Objectives(double* changes_at = nullptr) const;

  boost::asio::any_io_executor executor_;
  BlockingPool& pool_;
  std::shared_ptr<const catalogue::Catalogue> catalogue_;
  std::vector<std::shared_ptr<Entry>> entries_;  // catalogue order
  std::map<std::string, std::pair<std::string, std::shared_ptr<targets::TargetRuntime>>> targets_;
  std::deque<Waiting> waiting_;  // over max_concurrency
  int in_flight_ = 0;
  bool started_ = false;
  bool stopped_ = false;  // Stop() called: runs ending now were cancelled
  std::unique_ptr<Timer> timer_;
  std::unique_ptr<StateWriter> writer_;
  std::shared_ptr<const StateStore> store_;
  std::unique_ptr<Timer> poll_timer_;
  std::shared_ptr<bool> alive_;
  std::string lock_dir_;
  std::string storage_path_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<metrics::HistogramValue> schedule_delay_;
  std::shared_ptr<LastRuns> last_runs_ = std::make_shared<LastRuns>();  // for postgres.baseline
};

}  // namespace drwatch::engine

#pragma once
// The scheduler: runs every check of the catalogue on its interval on one
// io_context, enforces each run's deadline by cancelling it, never overlaps a
// check with itself, caps runs in flight, and keeps every result in memory
// for the next scrape. It owns the common per-check metrics.

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
#include "config/catalogue.hpp"
#include "metrics/sample.hpp"

namespace drwatch::engine {

enum class RunResult { kSuccess = 0, kFailure = 1, kTimeout = 2, kSkipped = 3 };
const char* ToString(RunResult r);

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
  std::optional<double> observed;
  std::vector<metrics::Sample> samples;  // the probe's, from the last run
  std::optional<Clock::time_point> next_due;
  std::shared_ptr<boost::asio::cancellation_signal> cancel;  // of the run in flight
};

/// One finished run, as --once prints it.
struct RunReport {
  std::string check;
  RunResult result = RunResult::kFailure;
  double duration_seconds = 0;
  std::optional<double> observed;
  std::string reason;
};

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
  void Apply(std::shared_ptr<const config::Catalogue> catalogue);
  /// Starts scheduling (after Apply).
  void Start();
  /// Stops scheduling and cancels the runs in flight.
  void Stop();
  /// Runs every check once now, concurrently (within max_concurrency), and
  /// calls `done` with one report per check in catalogue order.
  void RunAllOnce(std::function<void(std::vector<RunReport>)> done);

  /// Appends every check's, probe's and objective's samples.
  void Collect(std::vector<metrics::Sample>& out) const;
  /// Runs in flight now.
  int in_flight() const { return in_flight_; }

  /// The first run's offset into the interval for a check named `name`.
  static Clock::duration SpreadOffset(const std::string& name, Clock::duration interval);

 private:
  struct Entry;
  using Done = std::function<void(const RunReport&)>;

  void Arm();
  void OnTick();
  void Due(const std::shared_ptr<Entry>& entry);
  void Launch(const std::shared_ptr<Entry>& entry, Done done);
  void Finished(const std::shared_ptr<Entry>& entry);
  void Record(Entry& entry, RunReport report, struct ProbeOutcome& outcome);

  boost::asio::any_io_executor executor_;
  BlockingPool& pool_;
  std::shared_ptr<const config::Catalogue> catalogue_;
  std::vector<std::shared_ptr<Entry>> entries_;  // catalogue order
  std::map<std::string, std::pair<std::string, std::shared_ptr<targets::TargetRuntime>>> targets_;
  std::deque<std::pair<std::shared_ptr<Entry>, Done>> waiting_;  // over max_concurrency
  int in_flight_ = 0;
  bool started_ = false;
  std::unique_ptr<Timer> timer_;
  std::shared_ptr<bool> alive_;
};

}  // namespace drwatch::engine

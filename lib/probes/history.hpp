#pragma once
// Performance history that outlives a restart: one small JSON file per check
// under <storage.path>/history/<check>.json, beside the checks' state files
// (engine/state_store.hpp) and written the same way (common/atomic_file.hpp:
// temp file, fsync, rename), off the event loop. A file that does not parse
// is set aside as <file>.corrupt-<UTC time> and the history starts afresh.
//
// Two users:
//  - postgres.baseline keeps, per subject (a check's duration, a statement's
//    mean time, the cache miss fraction, a table's size), the last `window`
//    normal samples and the run count it has been above its baseline
//    (Observe);
//  - backup and drill runs keep their last 10 durations (DurationRatio).

#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/probe.hpp"

namespace drwatch::probes {

/// How postgres.baseline judges a subject (docs/catalogue.md#postgresbaseline).
struct BaselinePolicy {
  int window = 10;    // normal samples kept; the baseline is their median
  int warmup = 5;     // samples needed before any judgement
  double factor = 2;  // above factor × baseline is a regression
  int for_runs = 3;   // consecutive runs above before the check fails
};

/// One subject's history.
struct SubjectHistory {
  std::vector<double> samples;  // oldest first, at most `window`
  int above = 0;                // consecutive judged samples above factor × baseline
};

/// What one sample of a subject came to.
struct Judgement {
  std::optional<double> baseline;  // none during warm-up
  std::optional<double> ratio;     // value / max(baseline, floor); none during warm-up
  bool above = false;              // ratio > factor
  bool failing = false;            // above for at least for_runs consecutive samples
};

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double Median(std::vector<double> values);

/// Judges `value` against the median of the subject's kept samples (the
/// current one excluded) and records it. During warm-up (fewer than
/// policy.warmup samples kept) nothing is judged and the sample is kept. A
/// sample above factor × baseline is not kept (a regression must not become
/// the new normal) and counts towards for_runs; a sample at or below resets
/// the count and is kept, the oldest dropped beyond policy.window. `floor`
/// keeps a tiny baseline (a 0 ms statement, a 0 % miss rate) from turning
/// noise into huge ratios: the ratio divides by max(baseline, floor).
Judgement Observe(SubjectHistory& history, double value, double floor, const BaselinePolicy& policy);

/// How many durations DurationRatio keeps.
inline constexpr std::size_t kDurationRuns = 10;
/// How many runs before DurationRatio gives a ratio.
inline constexpr std::size_t kDurationWarmup = 3;
/// A run this many times slower than the median logs a warning.
inline constexpr double kSlowRunFactor = 2;

/// `seconds` over the median of the kept durations (the current run
/// excluded), none before kDurationWarmup runs are kept; then keeps `seconds`
/// (all runs count, slow ones too: the ratio describes, it does not judge).
std::optional<double> DurationRatio(SubjectHistory& history, double seconds);

/// A check's history file.
struct History {
  std::map<std::string, SubjectHistory> subjects;
  /// Counters remembered between runs (a statement's calls and total time,
  /// the blocks hit and read, a check's last run time) by name.
  std::map<std::string, double> counters;
};

std::string EncodeHistory(const std::string& check, const History& history);
/// nullopt with `error` (one line) when `text` is not check `check`'s history.
std::optional<History> DecodeHistory(std::string_view text, const std::string& check, std::string& error);

/// <storage_path>/history/<check>.json
std::string HistoryPath(const std::string& storage_path, const std::string& check);
/// Blocking. Missing: empty history, `error` empty. Unreadable or corrupt:
/// empty history, the file set aside, `error` saying which file, why and
/// where it went.
History LoadHistory(const std::string& storage_path, const std::string& check, std::string& error);
/// Blocking; creates the directories. False with `error`.
bool SaveHistory(const std::string& storage_path, const std::string& check, const History& history,
                 std::string& error);

/// The same on ctx.pool, awaited from the loop; errors are logged (once per
/// call) and leave an empty history / an unsaved one. Without
/// ctx.storage_path: an empty history, nothing saved.
boost::asio::awaitable<History> LoadHistoryOffLoop(RunContext& ctx);
boost::asio::awaitable<void> SaveHistoryOffLoop(RunContext& ctx, History history);

/// For a backup or drill run that took `seconds`: records it in the check's
/// history, adds drwatch_backup_duration_ratio to `out` once there is a
/// ratio, and logs a warning when the run was more than kSlowRunFactor × the
/// median. `what` names the run in the log ("backup run", "drill").
boost::asio::awaitable<void> AddDurationRatio(RunContext& ctx, double seconds, std::string_view what,
                                              ProbeResult& out);

}  // namespace drwatch::probes

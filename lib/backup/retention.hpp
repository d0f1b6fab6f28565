#pragma once
// Retention of backup runs: which runs a backup check keeps (`keep`: the
// newest runs, the newest of each day and week) and deleting the rest, never
// a run that may still be in flight.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "storage/backend.hpp"

namespace drwatch::backup {

/// A backup check's `keep`: the newest `last` complete runs, plus the newest
/// complete run of each of the newest `daily` UTC days and of each of the
/// newest `weekly` ISO weeks (Monday to Sunday, UTC) that have one.
struct Keep {
  int last = 7;
  int daily = 0;
  int weekly = 0;
};

/// One run as retention sees it.
struct RetentionInput {
  std::string id;
  std::chrono::system_clock::time_point time;
  bool complete = false;
  /// RunInfo::last_activity; when unset (epoch), `time`.
  std::chrono::system_clock::time_point last_activity{};
};

/// What retention must spare besides `keep`.
struct RetentionGuard {
  /// The run this process is writing or has just written: never removed,
  /// even when the clock stepped back and its id sorts before older runs.
  std::string just_written;
  std::chrono::system_clock::time_point now{};
  /// The check's timeout: an incomplete run with activity more recent than
  /// this may be another process's run in flight (another host's, or one
  /// that started before a clock step) and is kept.
  std::chrono::system_clock::duration min_age{};
};

struct RetentionPlan {
  std::vector<std::string> keep;    // complete runs kept, oldest first
  std::vector<std::string> young;   // incomplete runs kept: younger than min_age, oldest first
  std::vector<std::string> remove;  // complete runs past `keep`, and old incomplete ones, oldest first
};

/// Pure selection: which runs to keep and which to delete. Complete runs
/// go by `keep`; incomplete runs once their last activity is at least
/// `guard.min_age` old; `guard.just_written` never.
RetentionPlan PlanRetention(const std::vector<RetentionInput>& runs, const Keep& keep,
                            const RetentionGuard& guard = {});

/// Lists the runs of `check` with their leftovers, plans retention (a run
/// counts as complete when its manifest.json is present) as of now, and
/// deletes every object of each removed run, then its directory; leftover
/// temp files older than `min_age` in kept runs go too. Returns the plan
/// applied and the leftovers removed, or an error (the first failed listing
/// or delete; deletes go on past a failure).
struct RetentionResult {
  std::string error;
  RetentionPlan plan;
  std::size_t leftovers_removed = 0;
  bool ok() const { return error.empty(); }
};
boost::asio::awaitable<RetentionResult> ApplyRetention(storage::Backend& store, std::string check, Keep keep,
                                                       std::string just_written,
                                                       std::chrono::system_clock::duration min_age);

}  // namespace drwatch::backup

#pragma once
// The layout of backups in a storage target, shared by backup jobs, drills,
// drift checks and the command line:
//
//   <check>/<run id>/schema.sql | data.dump | files.tar.gz | manifest.json
//
// A run id is the run's UTC start time, "20261125T023000Z"; ids sort as
// times. A run is complete when its manifest.json exists and parses.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/manifest.hpp"
#include "storage/backend.hpp"

namespace drwatch::backup {

/// "20261125T023000Z" for `t` (UTC, whole seconds).
std::string RunId(std::chrono::system_clock::time_point t);
/// The time of a run id, or nullopt when `id` is not one.
std::optional<std::chrono::system_clock::time_point> ParseRunId(std::string_view id);
/// "<check>/<id>/<file>".
std::string RunKey(std::string_view check, std::string_view id, std::string_view file);

struct RunInfo {
  std::string id;
  std::chrono::system_clock::time_point time;
  std::vector<storage::ObjectInfo> objects;  // keys relative to the storage root
  std::uint64_t total_bytes = 0;
  bool has_manifest = false;                 // manifest.json present (ReadManifest parses it)
};

struct RunsResult {
  std::string error;
  std::vector<RunInfo> runs;  // oldest first
  bool ok() const { return error.empty(); }
};

/// Every run of `check` in `store` (complete or not).
boost::asio::awaitable<RunsResult> ListRuns(storage::Backend& store, std::string check);

struct ManifestResult {
  std::string error;
  std::optional<Manifest> manifest;
  bool ok() const { return error.empty(); }
};

/// Reads and parses the manifest of run `id`.
boost::asio::awaitable<ManifestResult> ReadManifest(storage::Backend& store, std::string check, std::string id);

/// The newest run whose manifest parses (reads manifests newest first), or
/// an error "no complete backup of CHECK in STORE".
struct LatestResult {
  std::string error;
  RunInfo run;
  Manifest manifest;
  bool ok() const { return error.empty(); }
};
boost::asio::awaitable<LatestResult> LatestComplete(storage::Backend& store, std::string check);

// --- Retention (additions for backup jobs) --------------------------------

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
};

struct RetentionPlan {
  std::vector<std::string> keep;    // complete runs kept, oldest first
  std::vector<std::string> remove;  // complete runs past `keep`, and incomplete ones, oldest first
};

/// Pure selection: which runs to keep and which to delete. Incomplete runs
/// are always removed except `in_flight` (the run being written now).
RetentionPlan PlanRetention(const std::vector<RetentionInput>& runs, const Keep& keep,
                            std::string_view in_flight = {});

/// Lists the runs of `check`, plans retention (a run counts as complete when
/// its manifest.json is present) and deletes every object of each removed
/// run. Returns the plan actually applied, or an error (the first failed
/// listing or delete; deletes go on past a failure).
struct RetentionResult {
  std::string error;
  RetentionPlan plan;
  bool ok() const { return error.empty(); }
};
boost::asio::awaitable<RetentionResult> ApplyRetention(storage::Backend& store, std::string check, Keep keep,
                                                       std::string in_flight);

}  // namespace drwatch::backup

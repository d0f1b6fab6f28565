#pragma once
// The layout of backups in a storage target, shared by backup jobs, drills,
// drift checks and the command line:
//
//   <check>/<run id>/schema.sql | data.dump | files.tar.gz | manifest.json
//
// A run id is the run's UTC start time, "20261125T023000Z"; ids sort as
// times. A run is complete when its manifest.json exists, parses, and every
// file it lists is present with its listed size. Files being written are
// hidden (".data.dump.partial-XXXXXX" on file://) until committed.

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
  /// Hidden temp files of writes in flight or abandoned by a crash
  /// (ListRuns with_leftovers only).
  std::vector<storage::ObjectInfo> leftovers;
  /// The newest of the id's time and the mtimes of its objects, leftovers and
  /// directory: when anything last happened to the run.
  std::chrono::system_clock::time_point last_activity;
};

struct RunsResult {
  std::string error;
  std::vector<RunInfo> runs;  // oldest first
  bool ok() const { return error.empty(); }
};

/// Every run of `check` in `store` (complete or not) that has objects. With
/// `with_leftovers`, also the runs that have only hidden temp files or an
/// empty directory (what a killed run leaves), with their leftovers.
boost::asio::awaitable<RunsResult> ListRuns(storage::Backend& store, std::string check,
                                            bool with_leftovers = false);

/// Why the run's stored objects do not match its manifest ("data.dump is
/// missing", "data.dump has 10 bytes, the manifest lists 12"), or "" when
/// every listed file is there with its listed size.
std::string MissingFiles(const RunInfo& run, const Manifest& manifest);

struct ManifestResult {
  std::string error;
  std::optional<Manifest> manifest;
  bool ok() const { return error.empty(); }
};

/// Reads and parses the manifest of run `id`.
boost::asio::awaitable<ManifestResult> ReadManifest(storage::Backend& store, std::string check, std::string id);

/// The newest complete run (reads manifests newest first), or an error "no
/// complete backup of CHECK in STORE" naming the newest three runs skipped
/// and why. A
/// run whose manifest does not parse or whose files are not all there is
/// skipped (and logged), never trusted.
struct LatestResult {
  std::string error;
  RunInfo run;
  Manifest manifest;
  std::vector<std::string> skipped;  // "run 20261125T023000Z: data.dump is missing", newest first
  bool ok() const { return error.empty(); }
};
boost::asio::awaitable<LatestResult> LatestComplete(storage::Backend& store, std::string check);

}  // namespace drwatch::backup

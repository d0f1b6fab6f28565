#pragma once
// A restore drill: the newest complete backup restored into a scratch
// database on a drill server, system by system in the order of their RTO,
// each system timed from the drill's start until its tables are restored and
// verified; then the verify queries; the scratch database is dropped
// afterwards, also on failure, timeout or cancellation.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backup/encryption.hpp"
#include "run/context.hpp"
#include "restore/restore_plan.hpp"
#include "storage/backend.hpp"

namespace drwatch::restore {

struct DrillSpec {
  std::string check;                // the drill check's name (names the scratch database)
  std::string backup;               // the backup.pg_dump check whose runs are restored
  std::vector<SystemCover> systems;  // shortest RTO first
  std::vector<double> rto_targets;  // seconds, one per system (for the report)
  std::vector<std::string> verify;  // SQL returning one boolean
  int jobs = 0;                     // pg_restore -j; 0: none
  backup::KeyRing keys;             // the backup check's keys (encrypted runs)
};

struct DrillReport {
  std::string error;  // the first failure, one line; empty on success
  std::string run;    // the backup run restored
  std::string details;
  std::vector<std::pair<std::string, double>> systems;  // measured seconds, in restore order
  int verified_tables = 0;
  std::uint64_t dump_bytes = 0;  // size of the data.dump restored
  double restore_seconds = 0;    // time spent in pg_restore, all passes
  bool ok() const { return error.empty(); }
};

/// The scratch database of a drill started at `start` ("drwatch_drill_<check>_20261126t040000z").
std::string ScratchDatabaseName(const std::string& check, std::chrono::system_clock::time_point start);

/// Runs one drill. ctx.target is the drill server (a postgres target).
boost::asio::awaitable<DrillReport> RunDrill(run::RunContext& ctx, storage::Backend& store, const DrillSpec& spec);

}  // namespace drwatch::restore

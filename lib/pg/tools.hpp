#pragma once
// Running PostgreSQL's client programs (pg_dump, pg_dumpall, pg_restore) for
// backups, drills, drift checks and `restore latest`: the connection goes through the
// environment (never the command line, where ps shows it), the program is the
// one of the server's major version, and a run never blocks the loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/blocking.hpp"
#include "common/subprocess.hpp"

namespace drwatch::pg {

/// Environment that makes a libpq program connect as `conninfo` does: each
/// option set in it as the variable libpq reads (PGHOST, PGPASSWORD, …), the
/// database replaced by `dbname` and PGAPPNAME set to `application_name`
/// unless conninfo names one (both when not empty). The one place that turns
/// a conninfo into PG* variables (pg_dump, pg_restore, psql).
struct PgEnv {
  std::string error;  // conninfo does not parse (no secrets in it)
  std::map<std::string, std::string> set;
  /// Also pass on the process's own PG* variables (those of `set` win): only
  /// for an operator's command (restore latest), never in the daemon.
  bool inherit_own = false;
};
PgEnv PgEnvironment(const std::string& conninfo, const std::string& dbname = "",
                    const std::string& application_name = "");

/// `conninfo` as key=value text with its database replaced by `dbname` (for
/// a pg::Connection to the scratch database). A secret, like its input.
std::string WithDatabase(const std::string& conninfo, const std::string& dbname);

/// The directory holding PostgreSQL client programs of major version `major`
/// ("/usr/lib/postgresql/15/bin"), or "" when not installed (a stat).
std::string PostgresBinDir(int major);

/// 15 for "15.18 (Debian 15.18-0+deb12u1)" or "150018"; 0 when unreadable.
int ServerMajor(std::string_view server_version);

/// The absolute path of `program` (pg_restore) for PostgreSQL `major`, or ""
/// with `error` set ("pg_restore of PostgreSQL 16 not found: install
/// postgresql-client-16"). Looks on the pool (a stat).
boost::asio::awaitable<std::string> FindPgProgram(BlockingPool& pool, int major, std::string program,
                                                  std::string& error);

struct ToolResult {
  std::string error;  // "pg_restore: exit code 1: <its last stderr line>", redacted
  std::string out;    // stdout, at most out_cap bytes
  std::string err;    // stderr, at most 64 KiB, redacted
  bool ok() const { return error.empty(); }
};

/// Runs a program to its end, reading stdout and stderr at once. Cancelling
/// the awaiting coroutine kills the child's process group.
boost::asio::awaitable<ToolResult> RunTool(boost::asio::any_io_executor executor, SpawnSpec spec,
                                           std::size_t out_cap);

/// A spawn spec for `program` with the connection environment `env` (and
/// otherwise SpawnSpec's minimal one).
SpawnSpec ToolSpec(std::vector<std::string> argv, const PgEnv& env);

}  // namespace drwatch::pg

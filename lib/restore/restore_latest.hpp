#pragma once
// drwatchd restore latest CHECK --to DSN: the runbook's "complete database
// loss" in one command.

#include <boost/asio/awaitable.hpp>
#include <ostream>
#include <string>

#include "backup/encryption.hpp"
#include "run/context.hpp"
#include "storage/backend.hpp"

namespace drwatch::restore {

struct RestoreLatestOptions {
  std::string check;   // a backup.pg_dump check
  std::string to_dsn;  // where to restore (a secret: never printed)
  bool force = false;  // allow a non-empty target database
  bool no_owner = false;  // pg_restore --no-owner: the connecting user owns everything
  backup::KeyRing keys = {};  // the backup check's keys (encrypted runs)
};

/// Verifies the newest complete run's checksums, creates the roles of its
/// roles.sql that the target cluster lacks, restores it into options.to_dsn
/// (refusing a non-empty database unless force) with owners and grants,
/// verifies row counts and the structure counts, and prints each step's time. Returns 0 only when everything
/// verified. `ctx` is a run context for the backup check (its postgres
/// target, pool, executor; deadline = the check's timeout or none).
boost::asio::awaitable<int> RestoreLatestCommand(run::RunContext& ctx, storage::Backend& store,
                                                 const RestoreLatestOptions& options, std::ostream& out);

}  // namespace drwatch::restore

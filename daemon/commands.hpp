#pragma once
// The commands for people (drwatchd … backup run CHECK, backup list CHECK,
// restore drill CHECK, restore latest CHECK --to DSN): the same catalogue and
// code paths as the scheduled checks, on an io_context of their own.

#include "options.hpp"

namespace drwatch::daemon {

/// Runs options.command; returns the exit status: 0 success, 1 failure, 2 a
/// usage or catalogue error (unknown check, wrong kind), 128+N after signal N
/// (SIGINT, SIGTERM) cancelled it.
int RunCommand(const Options& options);

}  // namespace drwatch::daemon

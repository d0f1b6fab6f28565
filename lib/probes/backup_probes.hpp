#pragma once
// The backup job kinds (backup.pg_dump, backup.files) as the command line
// sees them: a probe that also names the storage target holding its runs.

#include <memory>
#include <string>

#include "backup/encryption.hpp"
#include "probes/probe.hpp"

namespace drwatch::probes {

class BackupJob : public Probe {
 public:
  /// The name of the storage target its runs go to (the check's `storage`).
  virtual const std::string& storage() const = 0;
  /// The keys of `encryption` (empty: runs are stored in clear): [0]
  /// encrypts new runs, all of them read runs (drills, restores, drift).
  const backup::KeyRing& keys() const { return keys_; }
  void set_keys(backup::KeyRing keys) { keys_ = std::move(keys); }
  /// A timed-out run leaves the newest complete backup's samples in place
  /// (a failed run re-exports them itself).
  bool KeepsSamplesOnTimeout() const override { return true; }
  /// Two runs at once would race retention against each other's runs.
  bool RunsAlone() const override { return true; }

 private:
  backup::KeyRing keys_;
};

/// Parsers of the backup kinds: backup_pg_dump.cpp, backup_files.cpp.
std::unique_ptr<Probe> ParseBackupPgDump(config::NodeReader& check);
std::unique_ptr<Probe> ParseBackupFiles(config::NodeReader& check);
std::unique_ptr<Probe> ParseBackupSupabaseConfig(config::NodeReader& check);

}  // namespace drwatch::probes

#pragma once
// The backup job kinds (backup.pg_dump, backup.files) as the command line
// sees them: a probe that also names the storage target holding its runs.
// Both run the same way (BackupJob::Run); a kind supplies only its files.

#include <memory>
#include <string>

#include "backup/encryption.hpp"
#include "backup/manifest.hpp"
#include "backup/retention.hpp"
#include "backup/runs.hpp"
#include "probes/probe.hpp"
#include "storage/backend.hpp"

namespace drwatch::probes {

class BackupJob : public Probe {
 public:
  /// One run: starts a new run of the check in its storage, has the kind
  /// write its files (WriteFiles), then writes the manifest and applies
  /// retention (FinishBackup). A failed run reports why, with the samples of
  /// the newest complete run (FailBackup).
  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) final;
  /// The name of the storage target its runs go to (the check's `storage`).
  const std::string& storage() const { return storage_; }
  /// The keys of `encryption` (empty: runs are stored in clear): [0]
  /// encrypts new runs, all of them read runs (drills, restores, drift).
  const backup::KeyRing& keys() const { return keys_; }
  void set_keys(backup::KeyRing keys) { keys_ = std::move(keys); }
  /// A timed-out run leaves the newest complete backup's samples in place
  /// (a failed run re-exports them itself).
  bool KeepsSamplesOnTimeout() const override { return true; }
  /// Two runs at once would race retention against each other's runs.
  bool RunsAlone() const override { return true; }

 protected:
  /// `kind` is the manifest's kind ("backup.pg_dump").
  BackupJob(std::string kind, std::string storage, backup::Keep keep)
      : kind_(std::move(kind)), storage_(std::move(storage)), keep_(keep) {}
  /// The storage target of a run; nullptr when it is not available. By
  /// default the target named `storage` (ctx.find_target).
  virtual targets::TargetRuntime* StorageOf(RunContext& ctx) const;
  /// Streams the kind's files into `store` for the run `manifest` describes
  /// (its run id is set) and records them, and what they were taken from, in
  /// `manifest`. Returns why it failed, empty on success.
  virtual boost::asio::awaitable<std::string> WriteFiles(RunContext& ctx, storage::Backend& store,
                                                         backup::Manifest& manifest) = 0;
  /// Adds the kind's own samples to a run's result, successful or not.
  virtual void AddRunSamples(ProbeResult& result) const { (void)result; }

 private:
  std::string kind_;
  std::string storage_;
  backup::Keep keep_;
  backup::KeyRing keys_;
};

/// Parsers of the backup kinds: backup_pg_dump.cpp, backup_files.cpp.
std::unique_ptr<Probe> ParseBackupPgDump(config::NodeReader& check);
std::unique_ptr<Probe> ParseBackupFiles(config::NodeReader& check);
std::unique_ptr<Probe> ParseBackupSupabaseConfig(config::NodeReader& check);

}  // namespace drwatch::probes

#include "probes/backup_probes.hpp"
#include "probes/http_probes.hpp"
#include "probes/postgres_probes.hpp"
#include "probes/probe.hpp"
#include "probes/restore_probes.hpp"
#include "probes/storage_probes.hpp"

namespace drwatch::probes {

const std::vector<ProbeKind>& ProbeKinds() {
  static const std::vector<ProbeKind> kinds = {
      {"postgres.ping", "postgres", &ParsePostgresPing},
      {"postgres.recency", "postgres", &ParsePostgresRecency},
      {"postgres.query", "postgres", &ParsePostgresQuery},
      {"postgres.wal_archive", "postgres", &ParsePostgresWalArchive},
      {"postgres.replication", "postgres", &ParsePostgresReplication, {}, {}, {}, {}, "monthly"},
      {"postgres.security", "postgres", &ParsePostgresSecurity, std::chrono::hours(24), {}, {}, {}, "weekly"},
      {"postgres.baseline", "postgres", &ParsePostgresBaseline, std::chrono::hours(1), {}, {}, {}, "weekly"},
      {"http", "http", &ParseHttpProbe},
      {"supabase.backups", "supabase", &ParseSupabaseBackups, std::chrono::minutes(15)},
      {"storage.reachable", "storage", &ParseStorageReachable},
      {"storage.freshness", "storage", &ParseStorageFreshness},
      {"storage.replication", "storage", &ParseStorageReplication},
      {"backup.pg_dump", "postgres", &ParseBackupPgDump, std::chrono::hours(24), {}, std::chrono::hours(1)},
      {"backup.files", "storage", &ParseBackupFiles, std::chrono::hours(24), {}, std::chrono::hours(1), "storage"},
      {"backup.supabase_config", "supabase", &ParseBackupSupabaseConfig, std::chrono::hours(24), {},
       std::chrono::minutes(15)},
      {"restore.drill", "postgres", &ParseRestoreDrill, std::chrono::days(7), "weekly sun 04:00", std::chrono::hours(6),
       {}, "weekly"},
      {"postgres.schema_drift", "postgres", &ParsePostgresSchemaDrift, std::chrono::hours(1), {}, std::chrono::minutes(5),
       {}, "weekly"},
  };
  return kinds;
}

const ProbeKind* FindProbeKind(std::string_view name) {
  for (const auto& k : ProbeKinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace drwatch::probes

#include "probes/http_probes.hpp"
#include "probes/postgres_probes.hpp"
#include "probes/probe.hpp"
#include "probes/storage_probes.hpp"

namespace drwatch::probes {

const std::vector<ProbeKind>& ProbeKinds() {
  static const std::vector<ProbeKind> kinds = {
      {"postgres.ping", "postgres", &ParsePostgresPing},
      {"postgres.recency", "postgres", &ParsePostgresRecency},
      {"postgres.query", "postgres", &ParsePostgresQuery},
      {"postgres.wal_archive", "postgres", &ParsePostgresWalArchive},
      {"postgres.replication", "postgres", &ParsePostgresReplication},
      {"http", "http", &ParseHttpProbe},
      {"supabase.backups", "supabase", &ParseSupabaseBackups, std::chrono::minutes(15)},
      {"storage.reachable", "storage", &ParseStorageReachable},
      {"storage.freshness", "storage", &ParseStorageFreshness},
      {"storage.replication", "storage", &ParseStorageReplication},
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

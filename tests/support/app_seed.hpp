#pragma once
// The application database the backup and restore integration tests share:
// auth and public schemas as a Supabase project has them, four tables with
// 110000 rows, an index, foreign keys and a view, readable by the password
// user (PgCluster::kPasswordUser) the backup checks connect as.

#include <cstdint>
#include <map>
#include <string>

#include "support/pg_cluster.hpp"

namespace drwatch::test {

/// The seeded tables as a catalogue `tables:` list.
inline constexpr char kAppTables[] = "[auth.users, auth.sessions, public.orders, public.audit_logs]";

/// Seeds `cluster`'s database postgres (once per cluster: the caller guards).
void SeedAppDatabase(const PgCluster& cluster);

/// Rows per seeded table ("auth.users" -> 20000).
const std::map<std::string, std::int64_t>& AppRowCounts();

/// pids of this process's own live children whose command line contains
/// `needle` (other tests on the machine may run the same programs).
std::vector<int> OwnChildrenWith(const std::string& needle);

}  // namespace drwatch::test

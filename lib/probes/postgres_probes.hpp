#pragma once
// Parsers of the PostgreSQL probe kinds, one per file:
// postgres_ping.cpp, postgres_recency.cpp, postgres_query.cpp,
// postgres_wal_archive.cpp, postgres_replication.cpp, postgres_security.cpp.

#include <memory>

#include "probes/probe.hpp"

namespace drwatch::probes {

std::unique_ptr<Probe> ParsePostgresPing(config::NodeReader& check);
std::unique_ptr<Probe> ParsePostgresRecency(config::NodeReader& check);
std::unique_ptr<Probe> ParsePostgresQuery(config::NodeReader& check);
std::unique_ptr<Probe> ParsePostgresWalArchive(config::NodeReader& check);
std::unique_ptr<Probe> ParsePostgresReplication(config::NodeReader& check);
std::unique_ptr<Probe> ParsePostgresSecurity(config::NodeReader& check);
std::unique_ptr<Probe> ParsePostgresBaseline(config::NodeReader& check);

}  // namespace drwatch::probes

#pragma once
// Kinds that prove backups restorable: restore_drill.cpp (restore.drill)
// and postgres_schema_drift.cpp (postgres.schema_drift). Both name a
// backup.pg_dump check (`backup`) and read its runs from its storage target.

#include <memory>
#include <string>
#include <vector>

#include "probes/probe.hpp"

namespace drwatch::probes {

std::unique_ptr<Probe> ParseRestoreDrill(config::NodeReader& check);
std::unique_ptr<Probe> ParsePostgresSchemaDrift(config::NodeReader& check);

/// The storage target of the backup.pg_dump check `context.checks[0]`, or
/// a LinkError at `backup` when it is no backup job.
std::string BackupStorage(const LinkContext& context, std::vector<LinkError>& errors);

}  // namespace drwatch::probes

#pragma once
// Planning a restore system by system: which entries of a custom-format
// dump's table of contents (`pg_restore -l -v`) each RTO system needs, so a
// drill restores the systems in the order of their RTO (shortest first) with
// one `pg_restore -L` pass each and times each one. Pure functions.

#include <string>
#include <string_view>
#include <vector>

namespace drwatch::restore {

/// One entry of `pg_restore -l -v` output:
/// "3226; 2606 16404 FK CONSTRAINT auth sessions sessions_user_id_fkey postgres"
/// followed by ";\tdepends on: 216 3220 218".
struct TocEntry {
  int id = 0;
  std::string desc;       // "TABLE", "TABLE DATA", "FK CONSTRAINT", …
  std::string schema;     // "-" when none
  std::string tag;        // "users", "sessions sessions_user_id_fkey"
  std::string line;       // the entry's line as listed (a -L list takes it as is)
  std::vector<int> deps;  // dump ids it depends on
};

/// Parses a listing; comment lines other than dependencies are skipped.
std::vector<TocEntry> ParseToc(std::string_view listing);

/// An RTO system and what makes it usable: schemas ("auth") or tables
/// ("auth.users"; an unqualified name means public).
struct SystemCover {
  std::string name;
  std::vector<std::string> items;
};

/// One pg_restore pass.
struct RestorePass {
  std::string system;               // empty: everything no system covers (the last pass)
  std::vector<std::string> list;    // -L lines, in the dump's order
  std::vector<std::string> tables;  // "schema.table" to verify after the pass
};

/// Plans one pass per system in the given order, then a last pass with the
/// rest (omitted when nothing is left). A system's pass holds the entries of
/// its tables and schemas (definitions, data, indexes, constraints, …) plus
/// every not yet restored entry they depend on; a foreign key waits for the
/// first pass in which everything it references is restored. `tables` are
/// the manifest's tables (verified in the pass of the first system covering
/// them, else in the last pass) and a system's own table items.
std::vector<RestorePass> PlanPasses(const std::vector<TocEntry>& toc, const std::vector<SystemCover>& systems,
                                    const std::vector<std::string>& manifest_tables);

/// "public.x" for "x"; "auth.users" unchanged.
std::string Qualified(std::string_view table);

}  // namespace drwatch::restore

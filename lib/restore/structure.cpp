#include "restore/structure.hpp"

#include <charconv>

namespace drwatch::restore {
namespace {

// A relation of the user's: not in a system schema, not an extension's.
#define DRWATCH_USER_NS                                                                            \
  "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' " \
  "AND n.nspname NOT LIKE 'pg\\_temp%'"
#define DRWATCH_NOT_EXTENSION(catalog, oid)                                                           \
  "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '" catalog "'::regclass AND d.objid = " oid \
  " AND d.deptype = 'e')"
#define DRWATCH_USER_CLASS                                                                    \
  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " DRWATCH_USER_NS " AND " \
  DRWATCH_NOT_EXTENSION("pg_class", "c.oid")

constexpr const char* kNames[] = {"tables", "partitions",  "views",      "functions",  "triggers",    "policies",
                                  "rls_tables", "grants",  "extensions", "enums",      "publications"};

}  // namespace

const char kStructureQuery[] =
    "SELECT"
    " (SELECT count(*) " DRWATCH_USER_CLASS " AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition),"
    " (SELECT count(*) " DRWATCH_USER_CLASS " AND c.relkind IN ('r', 'p', 'f') AND c.relispartition),"
    " (SELECT count(*) " DRWATCH_USER_CLASS " AND c.relkind IN ('v', 'm')),"
    " (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE " DRWATCH_USER_NS
    "   AND " DRWATCH_NOT_EXTENSION("pg_proc", "p.oid") "),"
    " (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n"
    "   ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND " DRWATCH_USER_NS "),"
    " (SELECT count(*) FROM pg_policy),"
    " (SELECT count(*) " DRWATCH_USER_CLASS " AND c.relrowsecurity),"
    " (SELECT count(*) " DRWATCH_USER_CLASS " AND c.relacl IS NOT NULL"
    "   AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner)),"
    " (SELECT count(*) FROM pg_extension),"
    " (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND "
    DRWATCH_USER_NS " AND " DRWATCH_NOT_EXTENSION("pg_type", "t.oid") "),"
    " (SELECT count(*) FROM pg_publication)";

#undef DRWATCH_USER_CLASS
#undef DRWATCH_NOT_EXTENSION
#undef DRWATCH_USER_NS

std::string ReadStructure(const pg::QueryResult& result, std::vector<backup::ManifestCount>& out) {
  if (!result.ok()) return "count structure: " + result.error;
  constexpr std::size_t n = std::size(kNames);
  if (result.rows.size() != 1 || result.rows[0].size() != n) return "count structure: unexpected result";
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string text = result.rows[0][i].value_or("");
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) return "count structure: not a number";
    out.push_back({kNames[i], v});
  }
  return "";
}

boost::asio::awaitable<std::string> CountStructure(pg::Connection& conn, std::vector<backup::ManifestCount>& out) {
  auto result = co_await conn.Execute(kStructureQuery);
  co_return ReadStructure(result, out);
}

std::string CompareStructure(const std::vector<backup::ManifestCount>& backup,
                             const std::vector<backup::ManifestCount>& restored) {
  std::string missing;
  for (const auto& want : backup) {
    std::int64_t got = 0;
    for (const auto& r : restored) {
      if (r.name == want.name) got = r.count;
    }
    if (got >= want.count) continue;
    missing += (missing.empty() ? "" : ", ") + std::to_string(got) + " of " + std::to_string(want.count) + " " +
               want.name;
  }
  return missing.empty() ? "" : "structure: only " + missing + " restored";
}

}  // namespace drwatch::restore

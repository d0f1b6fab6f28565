// backup.pg_dump: one run = <check>/<run id>/{schema.sql, data.dump,
// roles.sql, manifest.json} in the storage target. Both dumps, the row counts
// and the structure counts come from one snapshot, exported by a REPEATABLE
// READ transaction on a dedicated connection that stays open until both
// pg_dump children have finished. roles.sql (pg_dumpall --roles-only
// --no-role-passwords: no password or hash is ever stored) holds every role
// of the cluster, not only those the database names: a login role such as
// Supabase's authenticator owns nothing and is named by no grant, yet the API
// cannot connect without it. Connection settings reach the children through
// their environment only.

#include <libpq-fe.h>

#include <memory>

#include "config/node_reader.hpp"
#include "pg/quote.hpp"
#include "pg/tools.hpp"
#include "probes/backup_common.hpp"
#include "probes/backup_probes.hpp"
#include "restore/structure.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kSnapshotQuery =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
    "SELECT pg_export_snapshot(), current_setting('server_version'), "
    "current_setting('server_version_num'), current_database()";

// schema.sql for people and drift checks; data.dump is a full custom-format
// dump (schema and data) so pg_restore can order and select tables in drills.
struct Dump {
  std::string_view file;
  std::string_view format;
};
constexpr Dump kDumps[] = {{"schema.sql", "--schema-only"}, {"data.dump", "-Fc"}};

struct Table {
  std::string name;    // as written in the catalogue: "auth.users"
  std::string quoted;  // "\"auth\".\"users\""
};

using pg::QuoteIdent;
using pg::QuoteLiteral;

std::optional<Table> ParseTable(const std::string& text) {
  auto dot = text.find('.');
  std::string schema = dot == std::string::npos ? "" : text.substr(0, dot);
  std::string name = dot == std::string::npos ? text : text.substr(dot + 1);
  if (name.empty() || (dot != std::string::npos && schema.empty()) || name.find('.') != std::string::npos ||
      text.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  return Table{text, schema.empty() ? QuoteIdent(name) : QuoteIdent(schema) + "." + QuoteIdent(name)};
}

// "SELECT i FROM unnest(ARRAY[…]) WITH ORDINALITY … WHERE to_regclass(n) IS NULL": the missing tables.
std::string MissingTablesQuery(const std::vector<Table>& tables) {
  std::string list;
  for (const auto& t : tables) list += (list.empty() ? "" : ", ") + QuoteLiteral(t.quoted);
  return "SELECT i FROM unnest(ARRAY[" + list +
         "]::text[]) WITH ORDINALITY AS t(n, i) WHERE to_regclass(n) IS NULL ORDER BY i";
}

std::string CountQuery(const std::vector<Table>& tables) {
  std::string sql = "SELECT ";
  for (std::size_t i = 0; i < tables.size(); ++i) {
    sql += (i ? ", " : "") + std::string("(SELECT count(*) FROM ") + tables[i].quoted + ")";
  }
  return sql;
}

struct Snapshot {
  std::string id;
  std::string server_version;
  int major = 0;
  std::string database;
};

class BackupPgDump final : public BackupJob {
 public:
  BackupPgDump(std::string storage, std::vector<Table> tables, backup::Keep keep, std::string pg_dump_path)
      : BackupJob("backup.pg_dump", std::move(storage), keep), tables_(std::move(tables)),
        pg_dump_path_(std::move(pg_dump_path)) {}

  std::vector<TargetReference> ReferencedTargets() const override { return {{"storage", storage(), "storage"}}; }

 private:
  asio::awaitable<std::string> WriteFiles(RunContext& ctx, storage::Backend& store,
                                          backup::Manifest& manifest) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    // A dedicated connection: the target's shared one serves other checks,
    // and this transaction stays open for the whole dump.
    std::string error;
    std::unique_ptr<pg::Connection> conn = co_await pg::Connection::Connect(ctx.pool, target.conninfo(), error);
    if (!conn) co_return "connect: " + error;
    pg::QueryResult opened = co_await conn->ExecuteInTransaction(std::string(kSnapshotQuery));
    if (!opened.ok()) co_return "export snapshot: " + opened.error;
    if (opened.rows.size() != 1 || opened.rows[0].size() != 4) co_return "export snapshot: no row";
    Snapshot snap{*opened.rows[0][0], *opened.rows[0][1], std::stoi(*opened.rows[0][2]) / 10000, *opened.rows[0][3]};
    manifest.server_version = snap.server_version;
    manifest.database = snap.database;

    std::string counted = co_await CountRows(*conn, manifest);
    if (!counted.empty()) co_return counted;
    pg::QueryResult structure = co_await conn->ExecuteInTransaction(restore::kStructureQuery);
    std::string read = restore::ReadStructure(structure, manifest.structure);
    if (!read.empty()) co_return read;
    std::string dir = pg::PostgresBinDir(snap.major);
    if (pg_dump_path_.empty() && dir.empty()) {
      co_return "no pg_dump for PostgreSQL " + std::to_string(snap.major) + ": install postgresql-client-" +
                std::to_string(snap.major) + " or set pg_dump_path";
    }
    std::string program = pg_dump_path_.empty() ? dir + "/pg_dump" : pg_dump_path_;
    // pg_dumpall of the server's version, else the one beside pg_dump_path.
    std::string dumpall = (dir.empty() ? program.substr(0, program.rfind('/')) : dir) + "/pg_dumpall";
    pg::PgEnv env = pg::PgEnvironment(target.conninfo(), snap.database, "drwatchd pg_dump");
    struct Child {
      std::string file, program;
      std::vector<std::string> argv;
    };
    std::vector<Child> children;
    for (const Dump& dump : kDumps) {
      children.push_back({std::string(dump.file), "pg_dump",
                          {program, "--snapshot=" + snap.id, std::string(dump.format), "--no-password"}});
    }
    children.push_back({"roles.sql", "pg_dumpall",
                        {dumpall, "--roles-only", "--no-role-passwords", "--no-password", "-l", snap.database}});
    for (auto& child : children) {
      SpawnSpec spec = pg::ToolSpec(std::move(child.argv), env);
      StreamResult streamed = co_await StreamChildToObject(
          ctx.executor, spec, store, backup::RunKey(manifest.check, manifest.run, child.file), child.file,
          child.program, manifest.check, keys());
      if (!streamed.ok()) co_return streamed.error;
      manifest.files.push_back(std::move(streamed.file));
    }
    pg::QueryResult committed = co_await conn->Execute("COMMIT");
    if (!committed.ok()) co_return "commit: " + committed.error;
    co_return "";
  }

  // Row counts of the listed tables, in the exported snapshot. A missing
  // table is named (a typo in the catalogue, or a table dropped in production).
  asio::awaitable<std::string> CountRows(pg::Connection& conn, backup::Manifest& manifest) {
    if (tables_.empty()) co_return "";
    pg::QueryResult missing = co_await conn.ExecuteInTransaction(MissingTablesQuery(tables_));
    if (!missing.ok()) co_return "look up tables: " + missing.error;
    if (!missing.rows.empty()) {
      std::string names;
      for (const auto& row : missing.rows) {
        std::size_t i = static_cast<std::size_t>(std::stoul(row[0].value_or("1"))) - 1;
        names += (names.empty() ? "" : ", ") + (i < tables_.size() ? tables_[i].name : "?");
      }
      co_return (missing.rows.size() == 1 ? "table " + names + " does not exist"
                                           : "tables " + names + " do not exist");
    }
    pg::QueryResult counts = co_await conn.ExecuteInTransaction(CountQuery(tables_));
    if (!counts.ok()) co_return "count rows: " + counts.error;
    if (counts.rows.size() != 1 || counts.rows[0].size() != tables_.size()) co_return "count rows: no row";
    for (std::size_t i = 0; i < tables_.size(); ++i) {
      manifest.tables.push_back({tables_[i].name, std::stoll(counts.rows[0][i].value_or("0"))});
    }
    co_return "";
  }

  std::vector<Table> tables_;
  std::string pg_dump_path_;
};

}  // namespace

std::unique_ptr<Probe> ParseBackupPgDump(config::NodeReader& check) {
  auto storage = check.String("storage", true);
  auto tables = check.StringList("tables");
  auto keep = ParseKeep(check);
  auto jobs = check.Int("jobs", 1, 64);
  auto pg_dump_path = check.String("pg_dump_path");
  auto keys = ParseEncryption(check);
  bool ok = storage && keep && keys && (tables || !check.Has("tables")) && (jobs || !check.Has("jobs")) &&
            (pg_dump_path || !check.Has("pg_dump_path"));
  std::vector<Table> parsed;
  for (const auto& text : tables.value_or(std::vector<std::string>{})) {
    auto table = ParseTable(text);
    if (!table) {
      check.Error("tables", "invalid table \"" + text + "\" (use table or schema.table)");
      ok = false;
      continue;
    }
    parsed.push_back(std::move(*table));
  }
  if (jobs && *jobs > 1) {
    check.Error("jobs", "parallel pg_dump (-j) needs the directory format, which cannot be streamed to storage; "
                        "only 1 is supported");
    ok = false;
  }
  if (pg_dump_path && !pg_dump_path->starts_with("/")) {
    check.Error("pg_dump_path", "expected an absolute path");
    ok = false;
  }
  if (!ok) return nullptr;
  auto job = std::make_unique<BackupPgDump>(*storage, std::move(parsed), *keep, pg_dump_path.value_or(""));
  job->set_keys(std::move(*keys));
  return job;
}

}  // namespace drwatch::probes

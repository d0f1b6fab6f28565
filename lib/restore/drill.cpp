#include "restore/drill.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <map>

#include "backup/runs.hpp"
#include "config/duration.hpp"
#include "restore/fetch.hpp"
#include "restore/restore_steps.hpp"
#include "restore/roles.hpp"
#include "restore/structure.hpp"
#include "targets/postgres_target.hpp"
#include "common/text.hpp"

namespace drwatch::restore {
namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

constexpr std::size_t kMaxIdentifier = 63;  // PostgreSQL's NAMEDATALEN - 1
constexpr std::size_t kMaxListing = 64 * 1024 * 1024;
constexpr auto kCleanupLimit = std::chrono::minutes(5);

// "drwatch_drill_<check>_", the check cut so a whole name fits in 63 bytes.
std::string ScratchPrefix(const std::string& check) {
  constexpr std::size_t kFixed = 14 + 1 + 16;  // "drwatch_drill_" "_" "20261126t040000z"
  return "drwatch_drill_" + check.substr(0, kMaxIdentifier - kFixed) + "_";
}

asio::awaitable<std::string> DropDatabase(pg::Connection& conn, std::string db) {
  auto r = co_await conn.Execute("DROP DATABASE IF EXISTS " + QuoteIdent(db) + " WITH (FORCE)");
  co_return r.error;
}

asio::awaitable<std::string> DropWithNewConnection(BlockingPool& pool, std::string conninfo, std::string db) {
  std::string error;
  auto conn = co_await pg::Connection::Connect(pool, conninfo, error);
  if (!conn) co_return error;
  auto dropped = co_await DropDatabase(*conn, db);
  co_return dropped;
}

// The cleanup of a cancelled drill: nobody waits for it, so it has a limit of its own.
asio::awaitable<void> DropDetached(BlockingPool& pool, std::string conninfo, std::string db) {
  auto executor = co_await asio::this_coro::executor;
  Timer limit(executor);
  limit.expires_after(kCleanupLimit);
  auto drop = DropWithNewConnection(pool, conninfo, db);
  auto winner = co_await (std::move(drop) || limit.async_wait(asio::use_awaitable));
  if (winner.index() == 1) {
    spdlog::warn("restore drill cleanup: dropping scratch database {} timed out", db);
  } else if (!std::get<0>(winner).empty()) {
    spdlog::warn("restore drill cleanup: cannot drop scratch database {}: {}", db, std::get<0>(winner));
  } else {
    spdlog::info("restore drill cleanup: dropped scratch database {} after the drill was cancelled", db);
  }
}

// Drops the scratch database when a drill ends without having done so
// itself: a cancelled coroutine unwinds through this destructor.
struct DropGuard {
  asio::any_io_executor executor;
  BlockingPool& pool;
  std::string conninfo;
  std::string db;
  bool armed = false;
  ~DropGuard() {
    if (armed) asio::co_spawn(executor, DropDetached(pool, conninfo, db), asio::detached);
  }
};

class Drill {
 public:
  Drill(run::RunContext& ctx, storage::Backend& store, const DrillSpec& spec, DropGuard& guard)
      : ctx_(ctx), store_(store), spec_(spec), guard_(guard),
        conninfo_(static_cast<targets::PostgresTarget&>(ctx.target).conninfo()) {}

  asio::awaitable<std::string> Prepare() {
    auto latest = co_await backup::LatestComplete(store_, spec_.backup);
    if (!latest.ok()) co_return latest.error;
    manifest_ = std::move(latest.manifest);
    report_.run = manifest_.run;
    log_.Done("find newest backup");
    std::string error;
    dir_ = co_await ScratchDir::Create(ctx_.pool, error);
    if (!dir_) co_return error;
    dump_ = dir_->path() + "/data.dump";
    error = co_await FetchFile(ctx_.pool, store_, manifest_, spec_.backup, "data.dump", dump_, spec_.keys,
                               [this](const std::string& step) { log_.Done(step); });
    if (!error.empty()) co_return error;
    report_.dump_bytes = PlainSize(manifest_, "data.dump");
    error = co_await CreateDatabase();
    co_return error;
  }

  asio::awaitable<std::string> RestoreSystems() {
    std::vector<std::string> argv{pg_restore_, "-l", "-v", dump_};
    SpawnSpec spec = pg::ToolSpec(std::move(argv), pg::PgEnv{});
    auto listing = co_await pg::RunTool(ctx_.executor, std::move(spec), kMaxListing);
    if (!listing.ok()) co_return listing.error;
    std::vector<std::string> tables;
    for (const auto& t : manifest_.tables) {
      tables.push_back(Qualified(t.name));
      rows_[Qualified(t.name)] = t.rows;
    }
    auto passes = PlanPasses(ParseToc(listing.out), spec_.systems, tables);
    log_.Done("plan (pg_restore -l)");
    for (std::size_t i = 0; i < passes.size(); ++i) {
      std::string error = co_await RunPass(passes[i], i);
      if (!error.empty()) co_return error;
    }
    if (manifest_.structure.empty()) co_return std::string();
    std::vector<backup::ManifestCount> restored;
    std::string error = co_await CountStructure(*scratch_, restored);
    if (error.empty()) error = CompareStructure(manifest_.structure, restored);
    if (!error.empty()) co_return error;
    log_.Done("verify structure (" + std::to_string(manifest_.structure.size()) + " counts)");
    co_return std::string();
  }

  asio::awaitable<std::string> RunVerifyQueries() {
    for (std::size_t i = 0; i < spec_.verify.size(); ++i) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.deadline - Clock::now());
      std::string error = co_await VerifyQuery(*scratch_, spec_.verify[i], i, left);
      if (!error.empty()) co_return error;
    }
    if (!spec_.verify.empty()) log_.Done("verify queries");
    co_return std::string();
  }

  // Drops the scratch database on the drill's own connection.
  asio::awaitable<std::string> Drop() {
    scratch_.reset();
    std::string error = co_await DropDatabase(*admin_, guard_.db);
    if (error.empty()) log_.Done("drop database");
    co_return error;
  }

  DrillReport Finish(std::string error) {
    report_.error = std::move(error);
    std::string text = "restore drill " + spec_.check + " of backup " + spec_.backup +
                       (report_.run.empty() ? "" : " run " + report_.run) + "\n" + log_.Text();
    for (std::size_t i = 0; i < report_.systems.size(); ++i) {
      const auto& [name, measured] = report_.systems[i];
      double target = spec_.rto_targets[i];
      text += "  RTO " + name + ": measured " + Seconds(measured) + ", target " +
              config::FormatDuration(config::Duration(std::llround(target * 1000))) +
              (measured <= target ? " (met)" : " (EXCEEDED)") + "\n";
    }
    report_.details = text + (report_.error.empty() ? "OK" : "FAILED: " + report_.error) + "\n";
    return std::move(report_);
  }

  bool has_admin() const { return admin_ != nullptr; }

 private:
  asio::awaitable<std::string> CreateDatabase() {
    std::string error;
    admin_ = co_await pg::Connection::Connect(ctx_.pool, conninfo_, error);
    if (!admin_) co_return "drill target: " + error;
    int major = pg::ServerMajor(admin_->ServerVersion());
    pg_restore_ = co_await pg::FindPgProgram(ctx_.pool, major, "pg_restore", error);
    if (pg_restore_.empty()) co_return error;
    error = co_await DropLeftovers();
    if (!error.empty()) co_return error;
    // The drill restores as recovery does, owners and grants included, so
    // the roles come first (cluster-wide: they stay for the next drill).
    auto roles =
        co_await RestoreRoles(ctx_.pool, store_, manifest_, spec_.backup, dir_->path(), *admin_, spec_.keys);
    if (!roles.ok()) co_return "drill target: " + roles.error;
    keep_owners_ = !roles.absent;
    log_.Done("create roles");
    log_.Note("  roles: " + DescribeRoles(roles));
    // Armed first: a drill cancelled while CREATE runs may leave the database.
    guard_.armed = true;
    auto created = co_await admin_->Execute("CREATE DATABASE " + QuoteIdent(guard_.db));
    if (!created.ok()) co_return "create database " + guard_.db + ": " + created.error;
    scratch_ = co_await pg::Connection::Connect(ctx_.pool, pg::WithDatabase(conninfo_, guard_.db), error);
    if (!scratch_) co_return "scratch database: " + error;
    log_.Done("create database");
    co_return std::string();
  }

  // Scratch databases of earlier drills of this check that were never
  // dropped (drwatchd killed mid-drill).
  asio::awaitable<std::string> DropLeftovers() {
    std::string prefix = ScratchPrefix(spec_.check);
    auto old = co_await admin_->Execute("SELECT datname FROM pg_database WHERE datname ~ " +
                                        QuoteLiteral("^" + prefix + "[0-9]{8}t[0-9]{6}z$") +
                                        " AND datname < " + QuoteLiteral(guard_.db));
    if (!old.ok()) co_return "list leftover scratch databases: " + old.error;
    for (const auto& row : old.rows) {
      std::string error = co_await DropDatabase(*admin_, row[0].value_or(""));
      if (!error.empty()) co_return "drop leftover " + row[0].value_or("") + ": " + error;
      spdlog::info("restore drill {}: dropped leftover scratch database {}", spec_.check, row[0].value_or(""));
    }
    co_return std::string();
  }

  asio::awaitable<std::string> RunPass(const RestorePass& pass, std::size_t index) {
    std::string label = pass.system.empty() ? "the rest" : pass.system;
    if (!pass.list.empty()) {
      std::string list = dir_->path() + "/pass-" + std::to_string(index) + ".list";
      std::string text;
      for (const auto& line : pass.list) text += line + "\n";
      std::string error = co_await WriteLocalFile(ctx_.pool, list, std::move(text));
      if (!error.empty()) co_return error;
      std::vector<std::string> extra{"-L", list};
      // A run without roles.sql restores as drwatch 0.1 did: owned by the drill user, no grants.
      if (!keep_owners_) extra.insert(extra.end(), {"--no-owner", "--no-privileges"});
      if (spec_.jobs > 0) extra.insert(extra.end(), {"-j", std::to_string(spec_.jobs)});
      error = co_await PgRestore(ctx_.executor, pg_restore_, pg::PgEnvironment(conninfo_, guard_.db), extra, dump_);
      if (!error.empty()) co_return "restore " + label + ": " + error;
      report_.restore_seconds += log_.Done("restore " + label);
    }
    for (const auto& table : pass.tables) {
      auto rows = rows_.find(table);
      std::optional<std::int64_t> want;
      if (rows != rows_.end()) want = rows->second;
      std::string error = co_await VerifyTable(*scratch_, table, want);
      if (!error.empty()) co_return error;
      ++report_.verified_tables;
    }
    std::size_t n = pass.tables.size();
    log_.Done("verify " + label + " (" + std::to_string(n) + (n == 1 ? " table)" : " tables)"));
    if (!pass.system.empty()) report_.systems.emplace_back(pass.system, log_.Elapsed());
    co_return std::string();
  }

  run::RunContext& ctx_;
  storage::Backend& store_;
  const DrillSpec& spec_;
  DropGuard& guard_;
  std::string conninfo_;  // the drill server's maintenance connection (a secret)
  DrillReport report_;
  StepLog log_;
  backup::Manifest manifest_;
  std::map<std::string, std::int64_t> rows_;  // manifest row counts by qualified table
  std::unique_ptr<ScratchDir> dir_;
  std::string dump_;
  std::string pg_restore_;
  bool keep_owners_ = true;
  std::unique_ptr<pg::Connection> admin_, scratch_;
};

}  // namespace

std::string ScratchDatabaseName(const std::string& check, std::chrono::system_clock::time_point start) {
  return ScratchPrefix(check) + AsciiLower(backup::RunId(start));
}

asio::awaitable<DrillReport> RunDrill(run::RunContext& ctx, storage::Backend& store, const DrillSpec& spec) {
  const auto& conninfo = static_cast<targets::PostgresTarget&>(ctx.target).conninfo();
  DropGuard guard{ctx.executor, ctx.pool, conninfo, ScratchDatabaseName(spec.check, Clock::WallNow())};
  Drill drill(ctx, store, spec, guard);
  std::string error = co_await drill.Prepare();
  if (error.empty()) {
    error = co_await drill.RestoreSystems();
  }
  if (error.empty()) {
    error = co_await drill.RunVerifyQueries();
  }
  if (guard.armed) {
    std::string dropped = co_await drill.Drop();
    if (dropped.empty()) guard.armed = false;
    if (!dropped.empty() && error.empty()) error = "drop scratch database " + guard.db + ": " + dropped;
  }
  co_return drill.Finish(std::move(error));
}

}  // namespace drwatch::restore

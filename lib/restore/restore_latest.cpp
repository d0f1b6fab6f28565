#include "restore/restore_latest.hpp"

#include <algorithm>
#include <thread>

#include "backup/runs.hpp"
#include "common/redact.hpp"
#include "pg/connection.hpp"
#include "pg/tools.hpp"
#include "restore/fetch.hpp"
#include "restore/restore_plan.hpp"
#include "restore/restore_steps.hpp"
#include "restore/roles.hpp"
#include "restore/structure.hpp"

namespace drwatch::restore {
namespace {

namespace asio = boost::asio;

// What makes a database "not empty": relations outside the system schemas
// and schemas beyond public.
constexpr char kContentQuery[] =
    "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    "         WHERE c.relkind IN ('r','p','v','m','S','f')"
    "           AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%'),"
    "       (SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('public','information_schema')"
    "           AND nspname NOT LIKE 'pg\\_%')";

class LatestRestore {
 public:
  LatestRestore(run::RunContext& ctx, storage::Backend& store, const RestoreLatestOptions& options, std::ostream& out)
      : ctx_(ctx), store_(store), options_(options), out_(out) {}

  asio::awaitable<std::string> Fetch() {
    auto latest = co_await backup::LatestComplete(store_, options_.check);
    if (!latest.ok()) co_return latest.error;
    manifest_ = std::move(latest.manifest);
    out_ << "restoring run " << manifest_.run << " of " << options_.check << " (" << manifest_.tables.size()
         << " tables with row counts)\n";
    Step("find newest backup");
    std::string error;
    dir_ = co_await ScratchDir::Create(ctx_.pool, error);
    if (!dir_) co_return error;
    dump_ = dir_->path() + "/data.dump";
    error = co_await FetchFile(ctx_.pool, store_, manifest_, options_.check, "data.dump", dump_, options_.keys,
                               [this](const std::string& step) { Step(step); });
    if (!error.empty()) co_return error;
    co_return std::string();
  }

  asio::awaitable<std::string> CheckTarget() {
    std::string error;
    conn_ = co_await pg::Connection::Connect(ctx_.pool, options_.to_dsn, error);
    if (!conn_) co_return "cannot connect to the target database: " + error;
    auto content = co_await conn_->Execute(kContentQuery);
    if (!content.ok()) co_return "cannot inspect the target database: " + content.error;
    std::string relations = content.rows[0][0].value_or("0"), schemas = content.rows[0][1].value_or("0");
    if ((relations != "0" || schemas != "0") && !options_.force) {
      co_return "the target database is not empty (" + relations + " relations, " + schemas +
          " schemas besides public): pass --force to restore into it anyway";
    }
    pg_restore_ = co_await pg::FindPgProgram(ctx_.pool, pg::ServerMajor(conn_->ServerVersion()), "pg_restore", error);
    if (pg_restore_.empty()) co_return error;
    Step("connect and check the target");
    co_return std::string();
  }

  // The roles the backup names, created where missing (a cluster rebuilt
  // after a disaster has none of Supabase's platform and API roles).
  asio::awaitable<std::string> CreateRoles() {
    auto roles =
        co_await RestoreRoles(ctx_.pool, store_, manifest_, options_.check, dir_->path(), *conn_, options_.keys);
    if (!roles.ok()) co_return roles.error;
    Step("create roles");
    out_ << "  roles: " << DescribeRoles(roles) << "\n";
    co_return std::string();
  }

  asio::awaitable<std::string> Restore() {
    int jobs = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
    std::vector<std::string> extra{"-j", std::to_string(jobs)};
    if (options_.no_owner) extra.push_back("--no-owner");
    auto env = pg::PgEnvironment(options_.to_dsn);
    if (!env.error.empty()) co_return env.error;
    // An operator's command: their own PGPASSWORD (the runbook keeps the
    // password off drwatchd's command line) reaches pg_restore as it reached
    // drwatchd's connection; the DSN's settings still win.
    env.inherit_own = true;
    // Into a database that already has objects (--force) some statements may
    // fail ("already exists"): go on, report it, and let the row counts show
    // what is there.
    std::string error = co_await PgRestore(ctx_.executor, pg_restore_, env, extra, dump_, !options_.force);
    if (!error.empty() && !options_.force) co_return error;
    if (!error.empty()) {
      out_ << "  " << error << "\n";
      restore_error_ = error;
    }
    Step("pg_restore (-j " + std::to_string(jobs) + ")");
    co_return std::string();
  }

  asio::awaitable<std::string> Verify() {
    std::string first;
    for (const auto& t : manifest_.tables) {
      std::string error = co_await VerifyTable(*conn_, Qualified(t.name), t.rows);
      if (!error.empty()) {
        out_ << "  " << error << "\n";
        if (first.empty()) first = error;
      }
    }
    Step("verify row counts (" + std::to_string(manifest_.tables.size()) + " tables)");
    if (!manifest_.structure.empty()) {
      std::vector<backup::ManifestCount> restored;
      std::string error = co_await CountStructure(*conn_, restored);
      if (error.empty()) error = CompareStructure(manifest_.structure, restored);
      if (!error.empty()) {
        out_ << "  " << error << "\n";
        if (first.empty()) first = error;
      }
      Step("verify structure (" + std::to_string(manifest_.structure.size()) + " counts)");
    }
    if (first.empty()) first = restore_error_;
    co_return first;
  }

  double Elapsed() const { return log_.Elapsed(); }

 private:
  void Step(std::string name) {
    log_.Done(std::move(name));
    out_ << log_.Last() << "\n" << std::flush;
  }

  run::RunContext& ctx_;
  storage::Backend& store_;
  const RestoreLatestOptions& options_;
  std::ostream& out_;
  StepLog log_;
  backup::Manifest manifest_;
  std::unique_ptr<ScratchDir> dir_;
  std::string dump_;
  std::string pg_restore_;
  std::unique_ptr<pg::Connection> conn_;
  std::string restore_error_;  // pg_restore's errors under --force
};

}  // namespace

asio::awaitable<int> RestoreLatestCommand(run::RunContext& ctx, storage::Backend& store,
                                          const RestoreLatestOptions& options, std::ostream& out) {
  // The DSN came from the command line, not the catalogue: its password is
  // registered here so no error line can echo it.
  if (auto password = pg::PasswordOf(options.to_dsn)) Redactor::Global().Add(*password);
  LatestRestore restore(ctx, store, options, out);
  std::string error = co_await restore.Fetch();
  if (error.empty()) {
    error = co_await restore.CheckTarget();
  }
  if (error.empty()) {
    error = co_await restore.CreateRoles();
  }
  if (error.empty()) {
    error = co_await restore.Restore();
  }
  if (error.empty()) {
    error = co_await restore.Verify();
  }
  if (!error.empty()) {
    out << "FAILED after " << Seconds(restore.Elapsed()) << ": " << error << "\n";
    co_return 1;
  }
  out << "OK: restored and verified in " << Seconds(restore.Elapsed()) << "\n";
  co_return 0;
}

}  // namespace drwatch::restore

// postgres.schema_drift: has production moved away from what the last backup
// would restore? Dumps the live schema (pg_dump --schema-only of the
// server's major version, connection through the environment), normalises it
// and the newest complete backup's schema.sql (lib/restore/schema_text.hpp),
// and fails when they differ, logging a bounded unified diff.

#include <spdlog/spdlog.h>

#include "common/crypto.hpp"
#include "common/blocking.hpp"
#include "backup/encryption.hpp"
#include "backup/runs.hpp"
#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "pg/connection.hpp"
#include "pg/tools.hpp"
#include "probes/backup_probes.hpp"
#include "probes/restore_probes.hpp"
#include "restore/schema_text.hpp"
#include "targets/postgres_target.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxSchemaBytes = 64 * 1024 * 1024;
constexpr std::size_t kDiffLines = 100;

struct LiveSchema {
  std::string error;
  std::string sql;
};

// What the blocking pool works out from the live and the stored schema.
struct Comparison {
  std::string error;  // the stored file does not verify or decrypt
  std::string live_hash;
  bool drift = false;
  std::string diff;  // bounded unified diff, when drift
  std::size_t changed = 0;
};

// Verifies the stored schema.sql (its SHA-256, then decrypts a .enc), then
// normalises both sides, hashes them and diffs them. Runs on the pool.
Comparison CompareOffLoop(std::string live, std::string stored, const backup::ManifestFile& file,
                          const std::string& name, const backup::KeyRing& keys, const std::string& run) {
  Comparison out;
  if (file.name.empty() || file.sha256 != Sha256Hex(stored)) {
    out.error = "checksum mismatch: " + name + " of run " + run;
    return out;
  }
  if (name != "schema.sql") {
    auto plain = backup::DecryptBuffer(keys, name, stored, out.error);
    if (!plain) {
      out.error += " (run " + run + ")";
      return out;
    }
    stored = std::move(*plain);
  }
  std::string normal_live = restore::NormaliseSchema(live);
  std::string normal_stored = restore::NormaliseSchema(stored);
  out.live_hash = Sha256Hex(normal_live);
  out.drift = out.live_hash != Sha256Hex(normal_stored);
  if (out.drift) {
    auto diff = restore::UnifiedDiff(normal_stored, normal_live, "backup " + run + " schema.sql", "live schema", kDiffLines);
    out.diff = std::move(diff.text);
    out.changed = diff.changed;
  }
  return out;
}

class PostgresSchemaDrift final : public Probe {
 public:
  explicit PostgresSchemaDrift(std::string backup) : backup_(std::move(backup)) {}

  asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    targets::TargetRuntime* store = ctx.find_target && !storage_.empty() ? ctx.find_target(storage_) : nullptr;
    if (!store) co_return ProbeResult::Fail("storage target \"" + storage_ + "\" of backup " + backup_ + " is not available");
    auto& backend = static_cast<targets::StorageTarget&>(*store).backend();
    auto live = co_await DumpLive(ctx);
    if (!live.error.empty()) co_return ProbeResult::Fail(live.error);
    auto latest = co_await backup::LatestComplete(backend, backup_);
    if (!latest.ok()) co_return ProbeResult::Fail(latest.error);
    const backup::ManifestFile* file = latest.manifest.Stored("schema.sql");
    std::string name = file ? file->name : "schema.sql";
    auto stored = co_await backend.Get(backup::RunKey(backup_, latest.manifest.run, name), kMaxSchemaBytes);
    if (!stored.ok()) co_return ProbeResult::Fail(name + " of run " + latest.manifest.run + ": " + stored.error);
    // Up to 64 MiB each to verify, decrypt, normalise, hash and diff: on the
    // pool, never on the loop (a big schema must not delay a scrape).
    auto compare = [live = std::move(live.sql), stored = std::move(stored.data), file = file ? *file : backup::ManifestFile{},
                    name, keys = keys_, run = latest.manifest.run]() mutable {
      return CompareOffLoop(std::move(live), std::move(stored), file, name, keys, run);
    };
    auto drop = [](Comparison) {};  // named: GCC 12 destroys a lambda temporary in co_await twice
    auto compared = co_await RunBlocking(ctx.pool, std::move(compare), drop);
    if (!compared) co_return ProbeResult::Fail("cancelled");
    if (!compared->error.empty()) co_return ProbeResult::Fail(compared->error);
    co_return Judge(ctx, *compared, latest.manifest.run);
  }

  std::vector<TargetReference> ReferencedTargets() const override {
    if (storage_.empty()) return {};
    return {{"backup", storage_, "storage"}};
  }
  std::vector<CheckReference> ReferencedChecks() const override { return {{"backup", backup_, "backup.pg_dump"}}; }
  std::vector<LinkError> Link(const LinkContext& context) override {
    std::vector<LinkError> errors;
    storage_ = BackupStorage(context, errors);
    if (auto* job = dynamic_cast<const BackupJob*>(context.checks.at(0).probe)) keys_ = job->keys();
    return errors;
  }

 private:
  asio::awaitable<LiveSchema> DumpLive(RunContext& ctx) {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    auto version = co_await target.Query(pg::WrapReadOnly("SELECT current_setting('server_version_num')", ctx.timeout));
    if (!version.ok()) co_return LiveSchema{version.error, ""};
    int major = version.rows.empty() ? 0 : pg::ServerMajor(version.rows[0][0].value_or(""));
    std::string error;
    std::string pg_dump = co_await pg::FindPgProgram(ctx.pool, major, "pg_dump", error);
    if (pg_dump.empty()) co_return LiveSchema{error, ""};
    auto env = pg::PgEnvironment(target.conninfo());
    if (!env.error.empty()) co_return LiveSchema{env.error, ""};
    std::vector<std::string> argv{pg_dump, "--schema-only", "--no-password"};
    auto spec = pg::ToolSpec(std::move(argv), env);
    auto dumped = co_await pg::RunTool(ctx.executor, std::move(spec), kMaxSchemaBytes);
    co_return LiveSchema{dumped.error, std::move(dumped.out)};
  }

  // On the loop: what only this check remembers (when the live schema last
  // changed, whether this drift was logged already).
  ProbeResult Judge(RunContext& ctx, const Comparison& c, const std::string& run) {
    double now = ToUnixSeconds(Clock::WallNow());
    // When drwatchd first saw this live schema: the last change it can vouch for.
    if (c.live_hash != live_hash_) last_change_ = now;
    ProbeResult out = c.drift ? ProbeResult::Fail("") : ProbeResult::Ok();
    if (c.drift) {
      out.reason = "live schema differs from backup " + run + ": " + std::to_string(c.changed) + " lines changed";
      out.details = c.diff;
      // Once per change, not every run.
      if (c.live_hash != live_hash_ || run != logged_run_) {
        spdlog::warn("check {}: {}\n{}", ctx.check_name, out.reason, c.diff);
        logged_run_ = run;
      }
    } else {
      out.reason = "live schema matches backup " + run;
    }
    live_hash_ = c.live_hash;
    out.samples.push_back(metrics::kSchemaDrift.Make(c.drift ? 1.0 : 0.0));
    out.samples.push_back(metrics::kSchemaLastChangeTimestampSeconds.Make(last_change_));
    return out;
  }

  std::string backup_;
  std::string storage_;  // the backup's storage target, known after Link
  backup::KeyRing keys_;  // the backup's keys, known after Link
  std::string live_hash_;
  std::string logged_run_;
  double last_change_ = 0;
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresSchemaDrift(config::NodeReader& check) {
  auto backup = check.String("backup", true);
  if (!backup) return nullptr;
  return std::make_unique<PostgresSchemaDrift>(*backup);
}

}  // namespace drwatch::probes

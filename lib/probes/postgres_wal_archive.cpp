// postgres.wal_archive: is WAL reaching the archive (point-in-time recovery)?
// One query reads pg_stat_archiver; ages are computed by the server, so clock
// skew between drwatchd and the database does not matter.

#include <charconv>
#include <cmath>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/data_age.hpp"
#include "probes/postgres_probes.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

// The ready-file count needs EXECUTE on pg_ls_archive_statusdir() (superuser
// or pg_monitor). A plain CASE around a subquery does not protect the rest of
// the query: the executor checks EXECUTE on every function of the plan when it
// starts, evaluated or not, so an unprivileged user would fail the whole
// query. query_to_xml plans its text only when the CASE reaches it.
// to_regprocedure: before PostgreSQL 12 the function does not exist (NULL).
constexpr char kWalArchiveSql[] = R"sql(SELECT current_setting('archive_mode') AS archive_mode,
       pg_is_in_recovery() AS in_recovery,
       a.last_archived_wal,
       extract(epoch FROM now() - a.last_archived_time) AS archived_age,
       a.failed_count,
       a.last_failed_wal,
       extract(epoch FROM now() - a.last_failed_time) AS failed_age,
       COALESCE(a.last_failed_time > a.last_archived_time, a.last_failed_time IS NOT NULL) AS failing,
       CASE WHEN has_function_privilege(to_regprocedure('pg_ls_archive_statusdir()'), 'EXECUTE') THEN
         (xpath('/row/n/text()', query_to_xml(
            'SELECT count(*) AS n FROM pg_ls_archive_statusdir() WHERE name LIKE ''%.ready''',
            false, true, '')))[1]::text::bigint
       END AS ready_files
FROM pg_stat_archiver a)sql";

enum Column { kArchiveMode, kInRecovery, kLastArchivedWal, kArchivedAge, kFailedCount, kLastFailedWal,
              kFailedAge, kFailing, kReadyFiles, kColumns };

class PostgresWalArchive final : public Probe {
 public:
  explicit PostgresWalArchive(config::Duration max_age) : max_age_(max_age) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    pg::QueryResult result = co_await target.Query(pg::WrapReadOnly(kWalArchiveSql, ctx.timeout));
    if (!result.ok()) co_return ProbeResult::Fail("query: " + result.error);
    if (result.rows.size() != 1 || result.rows[0].size() != kColumns) {
      co_return ProbeResult::Fail("pg_stat_archiver returned an unexpected result");
    }
    co_return Judge(result.rows[0]);
  }

  void StaticSamples(std::vector<metrics::Sample>& out) const override {
    out.push_back(MaxAgeSample(max_age_));
  }

 private:
  ProbeResult Judge(const std::vector<std::optional<std::string>>& row) const {
    std::string mode = row[kArchiveMode].value_or("");
    if (mode == "off") return ProbeResult::Fail("archive_mode is off: WAL is not archived");
    if (row[kInRecovery] == "t" && mode != "always") {
      return ProbeResult::Fail("server is a standby with archive_mode " + mode +
                               ": only the primary archives (or set archive_mode always)");
    }
    ProbeResult out;
    AddSamples(row, out.samples);
    auto age = pg::NumberOf(row[kArchivedAge]);
    if (age) out.observed = std::max(0.0, *age);
    std::string last = age ? "last WAL archived " + config::FormatAge(*age) + " ago" : "";
    if (row[kFailing] == "t") {
      out.reason = "archiving fails: " + row[kLastFailedWal].value_or("?") + " failed " +
                   config::FormatAge(pg::NumberOf(row[kFailedAge]).value_or(0)) + " ago, " +
                   (age ? last : "nothing archived yet");
    } else if (!age) {
      out.reason = "no WAL archived yet (pg_stat_archiver has no last_archived_time)";
    } else if (*age > config::ToSeconds(max_age_)) {
      out.reason = last + ", max_age " + config::FormatDuration(max_age_);
    } else {
      out.success = true;
      out.reason = last + " (" + row[kLastArchivedWal].value_or("?") + ")";
    }
    return out;
  }

  static void AddSamples(const std::vector<std::optional<std::string>>& row, std::vector<metrics::Sample>& out) {
    if (auto age = pg::NumberOf(row[kArchivedAge])) {
      out.push_back(metrics::kDataAgeSeconds.Make(std::max(0.0, *age)));
    }
    if (auto failed = pg::NumberOf(row[kFailedCount])) {
      out.push_back(metrics::kWalArchiveFailedTotal.Make(*failed));
    }
    if (auto ready = pg::NumberOf(row[kReadyFiles])) {
      out.push_back(metrics::kWalArchiveReadyFiles.Make(*ready));
    }
  }

  config::Duration max_age_;
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresWalArchive(config::NodeReader& check) {
  auto max_age = check.DurationValue("max_age", true);
  if (!max_age) return nullptr;
  return std::make_unique<PostgresWalArchive>(*max_age);
}

}  // namespace drwatch::probes

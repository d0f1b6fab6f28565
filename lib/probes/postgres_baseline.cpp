// postgres.baseline: the weekly "performance baseline" item, kept by the
// daemon. Each run samples its subjects:
//   check:<name>        the duration of a successful run of a check named in
//                       `checks` (from its state file under --storage.path;
//                       one sample per new run of that check)
//   statement:<queryid> the mean execution time since the previous run of
//                       the `top` statements by total time (pg_stat_statements;
//                       the query text goes to the log only, truncated)
//   cache_hit_ratio     the fraction of blocks read from disk rather than
//                       found in shared buffers since the previous run
//                       (judged as misses: a worse cache gives a ratio > 1)
//   table:<schema.name> the total size of the `tables` largest tables
// and judges each against its baseline, the median of its last `window`
// normal samples (probes/history.hpp, Observe): no judgement before `warmup`
// samples; the check fails when a subject stays above `factor` × baseline
// for `for` consecutive samples. drwatch_baseline_ratio{subject} is each
// judged subject's value over its baseline. The history lives in
// <storage.path>/history/<check>.json, written off the loop. Every query runs
// in BEGIN READ ONLY.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "pg/quote.hpp"
#include "probes/history.hpp"
#include "probes/postgres_probes.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

// Below these a baseline is noise: ratios divide by at least this much.
constexpr double kDurationFloorSeconds = 0.001;
constexpr double kStatementFloorSeconds = 0.001;
constexpr double kCacheMissFloor = 0.01;
constexpr double kTableFloorBytes = 8 << 20;
// Fewer blocks than this between two runs: too little traffic to judge the cache.
constexpr double kMinCacheBlocks = 100;
constexpr std::size_t kQueryTextInLog = 160;

constexpr char kCacheSubject[] = "cache_hit_ratio";

// The blocks counters of this database and the schema pg_stat_statements is
// installed in (NULL: not installed).
constexpr char kCacheSql[] =
    "SELECT d.blks_hit::float8, d.blks_read::float8, (SELECT n.nspname::text FROM pg_extension e "
    "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements') "
    "FROM pg_stat_database d WHERE d.datname = current_database()";

std::string TablesSql(int tables) {
  return "SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid)::float8 FROM pg_class c "
         "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') "
         "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
         "ORDER BY 2 DESC, 1 LIMIT " +
         std::to_string(tables);
}

std::string StatementsSql(const std::string& schema, int top) {
  return "SELECT queryid::text, sum(calls)::float8, sum(total_exec_time)::float8, left(min(query), " +
         std::to_string(kQueryTextInLog) + ") FROM " + pg::QuoteIdent(schema) +
         ".pg_stat_statements WHERE queryid IS NOT NULL AND dbid = (SELECT oid FROM pg_database "
         "WHERE datname = current_database()) GROUP BY queryid ORDER BY 3 DESC LIMIT " +
         std::to_string(top);
}

std::string OneLine(std::string text) {
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return text;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The last run of a check as its state file records it.
struct CheckRun {
  std::string name;
  bool found = false;
  bool success = false;
  double duration = 0;
  double at = 0;  // unix seconds
};

// Blocking: the last runs of `checks` as the engine's state files record them
// (never sets one aside: they are the scheduler's).
std::vector<CheckRun> ReadCheckRuns(const RunContext::ReadLastRun& read, const std::vector<std::string>& checks) {
  std::vector<CheckRun> out;
  for (const auto& name : checks) {
    CheckRun run{name};
    if (auto last = read ? read(name) : std::nullopt) {
      run.found = true;
      run.success = last->success;
      run.duration = last->duration_seconds;
      run.at = last->at;
    }
    out.push_back(run);
  }
  return out;
}

// One sample of a subject this run.
struct Sample {
  std::string subject;
  double value = 0;
  double floor = 0;
  std::string unit;   // for the report: "s", "B", ""
  std::string query;  // statements: their text, for the log only
};

std::string Show(double v, const std::string& unit) {
  if (unit == "s") return Fixed(v * 1000, 2) + " ms";
  if (unit == "B") return Fixed(v / (1 << 20), 1) + " MiB";
  return Fixed(v * 100, 2) + " %";
}

class PostgresBaseline final : public Probe {
 public:
  PostgresBaseline(std::vector<std::string> checks, int top, int tables, BaselinePolicy policy)
      : checks_(std::move(checks)), top_(top), tables_(tables), policy_(policy) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    pg::QueryResult cache = co_await target.Query(pg::WrapReadOnly(kCacheSql, ctx.timeout));
    if (!cache.ok()) co_return ProbeResult::Fail("query: " + cache.error);
    pg::QueryResult tables;
    if (tables_ > 0) {
      tables = co_await target.Query(pg::WrapReadOnly(TablesSql(tables_), ctx.timeout));
      if (!tables.ok()) co_return ProbeResult::Fail("query: " + tables.error);
    }
    std::optional<std::string> schema;
    if (!cache.rows.empty() && cache.rows[0].size() == 3) schema = cache.rows[0][2];
    pg::QueryResult statements;
    std::string no_statements;
    if (!schema) {
      no_statements = "pg_stat_statements is not installed in this database";
    } else {
      statements = co_await target.Query(pg::WrapReadOnly(StatementsSql(*schema, top_), ctx.timeout));
      if (!statements.ok()) no_statements = "pg_stat_statements is not readable: " + statements.error;
    }
    if (!no_statements.empty() && !said_no_statements_) {
      spdlog::info("check {}: {}; judging the rest without statements (this is said once)", ctx.check_name,
                   no_statements);
    }
    said_no_statements_ = !no_statements.empty();

    History history = memory_;  // (no co_await inside ?: — GCC 12 miscompiles it)
    if (!ctx.storage_path.empty()) history = co_await LoadHistoryOffLoop(ctx);
    std::vector<CheckRun> runs;
    if (!checks_.empty() && !ctx.storage_path.empty()) {
      auto read = [last = ctx.read_last_run, checks = checks_] { return ReadCheckRuns(last, checks); };
      auto got = co_await RunBlocking(ctx.pool, std::move(read), [](std::vector<CheckRun>) {},
                                      boost::asio::use_awaitable);
      if (got) runs = std::move(*got);
    }

    std::vector<Sample> samples;
    std::set<std::string> present;
    SampleChecks(runs, history, samples, present);
    SampleCache(cache, history, samples, present);
    SampleTables(tables, samples, present);
    if (no_statements.empty()) {
      SampleStatements(statements, history, samples, present);
    } else {
      KeepStatements(history, present);  // a passing outage must not erase their baselines
    }
    Prune(history, present);

    ProbeResult out = Judge(ctx.check_name, samples, history);
    if (!no_statements.empty()) out.reason += "; " + no_statements;
    if (ctx.storage_path.empty()) {
      memory_ = std::move(history);
      out.reason += "; no history kept (--once): the baseline lives in this process only";
    } else {
      co_await SaveHistoryOffLoop(ctx, std::move(history));
    }
    co_return out;
  }

  std::vector<CheckReference> ReferencedChecks() const override {
    std::vector<CheckReference> out;
    for (std::size_t i = 0; i < checks_.size(); ++i) out.push_back({"checks", checks_[i], "", static_cast<int>(i)});
    return out;
  }

 private:
  // A new successful run of a named check since the last sample is a sample.
  void SampleChecks(const std::vector<CheckRun>& runs, History& history, std::vector<Sample>& samples,
                    std::set<std::string>& present) const {
    for (const auto& name : checks_) present.insert("check:" + name);
    for (const auto& run : runs) {
      std::string subject = "check:" + run.name;
      double& last = history.counters[subject + "#last_run"];
      if (!run.found || !run.success || run.at == last) continue;
      last = run.at;
      samples.push_back({subject, run.duration, kDurationFloorSeconds, "s", ""});
    }
  }

  void SampleCache(const pg::QueryResult& cache, History& history, std::vector<Sample>& samples,
                   std::set<std::string>& present) const {
    present.insert(kCacheSubject);
    if (cache.rows.empty()) return;
    auto hit = pg::NumberOf(cache.rows[0][0]);
    auto read = pg::NumberOf(cache.rows[0][1]);
    if (!hit || !read) return;
    std::string prefix = std::string(kCacheSubject) + "#";
    auto prev_hit = history.counters.find(prefix + "hit");
    auto prev_read = history.counters.find(prefix + "read");
    if (prev_hit != history.counters.end() && prev_read != history.counters.end()) {
      double dhit = *hit - prev_hit->second;
      double dread = *read - prev_read->second;
      // Counters that went backwards were reset: this run only starts over.
      if (dhit >= 0 && dread >= 0 && dhit + dread >= kMinCacheBlocks) {
        samples.push_back({kCacheSubject, dread / (dhit + dread), kCacheMissFloor, "", ""});
      }
    }
    history.counters[prefix + "hit"] = *hit;
    history.counters[prefix + "read"] = *read;
  }

  void SampleTables(const pg::QueryResult& tables, std::vector<Sample>& samples, std::set<std::string>& present) const {
    for (const auto& row : tables.rows) {
      auto size = row.size() == 2 && row[0] ? pg::NumberOf(row[1]) : std::nullopt;
      if (!size) continue;
      std::string subject = "table:" + *row[0];
      present.insert(subject);
      samples.push_back({subject, *size, kTableFloorBytes, "B", ""});
    }
  }

  // The mean time per call since the previous run, from the differences of
  // the cumulative counters (a statement's mean since the statistics' reset
  // would hide a regression behind its past calls).
  void SampleStatements(const pg::QueryResult& statements, History& history, std::vector<Sample>& samples,
                        std::set<std::string>& present) const {
    for (const auto& row : statements.rows) {
      if (row.size() != 4 || !row[0]) continue;
      auto calls = pg::NumberOf(row[1]);
      auto total_ms = pg::NumberOf(row[2]);
      if (!calls || !total_ms) continue;
      std::string subject = "statement:" + *row[0];
      present.insert(subject);
      auto prev_calls = history.counters.find(subject + "#calls");
      auto prev_total = history.counters.find(subject + "#total_ms");
      if (prev_calls != history.counters.end() && prev_total != history.counters.end()) {
        double dcalls = *calls - prev_calls->second;
        double dtotal = *total_ms - prev_total->second;
        if (dcalls > 0 && dtotal >= 0) {
          samples.push_back({subject, dtotal / dcalls / 1000, kStatementFloorSeconds, "s", OneLine(row[3].value_or(""))});
        }
      }
      history.counters[subject + "#calls"] = *calls;
      history.counters[subject + "#total_ms"] = *total_ms;
    }
  }

  static void KeepStatements(const History& history, std::set<std::string>& present) {
    for (const auto& [name, _] : history.subjects) {
      if (name.starts_with("statement:")) present.insert(name);
    }
    for (const auto& [name, _] : history.counters) {
      if (name.starts_with("statement:")) present.insert(name.substr(0, name.find('#')));
    }
  }

  // Subjects no longer sampled (a statement out of the top, a table out of
  // the largest, a check no longer named) leave the history: it stays bounded.
  static void Prune(History& history, const std::set<std::string>& present) {
    std::erase_if(history.subjects, [&](const auto& s) { return !present.count(s.first); });
    std::erase_if(history.counters, [&](const auto& c) { return !present.count(c.first.substr(0, c.first.find('#'))); });
  }

  ProbeResult Judge(std::string_view check, const std::vector<Sample>& samples, History& history) const {
    ProbeResult out = ProbeResult::Ok();
    std::string failing, details;
    int judged = 0, warming = 0;
    double worst = 0;
    for (const auto& s : samples) {
      Judgement j = Observe(history.subjects[s.subject], s.value, s.floor, policy_);
      const SubjectHistory& h = history.subjects[s.subject];
      if (!j.ratio) {
        ++warming;
        details += "  " + s.subject + ": " + Show(s.value, s.unit) + ", warming up (" + std::to_string(h.samples.size()) +
                   "/" + std::to_string(policy_.warmup) + " samples)\n";
        continue;
      }
      ++judged;
      worst = std::max(worst, *j.ratio);
      out.samples.push_back(metrics::kBaselineRatio.Make(*j.ratio, {{"subject", s.subject}}));
      std::string line = s.subject + ": " + Show(s.value, s.unit) + ", " + Fixed(*j.ratio, 2) + "x its baseline " +
                         Show(*j.baseline, s.unit);
      if (j.above) line += " (above " + Fixed(policy_.factor, 2) + "x for " + std::to_string(h.above) + " run(s))";
      details += "  " + line + "\n";
      if (j.above) {
        if (s.query.empty()) spdlog::info("check {}: {}", check, line);
        else spdlog::info("check {}: {}: {}", check, line, s.query);
      }
      if (j.failing) {
        failing += (failing.empty() ? "" : ", ") + s.subject + " " + Fixed(*j.ratio, 1) + "x for " +
                   std::to_string(h.above) + " runs";
      }
    }
    if (judged > 0) out.observed = worst;
    out.details = details.empty() ? "  no samples this run\n" : details;
    out.success = failing.empty();
    out.reason = failing.empty() ? std::to_string(judged) + " subject(s) within " + Fixed(policy_.factor, 2) +
                                       "x their baseline, " + std::to_string(warming) + " warming up"
                                 : "above " + Fixed(policy_.factor, 2) + "x the baseline: " + failing;
    return out;
  }

  std::vector<std::string> checks_;
  int top_;
  int tables_;
  BaselinePolicy policy_;
  bool said_no_statements_ = false;
  History memory_;  // without a storage path (--once keeps no state)
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresBaseline(config::NodeReader& check) {
  auto checks = check.StringList("checks");
  auto top = check.Int("top", 1, 100);
  auto tables = check.Int("tables", 0, 100);
  auto factor = check.Double("factor", 1, 1000);
  auto runs = check.Int("for", 1, 1000);
  auto window = check.Int("window", 3, 1000);
  auto warmup = check.Int("warmup", 1, 1000);
  bool ok = true;
  for (auto [key, valid] : {std::pair<const char*, bool>{"checks", checks.has_value()}, {"top", top.has_value()},
                            {"tables", tables.has_value()}, {"factor", factor.has_value()}, {"for", runs.has_value()},
                            {"window", window.has_value()}, {"warmup", warmup.has_value()}}) {
    ok = ok && (valid || !check.Has(key));
  }
  std::vector<std::string> names = checks.value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
        names.begin() + static_cast<std::ptrdiff_t>(i)) {
      check.Error("checks", "check \"" + names[i] + "\" is listed twice");
      ok = false;
    }
  }
  BaselinePolicy policy;
  if (window) policy.window = static_cast<int>(*window);
  if (warmup) policy.warmup = static_cast<int>(*warmup);
  if (factor) policy.factor = *factor;
  if (runs) policy.for_runs = static_cast<int>(*runs);
  if (warmup && policy.warmup > policy.window) {
    check.Error("warmup", "must not exceed window (" + std::to_string(policy.window) + ")");
    ok = false;
  }
  if (!ok) return nullptr;
  return std::make_unique<PostgresBaseline>(std::move(names), static_cast<int>(top.value_or(10)),
                                            static_cast<int>(tables.value_or(10)), policy);
}

}  // namespace drwatch::probes

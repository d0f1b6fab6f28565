// postgres.replication: are the standbys keeping up? On a primary, one row per
// walsender from pg_stat_replication and one per replication slot (a
// forgotten slot retains WAL until the primary's disk fills); on a standby,
// its own replay delay. One query serves both roles, so a check keeps working
// across a failover.

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/postgres_probes.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

// The first row says which role the server has. pg_current_wal_lsn() raises
// an error during recovery: its branch is filtered by NOT pg_is_in_recovery(),
// and quals run before the target list. On a standby the delay since the last
// replayed transaction grows while the primary is idle; it only counts as lag
// while WAL has arrived that is not replayed yet, or when no WAL receiver runs
// (then nothing guarantees the standby is current).
constexpr char kReplicationSql[] = R"sql(SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END AS row_kind,
       NULL::text AS standby, NULL::text AS state, NULL::float8 AS lag_seconds, NULL::numeric AS lag_bytes
UNION ALL
SELECT 'walsender', r.application_name, r.state,
       COALESCE(extract(epoch FROM r.replay_lag)::float8, 0),
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)
FROM pg_stat_replication r
WHERE NOT pg_is_in_recovery() AND r.state IS DISTINCT FROM 'backup'
UNION ALL
SELECT 'self', 'self', CASE WHEN w.receiving THEN 'receiving' ELSE 'not receiving' END,
       CASE WHEN w.receiving AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
FROM (SELECT EXISTS (SELECT FROM pg_stat_wal_receiver) AS receiving) w
WHERE pg_is_in_recovery()
UNION ALL
SELECT 'slot', s.slot_name::text,
       CASE WHEN s.active THEN 'active' ELSE 'inactive' END || ' ' || coalesce(s.wal_status, 'unknown'),
       NULL, pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)
FROM pg_replication_slots s
WHERE NOT pg_is_in_recovery())sql";

enum Column { kRowKind, kStandby, kState, kLagSeconds, kLagBytes, kColumns };
using Row = std::vector<std::optional<std::string>>;

std::string Standbys(int n) { return std::to_string(n) + (n == 1 ? " standby" : " standbys"); }

struct Slot {
  std::string name;
  bool active = false;
  std::string wal_status;           // reserved, extended, unreserved, lost (PostgreSQL 13+)
  std::optional<double> retained;  // bytes of WAL kept for it; none while it reserves nothing
};

std::string Bytes(double n) {
  char buf[32];
  if (n >= 1024.0 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", n / (1024.0 * 1024 * 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", n / (1024.0 * 1024));
  }
  return buf;
}

struct Standby {
  std::string name;  // unique within the run: the standby label
  std::string state;
  double lag_seconds = 0;
  std::optional<double> lag_bytes;
};

class PostgresReplication final : public Probe {
 public:
  PostgresReplication(config::Duration max_lag, std::int64_t min_standbys, std::optional<std::int64_t> max_slot_retained)
      : max_lag_(max_lag), min_standbys_(min_standbys), max_slot_retained_(max_slot_retained) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    pg::QueryResult result = co_await target.Query(pg::WrapReadOnly(kReplicationSql, ctx.timeout));
    if (!result.ok()) co_return ProbeResult::Fail("query: " + result.error);
    std::optional<std::string> role;
    std::vector<const Row*> rows;
    std::vector<Slot> slots;
    for (const auto& row : result.rows) {
      if (row.size() != kColumns || !row[kRowKind]) co_return ProbeResult::Fail("unexpected result");
      if (*row[kRowKind] == "primary" || *row[kRowKind] == "standby") {
        role = row[kRowKind];
      } else if (*row[kRowKind] == "slot") {
        std::string state = row[kState].value_or("");
        slots.push_back({row[kStandby].value_or("?"), state.starts_with("active "), state.substr(state.find(' ') + 1),
                         pg::NumberOf(row[kLagBytes])});
      } else {
        rows.push_back(&row);
      }
    }
    if (!role) co_return ProbeResult::Fail("unexpected result");
    if (*role != "primary") co_return JudgeStandby(rows);
    ProbeResult out = JudgePrimary(rows);
    JudgeSlots(slots, out);
    co_return out;
  }

 private:
  ProbeResult JudgePrimary(const std::vector<const Row*>& rows) const {
    std::vector<Standby> standbys;
    std::map<std::string, int> seen;
    for (const Row* row : rows) {
      if (!(*row)[kState]) {
        return ProbeResult::Fail(
            "cannot read pg_stat_replication details: grant pg_monitor to the check's user");
      }
      Standby s;
      s.name = (*row)[kStandby].value_or("");
      if (s.name.empty()) s.name = "unnamed";
      // Two standbys with one application_name would export one series.
      if (int n = ++seen[s.name]; n > 1) s.name += "#" + std::to_string(n);
      s.state = *(*row)[kState];
      s.lag_seconds = std::max(0.0, pg::NumberOf((*row)[kLagSeconds]).value_or(0));
      s.lag_bytes = pg::NumberOf((*row)[kLagBytes]);
      standbys.push_back(std::move(s));
    }
    ProbeResult out;
    const Standby* worst = nullptr;
    int streaming = 0;
    for (const auto& s : standbys) {
      AddSamples(s.name, s.lag_seconds, s.lag_bytes, out.samples);
      if (s.state == "streaming") ++streaming;
      if (!worst || s.lag_seconds > worst->lag_seconds) worst = &s;
    }
    out.observed = worst ? worst->lag_seconds : 0.0;
    if (streaming < min_standbys_) {
      out.reason = Standbys(streaming) + " streaming, min_standbys " + std::to_string(min_standbys_);
      for (const auto& s : standbys) {
        if (s.state != "streaming") out.reason += "; " + s.name + " is " + s.state;
      }
    } else if (worst && worst->lag_seconds > config::ToSeconds(max_lag_)) {
      out.reason = "standby " + worst->name + " replay lag " + config::FormatAge(worst->lag_seconds) + ", max_lag " +
                   config::FormatDuration(max_lag_);
    } else {
      out.success = true;
      out.reason = Standbys(streaming) + " streaming";
      if (worst) out.reason += ", worst replay lag " + config::FormatAge(worst->lag_seconds) + " (" + worst->name + ")";
    }
    return out;
  }

  ProbeResult JudgeStandby(const std::vector<const Row*>& rows) const {
    if (rows.size() != 1) return ProbeResult::Fail("unexpected result");
    const Row& row = *rows[0];
    bool receiving = row[kState] == "receiving";
    auto lag = pg::NumberOf(row[kLagSeconds]);
    if (!lag) {
      return ProbeResult::Fail(receiving ? "standby has replayed no transaction yet"
                                         : "standby receives no WAL and has replayed no transaction yet");
    }
    ProbeResult out;
    double seconds = std::max(0.0, *lag);
    AddSamples("self", seconds, pg::NumberOf(row[kLagBytes]), out.samples);
    out.observed = seconds;
    out.reason = "standby replay lag " + config::FormatAge(seconds);
    if (!receiving) out.reason += " (no WAL receiver)";
    if (seconds > config::ToSeconds(max_lag_)) {
      out.reason += ", max_lag " + config::FormatDuration(max_lag_);
    } else {
      out.success = true;
    }
    return out;
  }

  // A slot problem fails a run the standbys passed; its samples are added either way.
  void JudgeSlots(const std::vector<Slot>& slots, ProbeResult& out) const {
    std::string problem;
    for (const auto& slot : slots) {
      out.samples.push_back(metrics::kReplicationSlotActive.Make(slot.active ? 1.0 : 0.0, {{"slot", slot.name}}));
      if (slot.retained) {
        out.samples.push_back(
            metrics::kReplicationSlotRetainedBytes.Make(std::max(0.0, *slot.retained), {{"slot", slot.name}}));
      }
      if (!problem.empty()) continue;
      double retained = std::max(0.0, slot.retained.value_or(0));
      if (slot.wal_status == "lost") {
        problem = "slot " + slot.name + " has lost WAL its consumer needs (wal_status lost): drop and re-create it";
      } else if (slot.wal_status == "unreserved") {
        problem = "slot " + slot.name + " is about to lose WAL (wal_status unreserved, " + Bytes(retained) + " retained)";
      } else if (!slot.active) {
        problem = "slot " + slot.name + " is inactive, retaining " + Bytes(retained) +
                  " of WAL: reconnect its consumer or drop it";
      } else if (max_slot_retained_ && retained > static_cast<double>(*max_slot_retained_)) {
        problem = "slot " + slot.name + " retains " + Bytes(retained) + " of WAL, max_slot_retained " +
                  Bytes(static_cast<double>(*max_slot_retained_));
      }
    }
    if (problem.empty()) return;
    out.reason = out.success ? problem : out.reason + "; " + problem;
    out.success = false;
  }

  static void AddSamples(const std::string& standby, double seconds, std::optional<double> bytes,
                         std::vector<metrics::Sample>& out) {
    out.push_back(metrics::kReplicationLagSeconds.Make(seconds, {{"standby", standby}}));
    if (bytes) {
      out.push_back(metrics::kReplicationLagBytes.Make(std::max(0.0, *bytes), {{"standby", standby}}));
    }
  }

  config::Duration max_lag_;
  std::int64_t min_standbys_;
  std::optional<std::int64_t> max_slot_retained_;  // bytes
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresReplication(config::NodeReader& check) {
  auto max_lag = check.DurationValue("max_lag", true);
  auto min_standbys = check.Int("min_standbys", 0, 1000).value_or(1);
  auto max_slot_retained = check.Int("max_slot_retained", 0, std::int64_t{1} << 50);
  if (!max_lag || (check.Has("max_slot_retained") && !max_slot_retained)) return nullptr;
  return std::make_unique<PostgresReplication>(*max_lag, min_standbys, max_slot_retained);
}

}  // namespace drwatch::probes

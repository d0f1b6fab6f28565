// restore.drill: restores the newest complete run of a backup.pg_dump check
// into a scratch database on a drill server, system by system in the order
// of their RTO, and measures each system's recovery time (lib/restore/drill.hpp).
// The backup check is resolved at load (Link): its storage target becomes a
// referenced target, and the drill target must not be the backup's source.

#include <libpq-fe.h>

#include <algorithm>
#include <cmath>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/backup_probes.hpp"
#include "probes/history.hpp"
#include "probes/restore_probes.hpp"
#include "restore/drill.hpp"
#include "targets/postgres_target.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;

constexpr char kBackupKind[] = "backup.pg_dump";

// host, hostaddr, port and dbname of a conninfo: two equal ones reach the same database.
std::string Endpoint(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return conninfo;
  std::string out;
  for (auto* o = opts; o->keyword; ++o) {
    std::string_view k = o->keyword;
    if (k == "host" || k == "hostaddr" || k == "port" || k == "dbname") out += std::string(k) + "=" + (o->val ? o->val : "") + "\n";
  }
  PQconninfoFree(opts);
  return out;
}

bool SameDatabase(const targets::TargetSpec* a, const targets::TargetSpec* b) {
  auto* pa = dynamic_cast<const targets::PostgresTargetSpec*>(a);
  auto* pb = dynamic_cast<const targets::PostgresTargetSpec*>(b);
  return pa && pb && (pa->conninfo == pb->conninfo || Endpoint(pa->conninfo) == Endpoint(pb->conninfo));
}

// "auth" (a schema) or "auth.users" (a table).
bool IsCoverItem(const std::string& item) {
  auto dot = item.find('.');
  if (item.empty() || dot == 0 || dot + 1 == item.size()) return false;
  if (dot != std::string::npos && item.find('.', dot + 1) != std::string::npos) return false;
  return std::none_of(item.begin(), item.end(), [](char c) { return c == ' ' || c == '\t' || c == '"'; });
}

class RestoreDrill final : public Probe {
 public:
  RestoreDrill(std::string backup, std::vector<restore::SystemCover> systems, std::vector<std::string> verify, int jobs)
      : backup_(std::move(backup)) {
    spec_.backup = backup_;
    spec_.systems = std::move(systems);
    spec_.verify = std::move(verify);
    spec_.jobs = jobs;
  }

  asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    targets::TargetRuntime* store = ctx.find_target && !storage_.empty() ? ctx.find_target(storage_) : nullptr;
    if (!store) co_return ProbeResult::Fail("storage target \"" + storage_ + "\" of backup " + backup_ + " is not available");
    spec_.check = std::string(ctx.check_name);
    auto& backend = static_cast<targets::StorageTarget&>(*store).backend();
    auto start = Clock::now();
    restore::DrillReport report = co_await restore::RunDrill(ctx, backend, spec_);
    ProbeResult out = Result(report);
    if (report.ok()) {
      co_await AddDurationRatio(ctx, std::chrono::duration<double>(Clock::now() - start).count(), "drill", out);
    }
    co_return out;
  }

  std::vector<TargetReference> ReferencedTargets() const override {
    if (storage_.empty()) return {};
    return {{"backup", storage_, "storage"}};
  }
  std::vector<CheckReference> ReferencedChecks() const override { return {{"backup", backup_, kBackupKind}}; }
  bool RunsAlone() const override { return true; }  // one scratch database and drill server at a time

  std::vector<ObjectiveReference> MeasuredObjectives() const override {
    std::vector<ObjectiveReference> out;
    for (const auto& s : spec_.systems) out.push_back({"covers", s.name, "rto." + s.name});
    return out;
  }

  std::vector<LinkError> Link(const LinkContext& context) override {
    std::vector<LinkError> errors;
    storage_ = BackupStorage(context, errors);
    const ReferencedCheck& backup = context.checks.at(0);
    if (auto* job = dynamic_cast<const BackupJob*>(backup.probe)) spec_.keys = job->keys();
    if (context.own_target && backup.target == context.own_target->name) {
      errors.push_back({"target", "\"" + backup.target + "\" is the source of backup " + backup_ +
                                      ": a drill restores onto a drill server, never the database it protects"});
    } else if (SameDatabase(context.own_target, backup.target_spec)) {
      errors.push_back({"target", "\"" + context.own_target->name + "\" reaches the same database as \"" +
                                      backup.target + "\", the source of backup " + backup_ +
                                      ": a drill restores onto a drill server, never the database it protects"});
    }
    OrderSystems(context);
    return errors;
  }

 private:
  // Shortest RTO first: the systems needed first are restored first.
  void OrderSystems(const LinkContext& context) {
    auto target = [&](const restore::SystemCover& s) {
      auto it = context.objectives.find("rto." + s.name);
      return it == context.objectives.end() ? std::chrono::milliseconds::max() : it->second;
    };
    std::stable_sort(spec_.systems.begin(), spec_.systems.end(),
                     [&](const auto& a, const auto& b) { return target(a) < target(b); });
    spec_.rto_targets.clear();
    for (const auto& s : spec_.systems) spec_.rto_targets.push_back(std::chrono::duration<double>(target(s)).count());
  }

  ProbeResult Result(const restore::DrillReport& report) {
    ProbeResult out = report.ok() ? ProbeResult::Ok() : ProbeResult::Fail(report.error);
    out.details = report.details;
    for (const auto& [system, seconds] : report.systems) {
      out.objective_observed["rto." + system] = seconds;
      out.samples.push_back(metrics::kRestoreDurationSeconds.Make(seconds, {{"system", system}}));
    }
    out.samples.push_back(metrics::kRestoreVerifiedTables.Make(static_cast<double>(report.verified_tables)));
    if (report.ok() && report.restore_seconds > 0) {
      out.samples.push_back(metrics::kRestoreThroughputBytesPerSecond.Make(static_cast<double>(report.dump_bytes) /
                                                                            report.restore_seconds));
    }
    if (report.ok()) {
      last_success_ = ToUnixSeconds(Clock::WallNow());
      out.reason = "run " + report.run + " restored, " + std::to_string(report.verified_tables) + " tables verified";
      if (!report.systems.empty()) out.observed = report.systems.back().second;
    }
    if (last_success_) {
      out.samples.push_back(metrics::kRestoreLastSuccessTimestampSeconds.Make(*last_success_));
    }
    return out;
  }

  std::string backup_;
  std::string storage_;  // the backup's storage target, known after Link
  restore::DrillSpec spec_;
  std::optional<double> last_success_;
};

std::optional<std::vector<restore::SystemCover>> ReadCovers(config::NodeReader& check) {
  std::vector<restore::SystemCover> systems;
  if (!check.Has("covers")) return systems;
  auto covers = check.Map("covers");
  if (!covers) return std::nullopt;
  bool ok = true;
  for (const auto& name : covers->Keys()) {
    auto items = covers->StringList(name, true);
    if (!items) {
      ok = false;
      continue;
    }
    if (items->empty()) {
      covers->Error(name, "expected at least one schema (auth) or table (auth.users)");
      ok = false;
    }
    for (const auto& item : *items) {
      if (IsCoverItem(item)) continue;
      covers->Error(name, "invalid item \"" + item + "\" (use a schema, e.g. auth, or a table, e.g. auth.users)");
      ok = false;
    }
    systems.push_back({name, *items});
  }
  if (!ok) return std::nullopt;
  return systems;
}

}  // namespace

std::string BackupStorage(const LinkContext& context, std::vector<LinkError>& errors) {
  const ReferencedCheck& backup = context.checks.at(0);
  auto* job = dynamic_cast<const BackupJob*>(backup.probe);
  if (!job) {
    errors.push_back({"backup", "\"" + backup.name + "\" is not a backup job"});
    return "";
  }
  return job->storage();
}

std::unique_ptr<Probe> ParseRestoreDrill(config::NodeReader& check) {
  auto backup = check.String("backup", true);
  auto verify = check.StringList("verify");
  auto jobs = check.Int("jobs", 1, 64);
  auto systems = ReadCovers(check);
  bool ok = backup && systems && (verify || !check.Has("verify")) && (jobs || !check.Has("jobs"));
  if (!ok) return nullptr;
  return std::make_unique<RestoreDrill>(*backup, std::move(*systems), verify.value_or(std::vector<std::string>{}),
                                        static_cast<int>(jobs.value_or(0)));
}

}  // namespace drwatch::probes

#include "engine/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <limits>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/hash.hpp"
#include "engine/objectives.hpp"
#include "engine/run_lock.hpp"
#include "engine/state_store.hpp"
#include "run/context.hpp"
#include "targets/target.hpp"

namespace drwatch::engine {

using namespace boost::asio::experimental::awaitable_operators;

const char* ToString(RunResult r) {
  switch (r) {
    case RunResult::kSuccess: return "success";
    case RunResult::kFailure: return "failure";
    case RunResult::kTimeout: return "timeout";
    case RunResult::kSkipped: return "skipped";
  }
  return "unknown";
}

struct Scheduler::Entry {
  catalogue::CheckSpec spec;
  std::shared_ptr<targets::TargetRuntime> target;
  std::shared_ptr<CheckState> state;
  /// The targets the probe names besides its own (ReferencedTargets()).
  std::map<std::string, std::shared_ptr<targets::TargetRuntime>, std::less<>> referenced;
};

struct ProbeOutcome {
  RunResult result = RunResult::kFailure;
  run::ProbeResult probe;
};

namespace {

metrics::Labels CheckLabels(const catalogue::CheckSpec& spec) {
  return {{"check", spec.name}, {"kind", spec.kind}, {"target", spec.target}};
}

// Puts check and target in front of a probe sample's own labels.
metrics::Sample WithCheckLabels(metrics::Sample s, const catalogue::CheckSpec& spec) {
  metrics::Labels labels{{"check", spec.name}, {"target", spec.target}};
  labels.insert(labels.end(), s.labels.begin(), s.labels.end());
  s.labels = std::move(labels);
  return s;
}

double WallSeconds() { return ToUnixSeconds(Clock::WallNow()); }

using WallTime = std::chrono::system_clock::time_point;

WallTime FromUnixSeconds(double seconds) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(seconds)));
}

Clock::duration ToSteady(WallTime::duration d) { return std::chrono::duration_cast<Clock::duration>(d); }

// One run of a probe within its deadline. The deadline timer and the probe
// race; whichever finishes first cancels the other.
boost::asio::awaitable<ProbeOutcome> RunProbe(const catalogue::CheckSpec& spec, run::RunContext& ctx) {
  Timer deadline(ctx.executor);
  deadline.expires_at(ctx.deadline);
  ProbeOutcome out;
  auto winner = co_await (spec.probe->Run(ctx) || deadline.async_wait(boost::asio::use_awaitable));
  if (winner.index() == 0) {
    out.probe = std::move(std::get<0>(winner));
    out.result = out.probe.success ? RunResult::kSuccess : RunResult::kFailure;
  } else {
    out.result = RunResult::kTimeout;
    out.probe.reason = "timed out after " + config::FormatDuration(spec.timeout);
  }
  co_return out;
}

// Takes the run lock of a check that runs alone, off the loop (file I/O;
// never a wait for the lock). Returns why the run must be skipped, or "".
// A lock file that cannot be used is logged and the run goes ahead:
// retention keeps a concurrent run's files anyway (backup/runs.hpp).
boost::asio::awaitable<std::string> TakeRunLock(BlockingPool& pool, std::string dir, std::string check,
                                                RunLock& lock) {
  auto take = [dir, check] { return TryLockRun(dir, check, Clock::WallNow()); };
  auto drop = [](RunLockResult) {};  // cancelled meanwhile: the lock goes with it
  std::optional<RunLockResult> taken =
      co_await RunBlocking(pool, std::move(take), std::move(drop), boost::asio::use_awaitable);
  if (!taken) co_return "cancelled";
  if (taken->busy) co_return taken->error;
  if (!taken->ok()) spdlog::warn("check {}: running without its run lock: {}", check, taken->error);
  lock = std::move(taken->lock);
  co_return "";
}

}  // namespace

Scheduler::Scheduler(boost::asio::any_io_executor executor, BlockingPool& pool)
    : executor_(executor), pool_(pool), timer_(std::make_unique<Timer>(executor)),
      alive_(std::make_shared<bool>(true)),
      schedule_delay_(std::make_shared<metrics::HistogramValue>(ScheduleDelayBuckets())) {}

// From 1 ms (a timer's usual lateness) to a minute (a run that waited for
// a slot most of a long interval); 50 ms is the goal of docs/scaling.md.
const std::vector<double>& Scheduler::ScheduleDelayBuckets() {
  static const std::vector<double> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10,   30, 60};
  return kBuckets;
}

Scheduler::~Scheduler() {
  *alive_ = false;
  Stop();
}

Clock::duration Scheduler::SpreadOffset(const std::string& name, Clock::duration interval) {
  auto ticks = interval.count();
  if (ticks <= 0) return Clock::duration::zero();
  return Clock::duration(static_cast<Clock::rep>(Fnv1a64(name) % static_cast<std::uint64_t>(ticks)));
}

void Scheduler::Apply(std::shared_ptr<const catalogue::Catalogue> catalogue) {
  Apply(std::move(catalogue), {});
}

void Scheduler::Apply(std::shared_ptr<const catalogue::Catalogue> catalogue,
                      const std::map<std::string, PersistedCheck>& persisted) {
  decltype(targets_) targets;
  for (const auto& [name, spec] : catalogue->targets) {
    auto old = targets_.find(name);
    if (old != targets_.end() && old->second.first == spec->fingerprint) {
      targets[name] = old->second;
    } else {
      targets[name] = {spec->fingerprint, spec->MakeRuntime(executor_, pool_)};
    }
  }
  std::map<std::string, std::shared_ptr<Entry>> old_entries;
  for (const auto& e : entries_) old_entries[e->spec.name] = e;

  std::vector<std::shared_ptr<Entry>> entries;
  for (const auto& spec : catalogue->checks) {
    auto entry = std::make_shared<Entry>(Entry{spec, targets[spec.target].second, nullptr, {}});
    for (const auto& ref : spec.probe->ReferencedTargets()) entry->referenced[ref.target] = targets[ref.target].second;
    auto old = old_entries.find(spec.name);
    if (old != old_entries.end() && old->second->spec.fingerprint == spec.fingerprint) {
      entry->state = old->second->state;
    } else {
      entry->state = std::make_shared<CheckState>();
      auto saved = persisted.find(spec.name);
      if (saved != persisted.end() && saved->second.kind == spec.kind) Restore(*entry, saved->second);
      if (started_) ScheduleFirst(*entry);
    }
    entries.push_back(std::move(entry));
  }
  entries_ = std::move(entries);
  targets_ = std::move(targets);
  catalogue_ = std::move(catalogue);
  ++generation_;
  if (started_) Arm();
}

void Scheduler::Start() {
  started_ = true;
  stopped_ = false;
  for (auto& e : entries_) {
    if (!e->state->next_due) ScheduleFirst(*e);
  }
  Arm();
  if (writer_) ArmStatePoll();
}

// The first run: a scheduled check at its next time (or soon, when the saved
// state shows it missed one while drwatchd was down); a check with a saved
// last run one interval after it (or soon, when that is past); any other
// check at its spread offset into the first interval.
void Scheduler::ScheduleFirst(Entry& entry) {
  const auto& spec = entry.spec;
  CheckState& s = *entry.state;
  auto now = Clock::now();
  auto wall = Clock::WallNow();
  auto soon = std::min<Clock::duration>(SpreadOffset(spec.name, spec.interval), kCatchUpWithin);
  if (spec.schedule) {
    bool missed = s.has_result &&
                  FromUnixSeconds(s.last_run_timestamp) < config::PreviousOccurrence(*spec.schedule, wall);
    s.next_wall_due = missed ? wall + std::chrono::duration_cast<WallTime::duration>(soon)
                             : config::NextOccurrence(*spec.schedule, wall);
    s.next_due = now + ToSteady(*s.next_wall_due - wall);
    return;
  }
  if (!s.has_result) {
    s.next_due = now + SpreadOffset(spec.name, spec.interval);
    return;
  }
  // A last run "in the future" (the clock was stepped back) counts as now.
  auto elapsed = std::max(ToSteady(wall - FromUnixSeconds(s.last_run_timestamp)), Clock::duration::zero());
  s.next_due = elapsed >= spec.interval ? now + soon : now + (spec.interval - elapsed);
}

void Scheduler::Stop() {
  started_ = false;
  stopped_ = true;
  timer_->cancel();
  if (poll_timer_) poll_timer_->cancel();
  waiting_.clear();
  for (auto& e : entries_) {
    if (e->state->cancel) e->state->cancel->emit(boost::asio::cancellation_type::terminal);
  }
}

void Scheduler::Arm() {
  if (!started_ || entries_.empty()) return;
  auto next = Clock::time_point::max();
  bool scheduled = false;
  for (const auto& e : entries_) {
    next = std::min(next, *e->state->next_due);
    scheduled = scheduled || e->spec.schedule.has_value();
  }
  // Scheduled checks follow the wall clock: look again at least every
  // minute, so a clock step (NTP, a resumed VM) moves their runs with it.
  if (scheduled) next = std::min(next, Clock::now() + std::chrono::minutes(1));
  timer_->expires_at(next);
  timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive) OnTick();
  });
}

void Scheduler::OnTick() {
  auto now = Clock::now();
  auto wall = Clock::WallNow();
  for (const auto& entry : entries_) {
    if (entry->spec.schedule) {
      TickScheduled(entry, now, wall);
      continue;
    }
    auto& due = *entry->state->next_due;
    if (due > now) continue;
    Due(entry, due);
    // Keep the phase; after a stall, the intervals that passed are skipped
    // (and counted so).
    std::uint64_t missed = 0;
    for (due += entry->spec.interval; due <= now; due += entry->spec.interval) ++missed;
    if (missed > 0) CountSkipped(*entry, missed);
  }
  Arm();
}

void Scheduler::TickScheduled(const std::shared_ptr<Entry>& entry, Clock::time_point now, WallTime wall) {
  CheckState& s = *entry->state;
  if (wall >= *s.next_wall_due) {
    Due(entry, now - ToSteady(wall - *s.next_wall_due));
    // From the later of now and the time just served: a timer that fired a
    // hair early by the wall clock must not serve the same time twice.
    s.next_wall_due = config::NextOccurrence(*entry->spec.schedule, std::max(wall, *s.next_wall_due));
  }
  s.next_due = now + ToSteady(*s.next_wall_due - wall);
}

// A run due while the previous one is in flight or still waiting for a slot
// is skipped. A waiting run did not start on time either: it now serves this
// later time, so the delay it shows when it starts stays below one interval.
void Scheduler::Due(const std::shared_ptr<Entry>& entry, Clock::time_point planned) {
  if (entry->state->running) {
    for (auto& w : waiting_) {
      if (w.entry == entry && w.planned) w.planned = planned;
    }
    CountSkipped(*entry, 1);
    spdlog::debug("check {}: previous run still going or waiting for a slot, skipped", entry->spec.name);
    return;
  }
  Launch(entry, nullptr, planned);
}

void Scheduler::CountSkipped(Entry& entry, std::uint64_t runs) {
  entry.state->runs[static_cast<int>(RunResult::kSkipped)] += runs;
  ++generation_;
}

void Scheduler::Launch(const std::shared_ptr<Entry>& entry, Done done, std::optional<Clock::time_point> planned) {
  auto state = entry->state;
  state->running = true;  // also while waiting for a slot: no overlap
  if (in_flight_ >= catalogue_->global.max_concurrency) {
    waiting_.push_back({entry, std::move(done), planned});
    return;
  }
  ++in_flight_;
  state->cancel = std::make_shared<boost::asio::cancellation_signal>();
  auto run = [](Scheduler* self, std::shared_ptr<Entry> entry, Done done, std::optional<Clock::time_point> planned,
                std::shared_ptr<bool> alive, BlockingPool& pool,
                boost::asio::any_io_executor executor, std::string lock_dir,
                std::string storage_path) -> boost::asio::awaitable<void> {
    const auto& spec = entry->spec;
    auto start = Clock::now();
    if (planned) {
      self->schedule_delay_->Observe(
          std::chrono::duration<double>(std::max(start - *planned, Clock::duration::zero())).count());
    }
    auto find_target = [entry = entry.get()](std::string_view name) -> targets::TargetRuntime* {
      auto it = entry->referenced.find(name);
      return it == entry->referenced.end() ? nullptr : it->second.get();
    };
    run::RunContext ctx{executor, pool, *entry->target, spec.timeout, start + spec.timeout, spec.name, find_target};
    ctx.storage_path = storage_path;
    ctx.read_last_run = [store = StateStore(std::move(storage_path))](const std::string& check) {
      return ReadLastRun(store, check);
    };
    ProbeOutcome outcome;
    RunLock lock;  // held until the run is recorded
    std::string busy;
    if (spec.probe->RunsAlone() && !lock_dir.empty()) busy = co_await TakeRunLock(pool, lock_dir, spec.name, lock);
    try {
      if (busy.empty()) {
        outcome = co_await RunProbe(spec, ctx);
      } else {
        outcome.result = RunResult::kSkipped;
        outcome.probe.reason = busy;
      }
    } catch (const std::exception& e) {
      if (!*alive) co_return;
      outcome.result = RunResult::kFailure;
      outcome.probe.reason = std::string("internal error: ") + e.what();
      // After Stop() this is its cancellation (handled below), not a bug.
      if (!self->stopped_) spdlog::error("check {}: probe raised an exception (a bug): {}", spec.name, e.what());
    }
    if (!*alive) co_return;
    RunReport report{spec.name, outcome.result,
                     std::chrono::duration<double>(Clock::now() - start).count(),
                     outcome.probe.observed, outcome.probe.reason, outcome.probe.details};
    if (self->stopped_) {
      // Cancelled by Stop() (shutdown, Ctrl-C): not a result of the check.
      report.result = RunResult::kFailure;
      report.reason = "cancelled";
      self->Finished(entry);
      if (done) done(report);
      co_return;
    }
    self->Record(*entry, report, outcome);
    self->Finished(entry);
    if (done) done(report);
  };
  boost::asio::co_spawn(executor_, run(this, entry, std::move(done), planned, alive_, pool_, executor_, lock_dir_,
                                         storage_path_),
                        boost::asio::bind_cancellation_slot(state->cancel->slot(), boost::asio::detached));
}

void Scheduler::Record(Entry& entry, RunReport report, ProbeOutcome& outcome) {
  CheckState& s = *entry.state;
  if (outcome.result == RunResult::kSkipped) {
    // Another run holds the check: its result, not this non-run, is the check's.
    CountSkipped(entry, 1);
    spdlog::warn("check {}: run skipped: {}", entry.spec.name, report.reason);
    return;
  }
  ++generation_;
  bool was_failing = s.has_result && !s.success;
  bool first = !s.has_result;
  s.has_result = true;
  s.success = outcome.result == RunResult::kSuccess;
  s.last_result = outcome.result;
  s.last_duration_seconds = report.duration_seconds;
  s.last_run_timestamp = WallSeconds();
  if (s.success) s.last_success_timestamp = s.last_run_timestamp;
  s.runs[static_cast<int>(outcome.result)]++;
  s.reason = report.reason;
  s.details = report.details.substr(0, 16 * 1024);
  s.observed = outcome.probe.observed;
  s.objective_observed = outcome.probe.objective_observed;
  bool keep = outcome.result == RunResult::kTimeout && entry.spec.probe && entry.spec.probe->KeepsSamplesOnTimeout();
  if (!keep) {
    s.samples.clear();
    for (auto& sample : outcome.probe.samples) s.samples.push_back(WithCheckLabels(std::move(sample), entry.spec));
  }

  if (!s.success && (first || !was_failing)) {
    spdlog::warn("check {} failing ({}): {}", entry.spec.name, ToString(outcome.result), report.reason);
  } else if (s.success && was_failing) {
    spdlog::info("check {} recovered: {}", entry.spec.name, report.reason);
  } else {
    spdlog::debug("check {}: {} in {:.3f}s: {}", entry.spec.name, ToString(outcome.result),
                  report.duration_seconds, report.reason);
  }
  Persist(entry);
}

void Scheduler::EnablePersistence(std::shared_ptr<const StateStore> store) {
  store_ = store;
  writer_ = std::make_unique<StateWriter>(executor_, pool_, std::move(store));
  poll_timer_ = std::make_unique<Timer>(executor_);
}

void Scheduler::Persist(const Entry& entry) {
  if (writer_) writer_->Save(entry.spec.name, EncodeState(entry.spec.name, entry.spec.kind, *entry.state));
}

// Takes a saved state's results (not its schedule). Counters never go
// backwards: each is the larger of ours and the file's.
void Scheduler::Restore(Entry& entry, const PersistedCheck& persisted) {
  CheckState& s = *entry.state;
  const CheckState& p = persisted.state;
  ++generation_;
  s.has_result = p.has_result;
  s.success = p.success;
  s.last_result = p.last_result;
  s.last_duration_seconds = p.last_duration_seconds;
  s.last_run_timestamp = p.last_run_timestamp;
  s.last_success_timestamp = p.last_success_timestamp;
  for (std::size_t i = 0; i < s.runs.size(); ++i) s.runs[i] = std::max(s.runs[i], p.runs[i]);
  s.reason = p.reason;
  s.observed = p.observed;
  s.objective_observed = p.objective_observed;
  s.samples.clear();
  for (const auto& sample : p.samples) s.samples.push_back(WithCheckLabels(sample, entry.spec));
  if (writer_) writer_->SetKnownMtime(entry.spec.name, persisted.mtime_ns);
}

void Scheduler::ArmStatePoll() {
  poll_timer_->expires_after(kStatePollInterval);
  poll_timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive && started_) PollStateFiles();
  });
}

// Looks, off the loop, for check files newer than the ones this process
// wrote or adopted: results of `drwatchd backup run` and the like.
void Scheduler::PollStateFiles() {
  struct Candidate {
    std::string check;
    std::string kind;
    std::int64_t known = 0;
    std::uint64_t generation = 0;
  };
  using Found = std::vector<std::pair<Candidate, PersistedCheck>>;
  std::vector<Candidate> candidates;
  for (const auto& e : entries_) {
    const auto& name = e->spec.name;
    if (writer_->Busy(name)) continue;
    candidates.push_back({name, e->spec.kind, writer_->KnownMtime(name), writer_->Generation(name)});
  }
  auto scan = [store = store_, candidates = std::move(candidates)] {
    Found found;
    for (const auto& c : candidates) {
      auto mtime = store->MtimeOf(c.check);
      if (mtime == 0 || mtime <= c.known) continue;
      std::string error;
      auto loaded = store->Load(c.check, error);
      if (!error.empty()) spdlog::warn("state of check {} not adopted: {}", c.check, error);
      if (loaded && loaded->kind == c.kind) found.emplace_back(c, std::move(*loaded));
    }
    return found;
  };
  auto drop = [](Found) {};
  auto adopt = [this, alive = alive_](std::optional<Found> found) {
    if (!*alive) return;
    if (found) {
      for (const auto& [c, persisted] : *found) Adopt(c.check, c.generation, persisted);
    }
    if (started_) ArmStatePoll();
  };
  RunBlocking(pool_, std::move(scan), std::move(drop), boost::asio::bind_executor(executor_, std::move(adopt)));
}

void Scheduler::Adopt(const std::string& check, std::uint64_t generation, const PersistedCheck& persisted) {
  if (writer_->Generation(check) != generation) return;  // we saved a newer result meanwhile
  for (const auto& e : entries_) {
    if (e->spec.name != check || e->spec.kind != persisted.kind) continue;
    if (e->state->has_result && persisted.state.last_run_timestamp <= e->state->last_run_timestamp) {
      writer_->SetKnownMtime(check, persisted.mtime_ns);  // not newer than what we have
      return;
    }
    Restore(*e, persisted);
    spdlog::info("check {}: adopted a result saved by another process ({}: {})", check,
                 ToString(persisted.state.last_result), persisted.state.reason);
    return;
  }
}

bool Scheduler::RunNow(const std::string& check, std::function<void(const RunReport&)> done) {
  for (const auto& e : entries_) {
    if (e->spec.name != check) continue;
    Launch(e, std::move(done));
    return true;
  }
  return false;
}

const CheckState* Scheduler::StateOf(const std::string& check) const {
  for (const auto& e : entries_) {
    if (e->spec.name == check) return e->state.get();
  }
  return nullptr;
}

void Scheduler::Finished(const std::shared_ptr<Entry>& entry) {
  --in_flight_;
  entry->state->running = false;
  entry->state->cancel.reset();
  while (!waiting_.empty() && in_flight_ < catalogue_->global.max_concurrency) {
    Waiting next = std::move(waiting_.front());
    waiting_.pop_front();
    next.entry->state->running = false;
    Launch(next.entry, std::move(next.done), next.planned);
  }
}

void Scheduler::RunAllOnce(std::function<void(std::vector<RunReport>)> done) {
  struct Batch {
    std::vector<RunReport> reports;
    std::size_t remaining = 0;
    std::function<void(std::vector<RunReport>)> done;
  };
  auto batch = std::make_shared<Batch>();
  batch->reports.resize(entries_.size());
  batch->remaining = entries_.size();
  batch->done = std::move(done);
  if (entries_.empty()) {
    batch->done({});
    return;
  }
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    Launch(entries_[i], [batch, i](const RunReport& r) {
      batch->reports[i] = r;
      if (--batch->remaining == 0) batch->done(std::move(batch->reports));
    });
  }
}

std::vector<std::pair<const catalogue::Objective*, ObjectiveStatus>> Scheduler::Objectives(double* changes_at) const {
  std::vector<std::pair<const catalogue::Objective*, ObjectiveStatus>> out;
  if (!catalogue_) return out;
  double now = WallSeconds();
  std::vector<CheckFeed> feeds;
  for (const auto& e : entries_) {
    const CheckState& s = *e->state;
    CheckFeed feed{e->spec.objective, {}, {s.has_result, s.success, s.observed, s.last_success_timestamp},
                   s.objective_observed};
    for (const auto& ref : e->spec.probe->MeasuredObjectives()) feed.measured.push_back(ref.objective);
    feeds.push_back(std::move(feed));
  }
  for (const auto& objective : catalogue_->objectives) {
    auto feeders = FeedersOf(objective, feeds);
    out.emplace_back(&objective, EvaluateObjective(objective, feeders, now));
    if (changes_at) *changes_at = std::min(*changes_at, ObjectiveChangesAt(objective, feeders, now));
  }
  return out;
}

Status Scheduler::Snapshot() const {
  Status status;
  status.now = WallSeconds();
  for (const auto& e : entries_) {
    const CheckState& s = *e->state;
    CheckStatus c;
    c.name = e->spec.name;
    c.kind = e->spec.kind;
    c.target = e->spec.target;
    c.checklist = e->spec.checklist;
    c.interval_seconds = config::ToSeconds(e->spec.interval);
    if (s.has_result) c.last_run = s.last_run_timestamp;
    c.last_success = s.last_success_timestamp;
    c.state = CheckStateName(s.has_result, s.success, c.last_run, c.interval_seconds, status.now);
    c.running = s.running;
    c.reason = s.reason;
    c.details = s.details;
    status.checks.push_back(std::move(c));
  }
  for (const auto& [objective, evaluated] : Objectives()) {
    status.objectives.push_back({objective->id(), config::ToSeconds(objective->target), evaluated.observed,
                                 evaluated.met});
  }
  return status;
}

void Scheduler::Collect(std::vector<metrics::Sample>& out) const {
  CollectState(out);
  CollectLive(out);
}

double Scheduler::CollectState(std::vector<metrics::Sample>& out) const {
  using metrics::MetricType;
  double changes_at = std::numeric_limits<double>::infinity();
  for (const auto& e : entries_) {
    const CheckState& s = *e->state;
    auto labels = CheckLabels(e->spec);
    out.push_back({"drwatch_check_interval_seconds", "Configured interval between runs of the check.",
                   MetricType::kGauge, labels, config::ToSeconds(e->spec.interval)});
    out.push_back({"drwatch_check_timeout_seconds", "Configured deadline of one run of the check.",
                   MetricType::kGauge, labels, config::ToSeconds(e->spec.timeout)});
    if (s.has_result) {
      out.push_back({"drwatch_check_success", "1 if the check's last run succeeded, else 0.",
                     MetricType::kGauge, labels, s.success ? 1.0 : 0.0});
      out.push_back({"drwatch_check_duration_seconds", "Duration of the check's last run.",
                     MetricType::kGauge, labels, s.last_duration_seconds});
      out.push_back({"drwatch_check_last_run_timestamp_seconds", "When the check's last run ended (unix time).",
                     MetricType::kGauge, labels, s.last_run_timestamp});
      out.push_back({"drwatch_check_last_success_timestamp_seconds",
                     "When the check last succeeded (unix time); 0 if it never has.", MetricType::kGauge,
                     labels, s.last_success_timestamp.value_or(0)});
    }
    for (auto r : {RunResult::kSuccess, RunResult::kFailure, RunResult::kTimeout, RunResult::kSkipped}) {
      auto with_result = labels;
      with_result.emplace_back("result", ToString(r));
      out.push_back({"drwatch_check_runs_total",
                     "Runs of the check by result (skipped: still running when due, or its run lock held).",
                     MetricType::kCounter, with_result, static_cast<double>(s.runs[static_cast<int>(r)])});
    }
    out.insert(out.end(), s.samples.begin(), s.samples.end());
    std::vector<metrics::Sample> fixed;
    e->spec.probe->StaticSamples(fixed);
    for (auto& sample : fixed) out.push_back(WithCheckLabels(std::move(sample), e->spec));
  }
  if (!catalogue_) return changes_at;
  for (const auto& [objective, status] : Objectives(&changes_at)) AppendObjectiveSamples(*objective, status, out);
  return changes_at;
}

void Scheduler::CollectLive(std::vector<metrics::Sample>& out) const {
  using metrics::MetricType;
  out.push_back({"drwatch_check_schedule_delay_seconds",
                 "How late scheduled runs started: actual start minus planned start (a run that cannot "
                 "start before its next planned start is counted in drwatch_check_runs_total{result=\"skipped\"} "
                 "instead).",
                 MetricType::kHistogram, {}, 0, schedule_delay_});
  out.push_back({"drwatch_scheduler_runs_in_flight", "Check runs in flight now.", MetricType::kGauge, {},
                 static_cast<double>(in_flight_)});
  if (writer_) {
    out.push_back({"drwatch_state_write_errors_total",
                   "Check states that could not be saved under --storage.path.", MetricType::kCounter, {},
                   static_cast<double>(writer_->write_errors())});
  }
}

}  // namespace drwatch::engine

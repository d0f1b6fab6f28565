#include "engine/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <limits>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/hash.hpp"
#include "engine/objectives.hpp"
#include "engine/state_store.hpp"
#include "engine/run_lock.hpp"
#include "engine/run_once.hpp"
#include "engine/scheduler_entry.hpp"
#include "engine/state_store.hpp"
#include "metrics/families.hpp"

namespace drwatch::engine {

namespace {

using WallTime = std::chrono::system_clock::time_point;

WallTime FromUnixSeconds(double seconds) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(seconds)));
}

Clock::duration ToSteady(WallTime::duration d) { return std::chrono::duration_cast<Clock::duration>(d); }

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
  if (writer_) writer_->FlushNow();  // the last results, before the pool is joined
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
    auto ctx = MakeRunContext(executor, pool, spec, *entry->target, spec.timeout, start + spec.timeout, find_target,
                              std::move(storage_path), self->last_runs_);
    RunOutcome outcome;
    RunLock lock;  // held until the run is recorded
    std::string busy;
    if (spec.probe->RunsAlone() && !lock_dir.empty()) busy = co_await TakeRunLock(pool, lock_dir, spec.name, lock);
    try {
      if (busy.empty()) {
        outcome = co_await RunOnce(spec, ctx);
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

void Scheduler::Record(Entry& entry, RunReport report, RunOutcome& outcome) {
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

}  // namespace drwatch::engine

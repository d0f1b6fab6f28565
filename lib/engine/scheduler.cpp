#include "engine/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engine/objectives.hpp"

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
  config::CheckSpec spec;
  std::shared_ptr<targets::TargetRuntime> target;
  std::shared_ptr<CheckState> state;
  /// The targets the probe names besides its own (ReferencedTargets()).
  std::map<std::string, std::shared_ptr<targets::TargetRuntime>, std::less<>> referenced;
};

struct ProbeOutcome {
  RunResult result = RunResult::kFailure;
  probes::ProbeResult probe;
};

namespace {

std::uint64_t Fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

metrics::Labels CheckLabels(const config::CheckSpec& spec) {
  return {{"check", spec.name}, {"kind", spec.kind}, {"target", spec.target}};
}

// Puts check and target in front of a probe sample's own labels.
metrics::Sample WithCheckLabels(metrics::Sample s, const config::CheckSpec& spec) {
  metrics::Labels labels{{"check", spec.name}, {"target", spec.target}};
  labels.insert(labels.end(), s.labels.begin(), s.labels.end());
  s.labels = std::move(labels);
  return s;
}

double WallSeconds() { return ToUnixSeconds(Clock::WallNow()); }

// One run of a probe within its deadline. The deadline timer and the probe
// race; whichever finishes first cancels the other.
boost::asio::awaitable<ProbeOutcome> RunProbe(const config::CheckSpec& spec, probes::RunContext& ctx) {
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

}  // namespace

Scheduler::Scheduler(boost::asio::any_io_executor executor, BlockingPool& pool)
    : executor_(executor), pool_(pool), timer_(std::make_unique<Timer>(executor)),
      alive_(std::make_shared<bool>(true)) {}

Scheduler::~Scheduler() {
  *alive_ = false;
  Stop();
}

Clock::duration Scheduler::SpreadOffset(const std::string& name, Clock::duration interval) {
  auto ticks = interval.count();
  if (ticks <= 0) return Clock::duration::zero();
  return Clock::duration(static_cast<Clock::rep>(Fnv1a(name) % static_cast<std::uint64_t>(ticks)));
}

void Scheduler::Apply(std::shared_ptr<const config::Catalogue> catalogue) {
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
      if (started_) entry->state->next_due = Clock::now() + SpreadOffset(spec.name, spec.interval);
    }
    entries.push_back(std::move(entry));
  }
  entries_ = std::move(entries);
  targets_ = std::move(targets);
  catalogue_ = std::move(catalogue);
  if (started_) Arm();
}

void Scheduler::Start() {
  started_ = true;
  auto now = Clock::now();
  for (auto& e : entries_) {
    if (!e->state->next_due) e->state->next_due = now + SpreadOffset(e->spec.name, e->spec.interval);
  }
  Arm();
}

void Scheduler::Stop() {
  started_ = false;
  timer_->cancel();
  waiting_.clear();
  for (auto& e : entries_) {
    if (e->state->cancel) e->state->cancel->emit(boost::asio::cancellation_type::terminal);
  }
}

void Scheduler::Arm() {
  if (!started_ || entries_.empty()) return;
  auto next = Clock::time_point::max();
  for (const auto& e : entries_) next = std::min(next, *e->state->next_due);
  timer_->expires_at(next);
  timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive) OnTick();
  });
}

void Scheduler::OnTick() {
  auto now = Clock::now();
  for (const auto& entry : entries_) {
    auto& due = *entry->state->next_due;
    if (due > now) continue;
    Due(entry);
    // Keep the phase; after a stall, skip the intervals that passed.
    while (due <= now) due += entry->spec.interval;
  }
  Arm();
}

void Scheduler::Due(const std::shared_ptr<Entry>& entry) {
  if (entry->state->running) {
    entry->state->runs[static_cast<int>(RunResult::kSkipped)]++;
    spdlog::debug("check {}: previous run still going, skipped", entry->spec.name);
    return;
  }
  Launch(entry, nullptr);
}

void Scheduler::Launch(const std::shared_ptr<Entry>& entry, Done done) {
  auto state = entry->state;
  state->running = true;  // also while waiting for a slot: no overlap
  if (in_flight_ >= catalogue_->global.max_concurrency) {
    waiting_.emplace_back(entry, std::move(done));
    return;
  }
  ++in_flight_;
  state->cancel = std::make_shared<boost::asio::cancellation_signal>();
  auto run = [](Scheduler* self, std::shared_ptr<Entry> entry, Done done,
                std::shared_ptr<bool> alive, BlockingPool& pool,
                boost::asio::any_io_executor executor) -> boost::asio::awaitable<void> {
    const auto& spec = entry->spec;
    auto start = Clock::now();
    auto find_target = [entry = entry.get()](std::string_view name) -> targets::TargetRuntime* {
      auto it = entry->referenced.find(name);
      return it == entry->referenced.end() ? nullptr : it->second.get();
    };
    probes::RunContext ctx{executor, pool, *entry->target, spec.timeout, start + spec.timeout, spec.name,
                           find_target};
    ProbeOutcome outcome;
    try {
      outcome = co_await RunProbe(spec, ctx);
    } catch (const std::exception& e) {
      if (!*alive) co_return;
      outcome.result = RunResult::kFailure;
      outcome.probe.reason = std::string("internal error: ") + e.what();
      spdlog::error("check {}: probe raised an exception (a bug): {}", spec.name, e.what());
    }
    if (!*alive) co_return;
    RunReport report{spec.name, outcome.result,
                     std::chrono::duration<double>(Clock::now() - start).count(),
                     outcome.probe.observed, outcome.probe.reason};
    self->Record(*entry, report, outcome);
    self->Finished(entry);
    if (done) done(report);
  };
  boost::asio::co_spawn(executor_, run(this, entry, std::move(done), alive_, pool_, executor_),
                        boost::asio::bind_cancellation_slot(state->cancel->slot(), boost::asio::detached));
}

void Scheduler::Record(Entry& entry, RunReport report, ProbeOutcome& outcome) {
  CheckState& s = *entry.state;
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
  s.observed = outcome.probe.observed;
  s.samples.clear();
  for (auto& sample : outcome.probe.samples) s.samples.push_back(WithCheckLabels(std::move(sample), entry.spec));

  if (!s.success && (first || !was_failing)) {
    spdlog::warn("check {} failing ({}): {}", entry.spec.name, ToString(outcome.result), report.reason);
  } else if (s.success && was_failing) {
    spdlog::info("check {} recovered: {}", entry.spec.name, report.reason);
  } else {
    spdlog::debug("check {}: {} in {:.3f}s: {}", entry.spec.name, ToString(outcome.result),
                  report.duration_seconds, report.reason);
  }
}

void Scheduler::Finished(const std::shared_ptr<Entry>& entry) {
  --in_flight_;
  entry->state->running = false;
  entry->state->cancel.reset();
  while (!waiting_.empty() && in_flight_ < catalogue_->global.max_concurrency) {
    auto [next, done] = std::move(waiting_.front());
    waiting_.pop_front();
    next->state->running = false;
    Launch(next, std::move(done));
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

void Scheduler::Collect(std::vector<metrics::Sample>& out) const {
  using metrics::MetricType;
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
      out.push_back({"drwatch_check_runs_total", "Runs of the check by result (skipped: still running when due).",
                     MetricType::kCounter, with_result, static_cast<double>(s.runs[static_cast<int>(r)])});
    }
    out.insert(out.end(), s.samples.begin(), s.samples.end());
    std::vector<metrics::Sample> fixed;
    e->spec.probe->StaticSamples(fixed);
    for (auto& sample : fixed) out.push_back(WithCheckLabels(std::move(sample), e->spec));
  }
  if (!catalogue_) return;
  double now = WallSeconds();
  for (const auto& objective : catalogue_->objectives) {
    std::vector<FeederState> feeders;
    for (const auto& e : entries_) {
      if (e->spec.objective != objective.id()) continue;
      const CheckState& s = *e->state;
      feeders.push_back({s.has_result, s.success, s.observed, s.last_success_timestamp});
    }
    AppendObjectiveSamples(objective, EvaluateObjective(objective, feeders, now), out);
  }
  out.push_back({"drwatch_scheduler_runs_in_flight", "Check runs in flight now.", MetricType::kGauge, {},
                 static_cast<double>(in_flight_)});
}

}  // namespace drwatch::engine

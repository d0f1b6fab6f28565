// The scheduler on a fake clock: spread, cadence, no overlap, skipped counting,
// deadlines, concurrency cap, reload and the common metrics.

#include "engine/scheduler.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/iso8601.hpp"
#include "engine/exposition.hpp"
#include "engine/run_lock.hpp"

namespace drwatch::engine {
namespace {

using namespace std::chrono_literals;

// A probe that takes `duration` of (fake) time, optionally ignoring the
// deadline's cancellation, and records when each run started.
class FakeProbe final : public probes::Probe {
 public:
  explicit FakeProbe(Clock::duration duration, bool success = true, bool cancellable = true)
      : duration_(duration), success_(success), cancellable_(cancellable) {}

  boost::asio::awaitable<probes::ProbeResult> Run(probes::RunContext& ctx) override {
    starts.push_back(Clock::now());
    Timer t(ctx.executor);
    t.expires_after(duration_);
    if (cancellable_) {
      co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    } else {
      boost::asio::cancellation_signal never;
      co_await t.async_wait(boost::asio::bind_cancellation_slot(
          never.slot(), boost::asio::as_tuple(boost::asio::use_awaitable)));
    }
    auto r = success_ ? probes::ProbeResult::Ok() : probes::ProbeResult::Fail("broken on purpose");
    r.observed = 42;
    r.samples.push_back({"drwatch_fake_value", "A fake probe's value.", metrics::MetricType::kGauge,
                         {{"extra", "x"}}, 7});
    co_return r;
  }

  bool KeepsSamplesOnTimeout() const override { return keep_samples; }
  bool RunsAlone() const override { return runs_alone; }
  void set_duration(Clock::duration d) { duration_ = d; }

  std::vector<Clock::time_point> starts;
  bool keep_samples = false;
  bool runs_alone = false;

 private:
  Clock::duration duration_;
  bool success_;
  bool cancellable_;
};

class FakeTargetSpec final : public targets::TargetSpec {
 public:
  std::shared_ptr<targets::TargetRuntime> MakeRuntime(boost::asio::any_io_executor,
                                                      BlockingPool&) const override {
    ++made;
    return std::make_shared<targets::TargetRuntime>();
  }
  mutable int made = 0;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Clock::Freeze();
    t0_ = Clock::now();
    target_ = std::make_shared<FakeTargetSpec>();
    target_->name = "t";
    target_->type = "fake";
    target_->fingerprint = "t1";
  }
  void TearDown() override {
    scheduler_.Stop();
    Settle();  // a cancelled run left in the loop would outlive the scheduler
    Clock::Unfreeze();
  }

  // Turns the loop until a turn runs nothing. A bare run_for(2ms) on a busy
  // machine can return before running what is ready (it checks the wall
  // clock first), so each turn ends with poll(). Fake-time timers show up
  // within 1 ms of real time (ClockWaitTraits), inside every turn.
  void Settle(std::chrono::milliseconds turn = 2ms) {
    for (;;) {
      io_.restart();
      std::size_t ran = io_.run_for(turn);
      io_.restart();
      ran += io_.poll();
      if (ran == 0) return;
    }
  }

  std::shared_ptr<FakeProbe> AddCheck(catalogue::Catalogue& cat, const std::string& name,
                                      std::shared_ptr<FakeProbe> probe, Clock::duration interval = 10s,
                                      Clock::duration timeout = 5s) {
    catalogue::CheckSpec spec;
    spec.name = name;
    spec.kind = "fake";
    spec.target = "t";
    spec.interval = std::chrono::duration_cast<config::Duration>(interval);
    spec.timeout = std::chrono::duration_cast<config::Duration>(timeout);
    spec.probe = probe;
    spec.fingerprint = name + "|" + std::to_string(spec.interval.count());
    cat.checks.push_back(spec);
    return probe;
  }

  // A catalogue of one check, applied and started, advanced until just past its first start (+ `after`).
  std::shared_ptr<FakeProbe> StartOneCheck(const std::string& name, std::shared_ptr<FakeProbe> probe,
                                           Clock::duration interval, Clock::duration timeout, Clock::duration after) {
    auto cat = NewCatalogue();
    AddCheck(*cat, name, probe, interval, timeout);
    scheduler_.Apply(cat);
    scheduler_.Start();
    AdvanceBy(Scheduler::SpreadOffset(name, interval) + after);
    return probe;
  }

  std::shared_ptr<catalogue::Catalogue> NewCatalogue() {
    auto cat = std::make_shared<catalogue::Catalogue>();
    cat->targets["t"] = target_;
    return cat;
  }

  // Moves fake time forward in small steps, letting the loop react to each.
  void AdvanceBy(Clock::duration total, Clock::duration step = 100ms) {
    for (Clock::duration done{0}; done < total; done += step) {
      Clock::Advance(step);
      Settle();
    }
  }

  std::vector<metrics::Sample> Collect() {
    std::vector<metrics::Sample> out;
    scheduler_.Collect(out);
    return out;
  }

  std::optional<double> Value(const std::string& name, const metrics::Labels& must_have) {
    for (const auto& s : Collect()) {
      if (s.name != name) continue;
      bool all = true;
      for (const auto& l : must_have) {
        all = all && std::find(s.labels.begin(), s.labels.end(), l) != s.labels.end();
      }
      if (all) return s.value;
    }
    return std::nullopt;
  }

  double Runs(const std::string& check, const std::string& result) {
    return Value("drwatch_check_runs_total", {{"check", check}, {"result", result}}).value_or(-1);
  }

  boost::asio::io_context io_;
  BlockingPool pool_{1};
  Scheduler scheduler_{io_.get_executor(), pool_};
  std::shared_ptr<FakeTargetSpec> target_;
  Clock::time_point t0_;
};

TEST_F(SchedulerTest, SpreadOffsetIsStableAndWithinInterval) {
  EXPECT_EQ(Scheduler::SpreadOffset("a", 10s), Scheduler::SpreadOffset("a", 10s));
  std::set<Clock::rep> offsets;
  for (int i = 0; i < 20; ++i) {
    auto off = Scheduler::SpreadOffset("check_" + std::to_string(i), 10s);
    EXPECT_GE(off, 0s);
    EXPECT_LT(off, 10s);
    offsets.insert(std::chrono::duration_cast<std::chrono::milliseconds>(off).count() / 500);
  }
  EXPECT_GT(offsets.size(), 5u) << "first runs must be spread, not bunched";
}

TEST_F(SchedulerTest, FirstRunsAreSpreadOverTheFirstInterval) {
  auto cat = NewCatalogue();
  std::vector<std::shared_ptr<FakeProbe>> probes;
  for (int i = 0; i < 8; ++i) {
    probes.push_back(AddCheck(*cat, "c" + std::to_string(i), std::make_shared<FakeProbe>(0s)));
  }
  scheduler_.Apply(cat);
  scheduler_.Start();
  AdvanceBy(10s);
  std::set<long> start_seconds;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(probes[i]->starts.size(), 1u) << "c" << i << " runs once in its first interval";
    auto offset = probes[i]->starts[0] - t0_;
    auto expected = Scheduler::SpreadOffset("c" + std::to_string(i), 10s);
    EXPECT_NEAR(std::chrono::duration<double>(offset).count(),
                std::chrono::duration<double>(expected).count(), 0.15);
    start_seconds.insert(std::chrono::duration_cast<std::chrono::seconds>(offset).count());
  }
  EXPECT_GT(start_seconds.size(), 3u);
}

TEST_F(SchedulerTest, RunsEveryIntervalKeepingPhase) {
  auto cat = NewCatalogue();
  auto p = AddCheck(*cat, "steady", std::make_shared<FakeProbe>(1s));
  scheduler_.Apply(cat);
  scheduler_.Start();
  AdvanceBy(40s);
  ASSERT_EQ(p->starts.size(), 4u);
  for (std::size_t i = 1; i < p->starts.size(); ++i) {
    EXPECT_NEAR(std::chrono::duration<double>(p->starts[i] - p->starts[i - 1]).count(), 10.0, 0.15);
  }
  EXPECT_EQ(Runs("steady", "success"), 4);
  EXPECT_EQ(Value("drwatch_check_success", {{"check", "steady"}}), 1);
  EXPECT_NEAR(Value("drwatch_check_duration_seconds", {{"check", "steady"}}).value_or(-1), 1.0, 0.15);
}

// A timed-out backup still shows the newest complete backup; a timed-out
// live probe shows nothing rather than an old reading.
TEST_F(SchedulerTest, ATimeoutKeepsThePreviousSamplesOnlyForKindsThatAskForIt) {
  auto cat = NewCatalogue();
  auto keeper = AddCheck(*cat, "backup", std::make_shared<FakeProbe>(1s), 10s, 5s);
  auto plain = AddCheck(*cat, "ping", std::make_shared<FakeProbe>(1s), 10s, 5s);
  keeper->keep_samples = true;
  scheduler_.Apply(cat);
  scheduler_.Start();
  AdvanceBy(12s);
  ASSERT_EQ(Value("drwatch_fake_value", {{"check", "backup"}}), 7);
  ASSERT_EQ(Value("drwatch_fake_value", {{"check", "ping"}}), 7);
  keeper->set_duration(60s);
  plain->set_duration(60s);
  AdvanceBy(25s);
  EXPECT_GE(Runs("backup", "timeout"), 1);
  EXPECT_GE(Runs("ping", "timeout"), 1);
  EXPECT_EQ(Value("drwatch_check_success", {{"check", "backup"}}), 0);
  EXPECT_EQ(Value("drwatch_fake_value", {{"check", "backup"}}), 7);
  EXPECT_FALSE(Value("drwatch_fake_value", {{"check", "ping"}}));
}

TEST_F(SchedulerTest, DeadlineCancelsTheRunAndCountsTimeout) {
  auto p = StartOneCheck("slow", std::make_shared<FakeProbe>(25s), 10s, 5s, 5200ms);
  ASSERT_EQ(p->starts.size(), 1u);
  EXPECT_EQ(Runs("slow", "timeout"), 1);
  EXPECT_EQ(Value("drwatch_check_success", {{"check", "slow"}}), 0);
  EXPECT_NEAR(Value("drwatch_check_duration_seconds", {{"check", "slow"}}).value_or(-1), 5.0, 0.15);
  EXPECT_EQ(Runs("slow", "skipped"), 0);
}

TEST_F(SchedulerTest, ARunStillGoingWhenDueIsSkippedNotOverlapped) {
  auto cat = NewCatalogue();
  // Ignores cancellation: the run outlives its deadline and two due times.
  auto p = AddCheck(*cat, "stuck", std::make_shared<FakeProbe>(25s, true, false), 10s, 5s);
  scheduler_.Apply(cat);
  scheduler_.Start();
  auto offset = Scheduler::SpreadOffset("stuck", 10s);
  AdvanceBy(offset + 29s);
  EXPECT_EQ(p->starts.size(), 1u) << "never two runs of one check at once";
  EXPECT_EQ(Runs("stuck", "skipped"), 2);
  EXPECT_EQ(Runs("stuck", "timeout"), 1);
  AdvanceBy(2s);
  EXPECT_EQ(p->starts.size(), 2u) << "the next due time after it ended starts a run";
}

TEST_F(SchedulerTest, ConcurrencyCapQueuesRuns) {
  auto cat = NewCatalogue();
  cat->global.max_concurrency = 1;
  auto a = AddCheck(*cat, "a", std::make_shared<FakeProbe>(3s), 60s, 5s);
  auto b = AddCheck(*cat, "b", std::make_shared<FakeProbe>(3s), 60s, 5s);
  scheduler_.Apply(cat);
  std::vector<RunReport> reports;
  scheduler_.RunAllOnce([&](std::vector<RunReport> r) { reports = std::move(r); });
  Settle();
  EXPECT_EQ(scheduler_.in_flight(), 1);
  AdvanceBy(4s);
  EXPECT_EQ(a->starts.size(), 1u);
  EXPECT_EQ(b->starts.size(), 1u);
  EXPECT_NEAR(std::chrono::duration<double>(b->starts[0] - a->starts[0]).count(), 3.0, 0.15);
  AdvanceBy(3s);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].check, "a");
  EXPECT_EQ(reports[1].check, "b");
  EXPECT_EQ(reports[1].result, RunResult::kSuccess);
  EXPECT_EQ(reports[1].observed, 42);
}

TEST_F(SchedulerTest, FailureKeepsReasonAndProbeSamplesGetCheckLabels) {
  auto cat = NewCatalogue();
  AddCheck(*cat, "bad", std::make_shared<FakeProbe>(0s, false));
  scheduler_.Apply(cat);
  std::vector<RunReport> reports;
  scheduler_.RunAllOnce([&](std::vector<RunReport> r) { reports = std::move(r); });
  Settle();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].result, RunResult::kFailure);
  EXPECT_EQ(reports[0].reason, "broken on purpose");
  EXPECT_EQ(Runs("bad", "failure"), 1);
  EXPECT_EQ(Value("drwatch_check_last_success_timestamp_seconds", {{"check", "bad"}}), 0);
  bool found = false;
  for (const auto& s : Collect()) {
    if (s.name != "drwatch_fake_value") continue;
    found = true;
    metrics::Labels expected{{"check", "bad"}, {"target", "t"}, {"extra", "x"}};
    EXPECT_EQ(s.labels, expected);
  }
  EXPECT_TRUE(found);
}

TEST_F(SchedulerTest, ReloadKeepsUnchangedChecksAndDropsRemovedSeries) {
  auto cat = NewCatalogue();
  auto kept = AddCheck(*cat, "kept", std::make_shared<FakeProbe>(0s));
  AddCheck(*cat, "gone", std::make_shared<FakeProbe>(0s));
  scheduler_.Apply(cat);
  scheduler_.Start();
  AdvanceBy(10s);
  ASSERT_EQ(Runs("kept", "success"), 1);
  auto last_run = Value("drwatch_check_last_run_timestamp_seconds", {{"check", "kept"}});

  auto next = NewCatalogue();
  AddCheck(*next, "kept", std::make_shared<FakeProbe>(0s));
  AddCheck(*next, "fresh", std::make_shared<FakeProbe>(0s));
  scheduler_.Apply(next);
  EXPECT_EQ(Runs("kept", "success"), 1) << "unchanged check keeps its counters";
  EXPECT_EQ(Value("drwatch_check_last_run_timestamp_seconds", {{"check", "kept"}}), last_run);
  EXPECT_FALSE(Value("drwatch_check_runs_total", {{"check", "gone"}}).has_value());
  EXPECT_EQ(Runs("fresh", "success"), 0);
  EXPECT_EQ(target_->made, 1) << "unchanged target keeps its runtime";

  auto changed = NewCatalogue();
  AddCheck(*changed, "kept", std::make_shared<FakeProbe>(0s), 20s, 5s);
  scheduler_.Apply(changed);
  EXPECT_EQ(Runs("kept", "success"), 0) << "a changed check starts afresh";
}

TEST_F(SchedulerTest, StopCancelsRunsInFlight) {
  auto cat = NewCatalogue();
  auto p = AddCheck(*cat, "long", std::make_shared<FakeProbe>(4s), 10s, 5s);
  scheduler_.Apply(cat);
  scheduler_.RunAllOnce([](std::vector<RunReport>) {});
  Settle();
  EXPECT_EQ(scheduler_.in_flight(), 1);
  scheduler_.Stop();
  Settle();
  EXPECT_EQ(scheduler_.in_flight(), 0);
}

}  // namespace
}  // namespace drwatch::engine

// Wall-clock schedules and state restored from a previous process.
#include "engine/state_store.hpp"

namespace drwatch::engine {
namespace {

using WallTime = std::chrono::system_clock::time_point;

// A daily schedule whose next time is `ahead` (whole minutes) after now.
config::Schedule DailyIn(std::chrono::minutes ahead) {
  auto at = std::chrono::floor<std::chrono::minutes>(Clock::WallNow()) + ahead;
  auto time_of_day = at - std::chrono::floor<std::chrono::days>(at);
  config::Schedule s;
  s.hour = static_cast<int>(std::chrono::duration_cast<std::chrono::hours>(time_of_day).count());
  s.minute = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(time_of_day).count() % 60);
  s.text = "daily test";
  return s;
}

// A saved state whose last run (a success) ended `ago` before now.
PersistedCheck SavedRun(std::chrono::seconds ago, const std::string& kind = "fake") {
  PersistedCheck p;
  p.kind = kind;
  p.state.has_result = true;
  p.state.success = true;
  p.state.last_result = RunResult::kSuccess;
  p.state.last_run_timestamp = ToUnixSeconds(Clock::WallNow() - ago);
  p.state.last_success_timestamp = p.state.last_run_timestamp;
  p.state.runs[0] = 5;
  p.state.reason = "saved";
  p.state.samples.push_back({"drwatch_fake_value", "A fake probe's value.", metrics::MetricType::kGauge,
                             {{"extra", "saved"}}, 3});
  return p;
}

// ---- schedule delay, skipped runs, the kept /metrics head ------------------

const metrics::HistogramValue* Histogram(const std::vector<metrics::Sample>& samples, const std::string& name) {
  for (const auto& s : samples) {
    if (s.name == name) return s.histogram.get();
  }
  return nullptr;
}

TEST_F(SchedulerTest, EveryScheduledRunObservesItsStartDelay) {
  auto cat = NewCatalogue();
  std::vector<std::shared_ptr<FakeProbe>> probes;
  for (int i = 0; i < 3; ++i) probes.push_back(AddCheck(*cat, "c" + std::to_string(i), std::make_shared<FakeProbe>(0s)));
  scheduler_.Apply(cat);
  scheduler_.Start();
  AdvanceBy(30s);
  std::size_t starts = 0;
  for (const auto& p : probes) starts += p->starts.size();
  auto samples = Collect();
  const auto* delay = Histogram(samples, "drwatch_check_schedule_delay_seconds");
  ASSERT_NE(delay, nullptr);
  EXPECT_EQ(delay->count, starts);
  EXPECT_GE(starts, 9u);
  // Fake time moves in 100 ms steps: no run started later than one step.
  std::size_t within_step = 0;
  for (std::size_t i = 0; i < delay->bounds.size() && delay->bounds[i] <= 0.1; ++i) within_step += delay->counts[i];
  EXPECT_EQ(within_step, starts);
  for (const auto& s : samples) EXPECT_FALSE(s.name == "drwatch_check_schedule_delay_seconds" && !s.labels.empty())
      << "no per-check labels";
}

TEST_F(SchedulerTest, ARunWaitingForASlotPastItsNextTimeIsSkippedNotLate) {
  auto cat = NewCatalogue();
  cat->global.max_concurrency = 1;
  AddCheck(*cat, "hog", std::make_shared<FakeProbe>(25s), 1h, 30s);
  auto waiter = AddCheck(*cat, "waiter", std::make_shared<FakeProbe>(0s), 10s, 5s);
  scheduler_.Apply(cat);
  ASSERT_TRUE(scheduler_.RunNow("hog", [](const RunReport&) {}));  // holds the only slot for 25 s
  scheduler_.Start();
  AdvanceBy(26s);
  ASSERT_EQ(waiter->starts.size(), 1u) << "it starts once the slot frees";
  auto offset = std::chrono::duration<double>(Scheduler::SpreadOffset("waiter", 10s)).count();
  int missed = 0;
  double last_due = offset;
  while (last_due + 10 <= 25) {
    last_due += 10;
    ++missed;
  }
  EXPECT_EQ(Runs("waiter", "skipped"), missed) << "each time passed while it waited is a skipped run";
  const auto* delay = Histogram(Collect(), "drwatch_check_schedule_delay_seconds");
  ASSERT_NE(delay, nullptr);
  ASSERT_EQ(delay->count, 1u);
  EXPECT_NEAR(delay->sum, 25 - last_due, 0.25) << "late only from the latest time it serves";
  EXPECT_LT(delay->sum, 10);
}

TEST_F(SchedulerTest, IntervalsPassedDuringAStallAreCountedSkipped) {
  auto p = StartOneCheck("c", std::make_shared<FakeProbe>(0s), 10s, 5s, 1s);
  ASSERT_EQ(p->starts.size(), 1u);
  Clock::Advance(35s);  // the loop did not run for 35 s
  Settle();
  EXPECT_EQ(p->starts.size(), 2u) << "one late run for the time it missed";
  EXPECT_EQ(Runs("c", "skipped"), 2) << "and the two later times that passed meanwhile";
  const auto* delay = Histogram(Collect(), "drwatch_check_schedule_delay_seconds");
  ASSERT_NE(delay, nullptr);
  EXPECT_EQ(delay->count, 2u);
  EXPECT_NEAR(delay->sum, 26, 0.2) << "the late run's delay is on record";
}

TEST_F(SchedulerTest, TwoScrapesWithoutAResultGetTheSameBodyAndAResultChangesIt) {
  auto cat = NewCatalogue();
  AddCheck(*cat, "a", std::make_shared<FakeProbe>(1s), 10s, 5s);
  AddCheck(*cat, "b", std::make_shared<FakeProbe>(0s, false), 20s, 5s);
  scheduler_.Apply(cat);
  scheduler_.Start();
  MetricsCache cache;
  auto scrape = [&] {
    auto body = cache.Render(
        scheduler_.generation(), [&](std::vector<metrics::Sample>& out) { return scheduler_.CollectState(out); },
        [&](std::vector<metrics::Sample>& out) { scheduler_.CollectLive(out); });
    return body.head->text() + body.tail;
  };
  AdvanceBy(20s);
  ASSERT_EQ(scheduler_.in_flight(), 0) << "scrape between runs: nothing live moves";
  std::string first = scrape();
  std::string second = scrape();
  EXPECT_EQ(first, second);
  EXPECT_EQ(cache.head_renders(), 1u);
  auto generation = scheduler_.generation();
  while (scheduler_.generation() == generation) AdvanceBy(100ms);
  std::string third = scrape();
  EXPECT_NE(third, second) << "a result is on the next scrape";
  EXPECT_EQ(cache.head_renders(), 2u);
  std::vector<metrics::Sample> all;
  scheduler_.Collect(all);
  auto lines = [](const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.insert(line);
    return out;
  };
  EXPECT_EQ(lines(third), lines(metrics::RenderText(all))) << "the split moves families, never changes them";
}

class ScheduledTest : public SchedulerTest {
 protected:
  // Moves fake time in one step (timers see a jump, as after a long sleep).
  void JumpBy(Clock::duration d) {
    Clock::Advance(d);
    Settle();
  }

  std::shared_ptr<FakeProbe> AddScheduled(catalogue::Catalogue& cat, const std::string& name,
                                          const config::Schedule& schedule) {
    auto probe = AddCheck(cat, name, std::make_shared<FakeProbe>(1s), 24h, 5s);
    cat.checks.back().schedule = schedule;
    return probe;
  }
};

TEST_F(ScheduledTest, RunsAtItsWallClockTimeAndAgainNextDay) {
  auto cat = NewCatalogue();
  auto schedule = DailyIn(90min);
  auto first = config::NextOccurrence(schedule, Clock::WallNow());
  auto probe = AddScheduled(*cat, "nightly", schedule);
  scheduler_.Apply(cat);
  scheduler_.Start();
  auto before = std::chrono::duration_cast<Clock::duration>(first - Clock::WallNow()) - 1s;
  for (int i = 0; i < 10; ++i) JumpBy(before / 10);
  EXPECT_TRUE(probe->starts.empty()) << "ran before its time";
  AdvanceBy(2s, 100ms);
  ASSERT_EQ(probe->starts.size(), 1u);
  for (int i = 0; i < 24; ++i) JumpBy(1h - 1s);
  EXPECT_EQ(probe->starts.size(), 1u) << "ran twice in one day";
  AdvanceBy(30s, 1s);
  EXPECT_EQ(probe->starts.size(), 2u);
  EXPECT_EQ(Value("drwatch_check_interval_seconds", {{"check", "nightly"}}), 86400);
}

TEST_F(ScheduledTest, MissedTimeWhileDownRunsSoonAfterStart) {
  auto cat = NewCatalogue();
  auto schedule = DailyIn(-30min);  // its time was half an hour ago
  auto probe = AddScheduled(*cat, "nightly", schedule);
  std::map<std::string, PersistedCheck> saved{{"nightly", SavedRun(std::chrono::hours(25))}};
  scheduler_.Apply(cat, saved);
  scheduler_.Start();
  AdvanceBy(61s, 1s);
  EXPECT_EQ(probe->starts.size(), 1u) << "the missed run did not catch up within a minute";
}

TEST_F(ScheduledTest, NotMissedWaitsForItsTime) {
  auto cat = NewCatalogue();
  auto probe = AddScheduled(*cat, "nightly", DailyIn(-30min));
  std::map<std::string, PersistedCheck> saved{{"nightly", SavedRun(std::chrono::minutes(29))}};
  scheduler_.Apply(cat, saved);
  scheduler_.Start();
  AdvanceBy(10min, 1s);
  EXPECT_TRUE(probe->starts.empty());
}

TEST_F(SchedulerTest, LongIntervalRecentlyRunWaitsForLastRunPlusInterval) {
  auto cat = NewCatalogue();
  auto probe = AddCheck(*cat, "hourly", std::make_shared<FakeProbe>(1s), 1h, 5s);
  std::map<std::string, PersistedCheck> saved{{"hourly", SavedRun(std::chrono::minutes(10))}};
  scheduler_.Apply(cat, saved);
  scheduler_.Start();
  AdvanceBy(49min, 10s);
  EXPECT_TRUE(probe->starts.empty()) << "ran although its last run was 10 min ago";
  AdvanceBy(2min, 1s);
  EXPECT_EQ(probe->starts.size(), 1u);
}

TEST_F(SchedulerTest, LongIntervalOverdueRunsWithinAMinute) {
  auto cat = NewCatalogue();
  auto probe = AddCheck(*cat, "hourly", std::make_shared<FakeProbe>(1s), 1h, 5s);
  std::map<std::string, PersistedCheck> saved{{"hourly", SavedRun(std::chrono::hours(2))}};
  scheduler_.Apply(cat, saved);
  scheduler_.Start();
  AdvanceBy(61s, 1s);
  EXPECT_EQ(probe->starts.size(), 1u);
}

TEST_F(SchedulerTest, SavedStateIsExportedBeforeTheFirstRun) {
  auto cat = NewCatalogue();
  AddCheck(*cat, "hourly", std::make_shared<FakeProbe>(1s), 1h, 5s);
  auto saved = SavedRun(std::chrono::minutes(10));
  std::map<std::string, PersistedCheck> persisted{{"hourly", saved}};
  scheduler_.Apply(cat, persisted);
  EXPECT_EQ(Value("drwatch_check_success", {{"check", "hourly"}}), 1);
  EXPECT_EQ(Value("drwatch_check_last_success_timestamp_seconds", {{"check", "hourly"}}),
            saved.state.last_success_timestamp);
  EXPECT_EQ(Runs("hourly", "success"), 5);
  EXPECT_EQ(Value("drwatch_fake_value", {{"check", "hourly"}, {"target", "t"}, {"extra", "saved"}}), 3);
}

TEST_F(SchedulerTest, SavedStateOfAnotherKindIsIgnored) {
  auto cat = NewCatalogue();
  AddCheck(*cat, "hourly", std::make_shared<FakeProbe>(1s), 1h, 5s);
  std::map<std::string, PersistedCheck> persisted{{"hourly", SavedRun(std::chrono::minutes(10), "other.kind")}};
  scheduler_.Apply(cat, persisted);
  EXPECT_FALSE(Value("drwatch_check_success", {{"check", "hourly"}}).has_value());
}

TEST_F(SchedulerTest, RunCancelledByStopIsNotRecorded) {
  auto cat = NewCatalogue();
  AddCheck(*cat, "slow", std::make_shared<FakeProbe>(3s), 10s, 5s);
  scheduler_.Apply(cat);
  std::optional<RunReport> report;
  ASSERT_TRUE(scheduler_.RunNow("slow", [&](const RunReport& r) { report = r; }));
  EXPECT_FALSE(scheduler_.RunNow("nope", nullptr));
  AdvanceBy(1s);
  scheduler_.Stop();
  AdvanceBy(1s);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->reason, "cancelled");
  EXPECT_FALSE(scheduler_.StateOf("slow")->has_result);
}

// The run lock is taken on the pool (a real thread): turn the loop until `done`.
template <typename Pred>
bool TurnUntil(boost::asio::io_context& io, Pred done) {
  for (int i = 0; i < 400 && !done(); ++i) {
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

TEST_F(SchedulerTest, ACheckThatRunsAloneIsSkippedWhileItsRunLockIsHeld) {
  std::string dir = (std::filesystem::temp_directory_path() / "drwatch-locks-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  auto cat = NewCatalogue();
  auto p = AddCheck(*cat, "nightly", std::make_shared<FakeProbe>(3s), 1h, 5s);
  p->runs_alone = true;
  scheduler_.SetRunLockDirectory(dir + "/locks");
  scheduler_.Apply(cat);
  auto since = std::chrono::system_clock::now();
  std::optional<RunLockResult> other = TryLockRun(dir + "/locks", "nightly", since);  // "another process"
  ASSERT_TRUE(other->ok()) << other->error;

  std::optional<RunReport> report;
  ASSERT_TRUE(scheduler_.RunNow("nightly", [&](const RunReport& r) { report = r; }));
  ASSERT_TRUE(TurnUntil(io_, [&] { return report.has_value(); }));
  EXPECT_EQ(report->result, RunResult::kSkipped);
  EXPECT_EQ(report->reason,
            "already running (pid " + std::to_string(::getpid()) + ", since " + FormatRfc3339(since) + ")");
  EXPECT_TRUE(p->starts.empty());
  EXPECT_EQ(Runs("nightly", "skipped"), 1);
  EXPECT_FALSE(scheduler_.StateOf("nightly")->has_result) << "a skip is no result of the check";

  other.reset();  // the other run ended
  report.reset();
  ASSERT_TRUE(scheduler_.RunNow("nightly", [&](const RunReport& r) { report = r; }));
  ASSERT_TRUE(TurnUntil(io_, [&] { return !p->starts.empty(); }));
  EXPECT_TRUE(TryLockRun(dir + "/locks", "nightly", since).busy) << "the run holds its lock";
  AdvanceBy(3s);
  ASSERT_TRUE(TurnUntil(io_, [&] { return report.has_value(); }));
  EXPECT_EQ(report->result, RunResult::kSuccess) << report->reason;
  EXPECT_TRUE(TryLockRun(dir + "/locks", "nightly", since).ok()) << "released once the run ended";
  std::filesystem::remove_all(dir);
}

TEST_F(SchedulerTest, ACheckAddedByAReloadResumesFromItsSavedState) {
  auto cat = NewCatalogue();
  AddCheck(*cat, "ping", std::make_shared<FakeProbe>(10ms), 10s, 5s);
  scheduler_.Apply(cat);
  scheduler_.Start();
  AdvanceBy(1s);
  auto next = NewCatalogue();
  AddCheck(*next, "ping", std::make_shared<FakeProbe>(10ms), 10s, 5s);
  auto hourly = AddCheck(*next, "hourly", std::make_shared<FakeProbe>(1s), 1h, 5s);
  std::map<std::string, PersistedCheck> saved{{"hourly", SavedRun(std::chrono::minutes(10))}};
  scheduler_.Apply(next, saved);
  EXPECT_EQ(Runs("hourly", "success"), 5) << "the saved state is exported at once";
  AdvanceBy(49min, 10s);
  EXPECT_TRUE(hourly->starts.empty());
  AdvanceBy(2min, 1s);
  EXPECT_EQ(hourly->starts.size(), 1u);
}

}  // namespace
}  // namespace drwatch::engine

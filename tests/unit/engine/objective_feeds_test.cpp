// The scheduler feeds objectives from probes that measure several at once (a
// restore drill: one RTO per system) next to the single `objective:` path.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "engine/scheduler.hpp"

namespace drwatch::engine {
namespace {

using namespace std::chrono_literals;

// Reports a time for each RTO system it "covers", like restore.drill.
class MeasuringProbe final : public probes::Probe {
 public:
  boost::asio::awaitable<probes::ProbeResult> Run(probes::RunContext&) override {
    auto r = probes::ProbeResult::Ok();
    r.observed = 999;  // the check's single value: not what the objectives take
    r.objective_observed = {{"rto.authentication", 40}, {"rto.core_business_logic", 2400}};
    co_return r;
  }
  std::vector<probes::ObjectiveReference> MeasuredObjectives() const override {
    return {{"covers", "authentication", "rto.authentication"},
            {"covers", "core_business_logic", "rto.core_business_logic"}};
  }
};

class FixedProbe final : public probes::Probe {
 public:
  boost::asio::awaitable<probes::ProbeResult> Run(probes::RunContext&) override {
    auto r = probes::ProbeResult::Ok();
    r.observed = 600;
    co_return r;
  }
};

class NullTarget final : public targets::TargetSpec {
 public:
  std::shared_ptr<targets::TargetRuntime> MakeRuntime(boost::asio::any_io_executor, BlockingPool&) const override {
    return std::make_shared<targets::TargetRuntime>();
  }
};

catalogue::CheckSpec Check(std::string name, std::shared_ptr<probes::Probe> probe, std::string objective = "") {
  catalogue::CheckSpec spec;
  spec.name = name;
  spec.kind = "fake";
  spec.target = "t";
  spec.interval = std::chrono::hours(1);
  spec.timeout = std::chrono::seconds(5);
  spec.objective = std::move(objective);
  spec.probe = std::move(probe);
  spec.fingerprint = name;
  return spec;
}

std::optional<double> Find(const std::vector<metrics::Sample>& samples, const std::string& metric,
                           const std::string& name) {
  for (const auto& s : samples) {
    if (s.name == metric && s.labels == metrics::Labels{{"objective", "rto"}, {"name", name}}) return s.value;
  }
  return std::nullopt;
}

TEST(ObjectiveFeeds, ADrillFeedsEachRtoSystemItMeasures) {
  boost::asio::io_context io;
  BlockingPool pool{1};
  Scheduler scheduler{io.get_executor(), pool};
  auto cat = std::make_shared<catalogue::Catalogue>();
  auto target = std::make_shared<NullTarget>();
  target->name = "t";
  cat->targets["t"] = target;
  cat->objectives = {{"rto", "authentication", std::chrono::minutes(15)},
                     {"rto", "core_business_logic", std::chrono::minutes(30)},
                     {"rto", "analytics_reporting", std::chrono::hours(2)}};
  cat->checks = {Check("drill", std::make_shared<MeasuringProbe>()),
                 Check("other", std::make_shared<FixedProbe>(), "rto.analytics_reporting")};
  scheduler.Apply(cat);

  std::vector<metrics::Sample> before;
  scheduler.Collect(before);
  EXPECT_FALSE(Find(before, "drwatch_objective_met", "authentication")) << "unknown until the drill ran";

  bool done = false;
  scheduler.RunAllOnce([&](std::vector<RunReport>) { done = true; });
  // Turns until the runs are done; 30 s is only there so that a run that never
  // ends fails instead of hanging (a busy machine can stretch any shorter budget).
  for (auto end = std::chrono::steady_clock::now() + 30s; !done && std::chrono::steady_clock::now() < end;) {
    io.restart();
    io.run_for(5ms);
  }
  ASSERT_TRUE(done);
  std::vector<metrics::Sample> out;
  scheduler.Collect(out);
  EXPECT_EQ(Find(out, "drwatch_objective_observed_seconds", "authentication"), 40);
  EXPECT_EQ(Find(out, "drwatch_objective_met", "authentication"), 1);
  EXPECT_EQ(Find(out, "drwatch_objective_observed_seconds", "core_business_logic"), 2400);
  EXPECT_EQ(Find(out, "drwatch_objective_met", "core_business_logic"), 0) << "40 min against a 30 min RTO";
  EXPECT_EQ(Find(out, "drwatch_objective_observed_seconds", "analytics_reporting"), 600) << "objective: still works";
  EXPECT_EQ(Find(out, "drwatch_objective_met", "analytics_reporting"), 1);
  scheduler.Stop();
}

}  // namespace
}  // namespace drwatch::engine

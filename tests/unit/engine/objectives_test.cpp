#include "engine/objectives.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace drwatch::engine {
namespace {

catalogue::Objective Rpo24h() { return {"rpo", "daily_operations", std::chrono::hours(24)}; }

constexpr double kNow = 1'800'000'000;

TEST(Objectives, UnknownUntilAFeederHasAResult) {
  auto s = EvaluateObjective(Rpo24h(), {}, kNow);
  EXPECT_EQ(s.target_seconds, 86400);
  EXPECT_FALSE(s.met.has_value());
  EXPECT_FALSE(s.observed.has_value());
  s = EvaluateObjective(Rpo24h(), {FeederState{}}, kNow);
  EXPECT_FALSE(s.met.has_value());
}

TEST(Objectives, MetWhenObservedWithinTarget) {
  auto s = EvaluateObjective(Rpo24h(), {{true, true, 3600, kNow - 10}}, kNow);
  EXPECT_EQ(s.observed, 3600);
  EXPECT_EQ(s.met, true);
}

TEST(Objectives, BreachedWhenObservedExceedsTarget) {
  auto s = EvaluateObjective(Rpo24h(), {{true, true, 90000, kNow}}, kNow);
  EXPECT_EQ(s.met, false);
}

TEST(Objectives, WorstFeederWins) {
  auto s = EvaluateObjective(Rpo24h(), {{true, true, 60, kNow}, {true, true, 7200, kNow}}, kNow);
  EXPECT_EQ(s.observed, 7200);
  EXPECT_EQ(s.met, true);
}

TEST(Objectives, BreachedWhenAFeederFails) {
  auto s = EvaluateObjective(Rpo24h(), {{true, true, 60, kNow}, {true, false, std::nullopt, kNow - 60}}, kNow);
  EXPECT_EQ(s.met, false);
}

TEST(Objectives, BreachedWhenLastSuccessOlderThanTarget) {
  auto s = EvaluateObjective(Rpo24h(), {{true, true, 60, kNow - 90000}}, kNow);
  EXPECT_EQ(s.met, false);
}

TEST(Objectives, AnRtoKeepsAnOldDrillMeasurement) {
  catalogue::Objective rto{"rto", "authentication", std::chrono::minutes(15)};
  auto s = EvaluateObjective(rto, {{true, true, 300, kNow - 7 * 86400}}, kNow);
  EXPECT_EQ(s.met, true) << "a weekly drill's 5 min restore still meets a 15 min RTO";
  s = EvaluateObjective(rto, {{true, true, 1200, kNow - 60}}, kNow);
  EXPECT_EQ(s.met, false);
}

TEST(Objectives, AnRpoChangesByItselfWhenTheOldestSuccessAgesPastTheTarget) {
  std::vector<FeederState> feeders{{true, true, 60, kNow - 3600}, {true, true, 60, kNow - 600}};
  double at = ObjectiveChangesAt(Rpo24h(), feeders, kNow);
  EXPECT_NEAR(at, kNow - 3600 + 86400, 1e-3);
  EXPECT_EQ(EvaluateObjective(Rpo24h(), feeders, std::nextafter(at, 0.0)).met, true);
  EXPECT_EQ(EvaluateObjective(Rpo24h(), feeders, at).met, false);
  catalogue::Objective rto{"rto", "authentication", std::chrono::minutes(15)};
  EXPECT_TRUE(std::isinf(ObjectiveChangesAt(rto, feeders, kNow))) << "only a new drill changes an RTO";
  EXPECT_TRUE(std::isinf(ObjectiveChangesAt(Rpo24h(), {{true, true, 60, kNow - 90000}}, kNow)))
      << "already breached by age: stays so until a new result";
}

TEST(Objectives, SamplesCarryKindAndName) {
  std::vector<metrics::Sample> out;
  AppendObjectiveSamples(Rpo24h(), {86400, 60, true}, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "drwatch_objective_target_seconds");
  EXPECT_EQ(out[1].name, "drwatch_objective_observed_seconds");
  EXPECT_EQ(out[2].name, "drwatch_objective_met");
  metrics::Labels labels{{"objective", "rpo"}, {"name", "daily_operations"}};
  EXPECT_EQ(out[2].labels, labels);
  EXPECT_EQ(out[2].value, 1);
  out.clear();
  AppendObjectiveSamples(Rpo24h(), {86400, std::nullopt, std::nullopt}, out);
  EXPECT_EQ(out.size(), 1u);
}

catalogue::Objective RtoAuth() { return {"rto", "authentication", std::chrono::minutes(15)}; }

TEST(Objectives, ACheckFeedsWhatItMeasuresFromItsPerObjectiveValues) {
  // A drill measures two RTO systems at once; a recency check feeds its `objective:`.
  CheckFeed drill{"", {"rto.authentication", "rto.core_business_logic"}, {true, true, 999, kNow},
                  {{"rto.authentication", 42}, {"rto.core_business_logic", 600}}};
  CheckFeed recency{"rpo.daily_operations", {}, {true, true, 3600, kNow}, {}};
  auto feeders = FeedersOf(RtoAuth(), {drill, recency});
  ASSERT_EQ(feeders.size(), 1u);
  EXPECT_EQ(feeders[0].observed, 42) << "the system's own time, not the check's single value";
  auto s = EvaluateObjective(RtoAuth(), feeders, kNow);
  EXPECT_EQ(s.observed, 42);
  EXPECT_EQ(s.met, true);
  catalogue::Objective core{"rto", "core_business_logic", std::chrono::minutes(5)};
  s = EvaluateObjective(core, FeedersOf(core, {drill, recency}), kNow);
  EXPECT_EQ(s.observed, 600);
  EXPECT_EQ(s.met, false) << "10 min measured against a 5 min RTO";
}

TEST(Objectives, TheSingleObjectivePathIsUnchanged) {
  CheckFeed recency{"rpo.daily_operations", {}, {true, true, 3600, kNow}, {}};
  auto feeders = FeedersOf(Rpo24h(), {recency});
  ASSERT_EQ(feeders.size(), 1u);
  EXPECT_EQ(feeders[0].observed, 3600);
  EXPECT_TRUE(FeedersOf(RtoAuth(), {recency}).empty());
}

TEST(Objectives, AFailedDrillThatNeverReachedASystemBreachesIt) {
  CheckFeed drill{"", {"rto.authentication"}, {true, false, std::nullopt, kNow - 86400}, {}};
  auto s = EvaluateObjective(RtoAuth(), FeedersOf(RtoAuth(), {drill}), kNow);
  EXPECT_FALSE(s.observed.has_value());
  EXPECT_EQ(s.met, false);
}

TEST(Objectives, AnOldSuccessfulDrillStillCounts) {
  CheckFeed drill{"", {"rto.authentication"}, {true, true, std::nullopt, kNow - 6 * 86400},
                  {{"rto.authentication", 300}}};
  auto s = EvaluateObjective(RtoAuth(), FeedersOf(RtoAuth(), {drill}), kNow);
  EXPECT_EQ(s.observed, 300);
  EXPECT_EQ(s.met, true);
}

}  // namespace
}  // namespace drwatch::engine

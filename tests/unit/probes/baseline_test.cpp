// postgres.baseline's arithmetic without a database: the baseline (median of
// the kept normal samples), warm-up, factor, `for`, the reset when a subject
// is back to normal, the backup duration ratio, the history file's round
// trip and a corrupt one set aside; and the catalogue's errors, one fixture
// per rule.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "catalogue/catalogue.hpp"
#include "probes/history.hpp"
#include "support/bad_fixtures.hpp"

namespace drwatch::probes {
namespace {

namespace fs = std::filesystem;

const std::vector<test::BadCase> kBadCases = {
    {"bad_baseline_unknown_check.yml",
     {":12:20: checks[1].checks[1]: unknown check \"nightly_dump\" (declared: baseline, ping)"}},
    {"bad_baseline_keys.yml",
     {":12:13: checks[1].factor: expected a number between 1 and 1000",
      ":16:10: checks[2].for: expected an integer between 1 and 1000",
      ":20:10: checks[3].top: expected an integer between 1 and 100",
      ":21:13: checks[3].tables: expected an integer between 0 and 100",
      ":26:13: checks[4].warmup: must not exceed window (4)",
      ":30:13: checks[5].checks: expected a list of strings",
      ":34:13: checks[6].checks: check \"ping\" is listed twice",
      ":38:5: checks[7].threshold: unknown key"}},
};

class BadBaselineCatalogue : public testing::TestWithParam<test::BadCase> {};

TEST_P(BadBaselineCatalogue, ReportsExactErrors) { test::ExpectRefused(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Fixtures, BadBaselineCatalogue, testing::ValuesIn(kBadCases), test::BadCaseShortName);

TEST(BaselineConfig, DefaultsToHourlyOnTheWeeklyList) {
  auto result = catalogue::LoadCatalogueText(
      "targets:\n"
      "  db: {type: postgres, dsn: \"host=127.0.0.1 dbname=app\"}\n"
      "checks:\n"
      "  - {name: ping, kind: postgres.ping, target: db}\n"
      "  - {name: baseline, kind: postgres.baseline, target: db, checks: [ping]}\n",
      "b.yml");
  ASSERT_EQ(result.errors, std::vector<std::string>{});
  const auto& check = result.catalogue->checks.at(1);
  EXPECT_EQ(check.interval, std::chrono::hours(1));
  EXPECT_EQ(check.checklist, "weekly");
  ASSERT_EQ(check.probe->ReferencedChecks().size(), 1u);
  EXPECT_EQ(check.probe->ReferencedChecks()[0].check, "ping");
}

TEST(BaselineMath, MedianOfOddAndEvenCounts) {
  EXPECT_EQ(Median({}), 0);
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
}

BaselinePolicy Policy() {
  BaselinePolicy p;
  p.window = 5;
  p.warmup = 3;
  p.factor = 2;
  p.for_runs = 3;
  return p;
}

TEST(BaselineMath, NoJudgementDuringWarmUp) {
  SubjectHistory h;
  for (double v : {1.0, 100.0, 1.0}) {
    Judgement j = Observe(h, v, 0, Policy());
    EXPECT_FALSE(j.ratio);
    EXPECT_FALSE(j.failing);
  }
  EXPECT_EQ(h.samples.size(), 3u);
  Judgement j = Observe(h, 1.5, 0, Policy());  // baseline: median of 1, 100, 1
  ASSERT_TRUE(j.ratio);
  EXPECT_DOUBLE_EQ(*j.baseline, 1);
  EXPECT_DOUBLE_EQ(*j.ratio, 1.5);
  EXPECT_FALSE(j.above);
}

TEST(BaselineMath, FailsOnlyAfterForRunsAboveFactor) {
  SubjectHistory h;
  for (int i = 0; i < 3; ++i) Observe(h, 10, 0, Policy());
  Judgement j = Observe(h, 20, 0, Policy());  // exactly the factor: not above
  EXPECT_FALSE(j.above);
  j = Observe(h, 25, 0, Policy());
  EXPECT_TRUE(j.above);
  EXPECT_FALSE(j.failing);
  EXPECT_DOUBLE_EQ(*j.ratio, 2.5);
  j = Observe(h, 50, 0, Policy());
  EXPECT_FALSE(j.failing);
  j = Observe(h, 50, 0, Policy());
  EXPECT_TRUE(j.failing);
  EXPECT_EQ(h.above, 3);
  // The slow samples were not kept: the baseline is still the normal one.
  EXPECT_EQ(h.samples, (std::vector<double>{10, 10, 10, 20}));
  j = Observe(h, 60, 0, Policy());
  EXPECT_TRUE(j.failing);
  EXPECT_DOUBLE_EQ(*j.baseline, 10);
}

TEST(BaselineMath, BackToNormalResetsTheCount) {
  SubjectHistory h;
  for (int i = 0; i < 3; ++i) Observe(h, 10, 0, Policy());
  Observe(h, 30, 0, Policy());
  Observe(h, 30, 0, Policy());
  Judgement j = Observe(h, 11, 0, Policy());
  EXPECT_FALSE(j.above);
  EXPECT_FALSE(j.failing);
  EXPECT_EQ(h.above, 0);
  Observe(h, 30, 0, Policy());
  j = Observe(h, 30, 0, Policy());
  EXPECT_FALSE(j.failing);  // two in a row again, not three
}

TEST(BaselineMath, KeepsAtMostTheWindowAndFollowsSlowDrift) {
  SubjectHistory h;
  for (double v : {1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4}) Observe(h, v, 0, Policy());
  EXPECT_EQ(h.samples, (std::vector<double>{1.6, 1.8, 2.0, 2.2, 2.4}));
  EXPECT_DOUBLE_EQ(*Observe(h, 2.0, 0, Policy()).baseline, 2.0);
}

TEST(BaselineMath, FloorKeepsTinyBaselinesFromExploding) {
  SubjectHistory h;
  for (int i = 0; i < 3; ++i) Observe(h, 0, 0.01, Policy());
  Judgement j = Observe(h, 0.015, 0.01, Policy());
  EXPECT_DOUBLE_EQ(*j.ratio, 1.5);
  EXPECT_FALSE(j.above);
}

TEST(DurationRatio, MedianOfTheLastTenRunsAfterThree) {
  SubjectHistory h;
  EXPECT_FALSE(DurationRatio(h, 10));
  EXPECT_FALSE(DurationRatio(h, 12));
  EXPECT_FALSE(DurationRatio(h, 8));
  EXPECT_DOUBLE_EQ(*DurationRatio(h, 25), 2.5);  // median of 10, 12, 8
  for (int i = 0; i < 20; ++i) DurationRatio(h, 4);
  EXPECT_EQ(h.samples.size(), kDurationRuns);
  EXPECT_DOUBLE_EQ(*DurationRatio(h, 8), 2);  // the slow run of earlier is gone
}

class HistoryFile : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("drwatch-history-" + std::to_string(::getpid()) + "-" +
                                        testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(HistoryFile, RoundTripsThroughTheStorageDirectory) {
  History h;
  h.subjects["statement:42"] = {{0.5, 0.25, 0.125}, 2};
  h.subjects["cache_hit_ratio"] = {{0.01}, 0};
  h.counters["statement:42#calls"] = 17;
  std::string error;
  ASSERT_TRUE(SaveHistory(dir_, "baseline", h, error)) << error;
  EXPECT_TRUE(fs::exists(dir_ / "history" / "baseline.json"));
  History back = LoadHistory(dir_, "baseline", error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(back.subjects.size(), 2u);
  EXPECT_EQ(back.subjects["statement:42"].samples, (std::vector<double>{0.5, 0.25, 0.125}));
  EXPECT_EQ(back.subjects["statement:42"].above, 2);
  EXPECT_EQ(back.counters["statement:42#calls"], 17);
  for (const auto& entry : fs::directory_iterator(dir_ / "history")) {
    EXPECT_EQ(entry.path().filename(), "baseline.json") << "temporary file left behind";
  }
}

TEST_F(HistoryFile, MissingIsEmptyWithoutError) {
  std::string error;
  History h = LoadHistory(dir_, "baseline", error);
  EXPECT_EQ(error, "");
  EXPECT_TRUE(h.subjects.empty());
}

TEST_F(HistoryFile, CorruptFileIsSetAsideAndTheHistoryStartsAfresh) {
  fs::create_directories(dir_ / "history");
  std::string path = (dir_ / "history" / "baseline.json").string();
  std::ofstream(path) << "{\"format\": 1, \"check\": \"baseline\", \"subj";
  std::string error;
  History h = LoadHistory(dir_, "baseline", error);
  EXPECT_TRUE(h.subjects.empty());
  EXPECT_NE(error.find(path + ": invalid JSON"), std::string::npos) << error;
  EXPECT_NE(error.find("set aside as " + path + ".corrupt-"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(path));
  int aside = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "history")) {
    aside += entry.path().filename().string().rfind("baseline.json.corrupt-", 0) == 0;
  }
  EXPECT_EQ(aside, 1);
  // And the next save works.
  EXPECT_TRUE(SaveHistory(dir_, "baseline", h, error)) << error;
}

TEST_F(HistoryFile, AnotherChecksHistoryIsRefused) {
  History h;
  std::string error;
  ASSERT_TRUE(SaveHistory(dir_, "other", h, error));
  fs::rename(dir_ / "history" / "other.json", dir_ / "history" / "baseline.json");
  LoadHistory(dir_, "baseline", error);
  EXPECT_NE(error.find("it is the history of check \"other\""), std::string::npos) << error;
}

}  // namespace
}  // namespace drwatch::probes

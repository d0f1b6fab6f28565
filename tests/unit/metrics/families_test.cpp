// The declared metric families (lib/metrics/families.hpp): each name once, a
// valid name and label set, and samples made from them carrying their HELP
// and TYPE. The scrape of every kind together is in
// tests/integration/daemon_test.cpp (DaemonServe.EveryKindTogether...).

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "metrics/families.hpp"

namespace drwatch::metrics {
namespace {

std::vector<std::string> LabelNames(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    auto comma = list.find(',');
    out.emplace_back(list.substr(0, comma));
    list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
  }
  return out;
}

TEST(Families, NoTwoShareAName) {
  std::set<std::string_view> names;
  for (const Family* f : AllFamilies()) EXPECT_TRUE(names.insert(f->name).second) << f->name << " declared twice";
  EXPECT_GE(names.size(), 60u);
}

TEST(Families, NamesLabelsAndHelpAreValid) {
  const std::regex name("[a-z_][a-z0-9_]*");
  for (const Family* f : AllFamilies()) {
    std::string n(f->name);
    EXPECT_TRUE(std::regex_match(n, name)) << n;
    EXPECT_TRUE(n.starts_with("drwatch_") || n.starts_with("process_")) << n;
    EXPECT_EQ(n.ends_with("_total"), f->type == MetricType::kCounter) << n;
    EXPECT_FALSE(f->help.empty()) << n;
    EXPECT_EQ(f->help.find('\n'), std::string_view::npos) << n;
    std::set<std::string> seen;
    for (const auto& label : LabelNames(f->labels)) {
      EXPECT_TRUE(std::regex_match(label, name)) << n << ": label \"" << label << "\"";
      EXPECT_NE(label, "le") << n;
      EXPECT_TRUE(seen.insert(label).second) << n << ": label " << label << " twice";
    }
  }
}

// A probe's own labels follow the engine's check and target.
TEST(Families, ProbeFamiliesStartWithCheckAndTarget) {
  for (const Family* f : {&kDataAgeSeconds, &kDataMaxAgeSeconds, &kBackupSizeBytes, &kReplicationLagSeconds}) {
    EXPECT_TRUE(f->labels.starts_with("check,target")) << f->name;
  }
}

TEST(Families, FindFamilyByName) {
  EXPECT_EQ(FindFamily("drwatch_data_age_seconds"), &kDataAgeSeconds);
  EXPECT_EQ(FindFamily("process_open_fds"), &kProcessOpenFds);
  EXPECT_EQ(FindFamily("drwatch_query_rows"), nullptr);
  EXPECT_EQ(FindFamily("drwatch_data_age"), nullptr);
}

TEST(Families, MakeCarriesNameHelpAndType) {
  Sample s = kDataAgeSeconds.Make(12.5);
  EXPECT_EQ(s.name, "drwatch_data_age_seconds");
  EXPECT_EQ(s.help, "Age of the newest data the check found, as of its last run.");
  EXPECT_EQ(s.type, MetricType::kGauge);
  EXPECT_EQ(s.value, 12.5);
  EXPECT_TRUE(s.labels.empty());

  Sample runs = kCheckRunsTotal.Make(3, {{"result", "success"}});
  EXPECT_EQ(runs.type, MetricType::kCounter);
  EXPECT_EQ(runs.labels, (Labels{{"result", "success"}}));

  auto h = std::make_shared<HistogramValue>(std::vector<double>{0.1, 1});
  Sample delay = kCheckScheduleDelaySeconds.Make(h);
  EXPECT_EQ(delay.type, MetricType::kHistogram);
  EXPECT_EQ(delay.histogram, h);
}

TEST(Families, QueryColumnsAreNamedAfterTheColumn) {
  Sample s = QueryColumn("rows", 7, {{"slot_name", "a"}});
  EXPECT_EQ(s.name, "drwatch_query_rows");
  EXPECT_EQ(s.help, "Column rows of a postgres.query check.");
  EXPECT_EQ(s.type, MetricType::kGauge);
  EXPECT_EQ(s.value, 7);
  EXPECT_EQ(s.labels, (Labels{{"slot_name", "a"}}));
}

// One HELP and one TYPE line per family even when two kinds export it.
TEST(Families, TwoKindsOfOneFamilyRenderOneHelp) {
  std::vector<Sample> samples = {kDataAgeSeconds.Make(1, {{"check", "recency"}}),
                                 kDataAgeSeconds.Make(2, {{"check", "nightly"}})};
  EXPECT_EQ(RenderText(samples),
            "# HELP drwatch_data_age_seconds Age of the newest data the check found, as of its last run.\n"
            "# TYPE drwatch_data_age_seconds gauge\n"
            "drwatch_data_age_seconds{check=\"recency\"} 1\n"
            "drwatch_data_age_seconds{check=\"nightly\"} 2\n");
}

}  // namespace
}  // namespace drwatch::metrics

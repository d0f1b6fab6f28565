#include "metrics/sample.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace drwatch::metrics {
namespace {

Sample Gauge(std::string name, Labels labels, double value, std::string help = "A gauge.") {
  return Sample{std::move(name), std::move(help), MetricType::kGauge, std::move(labels), value};
}

Sample Counter(std::string name, Labels labels, double value, std::string help = "A counter.") {
  return Sample{std::move(name), std::move(help), MetricType::kCounter, std::move(labels), value};
}

TEST(RenderTextTest, HistogramHasCumulativeBucketsUpToInfSumAndCount) {
  auto h = std::make_shared<HistogramValue>(std::vector<double>{0.01, 0.1});
  for (double v : {0.005, 0.01, 0.05, 3.0}) h->Observe(v);
  Sample s{"drwatch_delay_seconds", "A delay.", MetricType::kHistogram, {}, 0, h};
  EXPECT_EQ(RenderText({s}),
            "# HELP drwatch_delay_seconds A delay.\n"
            "# TYPE drwatch_delay_seconds histogram\n"
            "drwatch_delay_seconds_count 4\n"
            "drwatch_delay_seconds_sum 3.065\n"
            "drwatch_delay_seconds_bucket{le=\"0.01\"} 2\n"
            "drwatch_delay_seconds_bucket{le=\"0.1\"} 3\n"
            "drwatch_delay_seconds_bucket{le=\"+Inf\"} 4\n");
}

TEST(RenderTextTest, EmptyInputRendersNothing) { EXPECT_EQ(RenderText({}), ""); }

TEST(RenderTextTest, CounterKeepsItsNameExactly) {
  std::string text = RenderText({Counter("drwatch_check_runs_total",
                                         {{"check", "wal"}, {"result", "success"}}, 3,
                                         "Check runs by result.")});
  EXPECT_EQ(text,
            "# HELP drwatch_check_runs_total Check runs by result.\n"
            "# TYPE drwatch_check_runs_total counter\n"
            "drwatch_check_runs_total{check=\"wal\",result=\"success\"} 3\n");
  EXPECT_EQ(text.find("_total_total"), std::string::npos);
}

TEST(RenderTextTest, GroupsByNameSortsFamiliesAndKeepsSampleOrder) {
  std::string text = RenderText({
      Gauge("drwatch_b", {{"x", "2"}}, 2, "B help."),
      Gauge("drwatch_a", {}, 1, "A help."),
      Gauge("drwatch_b", {{"x", "1"}}, 1, "Ignored help."),
  });
  EXPECT_EQ(text,
            "# HELP drwatch_a A help.\n"
            "# TYPE drwatch_a gauge\n"
            "drwatch_a 1\n"
            "# HELP drwatch_b B help.\n"
            "# TYPE drwatch_b gauge\n"
            "drwatch_b{x=\"2\"} 2\n"
            "drwatch_b{x=\"1\"} 1\n");
}

TEST(RenderTextTest, FirstTypeWinsWithinAFamily) {
  std::string text = RenderText({Counter("drwatch_x_total", {{"a", "1"}}, 1),
                                 Gauge("drwatch_x_total", {{"a", "2"}}, 2)});
  EXPECT_NE(text.find("# TYPE drwatch_x_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("drwatch_x_total{a=\"2\"} 2\n"), std::string::npos);
  EXPECT_EQ(text.find("gauge"), std::string::npos);
}

TEST(RenderTextTest, DropsExactDuplicateSeriesFirstWins) {
  std::string text = RenderText({
      Gauge("drwatch_g", {{"a", "1"}, {"b", "2"}}, 10),
      Gauge("drwatch_g", {{"a", "1"}, {"b", "2"}}, 20),
      Gauge("drwatch_g", {{"b", "2"}, {"a", "1"}}, 30),  // same series, other order
      Gauge("drwatch_g", {{"a", "1"}}, 40),              // a different series
  });
  EXPECT_EQ(text,
            "# HELP drwatch_g A gauge.\n"
            "# TYPE drwatch_g gauge\n"
            "drwatch_g{a=\"1\",b=\"2\"} 10\n"
            "drwatch_g{a=\"1\"} 40\n");
}

TEST(RenderTextTest, EscapesLabelValues) {
  std::string text = RenderText({Gauge("drwatch_g", {{"path", "C:\\dir \"x\"\nnext"}}, 1)});
  EXPECT_NE(text.find("drwatch_g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n"), std::string::npos)
      << text;
}

TEST(RenderTextTest, EscapesHelpText) {
  std::string text = RenderText({Gauge("drwatch_g", {}, 1, "Back\\slash and\nnewline.")});
  EXPECT_NE(text.find("# HELP drwatch_g Back\\\\slash and\\nnewline.\n"), std::string::npos)
      << text;
}

TEST(RenderTextTest, RendersSpecialValuesAsPrometheusSpellsThem) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::string text = RenderText({
      Gauge("drwatch_g", {{"v", "nan"}}, std::numeric_limits<double>::quiet_NaN()),
      Gauge("drwatch_g", {{"v", "inf"}}, kInf),
      Gauge("drwatch_g", {{"v", "-inf"}}, -kInf),
  });
  EXPECT_NE(text.find("drwatch_g{v=\"nan\"} NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("drwatch_g{v=\"inf\"} +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("drwatch_g{v=\"-inf\"} -Inf\n"), std::string::npos) << text;
}

TEST(RenderTextTest, NaNFixLeavesHelpAndLabelsAlone) {
  std::string text = RenderText({Gauge("drwatch_g", {{"v", "x Nan"}}, 1, "Ends in Nan")});
  EXPECT_NE(text.find("# HELP drwatch_g Ends in Nan\n"), std::string::npos) << text;
  EXPECT_NE(text.find("drwatch_g{v=\"x Nan\"} 1\n"), std::string::npos) << text;
}

TEST(RenderTextTest, RendersOrdinaryNumbers) {
  std::string text = RenderText({
      Gauge("drwatch_g", {{"v", "a"}}, 0.25),
      Gauge("drwatch_g", {{"v", "b"}}, 1712345678.5),
      Gauge("drwatch_g", {{"v", "c"}}, -3),
      Gauge("drwatch_g", {{"v", "d"}}, 1e-9),
  });
  EXPECT_NE(text.find("{v=\"a\"} 0.25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("{v=\"b\"} 1712345678.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("{v=\"c\"} -3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("{v=\"d\"} 1e-09\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace drwatch::metrics

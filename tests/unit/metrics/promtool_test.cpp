// RenderText output must satisfy `promtool check metrics` (parser and lint).
// promtool is part of the test toolchain: its absence fails the test.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>

#include "metrics/families.hpp"
#include "metrics/process.hpp"
#include "metrics/sample.hpp"

namespace drwatch::metrics {
namespace {

struct PromtoolResult {
  int exit_code = -1;
  std::string output;
};

PromtoolResult PromtoolCheckMetrics(const std::string& text) {
  char path[] = "/tmp/drwatch_promtool_XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return {};
  ::close(fd);
  std::ofstream(path) << text;
  std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  PromtoolResult result;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char chunk[512];
    while (std::size_t n = std::fread(chunk, 1, sizeof chunk, pipe)) result.output.append(chunk, n);
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ::unlink(path);
  return result;
}

std::vector<Sample> RepresentativeSamples() {
  const Labels check = {{"check", "wal_archive"}, {"target", "main"}};
  auto with = [](Labels labels, std::string name, std::string value) {
    labels.emplace_back(std::move(name), std::move(value));
    return labels;
  };
  std::vector<Sample> samples = {
      {"drwatch_check_success", "1 if the last run of the check succeeded, else 0.",
       MetricType::kGauge, check, 1},
      {"drwatch_check_duration_seconds", "Duration of the last run of the check.",
       MetricType::kGauge, check, 0.0421},
      {"drwatch_check_runs_total", "Runs of the check by result.", MetricType::kCounter,
       with(check, "result", "success"), 12},
      {"drwatch_check_runs_total", "Runs of the check by result.", MetricType::kCounter,
       with(check, "result", "timeout"), 1},
      {"drwatch_check_last_success_timestamp_seconds", "Unix time of the last success.",
       MetricType::kGauge, check, 1712345678.25},
      {"drwatch_backup_age_seconds", "Age of the newest backup; NaN before the first run.",
       MetricType::kGauge, check, std::numeric_limits<double>::quiet_NaN()},
      {"drwatch_check_info", "Static facts about a check.", MetricType::kGauge,
       with(check, "query", "SELECT \"x\" FROM t WHERE p = 'C:\\tmp'\n"), 1},
      {"drwatch_build_info", "Build version and revision; value is always 1.",
       MetricType::kGauge, {{"version", "0.1.0"}, {"revision", "abc123"}}, 1},
  };
  auto delay = std::make_shared<HistogramValue>(std::vector<double>{0.001, 0.05, 1});
  for (double v : {0.0004, 0.02, 0.02, 7.0}) delay->Observe(v);
  samples.push_back({"drwatch_check_schedule_delay_seconds", "How late scheduled runs started.",
                     MetricType::kHistogram, {}, 0, delay});
  AppendProcessSamples(samples);
  return samples;
}

TEST(PromtoolTest, AcceptsRepresentativeExposition) {
  std::string text = RenderText(RepresentativeSamples());
  PromtoolResult result = PromtoolCheckMetrics(text);
  ASSERT_NE(result.exit_code, 127) << "promtool not found on PATH: " << result.output;
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- input ---\n" << text;
  EXPECT_EQ(result.output, "");
}

// Every declared family, one series each with its declared labels.
TEST(PromtoolTest, AcceptsEveryDeclaredFamily) {
  std::vector<Sample> samples;
  for (const Family* f : AllFamilies()) {
    Labels labels;
    for (std::string_view rest = f->labels; !rest.empty();) {
      auto comma = rest.find(',');
      labels.emplace_back(std::string(rest.substr(0, comma)), "x");
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    }
    samples.push_back(f->type == MetricType::kHistogram
                          ? f->Make(std::make_shared<HistogramValue>(std::vector<double>{0.1, 1}), labels)
                          : f->Make(1, labels));
  }
  samples.push_back(QueryColumn("rows", 1, {{"check", "x"}, {"target", "x"}}));
  std::string text = RenderText(samples);
  PromtoolResult result = PromtoolCheckMetrics(text);
  ASSERT_NE(result.exit_code, 127) << "promtool not found on PATH: " << result.output;
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- input ---\n" << text;
  EXPECT_EQ(result.output, "");
}

// Proves the harness notices problems: promtool lints a gauge named *_total.
TEST(PromtoolTest, HarnessReportsLintProblems) {
  std::string text = RenderText({{"drwatch_wrong_total", "A gauge named like a counter.",
                                  MetricType::kGauge, {}, 1}});
  PromtoolResult result = PromtoolCheckMetrics(text);
  ASSERT_NE(result.exit_code, 127) << "promtool not found on PATH: " << result.output;
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("non-counter metrics should not have \"_total\" suffix"),
            std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace drwatch::metrics

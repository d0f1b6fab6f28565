#include "metrics/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>

namespace drwatch::metrics {
namespace {

std::map<std::string, Sample> ProcessSamples() {
  std::vector<Sample> samples;
  AppendProcessSamples(samples);
  std::map<std::string, Sample> by_name;
  for (auto& sample : samples) by_name.emplace(sample.name, sample);
  return by_name;
}

TEST(ProcessSamplesTest, ReportsEveryStandardMetric) {
  auto samples = ProcessSamples();
  for (const char* name :
       {"process_resident_memory_bytes", "process_virtual_memory_bytes",
        "process_cpu_seconds_total", "process_open_fds", "process_max_fds",
        "process_start_time_seconds"}) {
    ASSERT_EQ(samples.count(name), 1u) << name;
    EXPECT_FALSE(samples[name].help.empty()) << name;
    EXPECT_TRUE(samples[name].labels.empty()) << name;
  }
  EXPECT_EQ(samples["process_cpu_seconds_total"].type, MetricType::kCounter);
  EXPECT_EQ(samples["process_open_fds"].type, MetricType::kGauge);
}

TEST(ProcessSamplesTest, ValuesAreSane) {
  auto samples = ProcessSamples();
  double rss = samples["process_resident_memory_bytes"].value;
  EXPECT_GT(rss, 1024 * 1024);
  EXPECT_GE(samples["process_virtual_memory_bytes"].value, rss);
  EXPECT_GE(samples["process_cpu_seconds_total"].value, 0);
  EXPECT_GE(samples["process_open_fds"].value, 1);
  EXPECT_GE(samples["process_max_fds"].value, samples["process_open_fds"].value);
}

TEST(ProcessSamplesTest, StartTimeIsThisProcessStart) {
  double now = std::chrono::duration<double>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  double start = ProcessSamples()["process_start_time_seconds"].value;
  // btime has one-second resolution; the test binary started moments ago.
  EXPECT_LE(start, now + 1.5);
  EXPECT_GT(start, now - 600);
}

TEST(ProcessSamplesTest, CountsOpenDescriptors) {
  double before = ProcessSamples()["process_open_fds"].value;
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  double during = ProcessSamples()["process_open_fds"].value;
  ::close(fd);
  EXPECT_EQ(during, before + 1);
}

}  // namespace
}  // namespace drwatch::metrics

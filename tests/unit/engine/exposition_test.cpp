// The /metrics body is rendered once per change of state: the head is kept
// (the same object, so its gzip too) until the generation moves or the time
// it named comes; the tail is fresh on every scrape.

#include "engine/exposition.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "common/clock.hpp"

namespace drwatch::engine {
namespace {

using namespace std::chrono_literals;

class MetricsCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { Clock::Freeze(); }
  void TearDown() override { Clock::Unfreeze(); }

  net::MetricsBody Scrape(std::uint64_t generation) {
    return cache_.Render(
        generation,
        [&](std::vector<metrics::Sample>& out) {
          out.push_back({"drwatch_check_success", "Help.", metrics::MetricType::kGauge, {}, value_});
          return expires_at_;
        },
        [&](std::vector<metrics::Sample>& out) {
          out.push_back({"process_cpu_seconds_total", "Help.", metrics::MetricType::kCounter, {}, ++cpu_});
        });
  }

  MetricsCache cache_;
  double value_ = 1;
  double cpu_ = 0;
  double expires_at_ = std::numeric_limits<double>::infinity();
};

TEST_F(MetricsCacheTest, TheHeadIsKeptUntilTheGenerationMoves) {
  auto first = Scrape(1);
  auto second = Scrape(1);
  EXPECT_EQ(first.head, second.head) << "the same head, and with it the same gzip";
  EXPECT_EQ(cache_.head_renders(), 1u);
  EXPECT_NE(first.tail, second.tail) << "the tail is rendered per scrape";
  value_ = 0;
  EXPECT_EQ(Scrape(1).head->text(), first.head->text()) << "no new generation: the kept head";
  auto third = Scrape(2);
  EXPECT_NE(third.head->text(), first.head->text());
  EXPECT_NE(third.head->text().find("drwatch_check_success 0"), std::string::npos);
  EXPECT_EQ(cache_.head_renders(), 2u);
}

TEST_F(MetricsCacheTest, TheHeadIsRenderedAgainWhenItsTimeComes) {
  expires_at_ = ToUnixSeconds(Clock::WallNow()) + 60;
  Scrape(1);
  Clock::Advance(59s);
  Scrape(1);
  EXPECT_EQ(cache_.head_renders(), 1u);
  expires_at_ = std::numeric_limits<double>::infinity();
  Clock::Advance(1s);
  Scrape(1);
  EXPECT_EQ(cache_.head_renders(), 2u);
  Clock::Advance(1h);
  Scrape(1);
  EXPECT_EQ(cache_.head_renders(), 2u);
}

}  // namespace
}  // namespace drwatch::engine

#include "engine/loop_lag.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <thread>

namespace drwatch::engine {
namespace {

using namespace std::chrono_literals;

TEST(WorstInWindow, KeepsTheWorstOfTheLastWindowThenForgetsIt) {
  WorstInWindow w(10s);
  Clock::time_point t0{};
  t0 += 1000s;
  EXPECT_EQ(w.Worst(t0), 0s);
  w.Record(t0, 3ms);
  w.Record(t0 + 1s, 250ms);
  w.Record(t0 + 2s, 5ms);
  EXPECT_EQ(w.Worst(t0 + 2s), 250ms);
  EXPECT_EQ(w.Worst(t0 + 6s), 250ms) << "still within the window";
  w.Record(t0 + 7s, 1ms);
  EXPECT_EQ(w.Worst(t0 + 11s), 1ms) << "the spike of t0+1s aged out, t0+7s's value is recent";
  EXPECT_EQ(w.Worst(t0 + 30s), 0s) << "nothing recorded for a whole window";
}

// The real monitor on a real loop: a callback that blocks the loop for
// 300 ms shows as lag of at least that, whatever else the machine does.
TEST(LoopLagMonitor, ABlockedLoopShowsAsLag) {
  boost::asio::io_context io;
  LoopLagMonitor monitor(io.get_executor(), 20ms);
  monitor.Start();
  io.run_for(100ms);
  boost::asio::post(io, [] { std::this_thread::sleep_for(300ms); });
  io.run_for(100ms);  // returns after the sleep: the late timer fires in the next run
  io.run_for(100ms);
  std::vector<metrics::Sample> samples;
  monitor.Collect(samples);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].name, "drwatch_event_loop_lag_seconds");
  EXPECT_GE(samples[0].value, 0.25);
  monitor.Stop();
  io.run_for(50ms);
}

}  // namespace
}  // namespace drwatch::engine

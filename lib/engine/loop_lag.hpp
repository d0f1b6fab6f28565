#pragma once
// How late the event loop runs: a timer armed every `period` measures how
// long after its expiry it fired. Every check, scrape and backup shares the
// one loop, so this is the number that says "something blocked it"
// (drwatch_event_loop_lag_seconds: the worst lateness of the last 10 s).

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "common/clock.hpp"
#include "metrics/sample.hpp"

namespace drwatch::engine {

/// The worst value recorded within the last `window` (two half-windows,
/// rotated as time passes, so an old spike ages out). Pure: time is given.
class WorstInWindow {
 public:
  explicit WorstInWindow(Clock::duration window) : half_(window / 2) {}
  void Record(Clock::time_point now, Clock::duration value);
  /// The worst value recorded in the last window (at least); zero when none.
  Clock::duration Worst(Clock::time_point now);

 private:
  void Rotate(Clock::time_point now);
  Clock::duration half_;
  Clock::time_point started_{};
  Clock::duration current_{}, previous_{};
};

class LoopLagMonitor {
 public:
  explicit LoopLagMonitor(boost::asio::any_io_executor executor,
                          Clock::duration period = std::chrono::milliseconds(100));
  ~LoopLagMonitor();
  void Start();
  void Stop();
  /// drwatch_event_loop_lag_seconds.
  void Collect(std::vector<metrics::Sample>& out);

  struct State;

 private:
  std::shared_ptr<State> state_;  // shared with the pending wait
};

}  // namespace drwatch::engine

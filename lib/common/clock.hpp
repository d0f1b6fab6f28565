#pragma once
// The one clock the engine uses for intervals, deadlines and backoff.
// In production it is std::chrono::steady_clock. Tests freeze it and advance
// it by hand (a fake clock), and Asio timers built on it follow.

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/wait_traits.hpp>
#include <chrono>

namespace drwatch {

struct Clock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<Clock, duration>;
  static constexpr bool is_steady = true;

  /// Monotonic now: real steady time, or the frozen fake time in tests.
  static time_point now() noexcept;
  /// Wall-clock now (for exported timestamps), shifted like now() when frozen.
  static std::chrono::system_clock::time_point WallNow() noexcept;

  // --- test hooks -------------------------------------------------------
  /// Stops time at its current value; only Advance() moves it afterwards.
  static void Freeze() noexcept;
  /// Moves frozen time forward.
  static void Advance(duration d) noexcept;
  /// Returns to real time.
  static void Unfreeze() noexcept;
  static bool Frozen() noexcept;
};

/// Wait traits that make Asio's reactor poll every millisecond while the clock
/// is frozen, so timers notice Advance() without real time passing.
struct ClockWaitTraits {
  static Clock::duration to_wait_duration(const Clock::duration& d);
  static Clock::duration to_wait_duration(const Clock::time_point& t);
};

using Timer = boost::asio::basic_waitable_timer<Clock, ClockWaitTraits>;

/// Seconds since the Unix epoch as a double, for *_timestamp_seconds metrics.
double ToUnixSeconds(std::chrono::system_clock::time_point t);

}  // namespace drwatch

#include "common/clock.hpp"

#include <atomic>

namespace drwatch {
namespace {
std::atomic<bool> g_frozen{false};
std::atomic<Clock::rep> g_frozen_at{0};     // steady ticks while frozen
std::atomic<Clock::rep> g_wall_shift{0};    // how far Advance() moved time
}  // namespace

Clock::time_point Clock::now() noexcept {
  if (g_frozen.load(std::memory_order_acquire)) {
    return time_point(duration(g_frozen_at.load(std::memory_order_acquire)));
  }
  return time_point(std::chrono::steady_clock::now().time_since_epoch());
}

std::chrono::system_clock::time_point Clock::WallNow() noexcept {
  auto wall = std::chrono::system_clock::now();
  if (g_frozen.load(std::memory_order_acquire)) {
    return wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                      duration(g_wall_shift.load()));
  }
  return wall;
}

void Clock::Freeze() noexcept {
  g_frozen_at.store(std::chrono::steady_clock::now().time_since_epoch().count());
  g_wall_shift.store(0);
  g_frozen.store(true, std::memory_order_release);
}

void Clock::Advance(duration d) noexcept {
  g_frozen_at.fetch_add(d.count());
  g_wall_shift.fetch_add(d.count());
}

void Clock::Unfreeze() noexcept { g_frozen.store(false, std::memory_order_release); }

bool Clock::Frozen() noexcept { return g_frozen.load(std::memory_order_acquire); }

Clock::duration ClockWaitTraits::to_wait_duration(const Clock::duration& d) {
  if (Clock::Frozen()) return std::min<Clock::duration>(d, std::chrono::milliseconds(1));
  return d;
}

Clock::duration ClockWaitTraits::to_wait_duration(const Clock::time_point& t) {
  return to_wait_duration(t - Clock::now());
}

double ToUnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace drwatch

#pragma once
// Wall-clock schedules of checks: "daily HH:MM" or "weekly <day> HH:MM",
// always UTC (a backup window must not move with daylight saving time).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace drwatch::config {

struct Schedule {
  bool weekly = false;
  int weekday = 0;  // 0 = Sunday … 6 = Saturday (weekly only)
  int hour = 0;
  int minute = 0;
  std::string text;  // as written, normalised ("weekly sun 04:00")

  /// The time between two occurrences: 24 h or 7 d.
  std::chrono::milliseconds Period() const;
};

/// Parses a schedule; on error returns nullopt and sets `error` to the whole
/// message, e.g. `invalid schedule "daily 24:00": hour 24 is out of range (00-23)`.
std::optional<Schedule> ParseSchedule(std::string_view text, std::string& error);

/// The first occurrence strictly after `now` (a run that ends exactly at its
/// time is not due again).
std::chrono::system_clock::time_point NextOccurrence(const Schedule& schedule,
                                                     std::chrono::system_clock::time_point now);
/// The last occurrence at or before `now`.
std::chrono::system_clock::time_point PreviousOccurrence(const Schedule& schedule,
                                                         std::chrono::system_clock::time_point now);

}  // namespace drwatch::config

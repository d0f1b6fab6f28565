// Wall-clock schedules: parsing and the next occurrence across day and week
// boundaries, exactly at the time, in UTC.

#include "config/schedule.hpp"

#include <gtest/gtest.h>

namespace drwatch::config {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// 2026-11-25 is a Wednesday.
system_clock::time_point At(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s);
}

Schedule Parse(const std::string& text) {
  std::string error;
  auto s = ParseSchedule(text, error);
  EXPECT_TRUE(s.has_value()) << error;
  return s.value_or(Schedule{});
}

std::string ErrorOf(const std::string& text) {
  std::string error;
  EXPECT_FALSE(ParseSchedule(text, error).has_value()) << text;
  return error;
}

TEST(ParseSchedule, DailyAndWeekly) {
  auto daily = Parse("daily 02:30");
  EXPECT_FALSE(daily.weekly);
  EXPECT_EQ(daily.hour, 2);
  EXPECT_EQ(daily.minute, 30);
  EXPECT_EQ(daily.Period(), std::chrono::milliseconds(24h));
  auto weekly = Parse("weekly sun 04:00");
  EXPECT_TRUE(weekly.weekly);
  EXPECT_EQ(weekly.weekday, 0);
  EXPECT_EQ(weekly.hour, 4);
  EXPECT_EQ(weekly.Period(), std::chrono::milliseconds(hours(24 * 7)));
  EXPECT_EQ(Parse("weekly sat 23:59").weekday, 6);
  EXPECT_EQ(Parse("daily 00:00").hour, 0);
}

TEST(ParseSchedule, RejectsEveryBadForm) {
  const std::string form =
      R"( (use "daily HH:MM" or "weekly <mon|tue|wed|thu|fri|sat|sun> HH:MM", UTC))";
  for (std::string bad : {"", "daily", "daily 2:30", "daily 02:30 UTC", "hourly 02:30", "daily  02:30",
                          "weekly 04:00", "daily 0230", "Daily 02:30", "daily 02:3x"}) {
    EXPECT_EQ(ErrorOf(bad), "invalid schedule \"" + bad + "\"" + form);
  }
  EXPECT_EQ(ErrorOf("daily 24:00"), "invalid schedule \"daily 24:00\": hour 24 is out of range (00-23)");
  EXPECT_EQ(ErrorOf("daily 12:60"), "invalid schedule \"daily 12:60\": minute 60 is out of range (00-59)");
  EXPECT_EQ(ErrorOf("weekly sunday 04:00"),
            "invalid schedule \"weekly sunday 04:00\": unknown day \"sunday\" (use mon, tue, wed, thu, fri, sat or sun)");
}

TEST(NextOccurrence, LaterTheSameDay) {
  EXPECT_EQ(NextOccurrence(Parse("daily 02:30"), At(2026, 11, 25, 1, 0)), At(2026, 11, 25, 2, 30));
}

TEST(NextOccurrence, PastTodayIsTomorrow) {
  EXPECT_EQ(NextOccurrence(Parse("daily 02:30"), At(2026, 11, 25, 2, 31)), At(2026, 11, 26, 2, 30));
}

TEST(NextOccurrence, ExactlyAtTheTimeIsTheNextOne) {
  EXPECT_EQ(NextOccurrence(Parse("daily 02:30"), At(2026, 11, 25, 2, 30)), At(2026, 11, 26, 2, 30));
  EXPECT_EQ(NextOccurrence(Parse("daily 02:30"), At(2026, 11, 25, 2, 30) - 1ms), At(2026, 11, 25, 2, 30));
  EXPECT_EQ(NextOccurrence(Parse("weekly wed 02:30"), At(2026, 11, 25, 2, 30)), At(2026, 12, 2, 2, 30));
}

TEST(NextOccurrence, AcrossMonthAndYearEnds) {
  EXPECT_EQ(NextOccurrence(Parse("daily 00:00"), At(2026, 11, 30, 23, 59, 59)), At(2026, 12, 1, 0, 0));
  EXPECT_EQ(NextOccurrence(Parse("daily 00:00"), At(2026, 12, 31, 12, 0)), At(2027, 1, 1, 0, 0));
}

TEST(NextOccurrence, WeeklyLaterThisWeekAndNextWeek) {
  // Wednesday 2026-11-25.
  EXPECT_EQ(NextOccurrence(Parse("weekly sun 04:00"), At(2026, 11, 25, 10, 0)), At(2026, 11, 29, 4, 0));
  EXPECT_EQ(NextOccurrence(Parse("weekly mon 04:00"), At(2026, 11, 25, 10, 0)), At(2026, 11, 30, 4, 0));
  EXPECT_EQ(NextOccurrence(Parse("weekly wed 11:00"), At(2026, 11, 25, 10, 0)), At(2026, 11, 25, 11, 0));
  EXPECT_EQ(NextOccurrence(Parse("weekly wed 09:00"), At(2026, 11, 25, 10, 0)), At(2026, 12, 2, 9, 0));
  // Saturday night to Sunday: across the week boundary.
  EXPECT_EQ(NextOccurrence(Parse("weekly sun 00:00"), At(2026, 11, 28, 23, 59)), At(2026, 11, 29, 0, 0));
  EXPECT_EQ(NextOccurrence(Parse("weekly sat 23:59"), At(2026, 11, 29, 0, 0)), At(2026, 12, 5, 23, 59));
}

TEST(NextOccurrence, EveryWeekdayLandsOnItsDay) {
  const char* days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  for (int i = 0; i < 7; ++i) {
    auto next = NextOccurrence(Parse(std::string("weekly ") + days[i] + " 12:00"), At(2026, 11, 25, 13, 0));
    EXPECT_EQ(weekday(floor<std::chrono::days>(next)).c_encoding(), static_cast<unsigned>(i)) << days[i];
    EXPECT_GT(next, At(2026, 11, 25, 13, 0));
    EXPECT_LE(next, At(2026, 12, 2, 13, 0));
  }
}

TEST(PreviousOccurrence, AtOrBeforeNow) {
  EXPECT_EQ(PreviousOccurrence(Parse("daily 02:30"), At(2026, 11, 25, 2, 30)), At(2026, 11, 25, 2, 30));
  EXPECT_EQ(PreviousOccurrence(Parse("daily 02:30"), At(2026, 11, 25, 2, 29)), At(2026, 11, 24, 2, 30));
  EXPECT_EQ(PreviousOccurrence(Parse("weekly sun 04:00"), At(2026, 11, 25, 10, 0)), At(2026, 11, 22, 4, 0));
}

}  // namespace
}  // namespace drwatch::config

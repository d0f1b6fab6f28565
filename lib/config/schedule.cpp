#include "config/schedule.hpp"

#include <array>
#include <algorithm>
#include <vector>

namespace drwatch::config {
namespace {

using std::chrono::days;
using std::chrono::system_clock;

constexpr std::array<std::string_view, 7> kDays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr std::string_view kForm = R"((use "daily HH:MM" or "weekly <mon|tue|wed|thu|fri|sat|sun> HH:MM", UTC))";

std::optional<int> TwoDigits(std::string_view s) {
  if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return std::nullopt;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

// Splits on single spaces; tabs or runs of spaces are a format error.
std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

// "HH:MM" into the schedule, or an error after the quoted text.
bool ReadTime(std::string_view word, Schedule& s, std::string& why) {
  auto hour = word.size() == 5 && word[2] == ':' ? TwoDigits(word.substr(0, 2)) : std::nullopt;
  auto minute = word.size() == 5 && word[2] == ':' ? TwoDigits(word.substr(3, 2)) : std::nullopt;
  if (!hour || !minute) {
    why = " " + std::string(kForm);
    return false;
  }
  if (*hour > 23) {
    why = ": hour " + std::to_string(*hour) + " is out of range (00-23)";
    return false;
  }
  if (*minute > 59) {
    why = ": minute " + std::to_string(*minute) + " is out of range (00-59)";
    return false;
  }
  s.hour = *hour;
  s.minute = *minute;
  return true;
}

system_clock::duration TimeOfDay(const Schedule& s) {
  return std::chrono::hours(s.hour) + std::chrono::minutes(s.minute);
}

}  // namespace

std::chrono::milliseconds Schedule::Period() const {
  return weekly ? std::chrono::milliseconds(days(7)) : std::chrono::milliseconds(days(1));
}

std::optional<Schedule> ParseSchedule(std::string_view text, std::string& error) {
  Schedule s;
  std::string why = " " + std::string(kForm);
  auto words = Words(text);
  bool ok = false;
  if (words.size() == 2 && words[0] == "daily") {
    ok = ReadTime(words[1], s, why);
  } else if (words.size() == 3 && words[0] == "weekly") {
    auto day = std::find(kDays.begin(), kDays.end(), words[1]);
    if (day == kDays.end()) {
      why = ": unknown day \"" + std::string(words[1]) + "\" (use mon, tue, wed, thu, fri, sat or sun)";
    } else {
      s.weekly = true;
      s.weekday = static_cast<int>(day - kDays.begin());
      ok = ReadTime(words[2], s, why);
    }
  }
  if (!ok) {
    error = "invalid schedule \"" + std::string(text) + "\"" + why;
    return std::nullopt;
  }
  s.text = std::string(text);
  return s;
}

system_clock::time_point NextOccurrence(const Schedule& schedule, system_clock::time_point now) {
  auto midnight = std::chrono::floor<days>(now);
  auto candidate = midnight + TimeOfDay(schedule);
  if (schedule.weekly) {
    // 1970-01-01 was a Thursday (weekday 4).
    auto weekday = static_cast<int>((midnight.time_since_epoch() / days(1) + 4) % 7);
    candidate += days((schedule.weekday - weekday + 7) % 7);
  }
  while (candidate <= now) candidate += schedule.Period();
  return candidate;
}

system_clock::time_point PreviousOccurrence(const Schedule& schedule, system_clock::time_point now) {
  return NextOccurrence(schedule, now) - schedule.Period();
}

}  // namespace drwatch::config

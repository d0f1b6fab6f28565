#include "common/iso8601.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace drwatch {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view text, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

std::optional<TimePoint> Compose(int y, int mo, int d, int h, int mi, int s, std::chrono::microseconds frac,
                                 std::chrono::seconds offset) {
  using namespace std::chrono;
  // system_clock counts nanoseconds in 64 bits: about 1678 to 2261. A year
  // outside (from a hostile manifest or S3 listing) would overflow into
  // undefined behaviour (UBSan under manifest_fuzz and s3_xml_fuzz).
  if (y < 1700 || y > 2250) return std::nullopt;
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;  // 60: a leap second
  return sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + frac - offset;
}

// The broken-down UTC time of `t`'s whole second (rounded down).
std::tm UtcFields(TimePoint t) {
  auto whole = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
  std::time_t secs = static_cast<std::time_t>(whole);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

std::optional<TimePoint> ParseIso8601(std::string_view text) {
  std::size_t pos = 0;
  int y, mo, d, h, mi, s;
  if (!Digits(text, pos, 4, y) || !Expect(text, pos, '-') || !Digits(text, pos, 2, mo) ||
      !Expect(text, pos, '-') || !Digits(text, pos, 2, d)) {
    return std::nullopt;
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!Digits(text, pos, 2, h) || !Expect(text, pos, ':') || !Digits(text, pos, 2, mi) ||
      !Expect(text, pos, ':') || !Digits(text, pos, 2, s)) {
    return std::nullopt;
  }
  std::chrono::microseconds frac{0};
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    ++pos;
    std::size_t start = pos;
    long long micros = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (pos - start < 6) micros = micros * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (std::size_t n = pos - start; n < 6; ++n) micros *= 10;
    frac = std::chrono::microseconds(micros);
  }
  if (pos >= text.size()) return std::nullopt;
  std::chrono::seconds offset{0};
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!Digits(text, pos, 2, oh)) return std::nullopt;
    if (pos < text.size()) {
      Expect(text, pos, ':');
      if (!Digits(text, pos, 2, om)) return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset = std::chrono::seconds(sign * (oh * 3600 + om * 60));
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  return Compose(y, mo, d, h, mi, s, frac, offset);
}

std::optional<TimePoint> ParseHttpDate(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text.substr(3, 2) != ", " || !text.ends_with(" GMT")) return std::nullopt;
  std::size_t pos = 5;
  int d, y, h, mi, s;
  if (!Digits(text, pos, 2, d) || !Expect(text, pos, ' ')) return std::nullopt;
  int mo = 0;
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(pos, 3) == kMonths[i]) mo = static_cast<int>(i) + 1;
  }
  pos += 3;
  if (mo == 0 || !Expect(text, pos, ' ') || !Digits(text, pos, 4, y) || !Expect(text, pos, ' ') ||
      !Digits(text, pos, 2, h) || !Expect(text, pos, ':') || !Digits(text, pos, 2, mi) ||
      !Expect(text, pos, ':') || !Digits(text, pos, 2, s)) {
    return std::nullopt;
  }
  return Compose(y, mo, d, h, mi, s, std::chrono::microseconds(0), std::chrono::seconds(0));
}

std::string FormatCompactUtc(TimePoint t) {
  std::tm tm = UtcFields(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<TimePoint> ParseCompactUtc(std::string_view text) {
  std::size_t pos = 0;
  int y, mo, d, h, mi, s;
  if (text.size() != 16 || !Digits(text, pos, 4, y) || !Digits(text, pos, 2, mo) || !Digits(text, pos, 2, d) ||
      !Expect(text, pos, 'T') || !Digits(text, pos, 2, h) || !Digits(text, pos, 2, mi) ||
      !Digits(text, pos, 2, s) || !Expect(text, pos, 'Z') || s > 59) {
    return std::nullopt;
  }
  return Compose(y, mo, d, h, mi, s, std::chrono::microseconds(0), std::chrono::seconds(0));
}

std::string FormatReadableUtc(TimePoint t) {
  std::tm tm = UtcFields(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string FormatRfc3339(TimePoint t) {
  using namespace std::chrono;
  std::tm tm = UtcFields(t);
  int millis = static_cast<int>((floor<milliseconds>(t) - floor<seconds>(t)).count());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace drwatch

#include "config/duration.hpp"

#include <algorithm>
#include <cmath>

#include <array>
#include <cstdint>

namespace drwatch::config {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};

// Largest first: parsing requires this order, formatting emits it.
constexpr std::array<Unit, 5> kUnits = {{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

// Index into kUnits of the unit at the start of `text`, or -1. "ms" must be
// tried before "m".
int MatchUnit(std::string_view text) {
  if (text.starts_with("ms")) return 4;
  for (int i = 0; i < 4; ++i) {
    if (text.starts_with(kUnits[i].suffix)) return i;
  }
  return -1;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  int previous = -1;  // index of the last unit seen; each next one must be smaller
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      if (__builtin_mul_overflow(number, 10, &number) ||
          __builtin_add_overflow(number, text[pos] - '0', &number)) {
        return std::nullopt;
      }
    }
    if (digits == 0) return std::nullopt;
    int unit = MatchUnit(text.substr(pos));
    if (unit <= previous) return std::nullopt;  // also rejects a missing unit (-1)
    pos += kUnits[unit].suffix.size();
    std::int64_t part = 0;
    if (__builtin_mul_overflow(number, kUnits[unit].ms, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
    previous = unit;
  }
  if (total <= 0) return std::nullopt;
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  std::uint64_t rest = ms < 0 ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
  if (ms < 0) out = "-";
  for (const Unit& unit : kUnits) {
    std::uint64_t count = rest / static_cast<std::uint64_t>(unit.ms);
    if (count == 0) continue;
    out += std::to_string(count);
    out += unit.suffix;
    rest %= static_cast<std::uint64_t>(unit.ms);
  }
  return out;
}

std::string FormatAge(double seconds) {
  seconds = std::max(0.0, seconds);
  auto ms = seconds >= 1 ? std::llround(seconds) * 1000 : std::llround(seconds * 1000);
  return ms == 0 ? "0s" : FormatDuration(Duration(ms));
}

}  // namespace drwatch::config

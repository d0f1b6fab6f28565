#pragma once
// Durations as the catalogue writes them: ms, s, m, h, d, combinable ("1h30m").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace drwatch::config {

using Duration = std::chrono::milliseconds;

/// Parses "250ms", "30s", "1h30m", "7d". Units must appear largest first and
/// at most once; the result must be > 0. Returns nullopt on any other text.
std::optional<Duration> ParseDuration(std::string_view text);

/// Formats as the shortest combination of units ("1h30m", "250ms", "7d").
std::string FormatDuration(Duration d);

/// An age or lag for a log line: whole seconds from 1 s up ("12s", "3m5s"),
/// milliseconds below ("250ms"), "0s" for zero or less.
std::string FormatAge(double seconds);

/// Seconds as a double, for *_seconds metrics.
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace drwatch::config

#pragma once
// Timestamps as APIs write them: ISO-8601 / RFC 3339 ("2026-11-25T02:30:00.000Z",
// "2026-11-25 02:30:00+01:00"), HTTP dates ("Sun, 06 Nov 1994 08:49:37 GMT"),
// the compact UTC form of run ids and SigV4 ("20261125T023000Z") and the
// readable one of reports ("2026-11-25 02:30:00Z").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace drwatch {

/// Parses YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH:MM|±HHMM|±HH). A zone is
/// required; the fraction keeps microseconds. nullopt on anything else.
std::optional<std::chrono::system_clock::time_point> ParseIso8601(std::string_view text);

/// "2026-11-25T02:30:00.250Z": RFC 3339, UTC, milliseconds.
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

/// "20261125T023000Z": ISO 8601 basic format, UTC, whole seconds (run ids,
/// SigV4's x-amz-date, names of files set aside).
std::string FormatCompactUtc(std::chrono::system_clock::time_point t);
/// Parses exactly FormatCompactUtc's form; nullopt for anything else, a date
/// or time that does not exist (20260230, 25:00) included.
std::optional<std::chrono::system_clock::time_point> ParseCompactUtc(std::string_view text);

/// "2026-11-25 02:30:00Z": UTC, whole seconds, for people (status page,
/// backup listings).
std::string FormatReadableUtc(std::chrono::system_clock::time_point t);

/// Parses an IMF-fixdate (RFC 9110: "Sun, 06 Nov 1994 08:49:37 GMT").
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view text);

}  // namespace drwatch

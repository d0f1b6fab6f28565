#pragma once
// Logging: spdlog to stderr, as text or one JSON object a line, with every
// registered secret masked (see redact.hpp) before it is written.

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace drwatch {

enum class LogFormat { kText, kJson };

/// Parses "debug|info|warn|error"; false when unknown.
bool ParseLogLevel(std::string_view text, spdlog::level::level_enum& out);
/// Parses "text|json"; false when unknown.
bool ParseLogFormat(std::string_view text, LogFormat& out);

/// kSync writes each line before returning (commands, --once: their lines
/// interleave with stdout in order). kAsync hands lines to one writer thread
/// through a queue of kLogQueueSize lines (the daemon: logging never blocks
/// the event loop; when the queue is full the oldest line is dropped and
/// counted, see DroppedLogLines).
enum class LogMode { kSync, kAsync };
/// 1,024: a burst of a thousand lines (every check failing at once) still fits;
/// each slot costs about 400 bytes, preallocated (8,192 was 3.2 MB of the idle
/// daemon's 5 MB of heap, bench/README.md "drwatchd beside the peers").
inline constexpr std::size_t kLogQueueSize = 1024;

/// Installs the default logger writing to stderr.
void SetupLogging(spdlog::level::level_enum level, LogFormat format, LogMode mode = LogMode::kSync);
/// Lines an asynchronous logger dropped because its queue was full.
std::uint64_t DroppedLogLines();
/// Writes out what is queued and stops the writer thread (before exit).
void StopLogging();

/// Escapes `text` for use inside a JSON string literal.
std::string JsonEscape(std::string_view text);

}  // namespace drwatch

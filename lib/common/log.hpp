#pragma once
// Logging: spdlog to stderr, as text or one JSON object a line, with every
// registered secret masked (see redact.hpp) before it is written.

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace drwatch {

enum class LogFormat { kText, kJson };

/// Parses "debug|info|warn|error"; false when unknown.
bool ParseLogLevel(std::string_view text, spdlog::level::level_enum& out);
/// Parses "text|json"; false when unknown.
bool ParseLogFormat(std::string_view text, LogFormat& out);

/// Installs the default logger writing to stderr.
void SetupLogging(spdlog::level::level_enum level, LogFormat format);

/// Escapes `text` for use inside a JSON string literal.
std::string JsonEscape(std::string_view text);

}  // namespace drwatch

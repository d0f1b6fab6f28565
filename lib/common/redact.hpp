#pragma once
// Secrets never reach a log line, an error message, a metric or --once output.
// Every value that came from ${env:…} or ${file:…}, and every DSN password,
// is registered here; Apply() masks them in any text about to leave.

#include <string>
#include <string_view>

namespace drwatch {

class Redactor {
 public:
  /// The process-wide redactor used by logging and output.
  static Redactor& Global();

  /// Registers a secret. Values shorter than kMinLength are ignored: masking
  /// every "a" in a log line would hide more than it protects.
  void Add(std::string_view secret);
  /// Returns `text` with every registered secret replaced by "<redacted>".
  std::string Apply(std::string_view text) const;
  void Clear();

  static constexpr std::size_t kMinLength = 3;
};

}  // namespace drwatch

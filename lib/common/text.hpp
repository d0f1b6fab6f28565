#pragma once
// Small text helpers shared across layers.

#include <string>
#include <string_view>

namespace drwatch {

/// Escapes backslash as "\\" and newline as "\n": the escaping of Prometheus
/// HELP text, also used for one-line fingerprints.
inline std::string EscapeBackslashNewline(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace drwatch

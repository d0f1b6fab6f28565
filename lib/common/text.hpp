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

/// `text` with A-Z turned into a-z (header names, keys; never locale-dependent).
inline std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// Escapes &, <, >, " and ' as entities: text safe in XML and HTML content
/// and quoted attributes.
inline std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace drwatch

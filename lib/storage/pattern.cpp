#include "storage/pattern.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace drwatch::storage {
namespace {

bool HasWildcard(std::string_view segment) { return segment.find_first_of("*?[\\") != std::string_view::npos; }

}  // namespace

std::optional<std::string> ValidatePattern(std::string_view pattern) {
  if (pattern.empty()) return "empty pattern";
  if (pattern.front() == '/') return "the pattern must be relative to the target's path or prefix";
  if (pattern.back() == '/') return "the pattern must name objects, not end with '/'";
  std::size_t start = 0;
  while (start <= pattern.size()) {
    auto end = std::min(pattern.find('/', start), pattern.size());
    std::string_view segment = pattern.substr(start, end - start);
    if (segment.empty()) return "empty segment (\"//\") in the pattern";
    if (segment == "." || segment == "..") return "\".\" and \"..\" are not allowed in a pattern";
    start = end + 1;
  }
  return std::nullopt;
}

bool PatternMatches(std::string_view pattern, std::string_view key) {
  return fnmatch(std::string(pattern).c_str(), std::string(key).c_str(), FNM_PATHNAME | FNM_PERIOD) == 0;
}

std::string PatternPrefix(std::string_view pattern, std::size_t segments) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < segments; ++i) {
    auto slash = pattern.find('/', pos);
    if (slash == std::string_view::npos) return std::string(pattern);
    if (i + 1 == segments) return std::string(pattern.substr(0, slash));
    pos = slash + 1;
  }
  return "";
}

std::string LiteralDirectory(std::string_view pattern) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    auto slash = pattern.find('/', start);
    if (slash == std::string_view::npos) return out;  // the last segment names objects
    std::string_view segment = pattern.substr(start, slash - start);
    if (HasWildcard(segment)) return out;
    out += std::string(segment) + "/";
    start = slash + 1;
  }
}

std::size_t PatternDepth(std::string_view pattern) {
  return static_cast<std::size_t>(std::count(pattern.begin(), pattern.end(), '/')) + 1;
}

}  // namespace drwatch::storage

#pragma once
// Object patterns of storage checks: globs relative to the target's root,
// matched with fnmatch(FNM_PATHNAME | FNM_PERIOD): `*`, `?` and `[…]` never
// match '/', so "daily/*.dump" matches daily/a.dump but not daily/old/a.dump;
// and they never match a leading '.', so hidden files (rsync's temporary
// ".x.dump.AbC123", drwatch's own .drwatch/) are left out unless the pattern
// names the dot.

#include <optional>
#include <string>
#include <string_view>

namespace drwatch::storage {

/// Why `pattern` is unusable, or nullopt: it must be relative, non-empty,
/// without "." or ".." segments, empty segments or a trailing '/'.
std::optional<std::string> ValidatePattern(std::string_view pattern);
/// True when `key` matches `pattern`.
bool PatternMatches(std::string_view pattern, std::string_view key);
/// The first `segments` segments of `pattern` ("daily/*" of "daily/*/x.dump", 2).
std::string PatternPrefix(std::string_view pattern, std::size_t segments);
/// The leading directories of `pattern` without wildcards ("daily/" of
/// "daily/*.dump", "" of "*/x"): where a listing can start.
std::string LiteralDirectory(std::string_view pattern);
/// Number of '/'-separated segments: the depth a key matching it has.
std::size_t PatternDepth(std::string_view pattern);

}  // namespace drwatch::storage

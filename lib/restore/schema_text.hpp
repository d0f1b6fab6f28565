#pragma once
// Pure text functions of schema drift: the normalised form of a
// `pg_dump --schema-only` script, and a bounded unified line diff.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::restore {

/// `sql` without what differs between two dumps of one unchanged schema:
/// comment lines (version banners, "-- Name: …; Owner: …" headers), SET and
/// `SELECT pg_catalog.set_config(…)` lines, psql's \restrict/\unrestrict
/// lines, trailing white space and blank lines. Statements (runs of lines
/// separated by blank lines in the dump) are then sorted, so an object
/// dumped in another position is not drift. Each statement ends with a
/// newline; statements are joined by one blank line.
std::string NormaliseSchema(std::string_view sql);

/// Splits text into lines (without their '\n'); a trailing newline adds no
/// empty last line.
std::vector<std::string_view> SplitLines(std::string_view text);

struct LineDiff {
  std::string text;          // unified diff, at most max_lines lines (then "… N more lines")
  std::size_t changed = 0;   // lines removed plus lines added
};

/// A unified diff (3 lines of context) from `before` to `after`, labelled
/// `before_name`/`after_name`. Common head and tail are skipped first; the
/// middle is compared by longest common subsequence when it has at most
/// kMaxDiffCells line pairs, else reported as replaced whole (bounded time
/// and memory whatever the input).
LineDiff UnifiedDiff(std::string_view before, std::string_view after, std::string_view before_name,
                     std::string_view after_name, std::size_t max_lines = 100);

inline constexpr std::size_t kMaxDiffCells = 4'000'000;

}  // namespace drwatch::restore

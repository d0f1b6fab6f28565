#include "restore/schema_text.hpp"

#include <algorithm>
#include <cstdint>

namespace drwatch::restore {
namespace {

std::string_view RightTrim(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

// Lines that differ between two dumps of the same schema: banners and
// object headers are comments; SET lines carry the session settings of the
// pg_dump that wrote them; \restrict carries a random key (pg_dump >= 17.6).
bool IsNoise(std::string_view line) {
  return line.starts_with("--") || line.starts_with("SET ") || line.starts_with("SELECT pg_catalog.set_config(") ||
         line.starts_with("\\restrict") || line.starts_with("\\unrestrict");
}

struct Op {
  char tag;  // ' ', '-', '+'
  std::string_view line;
};

// The middle of a diff by longest common subsequence (suffix table).
void LcsOps(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b, std::vector<Op>& ops) {
  std::size_t n = a.size(), m = b.size();
  std::vector<std::uint32_t> table((n + 1) * (m + 1), 0);
  auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return table[i * (m + 1) + j]; };
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ops.push_back({' ', a[i++]});
      ++j;
    } else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
      ops.push_back({'-', a[i++]});
    } else {
      ops.push_back({'+', b[j++]});
    }
  }
}

std::vector<Op> EditScript(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head && a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) ++tail;
  std::vector<Op> ops;
  for (std::size_t i = 0; i < head; ++i) ops.push_back({' ', a[i]});
  std::vector<std::string_view> mid_a(a.begin() + head, a.end() - tail);
  std::vector<std::string_view> mid_b(b.begin() + head, b.end() - tail);
  if (!mid_a.empty() && !mid_b.empty() && mid_a.size() * mid_b.size() <= kMaxDiffCells) {
    LcsOps(mid_a, mid_b, ops);
  } else {
    for (auto line : mid_a) ops.push_back({'-', line});
    for (auto line : mid_b) ops.push_back({'+', line});
  }
  for (std::size_t i = a.size() - tail; i < a.size(); ++i) ops.push_back({' ', a[i]});
  return ops;
}

std::string Range(std::size_t start, std::size_t count) {
  // Unified diff convention: an empty range names the line before it.
  return std::to_string(count == 0 ? start : start + 1) + "," + std::to_string(count);
}

// Groups the edit script into hunks with `context` lines around changes.
std::vector<std::string> Hunks(const std::vector<Op>& ops, std::size_t context) {
  std::vector<std::string> lines;
  std::size_t i = 0;
  std::vector<std::size_t> a_line(ops.size() + 1), b_line(ops.size() + 1);
  for (std::size_t k = 0; k < ops.size(); ++k) {
    a_line[k + 1] = a_line[k] + (ops[k].tag != '+');
    b_line[k + 1] = b_line[k] + (ops[k].tag != '-');
  }
  while (i < ops.size()) {
    while (i < ops.size() && ops[i].tag == ' ') ++i;
    if (i == ops.size()) break;
    std::size_t start = i > context ? i - context : 0;
    std::size_t end = i;  // one past the last change of the hunk
    for (std::size_t k = i; k < ops.size(); ++k) {
      if (ops[k].tag != ' ') end = k + 1;
      else if (k - end >= 2 * context) break;
    }
    std::size_t stop = std::min(ops.size(), end + context);
    lines.push_back("@@ -" + Range(a_line[start], a_line[stop] - a_line[start]) + " +" +
                    Range(b_line[start], b_line[stop] - b_line[start]) + " @@");
    for (std::size_t k = start; k < stop; ++k) lines.push_back(std::string(1, ops[k].tag) + std::string(ops[k].line));
    i = stop;
  }
  return lines;
}

}  // namespace

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string NormaliseSchema(std::string_view sql) {
  std::vector<std::string> statements;
  std::string current;
  for (auto raw : SplitLines(sql)) {
    auto line = RightTrim(raw);
    if (IsNoise(line)) continue;
    if (line.empty()) {
      if (!current.empty()) statements.push_back(std::move(current));
      current.clear();
      continue;
    }
    current += line;
    current += '\n';
  }
  if (!current.empty()) statements.push_back(std::move(current));
  std::stable_sort(statements.begin(), statements.end());
  std::string out;
  for (const auto& s : statements) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

LineDiff UnifiedDiff(std::string_view before, std::string_view after, std::string_view before_name,
                     std::string_view after_name, std::size_t max_lines) {
  auto ops = EditScript(SplitLines(before), SplitLines(after));
  LineDiff diff;
  for (const auto& op : ops) diff.changed += op.tag != ' ';
  if (diff.changed == 0) return diff;
  std::vector<std::string> lines{"--- " + std::string(before_name), "+++ " + std::string(after_name)};
  auto hunks = Hunks(ops, 3);
  lines.insert(lines.end(), hunks.begin(), hunks.end());
  std::size_t shown = std::min(lines.size(), max_lines);
  for (std::size_t k = 0; k < shown; ++k) diff.text += lines[k] + "\n";
  if (shown < lines.size()) diff.text += "… " + std::to_string(lines.size() - shown) + " more lines\n";
  return diff;
}

}  // namespace drwatch::restore

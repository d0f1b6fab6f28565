#pragma once
// Quoting names and values into SQL text, for the few statements that cannot
// take parameters (DDL, a list spliced into a catalogue query).

#include <string>
#include <string_view>

namespace drwatch::pg {

/// "\"auth\"", "\"we\"\"ird\"": an identifier, always quoted.
std::string QuoteIdent(std::string_view name);

/// "E'it''s'": a string literal read the same whatever
/// standard_conforming_strings says (backslashes doubled inside E'').
std::string QuoteLiteral(std::string_view text);

/// "'it\\'s'": a value for a libpq key=value connection string (single
/// quotes, with ' and \ escaped by a backslash).
std::string QuoteConninfoValue(std::string_view value);

/// "ARRAY[E'a', E'b']::text[]" (an empty list: "ARRAY[]::text[]").
template <typename Range>
std::string TextArray(const Range& items) {
  std::string out = "ARRAY[";
  bool first = true;
  for (const auto& item : items) {
    out += (first ? "" : ", ") + QuoteLiteral(item);
    first = false;
  }
  return out + "]::text[]";
}

}  // namespace drwatch::pg

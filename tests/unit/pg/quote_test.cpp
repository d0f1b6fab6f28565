// The one SQL and conninfo quoting module: the exact text it writes. What a
// server reads from it (standard_conforming_strings on and off) is
// tests/integration/pg_quote_test.cpp.

#include "pg/quote.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace drwatch::pg {
namespace {

TEST(QuoteIdent, AlwaysQuotesAndDoublesDoubleQuotes) {
  EXPECT_EQ(QuoteIdent("auth"), "\"auth\"");
  EXPECT_EQ(QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteIdent("Mixed Case"), "\"Mixed Case\"");
  EXPECT_EQ(QuoteIdent("back\\slash"), "\"back\\slash\"");  // no escapes inside "..."
  EXPECT_EQ(QuoteIdent(""), "\"\"");
}

TEST(QuoteLiteral, IsAnEscapeStringWithQuotesAndBackslashesDoubled) {
  EXPECT_EQ(QuoteLiteral("plain"), "E'plain'");
  EXPECT_EQ(QuoteLiteral("it's"), "E'it''s'");
  EXPECT_EQ(QuoteLiteral("a\\b"), "E'a\\\\b'");
  EXPECT_EQ(QuoteLiteral("ends\\"), "E'ends\\\\'");
  EXPECT_EQ(QuoteLiteral("\\'"), "E'\\\\'''");
  EXPECT_EQ(QuoteLiteral(""), "E''");
}

TEST(QuoteConninfoValue, EscapesQuotesAndBackslashesWithABackslash) {
  EXPECT_EQ(QuoteConninfoValue("db"), "'db'");
  EXPECT_EQ(QuoteConninfoValue("p w"), "'p w'");
  EXPECT_EQ(QuoteConninfoValue("it's"), "'it\\'s'");
  EXPECT_EQ(QuoteConninfoValue("a\\b"), "'a\\\\b'");
  EXPECT_EQ(QuoteConninfoValue(""), "''");
}

TEST(TextArray, QuotesEachItem) {
  EXPECT_EQ(TextArray(std::vector<std::string>{"a", "it's", "x\\y"}),
            "ARRAY[E'a', E'it''s', E'x\\\\y']::text[]");
  EXPECT_EQ(TextArray(std::vector<std::string>{}), "ARRAY[]::text[]");
}

}  // namespace
}  // namespace drwatch::pg

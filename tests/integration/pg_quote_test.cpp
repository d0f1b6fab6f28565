// pg/quote.hpp against a real server: what PostgreSQL reads back from a
// quoted literal, identifier or conninfo value is the text that went in,
// whichever way standard_conforming_strings is set (a plain '...' literal
// would read a backslash differently in the two modes).

#include "pg/quote.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pg/connection.hpp"
#include "support/pg_cluster.hpp"

namespace drwatch::test {
namespace {

const std::vector<std::string> kTexts = {
    "plain", "it's", "back\\slash", "ends in a backslash\\", "\\'", "\\\\'' OR 1=1 --", "a\\nb", "\"q\"", "ünï",
    ""};

class PgQuoteTest : public PgClusterTest,
                    public ::testing::WithParamInterface<const char*> {
 protected:
  // One session: the setting, then the statement (PQexec returns the last result).
  Rows Query(const std::string& sql) {
    return cluster().Query(std::string("SET standard_conforming_strings = ") + GetParam() + "; " + sql);
  }
};

TEST_P(PgQuoteTest, LiteralsReadBackAsWritten) {
  for (const auto& text : kTexts) {
    Rows rows = Query("SELECT " + pg::QuoteLiteral(text) + ", current_setting('standard_conforming_strings')");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], text) << pg::QuoteLiteral(text);
    EXPECT_EQ(rows[0][1], GetParam());
  }
}

TEST_P(PgQuoteTest, TextArraysReadBackAsWritten) {
  Rows rows = Query("SELECT n FROM unnest(" + pg::TextArray(kTexts) + ") WITH ORDINALITY AS t(n, i) ORDER BY i");
  ASSERT_EQ(rows.size(), kTexts.size());
  for (std::size_t i = 0; i < kTexts.size(); ++i) EXPECT_EQ(rows[i][0], kTexts[i]);
}

TEST_P(PgQuoteTest, IdentifiersNameWhatTheySay) {
  for (const std::string name : {"it's", "we\"ird", "back\\slash", "Mixed Case"}) {
    Rows rows = Query("CREATE TEMP TABLE " + pg::QuoteIdent(name) +
                      " (x int); SELECT relname FROM pg_class WHERE relname = " + pg::QuoteLiteral(name));
    ASSERT_EQ(rows.size(), 1u) << pg::QuoteIdent(name);
    EXPECT_EQ(rows[0][0], name);
  }
}

INSTANTIATE_TEST_SUITE_P(StandardConformingStrings, PgQuoteTest, ::testing::Values("on", "off"));

// A conninfo value goes through libpq's own parser, then to the server.
class PgConninfoQuoteTest : public PgClusterTest {};

TEST_F(PgConninfoQuoteTest, ConninfoValuesReachTheServerAsWritten) {
  for (const std::string app : {"it's", "back\\slash", "two words", "\\'"}) {
    std::string dsn = cluster().Dsn("application_name=" + pg::QuoteConninfoValue(app));
    std::string error;
    auto conn = RunWithDeadline(io_, pg::Connection::Connect(pool_, dsn, error), std::chrono::seconds(10));
    ASSERT_TRUE(conn && *conn) << error;
    auto r = RunWithDeadline(io_, (*conn)->Execute("SELECT current_setting('application_name')"),
                             std::chrono::seconds(10));
    ASSERT_TRUE(r && r->ok());
    EXPECT_EQ(r->rows[0][0], app);
  }
}

}  // namespace
}  // namespace drwatch::test
